//! Integration response: turn what the backend said into the method response.
//!
//! MOCK (and later every non-proxy integration): select the response rule by the selection value,
//! map its `responseParameters` and render the template chosen by `Accept`. HTTP_PROXY: pass status,
//! headers and body through, renaming or dropping headers as API Gateway does (KI header table).

use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};

use crate::api::{Integration, IntegrationResponseRule, ParamSource, ResolvedApi, Route};
use crate::body::{full, Body};
use crate::context::RequestContext;
use crate::gateway_response::GatewayError;
use crate::integration::{IntegrationKind, IntegrationResponse};
use crate::method_request::MethodRequest;

/// Response headers renamed to `x-amzn-Remapped-<name>` (KI table).
const REMAPPED: &[&str] = &[
    "authorization",
    "connection",
    "content-md5",
    "date",
    "max-forwards",
    "server",
    "user-agent",
    "www-authenticate",
];

/// Response headers dropped from an HTTP_PROXY response (KI table; hop-by-hop headers too).
const DROPPED: &[&str] = &[
    "expect",
    "host",
    "keep-alive",
    "proxy-authenticate",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "via",
];

pub fn run(
    api: &ResolvedApi,
    route: &Route,
    ctx: &mut RequestContext,
    req: &MethodRequest,
    resp: IntegrationResponse,
) -> Result<Response<Body>, GatewayError> {
    match (resp.kind, &route.integration) {
        (IntegrationKind::Mock, Integration::Mock(m)) => {
            let rule = m.responses.select(&resp.selection).ok_or_else(|| {
                GatewayError::Configuration(format!(
                    "no integration response matches `{}` and there is no default",
                    resp.selection
                ))
            })?;
            Ok(mapped(api, ctx, req, rule, resp))
        }
        (IntegrationKind::LambdaProxy(format), _) => lambda_proxy(api, ctx, req, format, resp),
        _ => Ok(proxied(resp)),
    }
}

/// Response headers API Gateway renames on every integration type (LocalStack's model of the KI
/// table); a Lambda proxy function setting them sees them as `x-amzn-Remapped-*`.
const LAMBDA_REMAPPED: &[&str] = &["connection", "content-length", "date", "server"];

fn lambda_proxy(
    api: &ResolvedApi,
    ctx: &mut RequestContext,
    req: &MethodRequest,
    format: crate::integration_request::LambdaFormat,
    resp: IntegrationResponse,
) -> Result<Response<Body>, GatewayError> {
    use crate::integration_request::LambdaFormat;
    let payload = resp.payload.unwrap_or_default();
    let accept = req
        .headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let parsed = match format {
        LambdaFormat::Rest => crate::lambda_proxy::parse_rest_response(
            &payload,
            &api.binary_media_types,
            accept,
            true,
        ),
        LambdaFormat::HttpV1 => {
            crate::lambda_proxy::parse_rest_response(&payload, &[], None, false)
        }
        LambdaFormat::HttpV2 => crate::lambda_proxy::parse_http_v2_response(&payload),
    };
    let mut out = parsed.map_err(|e| GatewayError::MalformedLambdaResponse(e.to_string()))?;
    if format == LambdaFormat::Rest {
        let headers = out.headers_mut();
        for name in LAMBDA_REMAPPED {
            let values: Vec<HeaderValue> = headers.get_all(*name).iter().cloned().collect();
            if values.is_empty() {
                continue;
            }
            headers.remove(*name);
            if let Ok(rn) = HeaderName::from_bytes(format!("x-amzn-Remapped-{name}").as_bytes()) {
                for v in values {
                    headers.append(rn.clone(), v);
                }
            }
        }
        // REST adds the trace header to Lambda responses (not to MOCK or HTTP_PROXY).
        if let Ok(v) = HeaderValue::from_str(&ctx.trace_id) {
            headers.insert("x-amzn-trace-id", v);
        }
    }
    Ok(out)
}

/// The media type that picks a response template: the first type in `Accept`, else
/// `application/json`.
fn accept_media_type(headers: &HeaderMap) -> String {
    headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "application/json".to_string())
}

fn mapped(
    _api: &ResolvedApi,
    ctx: &mut RequestContext,
    req: &MethodRequest,
    rule: &IntegrationResponseRule,
    resp: IntegrationResponse,
) -> Response<Body> {
    let mut headers = HeaderMap::new();
    for (name, source) in &rule.headers {
        let value = match source {
            ParamSource::Static(s) => Some(s.clone()),
            ParamSource::IntegrationResponseHeader(h) => resp
                .headers
                .get(h.as_str())
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            ParamSource::IntegrationResponseMultiHeader(h) => {
                crate::method_request::joined_header(&resp.headers, h)
            }
            ParamSource::StageVariable(n) => ctx.stage_variables.get(n).cloned(),
            ParamSource::Context(n) => ctx.variable(n),
            _ => None,
        };
        if let (Some(v), Ok(n)) = (value, HeaderName::from_bytes(name.as_bytes())) {
            if let Ok(v) = HeaderValue::from_str(&v) {
                headers.insert(n, v);
            }
        }
    }

    // Response template by Accept; else the application/json one; else the first (facts §7).
    let accept = accept_media_type(&req.headers);
    let chosen = rule
        .templates
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(&accept))
        .or_else(|| {
            rule.templates
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("application/json"))
        })
        .or_else(|| rule.templates.iter().next());
    let body = match chosen {
        Some((ct, template)) => {
            if let Ok(v) = HeaderValue::from_str(ct) {
                headers.insert(http::header::CONTENT_TYPE, v);
            }
            full(template.clone())
        }
        None => resp.body,
    };
    let mut out = Response::new(body);
    *out.status_mut() = StatusCode::from_u16(rule.status).unwrap_or(StatusCode::OK);
    *out.headers_mut() = headers;
    out
}

fn proxied(resp: IntegrationResponse) -> Response<Body> {
    let mut headers = HeaderMap::with_capacity(resp.headers.len());
    for (name, value) in resp.headers.iter() {
        let n = name.as_str();
        if DROPPED.contains(&n) {
            continue;
        }
        if REMAPPED.contains(&n) {
            if let Ok(rn) = HeaderName::from_bytes(format!("x-amzn-Remapped-{n}").as_bytes()) {
                headers.append(rn, value.clone());
            }
            continue;
        }
        headers.append(name.clone(), value.clone());
    }
    let mut out = Response::new(resp.body);
    *out.status_mut() = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::BAD_GATEWAY);
    *out.headers_mut() = headers;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_takes_first_type() {
        let mut h = HeaderMap::new();
        assert_eq!(accept_media_type(&h), "application/json");
        h.insert(
            "accept",
            HeaderValue::from_static("text/html;q=0.9, application/json"),
        );
        assert_eq!(accept_media_type(&h), "text/html");
    }

    #[test]
    fn proxied_headers_are_remapped() {
        let mut headers = HeaderMap::new();
        headers.insert("server", HeaderValue::from_static("upstream"));
        headers.insert("date", HeaderValue::from_static("then"));
        headers.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        headers.insert("x-custom", HeaderValue::from_static("1"));
        let r = proxied(IntegrationResponse {
            status: 201,
            headers,
            body: crate::body::empty(),
            payload: None,
            selection: "201".into(),
            kind: IntegrationKind::HttpProxy,
        });
        assert_eq!(r.status(), 201);
        assert_eq!(r.headers()["x-amzn-remapped-server"], "upstream");
        assert_eq!(r.headers()["x-amzn-remapped-date"], "then");
        assert!(r.headers().get("server").is_none());
        assert!(r.headers().get("transfer-encoding").is_none());
        assert_eq!(r.headers()["x-custom"], "1");
    }
}
