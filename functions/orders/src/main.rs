//! `orders`: a user's orders, `GET /users/{userId}/orders?status=...`.

use lambda_http::{run, service_fn, Body, Error, Request, RequestExt, Response};
use serde_json::{json, Value};

/// Three orders per user, one per status, so filtering is visible.
fn orders(user_id: &str, status: Option<&str>) -> Value {
    let all = [("SHIPPED", 42.5), ("PENDING", 17.0), ("CANCELLED", 8.25)];
    let list: Vec<Value> = all
        .iter()
        .enumerate()
        .filter(|(_, (s, _))| status.is_none_or(|want| want.eq_ignore_ascii_case(s)))
        .map(|(i, (s, total))| json!({"id": format!("{user_id}-ord-{}", i + 1), "status": s, "total": total}))
        .collect();
    json!({"userId": user_id, "orders": list})
}

async fn handler(req: Request) -> Result<Response<Body>, Error> {
    let id = req
        .path_parameters_ref()
        .and_then(|p| p.first("userId"))
        .unwrap_or("anonymous")
        .to_string();
    let status = req
        .query_string_parameters_ref()
        .and_then(|q| q.first("status"))
        .map(str::to_string);
    let body = orders(&id, status.as_deref());
    Ok(Response::builder()
        .status(200)
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
    fn filters_by_status() {
        assert_eq!(
            orders("u1", None)["orders"].as_array().map(Vec::len),
            Some(3)
        );
        let pending = orders("u1", Some("pending"));
        assert_eq!(pending["orders"].as_array().map(Vec::len), Some(1));
        assert_eq!(pending["orders"][0]["id"], "u1-ord-2");
    }
}
