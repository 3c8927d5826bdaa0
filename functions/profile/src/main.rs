//! `profile`: a user's profile, `GET /users/{userId}/profile`.

use lambda_http::{run, service_fn, Body, Error, Request, RequestExt, Response};
use serde_json::{json, Value};

/// Profiles are derived from the id, so every id has one and tests can predict it.
fn profile(user_id: &str) -> Option<Value> {
    if user_id.is_empty()
        || !user_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return None;
    }
    let plan = if user_id.len().is_multiple_of(2) {
        "pro"
    } else {
        "free"
    };
    Some(json!({"userId": user_id, "name": format!("User {user_id}"), "plan": plan}))
}

async fn handler(req: Request) -> Result<Response<Body>, Error> {
    let id = req
        .path_parameters_ref()
        .and_then(|p| p.first("userId"))
        .unwrap_or_default()
        .to_string();
    let (status, body) = match profile(&id) {
        Some(p) => (200, p),
        None => (404, json!({"message": format!("no profile for `{id}`")})),
    };
    Ok(Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(handler)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_follow_the_id() {
        assert_eq!(profile("u-42").expect("profile")["plan"], "pro");
        assert_eq!(profile("u-1").expect("profile")["name"], "User u-1");
        assert!(profile("bad id").is_none());
        assert!(profile("").is_none());
    }
}
