//! `conformance`: a function whose behaviour the request path chooses, so end-to-end tests can
//! drive every outcome of the Lambda proxy contract through a real process:
//!
//! - `.../echo`: 200 with the whole event as the body (golden event tests);
//! - `.../raw`: returns the request body, parsed as JSON, as the function's result (malformed
//!   proxy response tests);
//! - `.../fail`: an unhandled error; `.../crash`: the process exits mid-invocation;
//! - `.../sleep/{ms}`: answers after a delay; `.../pid`: says which process answered, and the
//!   Runtime API address it was given.
//!
//! With `INIT_FAIL=1` in its environment it exits before asking for work (an init failure).

use base64::Engine;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

/// What the event asks for: the request path (REST / v1 `path`, v2 `rawPath`).
fn path(event: &Value) -> String {
    event
        .get("path")
        .or_else(|| event.get("rawPath"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn body_text(event: &Value) -> String {
    let body = event
        .get("body")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if event
        .get("isBase64Encoded")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    } else {
        body.to_string()
    }
}

/// The decision, apart from the side effects (sleep, crash) the caller performs.
#[derive(Debug, PartialEq)]
enum Action {
    Reply(Value),
    Fail(String),
    Crash,
    Sleep(u64),
}

fn decide(event: &Value) -> Action {
    let p = path(event);
    let last: Vec<&str> = p.trim_end_matches('/').rsplit('/').take(2).collect();
    match last.as_slice() {
        ["echo", ..] => Action::Reply(json!({
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": event.to_string(),
        })),
        ["raw", ..] => match serde_json::from_str::<Value>(&body_text(event)) {
            Ok(v) => Action::Reply(v),
            Err(e) => Action::Fail(format!("raw wants a JSON body: {e}")),
        },
        ["fail", ..] => Action::Fail("boom".into()),
        ["crash", ..] => Action::Crash,
        [ms, "sleep"] => Action::Sleep(ms.parse().unwrap_or(0)),
        _ => Action::Reply(json!({
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": json!({
                "pid": std::process::id(),
                "path": p,
                "runtime_api": std::env::var("AWS_LAMBDA_RUNTIME_API").unwrap_or_default(),
            })
            .to_string(),
        })),
    }
}

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    match decide(&event.payload) {
        Action::Reply(v) => Ok(v),
        Action::Fail(m) => Err(m.into()),
        Action::Crash => std::process::exit(3),
        Action::Sleep(ms) => {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            Ok(json!({
                "statusCode": 200,
                "body": json!({"slept": ms, "pid": std::process::id()}).to_string(),
            }))
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    if std::env::var("INIT_FAIL").as_deref() == Ok("1") {
        eprintln!("conformance: INIT_FAIL=1, exiting before the first invocation");
        std::process::exit(2);
    }
    run(service_fn(handler)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_choose_actions() {
        assert_eq!(decide(&json!({"path": "/x/crash"})), Action::Crash);
        assert_eq!(
            decide(&json!({"rawPath": "/x/sleep/250"})),
            Action::Sleep(250)
        );
        assert_eq!(
            decide(&json!({"path": "/fail"})),
            Action::Fail("boom".into())
        );
        assert_eq!(
            decide(&json!({"path": "/raw", "body": "eyJhIjoxfQ==", "isBase64Encoded": true})),
            Action::Reply(json!({"a": 1}))
        );
        match decide(&json!({"path": "/a/echo", "k": 1})) {
            Action::Reply(v) => {
                assert_eq!(v["body"], json!({"path": "/a/echo", "k": 1}).to_string())
            }
            other => panic!("{other:?}"),
        }
    }
}
