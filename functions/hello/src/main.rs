//! `hello`: greets whoever the path or query names, and says which process answered (the
//! concurrency tests use that to count warm processes).

use lambda_http::{run, service_fn, Body, Error, Request, RequestExt, Response};

fn greeting(req: &Request) -> serde_json::Value {
    let path_name = req
        .path_parameters_ref()
        .and_then(|p| p.first("name"))
        .map(str::to_string);
    let query_name = req
        .query_string_parameters_ref()
        .and_then(|q| q.first("name"))
        .map(str::to_string);
    let name = path_name
        .or(query_name)
        .unwrap_or_else(|| "world".to_string());
    serde_json::json!({
        "message": format!("hello, {name}"),
        "path": req.uri().path(),
        "pid": std::process::id(),
    })
}

async fn handler(req: Request) -> Result<Response<Body>, Error> {
    let body = greeting(&req).to_string();
    Ok(Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(Body::from(body))?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(handler)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn greets_the_path_name_before_the_query() {
        let req = Request::default()
            .with_path_parameters(HashMap::from([("name".to_string(), "ada".to_string())]))
            .with_query_string_parameters(HashMap::from([("name".to_string(), "bob".to_string())]));
        assert_eq!(greeting(&req)["message"], "hello, ada");
        let req = Request::default()
            .with_query_string_parameters(HashMap::from([("name".to_string(), "bob".to_string())]));
        assert_eq!(greeting(&req)["message"], "hello, bob");
        assert_eq!(greeting(&Request::default())["message"], "hello, world");
    }
}
