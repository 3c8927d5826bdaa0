//! Lambda proxy integrations: the event API Gateway sends (REST payload 1.0, HTTP API 1.0 and 2.0)
//! and the response it accepts back, field for field as facts §3 records them.
//!
//! The events are written here with `serde_json` rather than by serializing `aws_lambda_events`
//! structs, because AWS's exact shape needs what those types cannot express (`null` for absent
//! maps, fields omitted in 2.0 events); the tests deserialize every event into the
//! `aws_lambda_events` types that `lambda_http` functions read, so the two stay compatible.

use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use serde_json::{json, Map, Value};

use crate::api::{ResolvedApi, Route};
use crate::body::{full, Body};
use crate::context::RequestContext;
use crate::method_request::MethodRequest;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Request headers API Gateway drops before a Lambda integration (facts §3a).
const DROPPED_REQUEST_HEADERS: &[&str] = &[
    "connection",
    "content-length",
    "content-md5",
    "expect",
    "max-forwards",
    "proxy-authenticate",
    "server",
    "te",
    "transfer-encoding",
    "trailer",
    "upgrade",
    "www-authenticate",
];

/// Whether `media` (a Content-Type or Accept value) matches `binaryMediaTypes`, with `*/*` and
/// `type/*` wildcards.
pub fn is_binary(types: &[String], media: Option<&str>) -> bool {
    let Some(media) = media else { return false };
    let m = media
        .split([';', ','])
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if m.is_empty() {
        return false;
    }
    types.iter().any(|t| {
        let t = t.trim().to_ascii_lowercase();
        t == "*/*"
            || t == m
            || t.strip_suffix("/*")
                .is_some_and(|major| m.split('/').next() == Some(major))
    })
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The request headers the integration sees: the client's, less the dropped ones, plus the
/// `X-Forwarded-*` and trace headers every endpoint adds.
fn integration_headers(ctx: &RequestContext, req: &MethodRequest) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (name, value) in req.headers.iter() {
        if DROPPED_REQUEST_HEADERS.contains(&name.as_str()) {
            continue;
        }
        if let Ok(v) = value.to_str() {
            out.push((name.as_str().to_string(), v.to_string()));
        }
    }
    let mut set = |name: &str, value: String| {
        out.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        out.push((name.to_string(), value));
    };
    let xff = match header_str(&req.headers, "x-forwarded-for") {
        Some(prev) => format!("{prev}, {}", ctx.source_ip),
        None => ctx.source_ip.clone(),
    };
    set("X-Forwarded-For", xff);
    set("X-Forwarded-Port", ctx.conn.local.port().to_string());
    set(
        "X-Forwarded-Proto",
        if ctx.conn.tls { "https" } else { "http" }.to_string(),
    );
    if header_str(&req.headers, "x-amzn-trace-id").is_none() {
        set("X-Amzn-Trace-Id", ctx.trace_id.clone());
    }
    out
}

fn map_or_null(pairs: Vec<(String, Value)>) -> Value {
    if pairs.is_empty() {
        Value::Null
    } else {
        Value::Object(pairs.into_iter().collect())
    }
}

/// REST `requestContext` (also used by HTTP API payload 1.0).
fn rest_request_context(api: &ResolvedApi, ctx: &RequestContext) -> Value {
    let mut rc = json!({
        "accountId": crate::ACCOUNT_ID,
        "apiId": api.api_id,
        "deploymentId": crate::api::api_id_for(&format!("{}/{}", api.name, api.stage.name))[..6],
        "domainName": ctx.domain_name,
        "domainPrefix": ctx.variable("domainPrefix"),
        "extendedRequestId": ctx.extended_request_id,
        "httpMethod": ctx.http_method,
        "identity": {
            "accessKey": ctx.iam.as_ref().map(|i| i.access_key.clone()),
            "accountId": ctx.iam.as_ref().map(|i| i.account_id.clone()),
            "caller": ctx.iam.as_ref().and_then(|i| i.user.clone()),
            "cognitoAuthenticationProvider": null, "cognitoAuthenticationType": null,
            "cognitoIdentityId": null, "cognitoIdentityPoolId": null, "principalOrgId": null,
            "sourceIp": ctx.source_ip,
            "user": ctx.iam.as_ref().and_then(|i| i.user.clone()),
            "userAgent": ctx.user_agent,
            "userArn": ctx.iam.as_ref().and_then(|i| i.user_arn.clone())
        },
        "path": ctx.path,
        "protocol": ctx.protocol,
        "requestId": ctx.request_id,
        "requestTime": ctx.request_time,
        "requestTimeEpoch": ctx.request_time_epoch,
        "resourceId": ctx.variable("resourceId"),
        "resourcePath": ctx.resource_path,
        "stage": api.stage.name,
    });
    if let Some(obj) = rc.as_object_mut() {
        if let (Some(cert), Some(identity)) = (
            &ctx.client_cert,
            obj.get_mut("identity").and_then(Value::as_object_mut),
        ) {
            identity.insert("clientCert".into(), cert.to_json());
        }
        // Present once a method's API key has passed the usage-plan check.
        if let (Some(key), Some(identity)) = (
            &ctx.api_key,
            obj.get_mut("identity").and_then(Value::as_object_mut),
        ) {
            identity.insert("apiKey".into(), Value::from(key.clone()));
            identity.insert(
                "apiKeyId".into(),
                ctx.api_key_id
                    .clone()
                    .map(Value::from)
                    .unwrap_or(Value::Null),
            );
        }
        if let Some(name) = &ctx.operation_name {
            obj.insert("operationName".into(), Value::from(name.clone()));
        }
        // A Lambda authorizer's principal and context, with the context's JSON types kept.
        if let Some(a) = ctx.authorizer.as_ref().filter(|a| a.claims.is_some()) {
            // JWT / Cognito: claims (as strings, as REST sends them) and scopes.
            let claims: Map<String, Value> = a
                .claims
                .iter()
                .flatten()
                .map(|(k, v)| {
                    let s = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), Value::from(s))
                })
                .collect();
            obj.insert(
                "authorizer".into(),
                json!({"claims": claims, "scopes": if a.scopes.is_empty() { Value::Null } else { json!(a.scopes) }}),
            );
        } else if let Some(a) = &ctx.authorizer {
            let mut auth = Map::new();
            auth.insert(
                "principalId".into(),
                a.principal_id
                    .clone()
                    .map(Value::from)
                    .unwrap_or(Value::Null),
            );
            auth.insert(
                "integrationLatency".into(),
                Value::from(a.latency.as_millis() as u64),
            );
            for (k, v) in &a.context {
                auth.insert(k.clone(), v.clone());
            }
            obj.insert("authorizer".into(), Value::Object(auth));
        }
    }
    rc
}

/// Body as the event carries it: `(body, isBase64Encoded)`.
fn event_body(body: &Bytes, base64: bool) -> (Value, bool) {
    if body.is_empty() {
        return (Value::Null, false);
    }
    if base64 {
        return (Value::from(B64.encode(body)), true);
    }
    match std::str::from_utf8(body) {
        Ok(s) => (Value::from(s), false),
        // Not text after all: base64 is the only lossless way to hand it on.
        Err(_) => (Value::from(B64.encode(body)), true),
    }
}

/// The REST AWS_PROXY event (payload 1.0). `version` is `Some("1.0")` for HTTP API 1.0 events,
/// whose header names are lowercased.
pub fn rest_event(
    api: &ResolvedApi,
    route: &Route,
    ctx: &RequestContext,
    req: &MethodRequest,
    body: &Bytes,
    version: Option<&str>,
) -> Value {
    let headers = integration_headers(ctx, req);
    let lower = version.is_some();
    let mut single: Vec<(String, Value)> = Vec::new();
    let mut multi: Vec<(String, Vec<Value>)> = Vec::new();
    for (name, value) in headers {
        let name = if lower {
            name.to_ascii_lowercase()
        } else {
            name
        };
        match multi
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(&name))
        {
            Some((_, vs)) => vs.push(Value::from(value.clone())),
            None => multi.push((name.clone(), vec![Value::from(value.clone())])),
        }
        // The single-value map keeps the last value.
        single.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
        single.push((name, Value::from(value)));
    }
    let mut q_single: Vec<(String, Value)> = Vec::new();
    let mut q_multi: Vec<(String, Vec<Value>)> = Vec::new();
    for (k, v) in &req.query {
        match q_multi.iter_mut().find(|(n, _)| n == k) {
            Some((_, vs)) => vs.push(Value::from(v.clone())),
            None => q_multi.push((k.clone(), vec![Value::from(v.clone())])),
        }
        q_single.retain(|(n, _)| n != k);
        q_single.push((k.clone(), Value::from(v.clone())));
    }
    let binary = is_binary(
        &api.binary_media_types,
        header_str(&req.headers, "content-type"),
    );
    let (body, is_b64) = event_body(body, binary);
    let mut event = Map::new();
    if let Some(v) = version {
        event.insert("version".into(), Value::from(v));
    }
    event.insert("resource".into(), Value::from(route.resource_path.clone()));
    event.insert("path".into(), Value::from(req.path.clone()));
    event.insert("httpMethod".into(), Value::from(req.method.as_str()));
    event.insert("headers".into(), map_or_null(single));
    event.insert(
        "multiValueHeaders".into(),
        map_or_null(
            multi
                .into_iter()
                .map(|(k, v)| (k, Value::Array(v)))
                .collect(),
        ),
    );
    event.insert("queryStringParameters".into(), map_or_null(q_single));
    event.insert(
        "multiValueQueryStringParameters".into(),
        map_or_null(
            q_multi
                .into_iter()
                .map(|(k, v)| (k, Value::Array(v)))
                .collect(),
        ),
    );
    event.insert(
        "pathParameters".into(),
        map_or_null(
            req.path_params
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(v.clone())))
                .collect(),
        ),
    );
    event.insert(
        "stageVariables".into(),
        map_or_null(
            ctx.stage_variables
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(v.clone())))
                .collect(),
        ),
    );
    event.insert("requestContext".into(), rest_request_context(api, ctx));
    event.insert("body".into(), body);
    event.insert("isBase64Encoded".into(), Value::Bool(is_b64));
    Value::Object(event)
}

/// Content types an HTTP API 2.0 event carries as plain text; everything else is base64
/// (facts §3c, verified against AWS by others).
fn v2_text_type(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else { return false };
    let m = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    m.starts_with("text/")
        || m == "application/json"
        || m == "application/xml"
        || m == "application/javascript"
}

/// `requestContext.authorizer` of a 2.0 event: `{jwt: {claims, scopes}}` or `{lambda: {...}}`.
fn v2_authorizer(ctx: &RequestContext) -> Value {
    match &ctx.authorizer {
        None => Value::Null,
        Some(a) => match &a.claims {
            Some(claims) => {
                json!({"jwt": {"claims": claims, "scopes": if a.scopes.is_empty() { Value::Null } else { json!(a.scopes) }}})
            }
            None => json!({"lambda": a.context}),
        },
    }
}

/// The HTTP API payload 2.0 event.
pub fn http_v2_event(
    api: &ResolvedApi,
    route: &Route,
    ctx: &RequestContext,
    req: &MethodRequest,
    body: &Bytes,
) -> Value {
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut cookies: Vec<Value> = Vec::new();
    for (name, value) in integration_headers(ctx, req) {
        let name = name.to_ascii_lowercase();
        if name == "cookie" {
            cookies.extend(
                value
                    .split(';')
                    .map(|c| Value::from(c.trim()))
                    .filter(|c| c != ""),
            );
            continue;
        }
        match headers.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => {
                v.push(',');
                v.push_str(&value);
            }
            None => headers.push((name, value)),
        }
    }
    let mut query: Vec<(String, String)> = Vec::new();
    for (k, v) in &req.query {
        match query.iter_mut().find(|(n, _)| n == k) {
            Some((_, existing)) => {
                existing.push(',');
                existing.push_str(v);
            }
            None => query.push((k.clone(), v.clone())),
        }
    }
    let raw_path = if api.stage.name == "$default" {
        req.path.clone()
    } else {
        format!("/{}{}", api.stage.name, req.path)
    };
    let mut event = Map::new();
    event.insert("version".into(), Value::from("2.0"));
    event.insert("routeKey".into(), Value::from(route.route_key.clone()));
    event.insert("rawPath".into(), Value::from(raw_path.clone()));
    event.insert(
        "rawQueryString".into(),
        Value::from(req.raw_query.clone().unwrap_or_default()),
    );
    if !cookies.is_empty() {
        event.insert("cookies".into(), Value::Array(cookies));
    }
    event.insert(
        "headers".into(),
        Value::Object(
            headers
                .into_iter()
                .map(|(k, v)| (k, Value::from(v)))
                .collect(),
        ),
    );
    if !query.is_empty() {
        event.insert(
            "queryStringParameters".into(),
            Value::Object(
                query
                    .into_iter()
                    .map(|(k, v)| (k, Value::from(v)))
                    .collect(),
            ),
        );
    }
    event.insert(
        "requestContext".into(),
        json!({
            "accountId": crate::ACCOUNT_ID,
            "apiId": api.api_id,
            "domainName": ctx.domain_name,
            "domainPrefix": ctx.variable("domainPrefix"),
            "http": {
                "method": req.method.as_str(),
                "path": raw_path,
                "protocol": ctx.protocol,
                "sourceIp": ctx.source_ip,
                "userAgent": ctx.user_agent.clone().unwrap_or_default(),
            },
            "requestId": ctx.extended_request_id,
            "routeKey": route.route_key,
            "stage": api.stage.name,
            "time": ctx.request_time,
            "timeEpoch": ctx.request_time_epoch,
        }),
    );
    if let Some(rc) = event
        .get_mut("requestContext")
        .and_then(Value::as_object_mut)
    {
        if ctx.authorizer.is_some() {
            rc.insert("authorizer".into(), v2_authorizer(ctx));
        }
        if let Some(cert) = &ctx.client_cert {
            rc.insert(
                "authentication".into(),
                json!({ "clientCert": cert.to_json() }),
            );
        }
    }
    if !req.path_params.is_empty() {
        event.insert(
            "pathParameters".into(),
            Value::Object(
                req.path_params
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from(v.clone())))
                    .collect(),
            ),
        );
    }
    if !ctx.stage_variables.is_empty() {
        event.insert(
            "stageVariables".into(),
            Value::Object(
                ctx.stage_variables
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from(v.clone())))
                    .collect(),
            ),
        );
    }
    let text = v2_text_type(header_str(&req.headers, "content-type"));
    let (body, is_b64) = event_body(body, !text);
    if !body.is_null() {
        event.insert("body".into(), body);
    }
    event.insert("isBase64Encoded".into(), Value::Bool(is_b64));
    Value::Object(event)
}

/// Why a function's proxy response was rejected (logged as AWS's
/// "Malformed Lambda proxy response").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Malformed Lambda proxy response: {0}")]
pub struct MalformedResponse(pub String);

fn malformed(m: impl Into<String>) -> MalformedResponse {
    MalformedResponse(m.into())
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

fn status_from(v: Option<&Value>, default: u16) -> Result<u16, MalformedResponse> {
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
    // Values for one name join with ", "; the first spelling of the name wins (facts §3b).
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
) -> Result<Response<Body>, MalformedResponse> {
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
/// binaryMediaTypes; otherwise the base64 text goes out as it is (facts §3b).
pub fn parse_rest_response(
    payload: &[u8],
    binary_types: &[String],
    accept: Option<&str>,
    strict: bool,
) -> Result<Response<Body>, MalformedResponse> {
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
    let content_type = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone());
    let decode = b64
        && (is_binary(binary_types, accept) || is_binary(binary_types, content_type.as_deref()));
    let body = if decode {
        Bytes::from(
            B64.decode(body.trim())
                .map_err(|_| malformed("body is not valid base64"))?,
        )
    } else {
        Bytes::from(body)
    };
    build_response(status, headers, body)
}

/// Parse an HTTP API payload 2.0 response, including the shorthand where a function returns any
/// JSON value without `statusCode`.
pub fn parse_http_v2_response(payload: &[u8]) -> Result<Response<Body>, MalformedResponse> {
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
                .map_err(|_| malformed("body is not valid base64"))?,
        )
    } else {
        Bytes::from(body)
    };
    build_response(status, headers, body)
}

#[cfg(test)]
mod tests {
    use super::*;
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

    fn rest(payload: &str) -> Result<Response<Body>, MalformedResponse> {
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

    #[test]
    fn binary_media_matching() {
        let types = vec![
            "image/*".to_string(),
            "application/octet-stream".to_string(),
        ];
        assert!(is_binary(&types, Some("image/png")));
        assert!(is_binary(&types, Some("application/octet-stream; q=1")));
        assert!(!is_binary(&types, Some("text/plain")));
        assert!(is_binary(&["*/*".to_string()], Some("text/plain")));
        assert!(!is_binary(&types, None));
    }
}

/// Which event [`sample_event`] builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleFormat {
    Rest,
    HttpV1,
    HttpV2,
}

/// A realistic event for `tollgate generate-event`, built by the same code that builds real ones.
pub fn sample_event(
    format: SampleFormat,
    method: &str,
    path_and_query: &str,
    resource: &str,
    body: &str,
    stage: &str,
) -> Result<Value, String> {
    use crate::api::{Integration, ResolvedApi, Route, Stage};
    use crate::spec::{ApiKind, RouteMethod};

    let route_method = RouteMethod::parse(method)
        .ok_or_else(|| format!("`{method}` is not an HTTP method API Gateway routes"))?;
    let http_method = http::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|e| e.to_string())?;
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (path_and_query.to_string(), None),
    };
    let mut router = crate::router::Router::new();
    router
        .insert(route_method, resource, 0)
        .map_err(|e| format!("--resource {resource}: {e}"))?;
    let params = router
        .lookup(route_method, &path)
        .ok_or_else(|| format!("--path {path} does not match --resource {resource}"))?
        .params;
    let kind = if format == SampleFormat::Rest {
        ApiKind::Rest
    } else {
        ApiKind::Http
    };
    let api = ResolvedApi {
        name: "SampleApi".into(),
        api_id: "1234567890".into(),
        kind,
        source: Default::default(),
        stage: Stage {
            name: stage.to_string(),
            variables: Default::default(),
        },
        routes: Vec::new(),
        router: crate::router::Router::new(),
        gateway_responses: Default::default(),
        binary_media_types: Vec::new(),
        cors: None,
        access_log_format: None,
        upstreams: Default::default(),
        resource_policy: None,
        stage_throttle: Default::default(),
        api_key_source: crate::spec::extensions::ApiKeySource::Header,
        warnings: Vec::new(),
    };
    let route = Route {
        method: route_method,
        resource_path: resource.to_string(),
        route_key: format!("{route_method} {resource}"),
        operation_name: None,
        integration: Integration::Mock(crate::api::Mapping {
            request_templates: Default::default(),
            passthrough: crate::spec::extensions::PassthroughBehavior::WhenNoMatch,
            request_parameters: Vec::new(),
            content_handling: None,
            responses: Default::default(),
        }),
        method_responses: Default::default(),
        pointer: String::new(),
        auth: crate::api::RouteAuth::None,
        api_key_required: false,
        identity_injection: None,
        rate_limit: None,
        validation: None,
        filters: Vec::new(),
    };
    let mut headers = HeaderMap::new();
    for (k, v) in [
        (
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        ),
        ("accept-encoding", "gzip, deflate, sdch"),
        ("accept-language", "en-US,en;q=0.8"),
        ("content-type", "application/json"),
        ("host", "1234567890.execute-api.us-east-1.amazonaws.com"),
        ("user-agent", "Custom User Agent String"),
    ] {
        headers.insert(k, HeaderValue::from_static(v));
    }
    let conn = crate::context::ConnInfo {
        remote: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        local: std::net::SocketAddr::from(([127, 0, 0, 1], 443)),
        tls: true,
    };
    let mut ctx = RequestContext::new(&http_method, &path, &headers, conn);
    ctx.api_id = Some(api.api_id.clone());
    ctx.api_kind = Some(kind);
    ctx.stage = Some(stage.to_string());
    ctx.resource_path = Some(resource.to_string());
    ctx.route_key = Some(route.route_key.clone());
    ctx.path_params = params.clone();
    if kind == ApiKind::Rest {
        ctx.path = format!("/{stage}{path}");
    }
    let req = MethodRequest {
        path_and_query: path_and_query.to_string(),
        method: http_method,
        path,
        raw_query: query.clone(),
        query: crate::method_request::parse_query(query.as_deref()),
        headers,
        path_params: params,
        body: None,
    };
    let body = Bytes::from(body.to_string());
    Ok(match format {
        SampleFormat::Rest => rest_event(&api, &route, &ctx, &req, &body, None),
        SampleFormat::HttpV1 => rest_event(&api, &route, &ctx, &req, &body, Some("1.0")),
        SampleFormat::HttpV2 => http_v2_event(&api, &route, &ctx, &req, &body),
    })
}
