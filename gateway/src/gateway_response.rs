//! Every error becomes a response here, and only here.
//!
//! A [`GatewayError`] names what went wrong; this module maps it to API Gateway's gateway-response
//! type, status, `x-amzn-ErrorType` and byte-exact default body (facts §6), applies the API's own
//! `x-amazon-apigateway-gateway-responses` overrides in AWS's resolution order (the type, then
//! DEFAULT_4XX/DEFAULT_5XX, then the built-in default), and renders HTTP API errors in their own
//! shape.

use std::time::Duration;

use http::{HeaderName, HeaderValue, Response, StatusCode};

use crate::api::ResolvedApi;
use crate::body::{full, Body};
use crate::context::{ErrorInfo, RequestContext};
use crate::spec::extensions::{GatewayResponseExt, ResponseType};
use crate::spec::ApiKind;

/// What can stop a request before the integration answers it.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// `--stage-in-path` and the first segment names no stage.
    #[error("no stage matches the request path")]
    UnknownStage,
    /// REST: no resource/method matches.
    #[error("no route matches")]
    MissingAuthenticationToken,
    /// HTTP API: no route matches.
    #[error("no route matches")]
    NotFound,
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
    Iam(crate::sigv4::SigV4Error),
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
    pub fn is_server_fault(&self) -> bool {
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

/// How one error looks on the wire by default.
struct Shape {
    response_type: Option<ResponseType>,
    status: u16,
    body: &'static str,
    error_type: Option<&'static str>,
    /// The message `$context.error.message` carries.
    message: Option<&'static str>,
}

impl GatewayError {
    fn shape(&self, kind: ApiKind) -> Shape {
        use GatewayError::*;
        if kind == ApiKind::Http {
            let (status, body, message) = match self {
                Unauthorized(_) | JwtInvalid(_) => {
                    (401, r#"{"message":"Unauthorized"}"#, "Unauthorized")
                }
                AccessDenied { .. }
                | JwtInsufficientScope(_)
                | ResourcePolicyDenied { .. }
                | Iam(_) => (403, r#"{"message":"Forbidden"}"#, "Forbidden"),
                AuthorizerConfiguration(_) => (
                    500,
                    r#"{"message":"Internal Server Error"}"#,
                    "Internal Server Error",
                ),
                UnknownStage | NotFound | MissingAuthenticationToken => {
                    (404, r#"{"message":"Not Found"}"#, "Not Found")
                }
                RequestTooLarge => (
                    413,
                    r#"{"message":"Request Entity Too Large"}"#,
                    "Request Entity Too Large",
                ),
                MissingParameters(_) | InvalidBody => {
                    (400, r#"{"message":"Bad Request"}"#, "Bad Request")
                }
                UnsupportedMediaType => (
                    415,
                    r#"{"message":"Unsupported Media Type"}"#,
                    "Unsupported Media Type",
                ),
                // HTTP APIs answer an integration timeout with 503 (facts §3c).
                IntegrationTimeout(_) => (
                    503,
                    r#"{"message":"Service Unavailable"}"#,
                    "Service Unavailable",
                ),
                IntegrationFailure(_)
                | Configuration(_)
                | LambdaFunctionError(_)
                | MalformedLambdaResponse(_) => (
                    500,
                    r#"{"message":"Internal Server Error"}"#,
                    "Internal Server Error",
                ),
                InvalidApiKey => (403, r#"{"message":"Forbidden"}"#, "Forbidden"),
                Throttled => (
                    429,
                    r#"{"message":"Too Many Requests"}"#,
                    "Too Many Requests",
                ),
                QuotaExceeded => (429, r#"{"message":"Limit Exceeded"}"#, "Limit Exceeded"),
                LambdaThrottled(_) => (
                    429,
                    r#"{"message":"Too Many Requests"}"#,
                    "Too Many Requests",
                ),
            };
            return Shape {
                response_type: None,
                status,
                body,
                error_type: None,
                message: Some(message),
            };
        }
        match self {
            JwtInvalid(_) | Unauthorized(_) => Shape {
                response_type: Some(ResponseType::Unauthorized),
                status: 401,
                body: r#"{"message":"Unauthorized"}"#,
                error_type: Some("UnauthorizedException"),
                message: Some("Unauthorized"),
            },
            Iam(crate::sigv4::SigV4Error::Missing) => Shape {
                response_type: Some(ResponseType::MissingAuthenticationToken),
                status: 403,
                body: r#"{"message":"Missing Authentication Token"}"#,
                error_type: Some("MissingAuthenticationTokenException"),
                message: Some("Missing Authentication Token"),
            },
            // The message varies; render() writes it into the body.
            Iam(_) => Shape {
                response_type: Some(ResponseType::InvalidSignature),
                status: 403,
                body: r#"{"message":"Forbidden"}"#,
                error_type: Some("InvalidSignatureException"),
                message: Some("Forbidden"),
            },
            // The body names the resource, so render() builds it; this is the fallback shape.
            ResourcePolicyDenied { .. } => Shape {
                response_type: Some(ResponseType::AccessDenied),
                status: 403,
                body: r#"{"Message":"User: anonymous is not authorized to perform: execute-api:Invoke"}"#,
                error_type: Some("AccessDeniedException"),
                message: Some("User: anonymous is not authorized to perform: execute-api:Invoke"),
            },
            JwtInsufficientScope(_) => Shape {
                response_type: Some(ResponseType::AccessDenied),
                status: 403,
                body: r#"{"message":"Forbidden"}"#,
                error_type: Some("AccessDeniedException"),
                message: Some("Forbidden"),
            },
            // Note the capital M: these bodies are not the default template's (facts §4a).
            AccessDenied { explicit: true } => Shape {
                response_type: Some(ResponseType::AccessDenied),
                status: 403,
                body: r#"{"Message":"User is not authorized to access this resource with an explicit deny"}"#,
                error_type: Some("AccessDeniedException"),
                message: Some(
                    "User is not authorized to access this resource with an explicit deny",
                ),
            },
            AccessDenied { explicit: false } => Shape {
                response_type: Some(ResponseType::AccessDenied),
                status: 403,
                body: r#"{"Message":"User is not authorized to access this resource"}"#,
                error_type: Some("AccessDeniedException"),
                message: Some("User is not authorized to access this resource"),
            },
            AuthorizerConfiguration(_) => Shape {
                response_type: Some(ResponseType::AuthorizerConfigurationError),
                status: 500,
                body: r#"{"message":null}"#,
                error_type: Some("AuthorizerConfigurationException"),
                message: None,
            },
            UnknownStage => Shape {
                response_type: None,
                status: 403,
                body: r#"{"message":"Forbidden"}"#,
                error_type: None,
                message: Some("Forbidden"),
            },
            MissingAuthenticationToken | NotFound => Shape {
                response_type: Some(ResponseType::MissingAuthenticationToken),
                status: 403,
                body: r#"{"message":"Missing Authentication Token"}"#,
                error_type: Some("MissingAuthenticationTokenException"),
                message: Some("Missing Authentication Token"),
            },
            RequestTooLarge => Shape {
                response_type: Some(ResponseType::RequestTooLarge),
                status: 413,
                body: "HTTP content length exceeded 10485760 bytes.",
                error_type: None,
                message: None,
            },
            // The message lists the names; render() writes it into the body.
            MissingParameters(_) => Shape {
                response_type: Some(ResponseType::BadRequestParameters),
                status: 400,
                body: r#"{"message":"Missing required request parameters"}"#,
                error_type: Some("BadRequestException"),
                message: Some("Missing required request parameters"),
            },
            InvalidBody => Shape {
                response_type: Some(ResponseType::BadRequestBody),
                status: 400,
                body: r#"{"message":"Invalid request body"}"#,
                error_type: Some("BadRequestException"),
                message: Some("Invalid request body"),
            },
            UnsupportedMediaType => Shape {
                response_type: Some(ResponseType::UnsupportedMediaType),
                status: 415,
                body: r#"{"message":"Unsupported Media Type"}"#,
                error_type: Some("BadRequestException"),
                message: Some("Unsupported Media Type"),
            },
            // The integration-error bodies carry a space after the colon on AWS (facts §6).
            // The error-type header for timeouts is not recorded; AWS's table leaves it blank.
            IntegrationTimeout(_) => Shape {
                response_type: Some(ResponseType::IntegrationTimeout),
                status: 504,
                body: r#"{"message": "Endpoint request timed out"}"#,
                error_type: None,
                message: Some("Endpoint request timed out"),
            },
            // A failed function or a malformed proxy response is 502 on REST APIs (facts §3b).
            LambdaFunctionError(_) | MalformedLambdaResponse(_) => Shape {
                response_type: Some(ResponseType::IntegrationFailure),
                status: 502,
                body: r#"{"message": "Internal server error"}"#,
                error_type: Some("InternalServerErrorException"),
                message: Some("Internal server error"),
            },
            InvalidApiKey => Shape {
                response_type: Some(ResponseType::InvalidApiKey),
                status: 403,
                body: r#"{"message":"Forbidden"}"#,
                error_type: Some("ForbiddenException"),
                message: Some("Forbidden"),
            },
            Throttled => Shape {
                response_type: Some(ResponseType::Throttled),
                status: 429,
                body: r#"{"message":"Too Many Requests"}"#,
                error_type: Some("TooManyRequestsException"),
                message: Some("Too Many Requests"),
            },
            QuotaExceeded => Shape {
                response_type: Some(ResponseType::QuotaExceeded),
                status: 429,
                body: r#"{"message":"Limit Exceeded"}"#,
                error_type: Some("LimitExceededException"),
                message: Some("Limit Exceeded"),
            },
            LambdaThrottled(_) => Shape {
                response_type: Some(ResponseType::Throttled),
                status: 429,
                body: r#"{"message":"Too Many Requests"}"#,
                error_type: Some("TooManyRequestsException"),
                message: Some("Too Many Requests"),
            },
            // An unreachable HTTP backend is logged by AWS as "Execution failed due to
            // configuration error" and answered 500, not INTEGRATION_FAILURE's 504.
            IntegrationFailure(_) | Configuration(_) => Shape {
                response_type: Some(ResponseType::ApiConfigurationError),
                status: 500,
                body: r#"{"message": "Internal server error"}"#,
                error_type: Some("InternalServerErrorException"),
                message: Some("Internal server error"),
            },
        }
    }
}

/// The configured override for a type, following AWS's order: the type itself, then
/// DEFAULT_4XX / DEFAULT_5XX by the type's status class.
fn find_override(api: &ResolvedApi, t: ResponseType, status: u16) -> Option<&GatewayResponseExt> {
    if t == ResponseType::RequestTooLarge {
        // REQUEST_TOO_LARGE comes from the edge and cannot really be customised (KI).
        return None;
    }
    api.gateway_responses.get(&t).or_else(|| {
        let fallback = if status >= 500 {
            ResponseType::Default5xx
        } else {
            ResponseType::Default4xx
        };
        api.gateway_responses.get(&fallback)
    })
}

/// Render `err` for this request. `api` is `None` when the request never reached an API.
pub fn render(
    err: &GatewayError,
    api: Option<&ResolvedApi>,
    ctx: &mut RequestContext,
    request_headers: &http::HeaderMap,
    query: &[(String, String)],
) -> Response<Body> {
    let kind = api
        .map(|a| a.kind)
        .or(ctx.api_kind)
        .unwrap_or(ApiKind::Rest);
    let shape = err.shape(kind);
    // Messages that name the request's resource (facts §4a: resource-policy denials).
    let dynamic_message = match err {
        GatewayError::ResourcePolicyDenied { explicit, resource } if kind == ApiKind::Rest => Some(format!(
            "User: anonymous is not authorized to perform: execute-api:Invoke on resource: {resource}{}",
            if *explicit { " with an explicit deny" } else { "" }
        )),
        _ => None,
    };
    let iam_message = match err {
        GatewayError::Iam(e)
            if kind == ApiKind::Rest && *e != crate::sigv4::SigV4Error::Missing =>
        {
            Some(e.to_string())
        }
        GatewayError::MissingParameters(_) if kind == ApiKind::Rest => Some(err.to_string()),
        _ => None,
    };
    let default_body = match (&dynamic_message, &iam_message) {
        (Some(m), _) => serde_json::json!({ "Message": m }).to_string(),
        (None, Some(m)) => serde_json::json!({ "message": m }).to_string(),
        (None, None) => shape.body.to_string(),
    };
    ctx.error = Some(ErrorInfo {
        response_type: shape.response_type,
        message: dynamic_message
            .clone()
            .or(iam_message.clone())
            .or(shape.message.map(str::to_string)),
    });

    let over = match (api, shape.response_type) {
        (Some(api), Some(t)) if kind == ApiKind::Rest => find_override(api, t, shape.status),
        _ => None,
    };

    let mut builder = Response::builder();
    let (status, content_type, body) = match over {
        None => {
            let ct = if shape.response_type == Some(ResponseType::RequestTooLarge) {
                "text; charset=utf-8"
            } else {
                "application/json"
            };
            (shape.status, ct.to_string(), default_body.clone())
        }
        Some(o) => {
            let status = o.status_code.map(|s| s.0).unwrap_or(shape.status);
            let (ct, template) = o
                .response_templates
                .get_index_of("application/json")
                .or(if o.response_templates.is_empty() {
                    None
                } else {
                    Some(0)
                })
                .and_then(|i| o.response_templates.get_index(i))
                .map(|(k, v)| (k.clone(), Some(v.clone())))
                // An override without templates changes status and headers only; the body stays
                // the type's own default.
                .unwrap_or_else(|| ("application/json".to_string(), None));
            for (target, source) in &o.response_parameters {
                let Some(name) = target.strip_prefix("gatewayresponse.header.") else {
                    continue;
                };
                if let Some(v) = parameter_value(source, ctx, request_headers, query) {
                    if let (Ok(n), Ok(v)) = (
                        HeaderName::from_bytes(name.as_bytes()),
                        HeaderValue::from_str(&v),
                    ) {
                        builder = builder.header(n, v);
                    }
                }
            }
            let body = match template {
                Some(t) => substitute(&t, ctx),
                None => default_body.clone(),
            };
            (status, ct, body)
        }
    };
    ctx.status = status;
    builder = builder.header(http::header::CONTENT_TYPE, content_type);
    // A JWT authorizer says why in `www-authenticate` (DG: http-api-troubleshooting-jwt).
    let quote = |s: &str| s.replace('"', "'");
    match err {
        GatewayError::JwtInvalid(why) => {
            builder = builder.header(
                "www-authenticate",
                format!(
                    "Bearer scope=\"\" error=\"invalid_token\" error_description=\"{}\"",
                    quote(why)
                ),
            );
        }
        GatewayError::JwtInsufficientScope(scopes) => {
            builder = builder.header(
                "www-authenticate",
                format!(
                    "Bearer scope=\"{}\" error=\"insufficient_scope\" error_description=\"the token does not have the required scope\"",
                    quote(&scopes.join(" "))
                ),
            );
        }
        _ => {}
    }
    let error_type = match err {
        GatewayError::Iam(e) => Some(e.error_type()),
        _ => shape.error_type,
    };
    if let Some(t) = error_type {
        builder = builder.header("x-amzn-ErrorType", t);
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    builder
        .status(status)
        .body(full(body))
        .unwrap_or_else(|_| Response::new(full(shape.body)))
}

/// A gateway-response parameter value: `'static'`, `method.request.{header|querystring|path}.X`,
/// `stageVariables.X` or `context.X`.
fn parameter_value(
    source: &str,
    ctx: &RequestContext,
    headers: &http::HeaderMap,
    query: &[(String, String)],
) -> Option<String> {
    let s = source.trim();
    if s.len() >= 2 && s.starts_with('\'') && s.ends_with('\'') {
        return Some(s[1..s.len() - 1].to_string());
    }
    if let Some(n) = s.strip_prefix("method.request.header.") {
        return headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
    }
    if let Some(n) = s.strip_prefix("method.request.querystring.") {
        return query
            .iter()
            .rev()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone());
    }
    if let Some(n) = s.strip_prefix("method.request.path.") {
        return ctx
            .path_params
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, v)| v.clone());
    }
    if let Some(n) = s.strip_prefix("stageVariables.") {
        return ctx.stage_variables.get(n).cloned();
    }
    if let Some(n) = s.strip_prefix("context.") {
        return ctx.variable(n);
    }
    None
}

/// Gateway-response templates are not VTL: only `$context.*` and `$stageVariables.*` references
/// are replaced (DG: supported-gateway-response-types). Unknown variables render empty.
pub fn substitute(template: &str, ctx: &RequestContext) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let (braced, body) = match after.strip_prefix('{') {
            Some(b) => (true, b),
            None => (false, after),
        };
        let len = body
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '.' || *c == '_' || *c == '-'))
            .map(|(i, _)| i)
            .unwrap_or(body.len());
        let name = body[..len].trim_end_matches('.');
        let consumed = name.len();
        let value = if let Some(v) = name.strip_prefix("context.") {
            Some(ctx.variable(v).unwrap_or_default())
        } else {
            name.strip_prefix("stageVariables.")
                .map(|v| ctx.stage_variables.get(v).cloned().unwrap_or_default())
        };
        match value {
            Some(v) if !braced || body[consumed..].starts_with('}') => {
                out.push_str(&v);
                let skip = 1 + usize::from(braced) * 2 + consumed;
                rest = &rest[pos + skip..];
            }
            _ => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::ConnInfo;

    fn ctx() -> RequestContext {
        let conn = ConnInfo {
            remote: "127.0.0.1:1".parse().expect("addr"),
            local: "127.0.0.1:2".parse().expect("addr"),
            tls: false,
        };
        let mut c = RequestContext::new(&http::Method::GET, "/x", &http::HeaderMap::new(), conn);
        c.stage_variables.insert("env".into(), "dev".into());
        c.error = Some(ErrorInfo {
            response_type: Some(ResponseType::MissingAuthenticationToken),
            message: Some("Missing Authentication Token".into()),
        });
        c
    }

    #[test]
    fn default_template_renders_like_aws() {
        let c = ctx();
        assert_eq!(
            substitute("{\"message\":$context.error.messageString}", &c),
            r#"{"message":"Missing Authentication Token"}"#
        );
        assert_eq!(
            substitute("${stageVariables.env}-$context.error.responseType $5", &c),
            "dev-MISSING_AUTHENTICATION_TOKEN $5"
        );
    }
}
