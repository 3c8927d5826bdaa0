//! Proxy integrations: the Lambda proxy response parsed as API Gateway parses it, and the
//! HTTP_PROXY response passed through with API Gateway's header renames and drops
//! (aws-behaviour §3b, §9).

use http::{HeaderValue, Response, StatusCode};

use crate::body::Body;
use crate::context::RequestContext;
use crate::error::GatewayError;
use crate::lambda::ResponseError;
use crate::model::ResolvedApi;
use crate::phases::handoff::{IntegrationKind, IntegrationResponse, LambdaFormat};

use super::reserved;
use crate::request::MethodRequest;

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
        let headers = std::mem::take(out.headers_mut());
        *out.headers_mut() = reserved::apply(headers, &IntegrationKind::LambdaProxy(format));
        let headers = out.headers_mut();
        // REST adds the trace header to Lambda responses (not to MOCK or HTTP_PROXY).
        if let Ok(v) = HeaderValue::from_str(&ctx.trace_id) {
            headers.insert("x-amzn-trace-id", v);
        }
    }
    Ok(out)
}

pub(super) fn http(resp: IntegrationResponse) -> Response<Body> {
    let headers = reserved::apply(resp.headers, &IntegrationKind::HttpProxy);
    let mut out = Response::new(resp.body);
    *out.status_mut() = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::BAD_GATEWAY);
    *out.headers_mut() = headers;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderValue};

    #[test]
    fn proxied_headers_are_remapped() {
        let mut headers = HeaderMap::new();
        headers.insert("server", HeaderValue::from_static("upstream"));
        headers.insert("date", HeaderValue::from_static("then"));
        headers.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        headers.insert("content-length", HeaderValue::from_static("12"));
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
        assert_eq!(r.headers()["x-amzn-remapped-content-length"], "12");
        assert!(r.headers().get("content-length").is_none());
        assert!(r.headers().get("server").is_none());
        assert!(r.headers().get("transfer-encoding").is_none());
        assert_eq!(r.headers()["x-custom"], "1");
    }
}
