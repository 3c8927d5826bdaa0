//! `notifications`: a user's unread notifications, `GET /users/{userId}/notifications`.

use lambda_http::{run, service_fn, Body, Error, Request, RequestExt, Response};
use serde_json::{json, Value};

fn notifications(user_id: &str, limit: usize) -> Value {
    let items: Vec<Value> = (1..=5)
        .take(limit)
        .map(|i| json!({"id": format!("{user_id}-n{i}"), "text": format!("Notification {i} for {user_id}"), "read": false}))
        .collect();
    json!({"userId": user_id, "unread": items.len(), "items": items})
}

async fn handler(req: Request) -> Result<Response<Body>, Error> {
    let id = req
        .path_parameters_ref()
        .and_then(|p| p.first("userId"))
        .unwrap_or("anonymous")
        .to_string();
    let limit = req
        .query_string_parameters_ref()
        .and_then(|q| q.first("limit"))
        .and_then(|l| l.parse().ok())
        .unwrap_or(5);
    Ok(Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(Body::from(notifications(&id, limit).to_string()))?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(handler)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_caps_the_list() {
        assert_eq!(notifications("u", 2)["unread"], 2);
        assert_eq!(notifications("u", 50)["unread"], 5);
        assert_eq!(notifications("u", 0)["items"], json!([]));
    }
}
