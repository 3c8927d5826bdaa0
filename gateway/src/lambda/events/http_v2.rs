//! The HTTP API payload 2.0 event (aws-behaviour §3c).

use std::borrow::Cow;

use bytes::Bytes;

use super::json::{key, JsonWriter};
use super::objects::{object, pairs, scopes, strings, variables};
use super::{header_str, integration_headers, Event, EventBody, Pair};
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

impl Event for HttpV2Event<'_> {
    fn write(&self, w: &mut JsonWriter) -> Result<(), serde_json::Error> {
        let (ctx, req) = (self.ctx, self.req);
        w.begin_object();
        key!(w, "version");
        w.string("2.0");
        key!(w, "routeKey");
        w.string(&self.route.route_key);
        key!(w, "rawPath");
        w.string(&self.raw_path);
        key!(w, "rawQueryString");
        w.string(req.raw_query.as_deref().unwrap_or(""));
        if !self.cookies.is_empty() {
            key!(w, "cookies");
            strings(w, self.cookies.iter().copied());
        }
        key!(w, "headers");
        pairs(w, &self.headers);
        if !self.query.is_empty() {
            key!(w, "queryStringParameters");
            pairs(w, &self.query);
        }
        key!(w, "requestContext");
        self.write_context(w)?;
        if !req.path_params.is_empty() {
            key!(w, "pathParameters");
            object(w, &req.path_params);
        }
        if !ctx.stage_variables.is_empty() {
            key!(w, "stageVariables");
            variables(w, &ctx.stage_variables);
        }
        if let Some(body) = self.body.text() {
            key!(w, "body");
            w.string(body);
        }
        key!(w, "isBase64Encoded");
        w.bool(self.body.is_base64());
        w.end_object();
        Ok(())
    }
}

impl HttpV2Event<'_> {
    /// `requestContext` of a 2.0 event.
    fn write_context(&self, w: &mut JsonWriter) -> Result<(), serde_json::Error> {
        let (api, ctx, req) = (self.api, self.ctx, self.req);
        w.begin_object();
        key!(w, "accountId");
        w.string(crate::ACCOUNT_ID);
        key!(w, "apiId");
        w.string(&api.api_id);
        key!(w, "domainName");
        w.string(&ctx.domain_name);
        key!(w, "domainPrefix");
        w.string_or_null(ctx.variable_text("domainPrefix").as_deref());
        key!(w, "http");
        w.begin_object();
        key!(w, "method");
        w.string(req.method.as_str());
        key!(w, "path");
        w.string(&self.raw_path);
        key!(w, "protocol");
        w.string(ctx.protocol);
        key!(w, "sourceIp");
        w.string(&ctx.source_ip);
        key!(w, "userAgent");
        w.string(ctx.user_agent.as_deref().unwrap_or(""));
        w.end_object();
        key!(w, "requestId");
        w.string(&ctx.extended_request_id);
        key!(w, "routeKey");
        w.string(&self.route.route_key);
        key!(w, "stage");
        w.string(&api.stage.name);
        key!(w, "time");
        w.string(&ctx.request_time);
        key!(w, "timeEpoch");
        w.int(ctx.request_time_epoch);
        // `{jwt: {claims, scopes}}` (the claims with their JSON types) or `{lambda: {...}}`.
        if let Some(a) = &ctx.authorizer {
            key!(w, "authorizer");
            w.begin_object();
            match &a.claims {
                Some(claims) => {
                    key!(w, "jwt");
                    w.begin_object();
                    key!(w, "claims");
                    w.serialized(claims.as_ref())?;
                    key!(w, "scopes");
                    scopes(w, &a.scopes);
                    w.end_object();
                }
                None => {
                    key!(w, "lambda");
                    w.serialized(&a.context)?;
                }
            }
            w.end_object();
        }
        if let Some(cert) = &ctx.client_cert {
            key!(w, "authentication");
            w.begin_object();
            key!(w, "clientCert");
            w.serialized(&cert.to_json())?;
            w.end_object();
        }
        w.end_object();
        Ok(())
    }
}
