//! The answers a Lambda proxy integration accepts back (aws-behaviour §3b, §3c), turned into
//! HTTP responses; anything else is AWS's "Malformed Lambda proxy response".

use base64::Engine;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use serde_json::Value;

use crate::body::{full, Body};

use super::binary::is_binary;

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

fn malformed(m: impl Into<String>) -> ResponseError {
    ResponseError::Malformed(m.into())
}

/// A header value as AWS renders it: strings as is, booleans and numbers printed.
fn header_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
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

fn push_header(headers: &mut Vec<(String, String)>, name: &str, value: String) {
    // Values for one name join with ", "; the first spelling of the name wins (aws-behaviour §3b).
    match headers
        .iter_mut()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        Some((_, v)) => {
            v.push_str(", ");
            v.push_str(&value);
        }
        None => headers.push((name.to_string(), value)),
    }
}

fn build_response(
    status: u16,
    headers: Vec<(String, String)>,
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
    if payload.iter().all(u8::is_ascii_whitespace) {
        return Err(malformed("the function returned nothing"));
    }
    let v: Value =
        serde_json::from_slice(payload).map_err(|e| malformed(format!("not JSON: {e}")))?;
    let Value::Object(obj) = v else {
        return Err(malformed("the response is not a JSON object"));
    };
    if strict {
        const ALLOWED: &[&str] = &[
            "statusCode",
            "headers",
            "multiValueHeaders",
            "body",
            "isBase64Encoded",
        ];
        if let Some(k) = obj.keys().find(|k| !ALLOWED.contains(&k.as_str())) {
            return Err(malformed(format!("unknown field `{k}`")));
        }
    }
    let status = status_from(obj.get("statusCode"), 200)?;
    let mut headers: Vec<(String, String)> = Vec::new();
    match obj.get("multiValueHeaders") {
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
    match obj.get("headers") {
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
    let body = match obj.get("body") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(malformed("body is not a string")),
    };
    let b64 = match obj.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
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
    let v: Value =
        serde_json::from_slice(payload).map_err(|e| malformed(format!("not JSON: {e}")))?;
    let structured = v.as_object().filter(|o| o.contains_key("statusCode"));
    let Some(obj) = structured else {
        let body = match &v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        return build_response(
            200,
            vec![("content-type".into(), "application/json".into())],
            Bytes::from(body),
        );
    };
    let status = status_from(obj.get("statusCode"), 200)?;
    let mut headers: Vec<(String, String)> = Vec::new();
    if let Some(Value::Object(m)) = obj.get("headers") {
        for (k, v) in m {
            if let Some(t) = header_text(v) {
                push_header(&mut headers, k, t);
            }
        }
    }
    if let Some(Value::Array(cookies)) = obj.get("cookies") {
        for c in cookies.iter().filter_map(Value::as_str) {
            headers.push(("set-cookie".into(), c.to_string()));
        }
    }
    let body = match obj.get("body") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let body = if obj
        .get("isBase64Encoded")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
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
    }
}
