//! The Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`), as
//! `sam local start-lambda` serves it, so AWS SDK clients and `aws lambda invoke
//! --endpoint-url` can call local functions.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use gateway::{InvokeError, InvokeOutcome, InvokeRequest, Invoker};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

use super::LambdaHost;

/// Lambda's synchronous request payload limit.
const MAX_PAYLOAD: usize = 6 * 1024 * 1024;

fn respond(status: StatusCode, request_id: &str, body: Bytes) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = http::HeaderValue::from_str(request_id) {
        h.insert("x-amzn-RequestId", v);
    }
    r
}

fn service_error(
    status: StatusCode,
    request_id: &str,
    error_type: &'static str,
    body: serde_json::Value,
) -> Response<Full<Bytes>> {
    let mut r = respond(status, request_id, Bytes::from(body.to_string()));
    r.headers_mut().insert(
        "x-amzn-ErrorType",
        http::HeaderValue::from_static(error_type),
    );
    r
}

/// The function a path names: a logical id, a function name, or a (qualified) function ARN.
pub fn function_from_path(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/2015-03-31/functions/")?;
    let name = rest.strip_suffix("/invocations")?;
    let name = percent_decode(name);
    Some(match name.split_once(":function:") {
        Some((_, tail)) => tail.split(':').next().unwrap_or(tail).to_string(),
        None => name,
    })
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

pub async fn handle(host: Arc<LambdaHost>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let request_id = gateway::new_request_id();
    let path = req.uri().path().to_string();
    let Some(name) = function_from_path(&path).filter(|_| req.method() == Method::POST) else {
        return service_error(
            StatusCode::NOT_FOUND,
            &request_id,
            "UnknownOperationException",
            serde_json::json!({"Type": "User", "message": format!("{} {path} is not a Lambda API operation served here", req.method())}),
        );
    };
    let Some(logical_id) = host.resolve(&name) else {
        return service_error(
            StatusCode::NOT_FOUND,
            &request_id,
            "ResourceNotFoundException",
            serde_json::json!({
                "Type": "User",
                "Message": format!("Function not found: arn:aws:lambda:{}:{}:function:{name}", gateway::REGION, gateway::ACCOUNT_ID)
            }),
        );
    };
    let invocation_type = req
        .headers()
        .get("x-amz-invocation-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("RequestResponse")
        .to_string();
    let payload = match Limited::new(req.into_body(), MAX_PAYLOAD).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return service_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &request_id,
                "RequestEntityTooLargeException",
                serde_json::json!({"Type": "User", "message": format!("Request must be smaller than {MAX_PAYLOAD} bytes for the InvokeFunction operation")}),
            )
        }
    };
    let payload = if payload.is_empty() {
        Bytes::from_static(b"{}")
    } else {
        payload
    };
    let request = InvokeRequest {
        function: logical_id,
        payload,
        trace_id: format!("Root=1-{:08x}-{}", 0, &request_id.replace('-', "")[..24]),
    };
    match invocation_type.as_str() {
        "DryRun" => return respond(StatusCode::NO_CONTENT, &request_id, Bytes::new()),
        "Event" => {
            let host = Arc::clone(&host);
            tokio::spawn(async move {
                if let Err(e) = host.invoke(request).await {
                    tracing::warn!("asynchronous invocation failed: {e}");
                }
            });
            return respond(StatusCode::ACCEPTED, &request_id, Bytes::new());
        }
        "RequestResponse" => {}
        other => {
            return service_error(
                StatusCode::BAD_REQUEST,
                &request_id,
                "InvalidParameterValueException",
                serde_json::json!({"Type": "User", "message": format!("Unsupported invocation type {other}: expected RequestResponse, Event or DryRun")}),
            )
        }
    }
    match host.invoke(request).await {
        Ok(InvokeOutcome::Success(body)) => {
            let mut r = respond(StatusCode::OK, &request_id, body);
            r.headers_mut().insert(
                "x-amz-executed-version",
                http::HeaderValue::from_static("$LATEST"),
            );
            r
        }
        Ok(InvokeOutcome::FunctionError(body)) => {
            let mut r = respond(StatusCode::OK, &request_id, body);
            r.headers_mut().insert(
                "x-amz-function-error",
                http::HeaderValue::from_static("Unhandled"),
            );
            r.headers_mut().insert(
                "x-amz-executed-version",
                http::HeaderValue::from_static("$LATEST"),
            );
            r
        }
        Err(InvokeError::Throttled(_)) => service_error(
            StatusCode::TOO_MANY_REQUESTS,
            &request_id,
            "TooManyRequestsException",
            serde_json::json!({"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded", "Type": "User", "message": "Rate Exceeded."}),
        ),
        Err(e) => service_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &request_id,
            "ServiceException",
            serde_json::json!({"Type": "Service", "message": e.to_string()}),
        ),
    }
}

/// Serve the Invoke API on `listener`.
pub fn serve(listener: TcpListener, host: Arc<LambdaHost>) {
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let host = Arc::clone(&host);
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    let host = Arc::clone(&host);
                    async move { Ok::<_, Infallible>(handle(host, req).await) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_paths() {
        assert_eq!(
            function_from_path("/2015-03-31/functions/Hello/invocations").as_deref(),
            Some("Hello")
        );
        assert_eq!(
            function_from_path("/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3AHello%3Alive/invocations").as_deref(),
            Some("Hello")
        );
        assert_eq!(function_from_path("/2015-03-31/functions/Hello"), None);
    }
}
