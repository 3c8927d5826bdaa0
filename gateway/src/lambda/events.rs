//! The events a Lambda proxy integration sends: REST payload 1.0, HTTP API 1.0 and 2.0, field
//! for field as aws-behaviour §3 records them.
//!
//! The events are written here with `serde_json` rather than by serializing `aws_lambda_events`
//! structs, because AWS's exact shape needs what those types cannot express (`null` for absent
//! maps, fields omitted in 2.0 events); the tests deserialize every event into the
//! `aws_lambda_events` types that `lambda_http` functions read, so the two stay compatible.

use base64::Engine;
use bytes::Bytes;
use http::HeaderMap;
use serde_json::{json, Map, Value};

use crate::context::RequestContext;
use crate::model::{ResolvedApi, Route};
use crate::request::MethodRequest;

use super::binary::is_binary;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Request headers API Gateway drops before a Lambda integration (aws-behaviour §3a).
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
            out.push((
                req.header_case.spelled(name.as_str()).to_string(),
                v.to_string(),
            ));
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
        "deploymentId": crate::ids::api_id_for(&format!("{}/{}", api.name, api.stage.name))[..6],
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
pub(crate) fn rest_event(
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
/// (aws-behaviour §3c, verified against AWS by others).
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
pub(crate) fn http_v2_event(
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
