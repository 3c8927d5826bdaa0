//! The events a Lambda proxy integration sends: REST payload 1.0, HTTP API 1.0 and 2.0, field
//! for field as aws-behaviour §3 records them.
//!
//! An event borrows the request it describes and serializes itself straight into the bytes the
//! function receives: no `serde_json::Value` tree is built per invocation (that tree was about a
//! hundred allocations of a Lambda request; docs/benchmarks.md). Keys come in the order AWS
//! sends them. The events are not `aws_lambda_events` structs because AWS's exact shape needs
//! what those types cannot express (`null` for absent maps, fields omitted in 2.0 events); the
//! tests deserialize every event into the `aws_lambda_events` types that `lambda_http` functions
//! read, so the two stay compatible.

use std::borrow::Cow;

use base64::Engine;
use bytes::Bytes;
use http::HeaderMap;
use indexmap::IndexMap;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

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

/// An event's JSON text, as the function receives it. Writing one does not fail in practice
/// (every key is text and every number finite); should it, the error is passed on.
pub(crate) fn to_bytes(event: &impl Serialize) -> Result<Bytes, serde_json::Error> {
    // Room for a typical event, so the buffer rarely grows while it is written.
    let mut out = Vec::with_capacity(2048);
    serde_json::to_writer(&mut out, event)?;
    Ok(Bytes::from(out))
}

/// An event as a JSON value, for the callers that add to it (authorizer events, samples).
pub(crate) fn to_value(event: &impl Serialize) -> Result<Value, serde_json::Error> {
    serde_json::to_value(event)
}

/// A header or query parameter as an event carries it.
type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The request headers the integration sees: the client's, less the dropped ones, plus the
/// `X-Forwarded-*` and trace headers every endpoint adds. Names as the client spelled them, or
/// lowercased (`lower`, for HTTP API events).
fn integration_headers<'a>(
    ctx: &'a RequestContext,
    req: &'a MethodRequest,
    lower: bool,
) -> Vec<Pair<'a>> {
    let mut out: Vec<Pair<'a>> = Vec::with_capacity(req.headers.len() + 4);
    for (name, value) in req.headers.iter() {
        if DROPPED_REQUEST_HEADERS.contains(&name.as_str()) {
            continue;
        }
        if let Ok(v) = value.to_str() {
            // `HeaderMap` holds names lowercased.
            let name = if lower {
                name.as_str()
            } else {
                req.header_case.spelled(name.as_str())
            };
            out.push((Cow::Borrowed(name), Cow::Borrowed(v)));
        }
    }
    let mut set = |name: &'static str, value: Cow<'a, str>| {
        out.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        let name = if lower {
            Cow::Owned(name.to_ascii_lowercase())
        } else {
            Cow::Borrowed(name)
        };
        out.push((name, value));
    };
    let xff = match header_str(&req.headers, "x-forwarded-for") {
        Some(prev) => Cow::Owned(format!("{prev}, {}", ctx.source_ip)),
        None => Cow::Borrowed(ctx.source_ip.as_str()),
    };
    set("X-Forwarded-For", xff);
    set(
        "X-Forwarded-Port",
        Cow::Owned(ctx.conn.local.port().to_string()),
    );
    set(
        "X-Forwarded-Proto",
        Cow::Borrowed(if ctx.conn.tls { "https" } else { "http" }),
    );
    if header_str(&req.headers, "x-amzn-trace-id").is_none() {
        set("X-Amzn-Trace-Id", Cow::Borrowed(ctx.trace_id.as_str()));
    }
    out
}

fn same_name(a: &str, b: &str, fold_case: bool) -> bool {
    if fold_case {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

/// `headers` / `queryStringParameters` of a 1.0 event: each name once with its last value, in
/// the order of those last values; `null` when there are none (aws-behaviour §3a).
struct LastValues<'s, K, V> {
    pairs: &'s [(K, V)],
    fold_case: bool,
}

impl<K: AsRef<str>, V: AsRef<str>> Serialize for LastValues<'_, K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.pairs.is_empty() {
            return s.serialize_none();
        }
        let mut m = s.serialize_map(None)?;
        for (i, (k, v)) in self.pairs.iter().enumerate() {
            let later = &self.pairs[i + 1..];
            if !later
                .iter()
                .any(|(n, _)| same_name(n.as_ref(), k.as_ref(), self.fold_case))
            {
                m.serialize_entry(k.as_ref(), v.as_ref())?;
            }
        }
        m.end()
    }
}

/// `multiValueHeaders` / `multiValueQueryStringParameters`: each name once, as first seen,
/// with all its values; `null` when there are none.
struct AllValues<'s, K, V> {
    pairs: &'s [(K, V)],
    fold_case: bool,
}

impl<K: AsRef<str>, V: AsRef<str>> Serialize for AllValues<'_, K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.pairs.is_empty() {
            return s.serialize_none();
        }
        let mut m = s.serialize_map(None)?;
        for (i, (k, _)) in self.pairs.iter().enumerate() {
            let named = |(n, _): &&(K, V)| same_name(n.as_ref(), k.as_ref(), self.fold_case);
            if self.pairs[..i].iter().any(|p| named(&p)) {
                continue;
            }
            let values: Vec<&str> = self.pairs[i..]
                .iter()
                .filter(named)
                .map(|(_, v)| v.as_ref())
                .collect();
            m.serialize_entry(k.as_ref(), &values)?;
        }
        m.end()
    }
}

/// An object of `pairs` as collecting them into a map builds it (a repeated name keeps its first
/// place and takes its last value); `null` when there are none.
struct Object<'s, K, V>(&'s [(K, V)]);

impl<K: AsRef<str>, V: AsRef<str>> Serialize for Object<'_, K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_empty() {
            return s.serialize_none();
        }
        let mut m = s.serialize_map(None)?;
        for (i, (k, _)) in self.0.iter().enumerate() {
            if self.0[..i].iter().any(|(n, _)| n.as_ref() == k.as_ref()) {
                continue;
            }
            let last = self.0[i..]
                .iter()
                .rev()
                .find(|(n, _)| n.as_ref() == k.as_ref())
                .map_or("", |(_, v)| v.as_ref());
            m.serialize_entry(k.as_ref(), last)?;
        }
        m.end()
    }
}

/// Stage variables as an object; `null` when the stage has none.
struct Variables<'s>(&'s IndexMap<String, String>);

impl Serialize for Variables<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_empty() {
            return s.serialize_none();
        }
        s.collect_map(self.0.iter())
    }
}

/// An authorizer's scopes: `null` when there are none.
struct Scopes<'s>(&'s [String]);

impl Serialize for Scopes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_empty() {
            s.serialize_none()
        } else {
            s.collect_seq(self.0)
        }
    }
}

/// The request body as the event carries it.
enum EventBody<'a> {
    Absent,
    Text(&'a str),
    Base64(String),
}

impl<'a> EventBody<'a> {
    fn new(body: &'a Bytes, base64: bool) -> Self {
        if body.is_empty() {
            return EventBody::Absent;
        }
        if base64 {
            return EventBody::Base64(B64.encode(body));
        }
        match std::str::from_utf8(body) {
            Ok(s) => EventBody::Text(s),
            // Not text after all: base64 is the only lossless way to hand it on.
            Err(_) => EventBody::Base64(B64.encode(body)),
        }
    }

    fn text(&self) -> Option<&str> {
        match self {
            EventBody::Absent => None,
            EventBody::Text(s) => Some(s),
            EventBody::Base64(s) => Some(s),
        }
    }

    fn is_base64(&self) -> bool {
        matches!(self, EventBody::Base64(_))
    }
}

/// The REST AWS_PROXY event (payload 1.0), also HTTP API payload 1.0 (`version: "1.0"`, header
/// names lowercased).
pub(crate) struct RestEvent<'a> {
    version: Option<&'a str>,
    api: &'a ResolvedApi,
    route: &'a Route,
    ctx: &'a RequestContext,
    req: &'a MethodRequest,
    headers: Vec<Pair<'a>>,
    body: EventBody<'a>,
}

/// The REST AWS_PROXY event (payload 1.0). `version` is `Some("1.0")` for HTTP API 1.0 events,
/// whose header names are lowercased.
pub(crate) fn rest_event<'a>(
    api: &'a ResolvedApi,
    route: &'a Route,
    ctx: &'a RequestContext,
    req: &'a MethodRequest,
    body: &'a Bytes,
    version: Option<&'a str>,
) -> RestEvent<'a> {
    let binary = is_binary(
        &api.binary_media_types,
        header_str(&req.headers, "content-type"),
    );
    RestEvent {
        version,
        api,
        route,
        ctx,
        req,
        headers: integration_headers(ctx, req, version.is_some()),
        body: EventBody::new(body, binary),
    }
}

impl Serialize for RestEvent<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(v) = self.version {
            m.serialize_entry("version", v)?;
        }
        m.serialize_entry("resource", &self.route.resource_path)?;
        m.serialize_entry("path", &self.req.path)?;
        m.serialize_entry("httpMethod", self.req.method.as_str())?;
        let (headers, query) = (&self.headers[..], &self.req.query[..]);
        m.serialize_entry(
            "headers",
            &LastValues {
                pairs: headers,
                fold_case: true,
            },
        )?;
        m.serialize_entry(
            "multiValueHeaders",
            &AllValues {
                pairs: headers,
                fold_case: true,
            },
        )?;
        m.serialize_entry(
            "queryStringParameters",
            &LastValues {
                pairs: query,
                fold_case: false,
            },
        )?;
        m.serialize_entry(
            "multiValueQueryStringParameters",
            &AllValues {
                pairs: query,
                fold_case: false,
            },
        )?;
        m.serialize_entry("pathParameters", &Object(&self.req.path_params))?;
        m.serialize_entry("stageVariables", &Variables(&self.ctx.stage_variables))?;
        m.serialize_entry(
            "requestContext",
            &RestContext {
                api: self.api,
                ctx: self.ctx,
            },
        )?;
        m.serialize_entry("body", &self.body.text())?;
        m.serialize_entry("isBase64Encoded", &self.body.is_base64())?;
        m.end()
    }
}

/// REST `requestContext` (also used by HTTP API payload 1.0).
struct RestContext<'a> {
    api: &'a ResolvedApi,
    ctx: &'a RequestContext,
}

impl Serialize for RestContext<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (api, ctx) = (self.api, self.ctx);
        let deployment = crate::ids::api_id_for(&format!("{}/{}", api.name, api.stage.name));
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("accountId", crate::ACCOUNT_ID)?;
        m.serialize_entry("apiId", &api.api_id)?;
        m.serialize_entry("deploymentId", &deployment[..6])?;
        m.serialize_entry("domainName", &ctx.domain_name)?;
        m.serialize_entry("domainPrefix", &ctx.variable_text("domainPrefix"))?;
        m.serialize_entry("extendedRequestId", &ctx.extended_request_id)?;
        m.serialize_entry("httpMethod", &ctx.http_method)?;
        m.serialize_entry("identity", &Identity(ctx))?;
        m.serialize_entry("path", &ctx.path)?;
        m.serialize_entry("protocol", ctx.protocol)?;
        m.serialize_entry("requestId", &ctx.request_id)?;
        m.serialize_entry("requestTime", &ctx.request_time)?;
        m.serialize_entry("requestTimeEpoch", &ctx.request_time_epoch)?;
        m.serialize_entry("resourceId", &ctx.variable_text("resourceId"))?;
        m.serialize_entry("resourcePath", &ctx.resource_path)?;
        m.serialize_entry("stage", &api.stage.name)?;
        if let Some(name) = &ctx.operation_name {
            m.serialize_entry("operationName", name)?;
        }
        match &ctx.authorizer {
            // JWT / Cognito: claims (as strings, as REST sends them) and scopes.
            Some(a) if a.claims.is_some() => m.serialize_entry(
                "authorizer",
                &ClaimsAuthorizer {
                    claims: a.claims.as_ref(),
                    scopes: &a.scopes,
                },
            )?,
            // A Lambda authorizer's principal and context, with the context's JSON types kept.
            Some(a) => m.serialize_entry("authorizer", &LambdaAuthorizer(a))?,
            None => {}
        }
        m.end()
    }
}

/// `requestContext.identity` of a 1.0 event.
struct Identity<'a>(&'a RequestContext);

impl Serialize for Identity<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ctx = self.0;
        let iam = ctx.iam.as_ref();
        let user = iam.and_then(|i| i.user.as_deref());
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("accessKey", &iam.map(|i| &i.access_key))?;
        m.serialize_entry("accountId", &iam.map(|i| &i.account_id))?;
        m.serialize_entry("caller", &user)?;
        for absent in [
            "cognitoAuthenticationProvider",
            "cognitoAuthenticationType",
            "cognitoIdentityId",
            "cognitoIdentityPoolId",
            "principalOrgId",
        ] {
            m.serialize_entry(absent, &())?;
        }
        m.serialize_entry("sourceIp", &ctx.source_ip)?;
        m.serialize_entry("user", &user)?;
        m.serialize_entry("userAgent", &ctx.user_agent)?;
        m.serialize_entry("userArn", &iam.and_then(|i| i.user_arn.as_deref()))?;
        if let Some(cert) = &ctx.client_cert {
            m.serialize_entry("clientCert", &cert.to_json())?;
        }
        // Present once a method's API key has passed the usage-plan check.
        if let Some(key) = &ctx.api_key {
            m.serialize_entry("apiKey", key)?;
            m.serialize_entry("apiKeyId", &ctx.api_key_id)?;
        }
        m.end()
    }
}

/// A JWT or Cognito authorizer in a REST event: every claim as a string, and the scopes.
struct ClaimsAuthorizer<'a> {
    claims: Option<&'a Map<String, Value>>,
    scopes: &'a [String],
}

impl Serialize for ClaimsAuthorizer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct AsText<'a>(Option<&'a Map<String, Value>>);
        impl Serialize for AsText<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_map(self.0.into_iter().flatten().map(|(k, v)| {
                    let text = match v {
                        Value::String(t) => Cow::Borrowed(t.as_str()),
                        other => Cow::Owned(other.to_string()),
                    };
                    (k, text)
                }))
            }
        }
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("claims", &AsText(self.claims))?;
        m.serialize_entry("scopes", &Scopes(self.scopes))?;
        m.end()
    }
}

/// A Lambda authorizer in a REST event: its principal, its latency, then its context. A context
/// key of the same name replaces the first two in place, as it would in a JSON object.
struct LambdaAuthorizer<'a>(&'a crate::context::AuthorizerOutput);

impl Serialize for LambdaAuthorizer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const PRINCIPAL: &str = "principalId";
        const LATENCY: &str = "integrationLatency";
        let a = self.0;
        let mut m = s.serialize_map(None)?;
        match a.context.get(PRINCIPAL) {
            Some(v) => m.serialize_entry(PRINCIPAL, v)?,
            None => m.serialize_entry(PRINCIPAL, &a.principal_id)?,
        }
        match a.context.get(LATENCY) {
            Some(v) => m.serialize_entry(LATENCY, v)?,
            None => m.serialize_entry(LATENCY, &(a.latency.as_millis() as u64))?,
        }
        for (k, v) in a
            .context
            .iter()
            .filter(|(k, _)| *k != PRINCIPAL && *k != LATENCY)
        {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// Content types an HTTP API 2.0 event carries as plain text; everything else is base64
/// (aws-behaviour §3c, verified against AWS by others).
fn v2_text_type(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else { return false };
    let m = ct.split(';').next().unwrap_or("").trim();
    m.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("text/"))
        || [
            "application/json",
            "application/xml",
            "application/javascript",
        ]
        .iter()
        .any(|t| m.eq_ignore_ascii_case(t))
}

/// Pairs with a repeated name merged into one, values joined with commas, in first-seen order
/// (HTTP API 2.0 headers and query parameters).
fn joined<'a>(pairs: impl Iterator<Item = (Cow<'a, str>, Cow<'a, str>)>) -> Vec<Pair<'a>> {
    let mut out: Vec<Pair<'a>> = Vec::new();
    for (name, value) in pairs {
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some((_, existing)) => {
                let merged = existing.to_mut();
                merged.push(',');
                merged.push_str(&value);
            }
            None => out.push((name, value)),
        }
    }
    out
}

/// The HTTP API payload 2.0 event.
pub(crate) struct HttpV2Event<'a> {
    api: &'a ResolvedApi,
    route: &'a Route,
    ctx: &'a RequestContext,
    req: &'a MethodRequest,
    headers: Vec<Pair<'a>>,
    cookies: Vec<&'a str>,
    query: Vec<Pair<'a>>,
    raw_path: Cow<'a, str>,
    body: EventBody<'a>,
}

/// The HTTP API payload 2.0 event.
pub(crate) fn http_v2_event<'a>(
    api: &'a ResolvedApi,
    route: &'a Route,
    ctx: &'a RequestContext,
    req: &'a MethodRequest,
    body: &'a Bytes,
) -> HttpV2Event<'a> {
    // Cookies leave the headers for their own list (aws-behaviour §3c).
    let headers = joined(
        integration_headers(ctx, req, true)
            .into_iter()
            .filter(|(n, _)| n != "cookie"),
    );
    let cookies = req
        .headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    let query = joined(
        req.query
            .iter()
            .map(|(k, v)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(v.as_str()))),
    );
    let raw_path = if api.stage.name == "$default" {
        Cow::Borrowed(req.path.as_str())
    } else {
        Cow::Owned(format!("/{}{}", api.stage.name, req.path))
    };
    let text = v2_text_type(header_str(&req.headers, "content-type"));
    HttpV2Event {
        api,
        route,
        ctx,
        req,
        headers,
        cookies,
        query,
        raw_path,
        body: EventBody::new(body, !text),
    }
}

impl Serialize for HttpV2Event<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (ctx, req) = (self.ctx, self.req);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("version", "2.0")?;
        m.serialize_entry("routeKey", &self.route.route_key)?;
        m.serialize_entry("rawPath", &self.raw_path)?;
        m.serialize_entry("rawQueryString", req.raw_query.as_deref().unwrap_or(""))?;
        if !self.cookies.is_empty() {
            m.serialize_entry("cookies", &self.cookies)?;
        }
        m.serialize_entry("headers", &Pairs(&self.headers))?;
        if !self.query.is_empty() {
            m.serialize_entry("queryStringParameters", &Pairs(&self.query))?;
        }
        m.serialize_entry("requestContext", &V2Context(self))?;
        if !req.path_params.is_empty() {
            m.serialize_entry("pathParameters", &Object(&req.path_params))?;
        }
        if !ctx.stage_variables.is_empty() {
            m.serialize_entry("stageVariables", &Variables(&ctx.stage_variables))?;
        }
        if let Some(body) = self.body.text() {
            m.serialize_entry("body", body)?;
        }
        m.serialize_entry("isBase64Encoded", &self.body.is_base64())?;
        m.end()
    }
}

/// Pairs whose names are already distinct, as an object.
struct Pairs<'s, 'a>(&'s [Pair<'a>]);

impl Serialize for Pairs<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

/// `requestContext` of a 2.0 event.
struct V2Context<'e, 'a>(&'e HttpV2Event<'a>);

impl Serialize for V2Context<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let (api, ctx) = (e.api, e.ctx);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("accountId", crate::ACCOUNT_ID)?;
        m.serialize_entry("apiId", &api.api_id)?;
        m.serialize_entry("domainName", &ctx.domain_name)?;
        m.serialize_entry("domainPrefix", &ctx.variable_text("domainPrefix"))?;
        m.serialize_entry("http", &V2Http(e))?;
        m.serialize_entry("requestId", &ctx.extended_request_id)?;
        m.serialize_entry("routeKey", &e.route.route_key)?;
        m.serialize_entry("stage", &api.stage.name)?;
        m.serialize_entry("time", &ctx.request_time)?;
        m.serialize_entry("timeEpoch", &ctx.request_time_epoch)?;
        // `{jwt: {claims, scopes}}` or `{lambda: {...}}`.
        if let Some(a) = &ctx.authorizer {
            match &a.claims {
                Some(claims) => {
                    let jwt = Jwt {
                        claims,
                        scopes: &a.scopes,
                    };
                    m.serialize_entry("authorizer", &One("jwt", jwt))?
                }
                None => m.serialize_entry("authorizer", &One("lambda", &a.context))?,
            }
        }
        if let Some(cert) = &ctx.client_cert {
            m.serialize_entry("authentication", &One("clientCert", cert.to_json()))?;
        }
        m.end()
    }
}

/// An object of one entry.
struct One<'k, V>(&'k str, V);

impl<V: Serialize> Serialize for One<'_, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(self.0, &self.1)?;
        m.end()
    }
}

/// A JWT authorizer in a 2.0 event: the claims with their JSON types, and the scopes.
struct Jwt<'a> {
    claims: &'a Map<String, Value>,
    scopes: &'a [String],
}

impl Serialize for Jwt<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("claims", self.claims)?;
        m.serialize_entry("scopes", &Scopes(self.scopes))?;
        m.end()
    }
}

/// `requestContext.http` of a 2.0 event.
struct V2Http<'e, 'a>(&'e HttpV2Event<'a>);

impl Serialize for V2Http<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (ctx, req) = (self.0.ctx, self.0.req);
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("method", req.method.as_str())?;
        m.serialize_entry("path", &self.0.raw_path)?;
        m.serialize_entry("protocol", ctx.protocol)?;
        m.serialize_entry("sourceIp", &ctx.source_ip)?;
        m.serialize_entry("userAgent", ctx.user_agent.as_deref().unwrap_or(""))?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use http::{HeaderMap, HeaderValue, Method};
    use serde_json::json;

    use super::*;
    use crate::context::{AuthorizerOutput, ClientCert, ConnInfo, IamIdentity};
    use crate::request::{parse_query, HeaderCase};
    use crate::spec::ApiKind;

    const YAML: &str = r#"
openapi: 3.0.1
info: {title: shop, version: "1"}
paths:
  /orders/{id}/items:
    post:
      operationId: addItem
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        uri: arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:Shop/invocations
"#;

    struct Case {
        api: ResolvedApi,
        ctx: RequestContext,
        req: MethodRequest,
    }

    /// A request with everything an event can carry: repeated headers in two spellings, a
    /// forwarded-for chain, repeated query parameters, path parameters, stage variables.
    fn case(kind: ApiKind, stage: &str, extra_headers: &[(&'static str, &str)]) -> Case {
        let mut api = crate::compile::testing::api("Shop", YAML);
        api.kind = kind;
        api.stage.name = stage.into();
        api.binary_media_types = vec!["image/png".into()];
        let mut headers = HeaderMap::new();
        for (k, v) in [
            ("accept", "application/json"),
            ("x-multi", "one"),
            ("x-multi", "two"),
            ("x-forwarded-for", "203.0.113.9"),
            ("content-length", "12"),
            ("user-agent", "curl/8"),
            ("host", "shop.example.com:3000"),
        ]
        .iter()
        .chain(extra_headers)
        {
            headers.append(*k, HeaderValue::from_str(v).expect("value"));
        }
        let conn = ConnInfo {
            remote: std::net::SocketAddr::from(([10, 0, 0, 7], 5555)),
            local: std::net::SocketAddr::from(([127, 0, 0, 1], 3000)),
            tls: false,
        };
        let path = "/orders/42/items";
        let mut ctx = RequestContext::new(&Method::POST, path, &headers, conn);
        // Fixed where a request would have fresh ids and times, so events compare with files.
        ctx.request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef".into();
        ctx.extended_request_id = "EXTIDEXAMPLE=".into();
        ctx.trace_id = "Root=1-5f84c7a1-0123456789abcdef01234567".into();
        ctx.request_time = "09/Apr/2015:12:34:56 +0000".into();
        ctx.request_time_epoch = 1428582896000;
        ctx.api_id = Some(api.api_id.clone());
        ctx.stage = Some(stage.into());
        ctx.resource_path = Some("/orders/{id}/items".into());
        ctx.route_key = Some("POST /orders/{id}/items".into());
        ctx.path = format!("/{stage}{path}");
        ctx.stage_variables = Arc::new(
            [("env".to_string(), "test".to_string())]
                .into_iter()
                .collect(),
        );
        let raw_query = "q=a+b&q=c&tag=x&Tag=y";
        let req = MethodRequest {
            method: Method::POST,
            path_and_query: format!("{path}?{raw_query}"),
            path: path.into(),
            raw_query: Some(raw_query.into()),
            query: parse_query(Some(raw_query)),
            headers,
            header_case: HeaderCase::new(["Accept", "X-Multi", "x-multi", "User-Agent"]),
            path_params: vec![("id".into(), "42".into())],
            body: None,
        };
        Case { api, ctx, req }
    }

    fn lambda_authorizer() -> AuthorizerOutput {
        AuthorizerOutput {
            principal_id: Some("user-1".into()),
            context: json!({"tier": "gold", "n": 3, "ok": true})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            usage_identifier_key: None,
            latency: Duration::from_millis(7),
            claims: None,
            scopes: Vec::new(),
        }
    }

    fn jwt_authorizer() -> AuthorizerOutput {
        AuthorizerOutput {
            principal_id: None,
            context: Map::new(),
            usage_identifier_key: None,
            latency: Duration::ZERO,
            claims: json!({"sub": "abc", "exp": 1700000000, "email_verified": true, "groups": ["a", "b"]})
                .as_object()
                .cloned(),
            scopes: vec!["read".into(), "write".into()],
        }
    }

    fn everything_else(ctx: &mut RequestContext) {
        ctx.iam = Some(IamIdentity {
            access_key: "AKIDEXAMPLE".into(),
            account_id: "123456789012".into(),
            user_arn: Some("arn:aws:iam::123456789012:user/ada".into()),
            user: Some("AIDAEXAMPLE".into()),
        });
        ctx.client_cert = Some(Arc::new(ClientCert {
            pem: "-----BEGIN CERTIFICATE-----".into(),
            subject_dn: "CN=client".into(),
            issuer_dn: "CN=ca".into(),
            serial_number: "01".into(),
            not_before: "May 28 12:30:02 2019 GMT".into(),
            not_after: "May 28 12:30:02 2029 GMT".into(),
        }));
        ctx.api_key = Some("key-value".into());
        ctx.api_key_id = Some("keyid".into());
        ctx.operation_name = Some("addItem".into());
    }

    fn text(event: &impl Serialize) -> String {
        String::from_utf8(to_bytes(event).expect("written").to_vec()).expect("utf8")
    }

    /// Compare with `gateway/src/lambda/golden/NAME`; `UPDATE_GOLDEN=1` rewrites it instead.
    fn golden(name: &str, actual: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/lambda/golden")
            .join(name);
        let actual = format!("{actual}\n");
        if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
            std::fs::write(&path, &actual).expect("write golden");
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("{} missing (UPDATE_GOLDEN=1 writes it)", path.display()));
        assert_eq!(actual, want, "event differs from {}", path.display());
    }

    /// Events byte for byte, key order included, as the `serde_json::Value`-built events of
    /// the build before were (the files were written by that code).
    #[test]
    fn events_match_their_files_byte_for_byte() {
        let route = crate::compile::testing::api("Shop", YAML).routes[0].clone();
        let json_body = Bytes::from_static(br#"{"item":"book"}"#);
        let png = Bytes::from_static(&[0x89, b'P', b'N', b'G']);
        let not_utf8 = Bytes::from_static(&[0xff, 0xfe, 0x00]);
        let empty = Bytes::new();

        // REST: everything an identity can hold, a Lambda authorizer whose context names its
        // principal, a JSON body.
        let mut c = case(ApiKind::Rest, "Prod", &[]);
        everything_else(&mut c.ctx);
        let mut auth = lambda_authorizer();
        auth.context
            .insert("principalId".into(), json!("from-context"));
        c.ctx.authorizer = Some(auth);
        let e = rest_event(&c.api, &route, &c.ctx, &c.req, &json_body, None);
        golden("rest_rich.json", &text(&e));

        // REST: a JWT authorizer (claims as strings), a binary media type, the client's trace.
        let mut c = case(
            ApiKind::Rest,
            "Prod",
            &[
                ("content-type", "image/png"),
                ("x-amzn-trace-id", "Root=1-5-abc"),
            ],
        );
        c.ctx.authorizer = Some(jwt_authorizer());
        let e = rest_event(&c.api, &route, &c.ctx, &c.req, &png, None);
        golden("rest_jwt_binary.json", &text(&e));

        // HTTP API 1.0: lowercased names, cookies kept as a header, a body that is not UTF-8.
        let mut c = case(
            ApiKind::Http,
            "$default",
            &[
                ("content-type", "text/plain"),
                ("cookie", "a=1; b=2"),
                ("cookie", " ;c=3"),
            ],
        );
        c.ctx.authorizer = Some(lambda_authorizer());
        let e = rest_event(&c.api, &route, &c.ctx, &c.req, &not_utf8, Some("1.0"));
        golden("http_v1.json", &text(&e));

        // HTTP API 2.0 on a named stage: cookies, joined repeats, JWT claims with their types,
        // a client certificate, a text body.
        let mut c = case(
            ApiKind::Http,
            "Prod",
            &[
                ("content-type", "Application/JSON"),
                ("cookie", "a=1; b=2"),
                ("cookie", " ;c=3"),
            ],
        );
        everything_else(&mut c.ctx);
        c.ctx.authorizer = Some(jwt_authorizer());
        let e = http_v2_event(&c.api, &route, &c.ctx, &c.req, &json_body);
        golden("http_v2_jwt.json", &text(&e));

        // HTTP API 2.0 on `$default`: a Lambda authorizer, no body, no stage variables.
        let mut c = case(ApiKind::Http, "$default", &[]);
        c.ctx.stage_variables = Arc::default();
        c.ctx.authorizer = Some(lambda_authorizer());
        let e = http_v2_event(&c.api, &route, &c.ctx, &c.req, &empty);
        golden("http_v2_lambda.json", &text(&e));
    }
}
