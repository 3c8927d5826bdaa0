//! How the pipeline calls Lambda functions: through the [`Invoker`] trait, so the same phases run
//! against the emulator's Runtime API host, or (deployed) against the Lambda Invoke API.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

/// One synchronous invocation.
#[derive(Debug, Clone)]
pub struct InvokeRequest {
    /// The function's logical id (or name, for a bare OpenAPI file).
    pub function: String,
    pub payload: Bytes,
    /// `Root=1-...`, passed to the function as `Lambda-Runtime-Trace-Id`.
    pub trace_id: String,
}

/// What the function returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvokeOutcome {
    /// The function's result payload.
    Success(Bytes),
    /// The function failed: an `{"errorMessage", "errorType", ...}` payload, as Lambda reports
    /// unhandled errors, timeouts ("Task timed out after N seconds") and runtime crashes.
    FunctionError(Bytes),
}

/// The invocation never produced a function result.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum InvokeError {
    #[error("no function named `{0}` is defined")]
    NotFound(String),
    /// The function's concurrency and queue are full (Lambda's TooManyRequestsException).
    #[error("function `{0}` is at its concurrency limit and its queue is full")]
    Throttled(String),
    #[error("invoking `{function}` failed: {message}")]
    Failed { function: String, message: String },
}

pub type InvokeFuture<'a> =
    Pin<Box<dyn Future<Output = Result<InvokeOutcome, InvokeError>> + Send + 'a>>;

/// Something that can run a Lambda function.
pub trait Invoker: Send + Sync + 'static {
    fn invoke(&self, request: InvokeRequest) -> InvokeFuture<'_>;
}

/// The `errorMessage` of a function-error payload ("" when there is none), which non-proxy
/// integration responses select on.
pub fn error_message(payload: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(payload)
        .ok()
        .and_then(|v| {
            v.get("errorMessage")
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or_default()
}
