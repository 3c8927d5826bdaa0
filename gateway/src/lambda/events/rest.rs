//! The REST event (payload 1.0), which HTTP API payload 1.0 shares (aws-behaviour §3a).

use std::borrow::Cow;

use bytes::Bytes;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use super::objects::{AllValues, LastValues, Object, Scopes, Variables};
use super::{header_str, integration_headers, EventBody, Pair};
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
                    claims: a.claims.as_deref(),
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
