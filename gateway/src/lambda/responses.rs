//! The answers a Lambda proxy integration accepts back (aws-behaviour §3b, §3c), turned into
//! HTTP responses; anything else is AWS's "Malformed Lambda proxy response".

use std::borrow::Cow;

use base64::Engine;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use serde_json::Value;

use crate::body::{full, Body};

use super::binary::is_binary;
use super::fields::{Payload, ProxyFields};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Why a function's proxy response was rejected (logged as AWS's
/// "Malformed Lambda proxy response").
/// Why a Lambda proxy response cannot be sent on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ResponseError {
    /// A shape API Gateway rejects (502).
    #[error("Malformed Lambda proxy response: {0}")]
    Malformed(String),
    /// `isBase64Encoded: true` on a body that is not base64, when it is decoded: AWS answers 500,
    /// not 502 (aws-behaviour §3b).
    #[error("the Lambda proxy response's body is not valid base64")]
    InvalidBase64,
}

pub(super) fn malformed(m: impl Into<String>) -> ResponseError {
    ResponseError::Malformed(m.into())
}

fn not_an_object() -> ResponseError {
    malformed("the response is not a JSON object")
}

/// A header value as AWS renders it: strings as is, booleans and numbers printed.
fn header_text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Bool(b) => Some(Cow::Owned(b.to_string())),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Null => None,
        _ => None,
    }
}

fn status_from(v: Option<&Value>, default: u16) -> Result<u16, ResponseError> {
    let n = match v {
        None | Some(Value::Null) => return Ok(default),
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        Some(other) => return Err(malformed(format!("statusCode {other} is not a number"))),
    };
    match n {
        Some(n) if (100..=599).contains(&n) => Ok(n as u16),
        _ => Err(malformed(format!(
            "statusCode {} is not a valid HTTP status",
            v.map(|v| v.to_string()).unwrap_or_default()
        ))),
    }
}

/// A response header as the function named it, borrowed from its answer where it can be.
type Header<'a> = (&'a str, Cow<'a, str>);

fn push_header<'a>(headers: &mut Vec<Header<'a>>, name: &'a str, value: Cow<'a, str>) {
    // Values for one name join with ", "; the first spelling of the name wins (aws-behaviour §3b).
    match headers
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        Some((_, v)) => {
            let joined = v.to_mut();
            joined.push_str(", ");
            joined.push_str(&value);
        }
        None => headers.push((name, value)),
    }
}

fn build_response(
    status: u16,
    headers: Vec<Header<'_>>,
    body: Bytes,
) -> Result<Response<Body>, ResponseError> {
    let mut out = Response::new(full(body));
    *out.status_mut() = StatusCode::from_u16(status).map_err(|_| malformed("bad status"))?;
    for (name, value) in headers {
        let n = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| malformed(format!("header name `{name}` is not valid")))?;
        let v = HeaderValue::from_str(&value)
            .map_err(|_| malformed(format!("header `{name}` has an invalid value")))?;
        out.headers_mut().append(n, v);
    }
    out.headers_mut()
        .entry(http::header::CONTENT_TYPE)
        .or_insert(HeaderValue::from_static("application/json"));
    Ok(out)
}

/// Parse a REST (payload 1.0) proxy response. `binary` says whether `isBase64Encoded` bodies are
/// decoded: the request's first Accept type or the response Content-Type must match
/// binaryMediaTypes; otherwise the base64 text goes out as it is (aws-behaviour §3b).
pub(crate) fn parse_rest_response(
    payload: &[u8],
    binary_types: &[String],
    accept: Option<&str>,
    strict: bool,
) -> Result<Response<Body>, ResponseError> {
    let fields = ProxyFields::read(payload, Payload::Rest)?.ok_or_else(not_an_object)?;
    if strict {
        if let Some(k) = fields.unknown {
            return Err(malformed(format!("unknown field `{k}`")));
        }
    }
    let status = status_from(fields.status_code.as_ref(), 200)?;
    let mut headers: Vec<Header<'_>> = Vec::new();
    match &fields.multi_value_headers {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, vs) in m {
                let Value::Array(vs) = vs else {
                    return Err(malformed(format!("multiValueHeaders.{k} is not a list")));
                };
                for v in vs {
                    if let Some(t) = header_text(v) {
                        push_header(&mut headers, k, t);
                    }
                }
            }
        }
        Some(_) => return Err(malformed("multiValueHeaders is not an object")),
    }
    match &fields.headers {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                match v {
                    Value::Object(_) | Value::Array(_) => {
                        return Err(malformed(format!("headers.{k} is not a string")))
                    }
                    other => {
                        if let Some(t) = header_text(other) {
                            push_header(&mut headers, k, t);
                        }
                    }
                }
            }
        }
        Some(_) => return Err(malformed("headers is not an object")),
    }
    let body = match fields.body {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s,
        Some(_) => return Err(malformed("body is not a string")),
    };
    let b64 = match fields.is_base64_encoded {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => b,
        Some(_) => return Err(malformed("isBase64Encoded is not a boolean")),
    };
    // Only the request's first Accept type decides; the function's own Content-Type does not
    // (aws-behaviour §3b).
    let decode = b64 && is_binary(binary_types, accept);
    let body = if decode {
        Bytes::from(
            B64.decode(body.trim())
                .map_err(|_| ResponseError::InvalidBase64)?,
        )
    } else {
        Bytes::from(body)
    };
    build_response(status, headers, body)
}

/// Parse an HTTP API payload 2.0 response, including the shorthand where a function returns any
/// JSON value without `statusCode`.
pub(crate) fn parse_http_v2_response(payload: &[u8]) -> Result<Response<Body>, ResponseError> {
    let fields = ProxyFields::read(payload, Payload::HttpV2)?;
    // Without `statusCode` the whole answer is the body (aws-behaviour §3c). Rare enough to
    // read the answer again as a value.
    let Some(fields) = fields.filter(|f| f.status_code.is_some()) else {
        let v: Value =
            serde_json::from_slice(payload).map_err(|e| malformed(format!("not JSON: {e}")))?;
        let body = match v {
            Value::String(s) => s,
            other => other.to_string(),
        };
        return build_response(
            200,
            vec![("content-type", Cow::Borrowed("application/json"))],
            Bytes::from(body),
        );
    };
    let status = status_from(fields.status_code.as_ref(), 200)?;
    let mut headers: Vec<Header<'_>> = Vec::new();
    if let Some(Value::Object(m)) = &fields.headers {
        for (k, v) in m {
            if let Some(t) = header_text(v) {
                push_header(&mut headers, k, t);
            }
        }
    }
    if let Some(Value::Array(cookies)) = &fields.cookies {
        for c in cookies.iter().filter_map(Value::as_str) {
            headers.push(("set-cookie", Cow::Borrowed(c)));
        }
    }
    let body = match fields.body {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
    };
    let b64 = fields
        .is_base64_encoded
        .as_ref()
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let body = if b64 {
        Bytes::from(
            B64.decode(body.trim())
                .map_err(|_| ResponseError::InvalidBase64)?,
        )
    } else {
        Bytes::from(body)
    };
    build_response(status, headers, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;
    use http_body_util::BodyExt;

    async fn parts(r: Response<Body>) -> (u16, HeaderMap, String) {
        let (p, b) = r.into_parts();
        let body = b.collect().await.expect("body").to_bytes();
        (
            p.status.as_u16(),
            p.headers,
            String::from_utf8_lossy(&body).into_owned(),
        )
    }

    fn rest(payload: &str) -> Result<Response<Body>, ResponseError> {
        parse_rest_response(payload.as_bytes(), &[], None, true)
    }

    #[tokio::test]
    async fn rest_response_rules() {
        // The AWS-observed rejections.
        for bad in [
            r#"{"statusCode":200,"wrongValue":"x"}"#,
            r#""justAString""#,
            "",
            r#"{"statusCode":"test"}"#,
            r#"{"multiValueHeaders":{"a":"b"}}"#,
            "not json",
        ] {
            assert!(rest(bad).is_err(), "{bad} must be rejected");
        }
        let (s, _, _) = parts(rest(r#"{"statusCode":"201"}"#).expect("ok")).await;
        assert_eq!(s, 201);
        let (s, h, b) = parts(rest(r#"{"headers":{"x":"1"}}"#).expect("ok")).await;
        assert_eq!((s, b.as_str()), (200, ""), "missing statusCode is 200");
        assert_eq!(h["content-type"], "application/json");
        let (_, h, _) = parts(
            rest(r#"{"statusCode":200,"multiValueHeaders":{"tesT-Multi":["a"]},"headers":{"test-multi":"b","flag":true}}"#)
                .expect("ok"),
        )
        .await;
        assert_eq!(h["test-multi"], "a, b");
        assert_eq!(h["flag"], "true");
        let (_, _, b) =
            parts(rest(r#"{"statusCode":200,"headers":null,"body":null}"#).expect("ok")).await;
        assert_eq!(b, "");
        // Base64 passes through unless binary media types match.
        let (_, _, b) = parts(
            rest(r#"{"statusCode":200,"body":"dGVzdC1kYXRh","isBase64Encoded":true}"#).expect("ok"),
        )
        .await;
        assert_eq!(b, "dGVzdC1kYXRh");
        let r = parse_rest_response(
            br#"{"statusCode":200,"body":"dGVzdC1kYXRh","isBase64Encoded":true}"#,
            &["image/png".to_string()],
            Some("image/png"),
            true,
        )
        .expect("ok");
        assert_eq!(parts(r).await.2, "test-data");
    }

    #[tokio::test]
    async fn rest_response_errors_say_what_is_wrong() {
        let said = |payload: &str, strict: bool| {
            parse_rest_response(payload.as_bytes(), &[], None, strict)
                .err()
                .map(|e| e.to_string())
        };
        let malformed = |m: &str| Some(format!("Malformed Lambda proxy response: {m}"));
        // The first unknown field is named; HTTP API 1.0 (not strict) ignores them.
        let extra = r#"{"statusCode":200,"wrongValue":"x","other":{"a":[1]}}"#;
        assert_eq!(said(extra, true), malformed("unknown field `wrongValue`"));
        assert_eq!(said(extra, false), None);
        // `cookies` belongs to HTTP API 2.0 answers.
        assert_eq!(
            said(r#"{"statusCode":200,"cookies":["a=1"]}"#, true),
            malformed("unknown field `cookies`")
        );
        assert_eq!(
            said(" \n", true),
            malformed("the function returned nothing")
        );
        assert_eq!(
            said(r#""justAString""#, true),
            malformed("the response is not a JSON object")
        );
        assert_eq!(
            said("[1, 2]", true),
            malformed("the response is not a JSON object")
        );
        for broken in [
            "not json",
            r#"{"statusCode":200"#,
            r#"{"statusCode":200} x"#,
        ] {
            let m = said(broken, true).unwrap_or_default();
            assert!(m.contains("not JSON"), "{broken}: {m}");
        }
        assert_eq!(
            said(r#"{"body":1}"#, true),
            malformed("body is not a string")
        );
        assert_eq!(
            said(r#"{"isBase64Encoded":"yes"}"#, true),
            malformed("isBase64Encoded is not a boolean")
        );
        assert_eq!(
            said(r#"{"headers":[]}"#, true),
            malformed("headers is not an object")
        );
        // A repeated field keeps its last value, as a parsed object would; escaped keys are
        // still recognised.
        let r = parse_rest_response(
            br#"{"statusCode":200,"statusCode":404,"b\u006fdy":"x"}"#,
            &[],
            None,
            true,
        )
        .expect("ok");
        let (s, _, b) = parts(r).await;
        assert_eq!((s, b.as_str()), (404, "x"));
    }

    #[tokio::test]
    async fn v2_response_rules() {
        let (s, h, b) = parts(parse_http_v2_response(br#"{"hello":"world"}"#).expect("ok")).await;
        assert_eq!((s, b.as_str()), (200, r#"{"hello":"world"}"#));
        assert_eq!(h["content-type"], "application/json");
        let (_, _, b) = parts(parse_http_v2_response(br#""plain""#).expect("ok")).await;
        assert_eq!(b, "plain");
        let (s, h, b) = parts(
            parse_http_v2_response(br#"{"statusCode":418,"cookies":["a=1","b=2"],"body":"aGk=","isBase64Encoded":true,"extra":1}"#)
                .expect("ok"),
        )
        .await;
        assert_eq!((s, b.as_str()), (418, "hi"));
        let cookies: Vec<&str> = h
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        assert_eq!(cookies, vec!["a=1", "b=2"]);
        assert!(parse_http_v2_response(b"{bad").is_err());
        assert!(parse_http_v2_response(b"  ").is_err());
        // A 2.0 answer's headers come from `headers` only; `multiValueHeaders` is not a 2.0
        // field and, like any other unknown field, is ignored.
        let (s, h, b) = parts(
            parse_http_v2_response(
                br#"{"statusCode":201,"multiValueHeaders":{"x":["1"]},"headers":{"y":2},"body":{"a":1}}"#,
            )
            .expect("ok"),
        )
        .await;
        assert_eq!((s, b.as_str()), (201, r#"{"a":1}"#));
        assert_eq!(h["y"], "2");
        assert!(h.get("x").is_none());
        // Without `statusCode` the whole answer is the body, keys in their order.
        let (s, _, b) =
            parts(parse_http_v2_response(br#"{"b":1,"a":{"headers":{}},"body":"x"}"#).expect("ok"))
                .await;
        assert_eq!(
            (s, b.as_str()),
            (200, r#"{"b":1,"a":{"headers":{}},"body":"x"}"#)
        );
    }
}
