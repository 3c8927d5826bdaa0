//! The REST event (payload 1.0), which HTTP API payload 1.0 shares (aws-behaviour §3a).

use bytes::Bytes;
use serde_json::{Map, Value};

use super::json::{key, JsonWriter};
use super::objects::{all_values, last_values, object, scopes, variables};
use super::{header_str, integration_headers, Event, EventBody, Pair};
use crate::context::RequestContext;
use crate::lambda::binary::is_binary;
use crate::model::{ResolvedApi, Route};
use crate::request::MethodRequest;

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

impl Event for RestEvent<'_> {
    fn write(&self, w: &mut JsonWriter) -> Result<(), serde_json::Error> {
        w.begin_object();
        if let Some(v) = self.version {
            key!(w, "version");
            w.string(v);
        }
        key!(w, "resource");
        w.string(&self.route.resource_path);
        key!(w, "path");
        w.string(&self.req.path);
        key!(w, "httpMethod");
        w.string(self.req.method.as_str());
        let (headers, query) = (&self.headers[..], &self.req.query[..]);
        key!(w, "headers");
        last_values(w, headers, true);
        key!(w, "multiValueHeaders");
        all_values(w, headers, true);
        key!(w, "queryStringParameters");
        last_values(w, query, false);
        key!(w, "multiValueQueryStringParameters");
        all_values(w, query, false);
        key!(w, "pathParameters");
        object(w, &self.req.path_params);
        key!(w, "stageVariables");
        variables(w, &self.ctx.stage_variables);
        key!(w, "requestContext");
        rest_context(w, self.api, self.ctx)?;
        key!(w, "body");
        w.string_or_null(self.body.text());
        key!(w, "isBase64Encoded");
        w.bool(self.body.is_base64());
        w.end_object();
        Ok(())
    }
}

/// REST `requestContext` (also used by HTTP API payload 1.0).
fn rest_context(
    w: &mut JsonWriter,
    api: &ResolvedApi,
    ctx: &RequestContext,
) -> Result<(), serde_json::Error> {
    let deployment = crate::ids::api_id_for(&format!("{}/{}", api.name, api.stage.name));
    w.begin_object();
    key!(w, "accountId");
    w.string(crate::ACCOUNT_ID);
    key!(w, "apiId");
    w.string(&api.api_id);
    key!(w, "deploymentId");
    w.string(&deployment[..6]);
    key!(w, "domainName");
    w.string(&ctx.domain_name);
    key!(w, "domainPrefix");
    w.string_or_null(ctx.variable_text("domainPrefix").as_deref());
    key!(w, "extendedRequestId");
    w.string(&ctx.extended_request_id);
    key!(w, "httpMethod");
    w.string(&ctx.http_method);
    key!(w, "identity");
    identity(w, ctx)?;
    key!(w, "path");
    w.string(&ctx.path);
    key!(w, "protocol");
    w.string(ctx.protocol);
    key!(w, "requestId");
    w.string(&ctx.request_id);
    key!(w, "requestTime");
    w.string(&ctx.request_time);
    key!(w, "requestTimeEpoch");
    w.int(ctx.request_time_epoch);
    key!(w, "resourceId");
    w.string_or_null(ctx.variable_text("resourceId").as_deref());
    key!(w, "resourcePath");
    w.string_or_null(ctx.resource_path.as_deref());
    key!(w, "stage");
    w.string(&api.stage.name);
    if let Some(name) = &ctx.operation_name {
        key!(w, "operationName");
        w.string(name);
    }
    match &ctx.authorizer {
        // JWT / Cognito: claims (as strings, as REST sends them) and scopes.
        Some(a) if a.claims.is_some() => {
            key!(w, "authorizer");
            claims_authorizer(w, a.claims.as_deref(), &a.scopes);
        }
        // A Lambda authorizer's principal and context, with the context's JSON types kept.
        Some(a) => {
            key!(w, "authorizer");
            lambda_authorizer(w, a)?;
        }
        None => {}
    }
    w.end_object();
    Ok(())
}

/// `requestContext.identity` of a 1.0 event.
fn identity(w: &mut JsonWriter, ctx: &RequestContext) -> Result<(), serde_json::Error> {
    let iam = ctx.iam.as_ref();
    let user = iam.and_then(|i| i.user.as_deref());
    w.begin_object();
    key!(w, "accessKey");
    w.string_or_null(iam.map(|i| i.access_key.as_str()));
    key!(w, "accountId");
    w.string_or_null(iam.map(|i| i.account_id.as_str()));
    key!(w, "caller");
    w.string_or_null(user);
    // Always null here; quoted as `key!` would write them.
    for absent in [
        "\"cognitoAuthenticationProvider\":",
        "\"cognitoAuthenticationType\":",
        "\"cognitoIdentityId\":",
        "\"cognitoIdentityPoolId\":",
        "\"principalOrgId\":",
    ] {
        w.quoted_key(absent);
        w.null();
    }
    key!(w, "sourceIp");
    w.string(&ctx.source_ip);
    key!(w, "user");
    w.string_or_null(user);
    key!(w, "userAgent");
    w.string_or_null(ctx.user_agent.as_deref());
    key!(w, "userArn");
    w.string_or_null(iam.and_then(|i| i.user_arn.as_deref()));
    if let Some(cert) = &ctx.client_cert {
        key!(w, "clientCert");
        w.serialized(&cert.to_json())?;
    }
    // Present once a method's API key has passed the usage-plan check.
    if let Some(key) = &ctx.api_key {
        key!(w, "apiKey");
        w.string(key);
        key!(w, "apiKeyId");
        w.string_or_null(ctx.api_key_id.as_deref());
    }
    w.end_object();
    Ok(())
}

/// A JWT or Cognito authorizer in a REST event: every claim as a string, and the scopes.
fn claims_authorizer(w: &mut JsonWriter, claims: Option<&Map<String, Value>>, list: &[String]) {
    w.begin_object();
    key!(w, "claims");
    w.begin_object();
    for (k, v) in claims.into_iter().flatten() {
        w.key(k);
        match v {
            Value::String(t) => w.string(t),
            other => w.string(&other.to_string()),
        }
    }
    w.end_object();
    key!(w, "scopes");
    scopes(w, list);
    w.end_object();
}

/// A Lambda authorizer in a REST event: its principal, its latency, then its context. A context
/// key of the same name replaces the first two in place, as it would in a JSON object.
fn lambda_authorizer(
    w: &mut JsonWriter,
    a: &crate::context::AuthorizerOutput,
) -> Result<(), serde_json::Error> {
    const PRINCIPAL: &str = "principalId";
    const LATENCY: &str = "integrationLatency";
    w.begin_object();
    w.key(PRINCIPAL);
    match a.context.get(PRINCIPAL) {
        Some(v) => w.serialized(v)?,
        None => w.string_or_null(a.principal_id.as_deref()),
    }
    w.key(LATENCY);
    match a.context.get(LATENCY) {
        Some(v) => w.serialized(v)?,
        None => w.int(i64::try_from(a.latency.as_millis()).unwrap_or(i64::MAX)),
    }
    for (k, v) in a
        .context
        .iter()
        .filter(|(k, _)| *k != PRINCIPAL && *k != LATENCY)
    {
        w.key(k);
        w.serialized(v)?;
    }
    w.end_object();
    Ok(())
}
