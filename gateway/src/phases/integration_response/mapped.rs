//! Non-proxy integration responses: rule selection, response parameters, the template chosen by
//! `Accept`, `contentHandling` and response overrides (aws-behaviour §7).

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode};

use crate::body::{full, Body};
use crate::context::RequestContext;
use crate::error::GatewayError;
use crate::mapping::MappingInput;
use crate::model::{Mapping, ParamSource, ResolvedApi};
use crate::phases::handoff::{IntegrationKind, IntegrationResponse};
use crate::request::{
    collect_answer, insert_header, joined_header, template_headers, MethodRequest,
};
use crate::spec::extensions::ContentHandling;

use super::reserved;

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

pub(super) async fn respond(
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
        None => collect_answer(resp.body).await?,
    };
    // MOCK and Lambda payloads are JSON; an HTTP backend says what it sent.
    let payload_type = resp
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| "application/json".to_string());
    let payload_binary = crate::lambda::is_binary(&api.binary_media_types, Some(&payload_type));

    let mut headers = HeaderMap::new();
    for (name, source) in &rule.headers {
        let value = match source {
            ParamSource::Static(s) => Some(s.clone()),
            ParamSource::IntegrationResponseHeader(h) => resp
                .headers
                .get(h.as_str())
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            ParamSource::IntegrationResponseMultiHeader(h) => joined_header(&resp.headers, h),
            ParamSource::Body(path) => crate::mapping::body_value(&payload, path.as_deref()),
            ParamSource::StageVariable(n) => ctx.stage_variables.get(n).cloned(),
            ParamSource::Context(n) => ctx.variable(n),
            _ => None,
        };
        if let Some(v) = value {
            insert_header(&mut headers, name, &v);
        }
    }

    // Response template by Accept; else the application/json one; else the first (aws-behaviour §7).
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
            let input = MappingInput {
                body: &text_payload,
                path: &req.path_params,
                query: &req.query,
                headers: &|| template_headers(req),
            };
            let (text, overrides) = crate::mapping::render(template, ctx, &input).map_err(|e| {
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
                insert_header(&mut headers, &name, &value);
            }
            Bytes::from(text)
        }
        None => {
            // No response template: the request template's response overrides still apply.
            if let Some(s) = ctx.overrides.status {
                status = s;
            }
            for (name, value) in ctx.overrides.response_headers.clone() {
                insert_header(&mut headers, &name, &value);
            }
            let accept_binary = crate::lambda::is_binary(&api.binary_media_types, Some(&accept));
            let out = convert_response(
                payload,
                payload_binary,
                accept_binary,
                rule.content_handling,
            )?;
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
    // Mapped onto a header API Gateway reserves: renamed or dropped (aws-behaviour §9).
    *out.headers_mut() = reserved::apply(headers, &resp.kind);
    // REST adds the trace header to Lambda and HTTP responses, not to MOCK (aws-behaviour §9).
    if resp.kind != IntegrationKind::Mock {
        if let Ok(v) = HeaderValue::from_str(&ctx.trace_id) {
            out.headers_mut().insert("x-amzn-trace-id", v);
        }
    }
    Ok(out)
}

/// `contentHandling` on a passed-through response (aws-behaviour §7): explicit conversions first; with
/// none, a binary payload to a text `Accept` is base64-encoded and a text payload to a binary
/// `Accept` is base64-decoded.
fn convert_response(
    payload: Bytes,
    payload_binary: bool,
    accept_binary: bool,
    handling: Option<ContentHandling>,
) -> Result<Bytes, GatewayError> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let encode = |p: &Bytes| Bytes::from(b64.encode(p));
    // A text payload that is not base64 cannot become binary: API Gateway answers 500.
    let decode = |p: Bytes| {
        b64.decode(p.trim_ascii()).map(Bytes::from).map_err(|e| {
            GatewayError::Configuration(format!(
                "the integration response is not base64, so it cannot be converted to binary: {e}"
            ))
        })
    };
    // Text is UTF-8 on the way out: invalid sequences become U+FFFD.
    let text = |p: Bytes| match String::from_utf8_lossy(&p) {
        std::borrow::Cow::Borrowed(_) => p,
        std::borrow::Cow::Owned(s) => Bytes::from(s),
    };
    match handling {
        Some(ContentHandling::ConvertToText) if payload_binary => Ok(encode(&payload)),
        Some(ContentHandling::ConvertToBinary) if !payload_binary => decode(payload),
        Some(_) if payload_binary => Ok(payload),
        None if payload_binary && !accept_binary => Ok(encode(&payload)),
        None if !payload_binary && accept_binary => decode(payload),
        None if payload_binary => Ok(payload),
        Some(_) | None => Ok(text(payload)),
    }
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
}
