//! Integration response: turn what the backend said into the method response.
//!
//! Non-proxy integrations (MOCK, AWS, HTTP): select the response rule by the selection value
//! (status code, or Lambda's `errorMessage`), map its `responseParameters`, render the template
//! chosen by `Accept`, convert binary payloads per `contentHandling`, and apply the template's
//! `$context.responseOverride.*`. Proxy integrations: pass status, headers and body through,
//! renaming or dropping headers as API Gateway does (KI header table).

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};

use crate::api::{Integration, Mapping, ParamSource, ResolvedApi, Route};
use crate::body::{full, Body};
use crate::context::RequestContext;
use crate::gateway_response::GatewayError;
use crate::integration::{IntegrationKind, IntegrationResponse};
use crate::method_request::MethodRequest;
use crate::spec::extensions::ContentHandling;

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

pub async fn run(
    api: &ResolvedApi,
    route: &Route,
    ctx: &mut RequestContext,
    req: &MethodRequest,
    resp: IntegrationResponse,
) -> Result<Response<Body>, GatewayError> {
    let mapping = match (&resp.kind, &route.integration) {
        (IntegrationKind::LambdaProxy(format), _) => {
            return lambda_proxy(api, ctx, req, *format, resp)
        }
        (IntegrationKind::HttpProxy, _) => return Ok(proxied(resp)),
        (_, Integration::Mock(m)) => m,
        (_, Integration::Http(h)) => &h.mapping,
        (_, Integration::Lambda(l)) => match &l.mapping {
            Some(m) => m,
            None => return Ok(proxied(resp)),
        },
        _ => return Ok(proxied(resp)),
    };
    mapped(api, ctx, req, mapping, resp).await
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

async fn mapped(
    api: &ResolvedApi,
    ctx: &mut RequestContext,
    req: &MethodRequest,
    mapping: &Mapping,
    resp: IntegrationResponse,
) -> Result<Response<Body>, GatewayError> {
    let rule = mapping.responses.select(&resp.selection).ok_or_else(|| {
        GatewayError::Configuration(format!(
            "no integration response matches `{}` and there is no default",
            resp.selection
        ))
    })?;
    let payload: Bytes = match resp.payload {
        Some(p) => p,
        None => crate::integration_request::collect(resp.body).await?,
    };
    // MOCK and Lambda payloads are JSON; an HTTP backend says what it sent.
    let payload_type = resp
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| "application/json".to_string());
    let payload_binary =
        crate::lambda_proxy::is_binary(&api.binary_media_types, Some(&payload_type));

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
            ParamSource::Body(path) => {
                crate::mapping_template::body_value(&payload, path.as_deref())
            }
            ParamSource::StageVariable(n) => ctx.stage_variables.get(n).cloned(),
            ParamSource::Context(n) => ctx.variable(n),
            _ => None,
        };
        if let Some(v) = value {
            crate::integration_request::insert_header(&mut headers, name, &v);
        }
    }

    // Response template by Accept; else the application/json one; else the first (facts §7).
    let accept = accept_media_type(&req.headers);
    let chosen = rule
        .templates
        .get(&accept)
        .map(|t| (accept.clone(), t))
        .or_else(|| {
            rule.templates
                .get("application/json")
                .map(|t| ("application/json".to_string(), t))
        })
        .or_else(|| rule.templates.first().map(|(k, t)| (k.clone(), t)));
    let mut status = rule.status;
    let body = match chosen {
        Some((media, template)) => {
            let text_payload = if payload_binary
                && rule.content_handling == Some(ContentHandling::ConvertToText)
            {
                use base64::Engine;
                Bytes::from(base64::engine::general_purpose::STANDARD.encode(&payload))
            } else {
                payload
            };
            let input = crate::mapping_template::MappingInput {
                body: &text_payload,
                path: &req.path_params,
                query: &req.query,
                headers: crate::integration_request::header_pairs(&req.headers),
            };
            let (text, overrides) = crate::mapping_template::render(template, ctx, &input)
                .map_err(|e| {
                    GatewayError::Configuration(format!("response mapping template failed: {e}"))
                })?;
            if let Ok(v) = HeaderValue::from_str(&media) {
                headers.insert(http::header::CONTENT_TYPE, v);
            }
            // Overrides apply after the normal mappings.
            if let Some(s) = overrides.status {
                status = s;
            }
            for (name, value) in overrides.response_headers {
                crate::integration_request::insert_header(&mut headers, &name, &value);
            }
            Bytes::from(text)
        }
        None => {
            let accept_binary =
                crate::lambda_proxy::is_binary(&api.binary_media_types, Some(&accept));
            let out = convert_response(
                payload,
                payload_binary,
                accept_binary,
                rule.content_handling,
            );
            if !headers.contains_key(http::header::CONTENT_TYPE) {
                if let Ok(v) = HeaderValue::from_str(&payload_type) {
                    headers.insert(http::header::CONTENT_TYPE, v);
                }
            }
            out
        }
    };
    let mut out = Response::new(full(body));
    *out.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    *out.headers_mut() = headers;
    // REST adds the trace header to Lambda and HTTP responses, not to MOCK (facts §9).
    if resp.kind != IntegrationKind::Mock {
        if let Ok(v) = HeaderValue::from_str(&ctx.trace_id) {
            out.headers_mut().insert("x-amzn-trace-id", v);
        }
    }
    Ok(out)
}

/// `contentHandling` on a passed-through response (facts §7): explicit conversions first; with
/// none, a binary payload to a text `Accept` is base64-encoded and a text payload to a binary
/// `Accept` is base64-decoded.
fn convert_response(
    payload: Bytes,
    payload_binary: bool,
    accept_binary: bool,
    handling: Option<ContentHandling>,
) -> Bytes {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let encode = |p: &Bytes| Bytes::from(b64.encode(p));
    let decode = |p: Bytes| match b64.decode(p.trim_ascii()) {
        Ok(d) => Bytes::from(d),
        // [?] A payload that is not base64 passes through unchanged.
        Err(_) => p,
    };
    match handling {
        Some(ContentHandling::ConvertToText) if payload_binary => encode(&payload),
        Some(ContentHandling::ConvertToBinary) if !payload_binary => decode(payload),
        Some(_) => payload,
        None if payload_binary && !accept_binary => encode(&payload),
        None if !payload_binary && accept_binary => decode(payload),
        None => payload,
    }
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
