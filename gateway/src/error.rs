//! What can stop a request: every fault or refusal a phase can report, typed. Nothing here knows
//! how an error looks on the wire; [`crate::responses`] renders each one, in one place.

use std::time::Duration;

/// What can stop a request before the integration answers it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GatewayError {
    /// `--stage-in-path` and the first segment names no stage.
    #[error("no stage matches the request path")]
    UnknownStage,
    /// REST: no resource/method matches.
    #[error("no route matches")]
    MissingAuthenticationToken,
    /// HTTP API: no route matches.
    #[error("no route matches")]
    NotFound,
    /// A request tollgate refuses to read further (an encoded dot segment in the path, a
    /// missing or doubled Host, a malformed body), with the reason for the log.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The request body did not arrive in time (`--body-timeout`).
    #[error("the request body did not arrive within {0:?}")]
    RequestTimeout(Duration),
    #[error("request body exceeds 10485760 bytes")]
    RequestTooLarge,
    #[error("no request template matches the content type and passthrough is not allowed")]
    UnsupportedMediaType,
    /// Request validation: required parameters missing or blank, in AWS's order.
    #[error("Missing required request parameters: [{}]", .0.join(", "))]
    MissingParameters(Vec<String>),
    /// Request validation: the body is not JSON or does not match its model (the details go to
    /// `$context.error.validationErrorString`).
    #[error("Invalid request body")]
    InvalidBody,
    #[error("integration timed out after {0:?}")]
    IntegrationTimeout(Duration),
    /// The backend could not be reached or broke the connection.
    #[error("integration failed: {0}")]
    IntegrationFailure(String),
    /// A Lambda proxy integration's function failed (unhandled error, timeout, crash).
    #[error("Lambda function failed: {0}")]
    LambdaFunctionError(String),
    /// A Lambda proxy integration's function answered in a shape API Gateway rejects.
    #[error("{0}")]
    MalformedLambdaResponse(String),
    /// The function is at its concurrency limit with a full queue.
    #[error("Lambda function throttled: {0}")]
    LambdaThrottled(String),
    /// The caller's identity is missing, invalid, or the authorizer answered "Unauthorized".
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// The authorizer's policy does not allow the method (`explicit`: a Deny matched).
    #[error("access denied (explicit deny: {explicit})")]
    AccessDenied { explicit: bool },
    /// HTTP API JWT authorizer: the token is missing or invalid (401 with `www-authenticate`).
    #[error("invalid token: {0}")]
    JwtInvalid(String),
    /// HTTP API JWT authorizer: valid token, none of the route's scopes (403).
    #[error("insufficient scope: needs one of {0:?}")]
    JwtInsufficientScope(Vec<String>),
    /// The resource policy does not let an anonymous caller invoke `resource`.
    #[error("denied by the resource policy (explicit deny: {explicit})")]
    ResourcePolicyDenied { explicit: bool, resource: String },
    /// The method needs an API key and the request's is missing, unknown, disabled or not in a
    /// plan for this stage.
    #[error("invalid API key")]
    InvalidApiKey,
    /// The key's token bucket is empty.
    #[error("throttled")]
    Throttled,
    /// The key's quota for the period is used up.
    #[error("quota exceeded")]
    QuotaExceeded,
    /// `AWS_IAM`: unsigned, unknown key, bad or expired signature.
    #[error("IAM authorization failed: {0}")]
    Iam(SigV4Error),
    /// The authorizer failed, timed out, or answered in a shape API Gateway rejects.
    #[error("authorizer error: {0}")]
    AuthorizerConfiguration(String),
    /// The API's own configuration cannot serve the request (no matching integration response,
    /// an unparsable MOCK status, a forbidden header mapping, ...).
    #[error("configuration error: {0}")]
    Configuration(String),
}

impl GatewayError {
    /// Faults of the API or its backends (worth a warning), as opposed to client mistakes.
    pub(crate) fn is_server_fault(&self) -> bool {
        matches!(
            self,
            GatewayError::IntegrationTimeout(_)
                | GatewayError::IntegrationFailure(_)
                | GatewayError::Configuration(_)
                | GatewayError::LambdaFunctionError(_)
                | GatewayError::MalformedLambdaResponse(_)
                | GatewayError::AuthorizerConfiguration(_)
        )
    }
}

/// Why a SigV4-signed (`AWS_IAM`) request was refused; each maps to AWS's 403 message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SigV4Error {
    #[error("Missing Authentication Token")]
    Missing,
    #[error("{0}")]
    Incomplete(String),
    #[error("The security token included in the request is invalid.")]
    UnknownKey,
    #[error("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")]
    Mismatch,
    #[error("Signature expired: {0} is now earlier than the allowed window (5 min.)")]
    Expired(String),
}

impl SigV4Error {
    /// `x-amzn-ErrorType`.
    pub(crate) fn error_type(&self) -> &'static str {
        match self {
            SigV4Error::Missing => "MissingAuthenticationTokenException",
            SigV4Error::Incomplete(_) => "IncompleteSignatureException",
            SigV4Error::UnknownKey => "UnrecognizedClientException",
            SigV4Error::Mismatch | SigV4Error::Expired(_) => "InvalidSignatureException",
        }
    }
}
