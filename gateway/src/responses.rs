//! Every error becomes a response here, and only here.
//!
//! A [`GatewayError`] names what went wrong; [`TABLE`] says how API Gateway answers it by
//! default, for REST APIs and HTTP APIs (aws-behaviour §6): the gateway-response type, status,
//! `x-amzn-ErrorType` and byte-exact body. [`render`] then applies the API's own
//! `x-amazon-apigateway-gateway-responses` overrides in AWS's resolution order (the type, then
//! DEFAULT_4XX/DEFAULT_5XX, then the built-in default).

use http::{HeaderName, HeaderValue, Response, StatusCode};

use crate::body::{full, Body};
use crate::context::{ErrorInfo, RequestContext};
use crate::error::{GatewayError, SigV4Error};
use crate::model::ResolvedApi;
use crate::spec::extensions::{GatewayResponseExt, ResponseType};
use crate::spec::ApiKind;

/// The situations the default answers tell apart; several errors share one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    UnknownStage,
    NoRoute,
    BadRequest,
    RequestTimeout,
    RequestTooLarge,
    UnsupportedMediaType,
    MissingParameters,
    InvalidBody,
    IntegrationTimeout,
    /// A backend that cannot be reached, or the API's own configuration.
    ApiConfiguration,
    /// A Lambda proxy function that failed or answered in a shape API Gateway rejects.
    FunctionFailed,
    Throttled,
    QuotaExceeded,
    InvalidApiKey,
    Unauthorized,
    ExplicitDeny,
    NotAllowed,
    InsufficientScope,
    ResourcePolicy,
    IamMissing,
    IamInvalid,
    AuthorizerFailed,
}

impl Case {
    fn of(err: &GatewayError) -> Case {
        use GatewayError as E;
        match err {
            E::UnknownStage => Case::UnknownStage,
            E::MissingAuthenticationToken | E::NotFound => Case::NoRoute,
            E::BadRequest(_) => Case::BadRequest,
            E::RequestTimeout(_) => Case::RequestTimeout,
            E::RequestTooLarge => Case::RequestTooLarge,
            E::UnsupportedMediaType => Case::UnsupportedMediaType,
            E::MissingParameters(_) => Case::MissingParameters,
            E::InvalidBody => Case::InvalidBody,
            E::IntegrationTimeout(_) => Case::IntegrationTimeout,
            E::IntegrationFailure(_) | E::Configuration(_) => Case::ApiConfiguration,
            E::LambdaFunctionError(_) | E::MalformedLambdaResponse(_) => Case::FunctionFailed,
            E::LambdaThrottled(_) | E::Throttled => Case::Throttled,
            E::QuotaExceeded => Case::QuotaExceeded,
            E::InvalidApiKey => Case::InvalidApiKey,
            E::Unauthorized(_) | E::JwtInvalid(_) => Case::Unauthorized,
            E::AccessDenied { explicit: true } => Case::ExplicitDeny,
            E::AccessDenied { explicit: false } => Case::NotAllowed,
            E::JwtInsufficientScope(_) => Case::InsufficientScope,
            E::ResourcePolicyDenied { .. } => Case::ResourcePolicy,
            E::Iam(SigV4Error::Missing) => Case::IamMissing,
            E::Iam(_) => Case::IamInvalid,
            E::AuthorizerConfiguration(_) => Case::AuthorizerFailed,
        }
    }
}

/// How a REST API answers one case by default.
#[derive(Clone, Copy)]
struct Rest {
    response_type: Option<ResponseType>,
    status: u16,
    /// The default body; where the message varies, [`render`] builds it instead.
    body: &'static str,
    error_type: Option<&'static str>,
    /// What `$context.error.message` carries (`None`: null).
    message: Option<&'static str>,
}

/// One row of the table: a case, its REST answer, and its HTTP API status and message (HTTP API
/// bodies are always `{"message":"<message>"}`).
struct Row {
    case: Case,
    rest: Rest,
    http: (u16, &'static str),
}

const fn rest(
    response_type: ResponseType,
    status: u16,
    body: &'static str,
    error_type: Option<&'static str>,
    message: Option<&'static str>,
) -> Rest {
    Rest {
        response_type: Some(response_type),
        status,
        body,
        error_type,
        message,
    }
}

use ResponseType as T;
const BAD_REQUEST: Option<&str> = Some("BadRequestException");
const INTERNAL: Option<&str> = Some("InternalServerErrorException");
const DENIED: Option<&str> = Some("AccessDeniedException");
const THROTTLED: Option<&str> = Some("TooManyRequestsException");

/// API Gateway's default answers (aws-behaviour §6, §4a, §3b, §3c).
const TABLE: &[Row] = &[
    Row {
        case: Case::UnknownStage,
        rest: Rest {
            response_type: None,
            status: 403,
            body: r#"{"message":"Forbidden"}"#,
            error_type: None,
            message: Some("Forbidden"),
        },
        http: (404, "Not Found"),
    },
    Row {
        case: Case::NoRoute,
        rest: rest(
            T::MissingAuthenticationToken,
            403,
            r#"{"message":"Missing Authentication Token"}"#,
            Some("MissingAuthenticationTokenException"),
            Some("Missing Authentication Token"),
        ),
        http: (404, "Not Found"),
    },
    // tollgate's own refusals (aws-behaviour §2, §9, §13): not customisable.
    Row {
        case: Case::RequestTimeout,
        rest: Rest {
            response_type: None,
            status: 408,
            body: r#"{"message":"Request Timeout"}"#,
            error_type: None,
            message: Some("Request Timeout"),
        },
        http: (408, "Request Timeout"),
    },
    Row {
        case: Case::BadRequest,
        rest: Rest {
            response_type: None,
            status: 400,
            body: r#"{"message":"Bad Request"}"#,
            error_type: BAD_REQUEST,
            message: Some("Bad Request"),
        },
        http: (400, "Bad Request"),
    },
    // From the edge: plain text, and not customisable.
    Row {
        case: Case::RequestTooLarge,
        rest: rest(
            T::RequestTooLarge,
            413,
            "HTTP content length exceeded 10485760 bytes.",
            None,
            None,
        ),
        http: (413, "Request Entity Too Large"),
    },
    Row {
        case: Case::UnsupportedMediaType,
        rest: rest(
            T::UnsupportedMediaType,
            415,
            r#"{"message":"Unsupported Media Type"}"#,
            BAD_REQUEST,
            Some("Unsupported Media Type"),
        ),
        http: (415, "Unsupported Media Type"),
    },
    // The message lists the names; render() writes it into the body.
    Row {
        case: Case::MissingParameters,
        rest: rest(
            T::BadRequestParameters,
            400,
            r#"{"message":"Missing required request parameters"}"#,
            BAD_REQUEST,
            Some("Missing required request parameters"),
        ),
        http: (400, "Bad Request"),
    },
    Row {
        case: Case::InvalidBody,
        rest: rest(
            T::BadRequestBody,
            400,
            r#"{"message":"Invalid request body"}"#,
            BAD_REQUEST,
            Some("Invalid request body"),
        ),
        http: (400, "Bad Request"),
    },
    // The integration-error bodies carry a space after the colon; the timeout's error type is
    // not recorded. HTTP APIs answer a timeout with 503.
    Row {
        case: Case::IntegrationTimeout,
        rest: rest(
            T::IntegrationTimeout,
            504,
            r#"{"message": "Endpoint request timed out"}"#,
            None,
            Some("Endpoint request timed out"),
        ),
        http: (503, "Service Unavailable"),
    },
    // An unreachable HTTP backend is logged as a configuration error and answered 500.
    Row {
        case: Case::ApiConfiguration,
        rest: rest(
            T::ApiConfigurationError,
            500,
            r#"{"message": "Internal server error"}"#,
            INTERNAL,
            Some("Internal server error"),
        ),
        http: (500, "Internal Server Error"),
    },
    // A failed function or a malformed proxy response is 502 on REST APIs.
    Row {
        case: Case::FunctionFailed,
        rest: rest(
            T::IntegrationFailure,
            502,
            r#"{"message": "Internal server error"}"#,
            INTERNAL,
            Some("Internal server error"),
        ),
        http: (500, "Internal Server Error"),
    },
    Row {
        case: Case::Throttled,
        rest: rest(
            T::Throttled,
            429,
            r#"{"message":"Too Many Requests"}"#,
            THROTTLED,
            Some("Too Many Requests"),
        ),
        http: (429, "Too Many Requests"),
    },
    Row {
        case: Case::QuotaExceeded,
        rest: rest(
            T::QuotaExceeded,
            429,
            r#"{"message":"Limit Exceeded"}"#,
            Some("LimitExceededException"),
            Some("Limit Exceeded"),
        ),
        http: (429, "Limit Exceeded"),
    },
    Row {
        case: Case::InvalidApiKey,
        rest: rest(
            T::InvalidApiKey,
            403,
            r#"{"message":"Forbidden"}"#,
            Some("ForbiddenException"),
            Some("Forbidden"),
        ),
        http: (403, "Forbidden"),
    },
    Row {
        case: Case::Unauthorized,
        rest: rest(
            T::Unauthorized,
            401,
            r#"{"message":"Unauthorized"}"#,
            Some("UnauthorizedException"),
            Some("Unauthorized"),
        ),
        http: (401, "Unauthorized"),
    },
    // Note the capital M: these bodies are not the default template's.
    Row {
        case: Case::ExplicitDeny,
        rest: rest(
            T::AccessDenied,
            403,
            r#"{"Message":"User is not authorized to access this resource with an explicit deny"}"#,
            DENIED,
            Some("User is not authorized to access this resource with an explicit deny"),
        ),
        http: (403, "Forbidden"),
    },
    Row {
        case: Case::NotAllowed,
        rest: rest(
            T::AccessDenied,
            403,
            r#"{"Message":"User is not authorized to access this resource"}"#,
            DENIED,
            Some("User is not authorized to access this resource"),
        ),
        http: (403, "Forbidden"),
    },
    Row {
        case: Case::InsufficientScope,
        rest: rest(
            T::AccessDenied,
            403,
            r#"{"message":"Forbidden"}"#,
            DENIED,
            Some("Forbidden"),
        ),
        http: (403, "Forbidden"),
    },
    // The body names the resource, so render() builds it; this is the fallback.
    Row {
        case: Case::ResourcePolicy,
        rest: rest(
            T::AccessDenied,
            403,
            r#"{"Message":"User: anonymous is not authorized to perform: execute-api:Invoke"}"#,
            DENIED,
            Some("User: anonymous is not authorized to perform: execute-api:Invoke"),
        ),
        http: (403, "Forbidden"),
    },
    Row {
        case: Case::IamMissing,
        rest: rest(
            T::MissingAuthenticationToken,
            403,
            r#"{"message":"Missing Authentication Token"}"#,
            Some("MissingAuthenticationTokenException"),
            Some("Missing Authentication Token"),
        ),
        http: (403, "Forbidden"),
    },
    // The message and error type vary with the signature problem; render() writes them.
    Row {
        case: Case::IamInvalid,
        rest: rest(
            T::InvalidSignature,
            403,
            r#"{"message":"Forbidden"}"#,
            Some("InvalidSignatureException"),
            Some("Forbidden"),
        ),
        http: (403, "Forbidden"),
    },
    Row {
        case: Case::AuthorizerFailed,
        rest: rest(
            T::AuthorizerConfigurationError,
            500,
            r#"{"message":null}"#,
            Some("AuthorizerConfigurationException"),
            None,
        ),
        http: (500, "Internal Server Error"),
    },
];

/// How `err` looks by default on an API of `kind`.
fn default_answer(err: &GatewayError, kind: ApiKind) -> Rest {
    let case = Case::of(err);
    let Some(row) = TABLE.iter().find(|r| r.case == case) else {
        // Every case has a row (a unit test checks); this keeps a missing one visible as a 500.
        return Rest {
            response_type: None,
            status: 500,
            body: r#"{"message": "Internal server error"}"#,
            error_type: None,
            message: Some("Internal server error"),
        };
    };
    match kind {
        ApiKind::Rest => row.rest,
        ApiKind::Http => Rest {
            response_type: None,
            status: row.http.0,
            body: "",
            error_type: None,
            message: Some(row.http.1),
        },
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
pub(crate) fn render(
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
    let shape = default_answer(err, kind);
    let base_body = match kind {
        ApiKind::Rest => shape.body.to_string(),
        ApiKind::Http => serde_json::json!({ "message": shape.message }).to_string(),
    };
    // Messages that name the request's resource (aws-behaviour §4a: resource-policy denials).
    let dynamic_message = match err {
        GatewayError::ResourcePolicyDenied { explicit, resource } if kind == ApiKind::Rest => Some(format!(
            "User: anonymous is not authorized to perform: execute-api:Invoke on resource: {resource}{}",
            if *explicit { " with an explicit deny" } else { "" }
        )),
        _ => None,
    };
    let iam_message = match err {
        GatewayError::Iam(e) if kind == ApiKind::Rest && *e != SigV4Error::Missing => {
            Some(e.to_string())
        }
        GatewayError::MissingParameters(_) if kind == ApiKind::Rest => Some(err.to_string()),
        _ => None,
    };
    let default_body = match (&dynamic_message, &iam_message) {
        (Some(m), _) => serde_json::json!({ "Message": m }).to_string(),
        (None, Some(m)) => serde_json::json!({ "message": m }).to_string(),
        (None, None) => base_body.clone(),
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
        .unwrap_or_else(|_| Response::new(full(base_body)))
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
pub(crate) fn substitute(template: &str, ctx: &RequestContext) -> String {
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
        std::sync::Arc::make_mut(&mut c.stage_variables).insert("env".into(), "dev".into());
        c.error = Some(ErrorInfo {
            response_type: Some(ResponseType::MissingAuthenticationToken),
            message: Some("Missing Authentication Token".into()),
        });
        c
    }

    #[test]
    fn every_case_has_one_row() {
        let cases = [
            Case::UnknownStage,
            Case::NoRoute,
            Case::BadRequest,
            Case::RequestTimeout,
            Case::RequestTooLarge,
            Case::UnsupportedMediaType,
            Case::MissingParameters,
            Case::InvalidBody,
            Case::IntegrationTimeout,
            Case::ApiConfiguration,
            Case::FunctionFailed,
            Case::Throttled,
            Case::QuotaExceeded,
            Case::InvalidApiKey,
            Case::Unauthorized,
            Case::ExplicitDeny,
            Case::NotAllowed,
            Case::InsufficientScope,
            Case::ResourcePolicy,
            Case::IamMissing,
            Case::IamInvalid,
            Case::AuthorizerFailed,
        ];
        for c in cases {
            assert_eq!(TABLE.iter().filter(|r| r.case == c).count(), 1, "{c:?}");
        }
        assert_eq!(TABLE.len(), cases.len());
    }

    #[test]
    fn http_api_bodies_follow_the_message() {
        let mut c = ctx();
        let r = render(
            &GatewayError::Throttled,
            None,
            &mut c,
            &http::HeaderMap::new(),
            &[],
        );
        assert_eq!(r.status(), 429);
        c.api_kind = Some(ApiKind::Http);
        let r = render(
            &GatewayError::IntegrationTimeout(std::time::Duration::ZERO),
            None,
            &mut c,
            &http::HeaderMap::new(),
            &[],
        );
        assert_eq!(r.status(), 503);
        assert_eq!(
            c.error.as_ref().and_then(|e| e.message.as_deref()),
            Some("Service Unavailable")
        );
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
