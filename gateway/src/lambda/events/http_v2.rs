//! The HTTP API payload 2.0 event (aws-behaviour §3c).

use std::borrow::Cow;

use bytes::Bytes;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use super::objects::{Object, One, Pairs, Scopes, Variables};
use super::{header_str, integration_headers, EventBody, Pair};
use crate::context::RequestContext;
use crate::model::{ResolvedApi, Route};
use crate::request::MethodRequest;

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
