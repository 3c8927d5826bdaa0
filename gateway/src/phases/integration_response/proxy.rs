//! Proxy integrations: the Lambda proxy response parsed as API Gateway parses it, and the
//! HTTP_PROXY response passed through with API Gateway's header renames and drops
//! (aws-behaviour §3b, §9).

use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};

use crate::body::Body;
use crate::context::RequestContext;
use crate::error::GatewayError;
use crate::lambda::ResponseError;
use crate::model::ResolvedApi;
use crate::phases::handoff::{IntegrationResponse, LambdaFormat};
use crate::request::MethodRequest;

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

/// Response headers API Gateway renames on every integration type (LocalStack's model of the KI
/// table); a Lambda proxy function setting them sees them as `x-amzn-Remapped-*`.
const LAMBDA_REMAPPED: &[&str] = &["connection", "content-length", "date", "server"];

pub(super) fn lambda(
    api: &ResolvedApi,
    ctx: &mut RequestContext,
    req: &MethodRequest,
    format: LambdaFormat,
    resp: IntegrationResponse,
) -> Result<Response<Body>, GatewayError> {
    let payload = resp.payload.unwrap_or_default();
    let accept = req
        .headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let parsed = match format {
        LambdaFormat::Rest => {
            crate::lambda::parse_rest_response(&payload, &api.binary_media_types, accept, true)
        }
        LambdaFormat::HttpV1 => crate::lambda::parse_rest_response(&payload, &[], None, false),
        LambdaFormat::HttpV2 => crate::lambda::parse_http_v2_response(&payload),
    };
    let mut out = parsed.map_err(|e| match e {
        ResponseError::InvalidBase64 => GatewayError::Configuration(e.to_string()),
        ResponseError::Malformed(_) => GatewayError::MalformedLambdaResponse(e.to_string()),
    })?;
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

pub(super) fn http(resp: IntegrationResponse) -> Response<Body> {
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
    use crate::phases::handoff::IntegrationKind;
    use http::HeaderValue;

    #[test]
    fn proxied_headers_are_remapped() {
        let mut headers = HeaderMap::new();
        headers.insert("server", HeaderValue::from_static("upstream"));
        headers.insert("date", HeaderValue::from_static("then"));
        headers.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        headers.insert("x-custom", HeaderValue::from_static("1"));
        let r = http(IntegrationResponse {
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
