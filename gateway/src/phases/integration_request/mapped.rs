//! Non-proxy integrations (MOCK, AWS, HTTP): the request template chosen by Content-Type,
//! passthrough, `contentHandling`, request parameters and overrides (aws-behaviour §7).

use bytes::Bytes;
use http::HeaderMap;

use super::params::{
    override_pairs, query_values, set, source_value, X_AMZN_APIGATEWAY_API_ID, X_AMZN_TRACE_ID,
};
use super::uri::fill_uri;
use super::{upstream_for, UNMAPPABLE};
use crate::context::RequestContext;
use crate::error::GatewayError;
use crate::mapping::MappingInput;
use crate::model::{HttpIntegration, Mapping, ParamTarget, ResolvedApi};
use crate::phases::handoff::{HttpRequestPlan, IntegrationRequest};
use crate::request::{collect, insert_header, request_media_type, template_headers, MethodRequest};
use crate::spec::extensions::{ContentHandling, PassthroughBehavior};

/// A non-proxy request after the mapping: the payload to send (what the template overrode is
/// kept in the request context, which the response side reads too).
pub(super) struct Prepared {
    pub body: Bytes,
    /// The method request's payload as it arrived (for `method.request.body` mappings).
    pub raw: Bytes,
}

/// Choose and render the request template (or pass the body through), as aws-behaviour §7 orders it.
pub(super) async fn prepare(
    api: &ResolvedApi,
    m: &Mapping,
    ctx: &mut RequestContext,
    req: &mut MethodRequest,
) -> Result<Prepared, GatewayError> {
    let raw = match req.body.take() {
        Some(b) => collect(b).await?,
        None => Bytes::new(),
    };
    let media = request_media_type(&req.headers);
    let binary = crate::lambda::is_binary(&api.binary_media_types, Some(&media));
    let payload = convert_request(raw.clone(), binary, m.content_handling)?;
    let Some(template) = m.request_templates.get(&media) else {
        let allowed = match m.passthrough {
            PassthroughBehavior::WhenNoMatch => true,
            PassthroughBehavior::WhenNoTemplates => m.request_templates.is_empty(),
            PassthroughBehavior::Never => false,
        };
        if !allowed {
            return Err(GatewayError::UnsupportedMediaType);
        }
        return Ok(Prepared { body: payload, raw });
    };
    let input = MappingInput {
        body: &payload,
        path: &req.path_params,
        query: &req.query,
        headers: &|| template_headers(req),
    };
    let (text, overrides) = crate::mapping::render(template, ctx, &input).map_err(|e| {
        GatewayError::Configuration(format!("request mapping template failed: {e}"))
    })?;
    // Kept for the response side: the response template reads them, and a response override
    // set here takes effect (aws-behaviour §7).
    ctx.overrides = overrides;
    Ok(Prepared {
        body: Bytes::from(text),
        raw,
    })
}

/// `contentHandling` on the request: CONVERT_TO_TEXT base64-encodes a binary payload,
/// CONVERT_TO_BINARY base64-decodes a text one (a failure is a 500, aws-behaviour §7).
fn convert_request(
    payload: Bytes,
    binary: bool,
    handling: Option<ContentHandling>,
) -> Result<Bytes, GatewayError> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    match handling {
        Some(ContentHandling::ConvertToText) if binary => Ok(Bytes::from(b64.encode(&payload))),
        Some(ContentHandling::ConvertToBinary) if !binary => b64
            .decode(payload.trim_ascii())
            .map(Bytes::from)
            .map_err(|e| {
                GatewayError::Configuration(format!(
                    "CONVERT_TO_BINARY: the request body is not base64: {e}"
                ))
            }),
        _ => Ok(payload),
    }
}

/// The status a MOCK's rendered request asks for: `{"statusCode": 200}`; `None` (the default
/// response) when there is nothing to read.
pub(super) fn mock_status(rendered: &[u8]) -> Result<Option<i64>, GatewayError> {
    // Nearly every MOCK template is `{"statusCode": NNN}`: read that shape by hand (JSON
    // through serde cost about 700 instructions a request, docs/benchmarks.md).
    if let Some(code) = plain_status(rendered) {
        return Ok(Some(code));
    }
    // The usual output, a JSON object, is read for its one field without building the rest.
    #[derive(serde::Deserialize)]
    struct Mock {
        #[serde(rename = "statusCode")]
        status_code: Option<i64>,
    }
    if let Ok(Mock {
        status_code: Some(code),
    }) = serde_json::from_slice::<Mock>(rendered)
    {
        return Ok(Some(code));
    }
    let text = String::from_utf8_lossy(rendered);
    if text.trim().is_empty() {
        return Ok(None);
    }
    let v: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        // AWS reads JavaScript-style objects too (`{statusCode: 200}`), aws-behaviour §7.
        Err(e) => match lenient_status(&text) {
            Some(code) => return Ok(Some(code)),
            None => {
                return Err(GatewayError::Configuration(format!(
                    "MOCK request template output is not JSON with a statusCode: {e}"
                )))
            }
        },
    };
    match v.get("statusCode") {
        None => Ok(None),
        Some(s) => s.as_i64().map(Some).ok_or_else(|| {
            GatewayError::Configuration(format!("MOCK statusCode {s} is not an integer"))
        }),
    }
}

/// `{"statusCode": NNN}` and nothing else (whitespace aside): the status, else `None`.
fn plain_status(text: &[u8]) -> Option<i64> {
    let inner = text.trim_ascii().strip_prefix(b"{")?.strip_suffix(b"}")?;
    let value = inner
        .trim_ascii()
        .strip_prefix(br#""statusCode""#)?
        .trim_ascii()
        .strip_prefix(b":")?
        .trim_ascii();
    // One to three digits, without a leading zero (which JSON does not allow).
    let digits = value.iter().all(u8::is_ascii_digit);
    if !digits || value.is_empty() || value.len() > 3 || (value.len() > 1 && value[0] == b'0') {
        return None;
    }
    Some(value.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
}

/// `statusCode` read from an object written without JSON's quotes (`{statusCode: 200}` or
/// `{'statusCode': 200}`).
fn lenient_status(text: &str) -> Option<i64> {
    let at = text.find("statusCode")?;
    let rest = text[at + "statusCode".len()..].trim_start_matches(['"', '\'']);
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.trim_start_matches(['"', '\'']);
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// A non-proxy HTTP request: only mapped parameters reach the backend (the client's own query
/// string and headers do not), plus the headers API Gateway adds (aws-behaviour §7).
pub(super) fn http_request(
    api: &ResolvedApi,
    h: &HttpIntegration,
    prepared: Prepared,
    ctx: &mut RequestContext,
    req: &mut MethodRequest,
) -> Result<IntegrationRequest, GatewayError> {
    let mut path_values: Vec<(String, String)> = Vec::new();
    let mut query: Vec<(String, String)> = Vec::new();
    let mut header_sets: Vec<(String, String)> = Vec::new();
    for p in &h.mapping.request_parameters {
        let Some(value) = source_value(&p.source, ctx, req, Some(&prepared.raw)) else {
            continue;
        };
        match p.target {
            ParamTarget::Path => path_values.push((p.name.clone(), value)),
            ParamTarget::Query => {
                for v in query_values(&p.source, req, value) {
                    query.push((p.name.clone(), v));
                }
            }
            ParamTarget::Header => header_sets.push((p.name.clone(), value)),
        }
    }
    // Overrides apply after the normal mappings.
    let o = ctx.overrides.clone();
    path_values.extend(o.request_path.iter().cloned());
    override_pairs(&mut query, &o.request_query);
    override_pairs(&mut header_sets, &o.request_headers);
    for (name, _) in &header_sets {
        if UNMAPPABLE.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(GatewayError::Configuration(format!(
                "mapping sets header {name}, which API Gateway does not allow"
            )));
        }
    }
    let path_value = |name: &str| -> Option<String> {
        path_values
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| req.path_param(name).map(str::to_string))
    };
    let mut target = crate::filters::rewrite_uri(ctx, &fill_uri(&h.uri, ctx, &path_value));
    if !query.is_empty() {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &query {
            ser.append_pair(k, v);
        }
        target.push(if target.contains('?') { '&' } else { '?' });
        target.push_str(&ser.finish());
    }
    let uri: http::Uri = target.parse().map_err(|e| {
        GatewayError::Configuration(format!("integration URI `{target}` is not valid: {e}"))
    })?;
    let mut headers = HeaderMap::new();
    for (name, value) in header_sets {
        insert_header(&mut headers, &name, &value);
    }
    if !headers.contains_key(http::header::CONTENT_TYPE) && !prepared.body.is_empty() {
        let ct = req
            .header_value("content-type")
            .unwrap_or("application/json")
            .to_string();
        set(&mut headers, http::header::CONTENT_TYPE, &ct);
    }
    if !headers.contains_key(http::header::ACCEPT) {
        set(&mut headers, http::header::ACCEPT, "application/json");
    }
    if !headers.contains_key(http::header::USER_AGENT) {
        set(
            &mut headers,
            http::header::USER_AGENT,
            &format!("AmazonAPIGateway_{}", api.api_id),
        );
    }
    set(&mut headers, X_AMZN_APIGATEWAY_API_ID, &api.api_id);
    set(&mut headers, X_AMZN_TRACE_ID, &ctx.outgoing_trace_header());
    let method = h.method.clone().unwrap_or_else(|| req.method.clone());
    Ok(IntegrationRequest::Http(Box::new(HttpRequestPlan {
        method,
        headers,
        body: crate::body::full(prepared.body),
        timeout: h.timeout,
        mapped: true,
        upstream: upstream_for(api, &uri, ctx, req),
        uri,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    /// The hand-read shape gives what JSON gives, and anything else is left to JSON.
    fn the_plain_status_shape_reads_as_json_does() {
        for text in [
            r#"{"statusCode": 200}"#,
            r#"{"statusCode":404}"#,
            " {\n  \"statusCode\" : 500\n}\n",
            r#"{"statusCode": 0}"#,
        ] {
            let json: serde_json::Value = serde_json::from_str(text).expect("JSON");
            assert_eq!(
                plain_status(text.as_bytes()),
                json["statusCode"].as_i64(),
                "{text}"
            );
        }
        for text in [
            r#"{"statusCode": 200, "a": 1}"#,
            r#"{"statusCode": "200"}"#,
            r#"{"statusCode": 2000}"#,
            r#"{"statusCode": -1}"#,
            r#"{"statusCode": 2.5}"#,
            r#"{"statusCode": 020}"#,
            r#"{"statusCode": }"#,
            r#"{"other": 200}"#,
            "",
        ] {
            assert_eq!(plain_status(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn a_mock_status_written_without_quotes_is_read() {
        assert_eq!(mock_status(b"{statusCode: 200}").ok().flatten(), Some(200));
        assert_eq!(
            mock_status(b"{'statusCode': '404'}").ok().flatten(),
            Some(404)
        );
        assert_eq!(
            mock_status(br#"{"statusCode": 201}"#).ok().flatten(),
            Some(201)
        );
        assert!(mock_status(b"{nothing: here}").is_err());
    }

    #[test]
    fn a_json_mock_status_is_read_beside_other_fields_and_must_be_an_integer() {
        assert_eq!(
            mock_status(br#"{"a": {"b": [1]}, "statusCode": 202}"#)
                .ok()
                .flatten(),
            Some(202)
        );
        assert!(matches!(mock_status(br#"{"a": 1}"#), Ok(None)));
        assert!(matches!(mock_status(b"  "), Ok(None)));
        assert!(mock_status(br#"{"statusCode": "200"}"#).is_err());
        assert!(mock_status(br#"{"statusCode": null}"#).is_err());
    }
}
