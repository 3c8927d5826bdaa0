//! The Lambda Runtime API, as the official runtime clients expect it.
//!
//! Each function process has a listener of its own: its `AWS_LAMBDA_RUNTIME_API` is
//! `127.0.0.1:PORT`, the `host:port` Lambda defines, so requests arrive as
//! `/2018-06-01/runtime/...` and belong to that process. `next` long-polls (never 204); events carry
//! the request id, an epoch-millisecond deadline, the function ARN and the trace id. Unknown or
//! repeated request ids answer 400 with a JSON error, never a panic.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{InvalidHeaderValue, CONTENT_TYPE};
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::pool::{FunctionPool, RuntimeApiError};

/// Lambda's synchronous response limit.
const MAX_RESPONSE_BYTES: usize = 6 * 1024 * 1024;

fn json(status: StatusCode, body: serde_json::Value) -> Response<Full<Bytes>> {
    json_text(status, Bytes::from(body.to_string()))
}

fn json_text(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// Lambda's answer to a delivered response or error: 202 `{"status":"OK"}`.
fn accepted() -> Response<Full<Bytes>> {
    json_text(
        StatusCode::ACCEPTED,
        Bytes::from_static(br#"{"status":"OK"}"#),
    )
}

fn error(status: StatusCode, error_type: &str, message: &str) -> Response<Full<Bytes>> {
    json(
        status,
        serde_json::json!({"errorType": error_type, "errorMessage": message}),
    )
}

fn api_error(e: RuntimeApiError) -> Response<Full<Bytes>> {
    match e {
        RuntimeApiError::InvalidRequestId => {
            error(StatusCode::BAD_REQUEST, "InvalidRequestID", &e.to_string())
        }
        RuntimeApiError::UnknownWorker => {
            error(StatusCode::FORBIDDEN, "UnknownRuntime", &e.to_string())
        }
        RuntimeApiError::Gone => error(StatusCode::GONE, "RuntimeShuttingDown", &e.to_string()),
    }
}

/// Serve one worker's Runtime API on `listener` until the returned task is aborted (when the
/// worker's process has ended).
pub fn serve_worker(
    listener: TcpListener,
    pool: Arc<FunctionPool>,
    worker: u64,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            // Without TCP_NODELAY every invoke waits on Nagle's algorithm.
            let _ = stream.set_nodelay(true);
            let pool = Arc::clone(&pool);
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    let pool = Arc::clone(&pool);
                    async move { Ok::<_, Infallible>(handle(req, &pool, worker).await) }
                });
                // HTTP/1.1 only, as Lambda's runtime clients speak it: hyper's own HTTP/1
                // connection, without the protocol sniffing of hyper-util's auto builder.
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    })
}

async fn handle(req: Request<Incoming>, pool: &FunctionPool, worker: u64) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    // 2018-06-01/runtime/...
    let (Some(&"2018-06-01"), Some(&"runtime")) = (segments.first(), segments.get(1)) else {
        return error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("no Runtime API resource at {path}"),
        );
    };
    let rest = &segments[2..];
    match (&parts.method, rest) {
        (&Method::GET, ["invocation", "next"]) => match pool.next(worker).await {
            Ok(d) => {
                let mut r = Response::new(Full::new(d.payload));
                let h = r.headers_mut();
                // Names made once: a `&'static str` name not known to `http` is copied into a
                // new `HeaderName` on every insert.
                const REQUEST_ID: HeaderName =
                    HeaderName::from_static("lambda-runtime-aws-request-id");
                const DEADLINE: HeaderName = HeaderName::from_static("lambda-runtime-deadline-ms");
                const ARN: HeaderName =
                    HeaderName::from_static("lambda-runtime-invoked-function-arn");
                const TRACE_ID: HeaderName = HeaderName::from_static("lambda-runtime-trace-id");
                // Values from owned strings take them over rather than copying them.
                let mut set = |k: HeaderName, v: Result<HeaderValue, InvalidHeaderValue>| {
                    if let Ok(v) = v {
                        h.insert(k, v);
                    }
                };
                set(
                    CONTENT_TYPE,
                    Ok(HeaderValue::from_static("application/json")),
                );
                set(REQUEST_ID, HeaderValue::try_from(d.request_id));
                set(DEADLINE, HeaderValue::try_from(d.deadline_ms.to_string()));
                set(ARN, HeaderValue::from_str(&pool.cfg().arn));
                set(TRACE_ID, HeaderValue::try_from(d.trace_id));
                r
            }
            Err(e) => api_error(e),
        },
        (&Method::POST, ["invocation", request_id, kind @ ("response" | "error")]) => {
            let error_type = parts
                .headers
                .get("lambda-runtime-function-error-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = match Limited::new(body, MAX_RESPONSE_BYTES).collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => {
                    // Lambda fails an oversized response as a function error.
                    let payload = Bytes::from(
                        serde_json::json!({
                            "errorType": "Function.ResponseSizeTooLarge",
                            "errorMessage": format!("Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes).")
                        })
                        .to_string(),
                    );
                    return match pool.fail(worker, request_id, payload) {
                        Ok(()) => error(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "RequestEntityTooLarge",
                            "response too large",
                        ),
                        Err(e) => api_error(e),
                    };
                }
            };
            let result = if *kind == "response" {
                pool.respond(worker, request_id, body)
            } else {
                let body = if body.is_empty() {
                    Bytes::from(
                        serde_json::json!({"errorType": error_type.unwrap_or_else(|| "Unhandled".into()), "errorMessage": ""})
                            .to_string(),
                    )
                } else {
                    body
                };
                pool.fail(worker, request_id, body)
            };
            match result {
                Ok(()) => accepted(),
                Err(e) => api_error(e),
            }
        }
        (&Method::POST, ["init", "error"]) => {
            let body = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            match pool.init_error(worker, body) {
                Ok(()) => accepted(),
                Err(e) => api_error(e),
            }
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("no Runtime API resource at {path}"),
        ),
    }
}
