//! The authorizer stage: Lambda authorizers (TOKEN and REQUEST) as REST APIs run them.
//!
//! Identity first (a missing or invalid identity is 401 without invoking anything), then the
//! result cache (keyed by the identity values, shared by every method that uses the authorizer),
//! then the function, then IAM evaluation of its policy against the method ARN. Its
//! `principalId`, `context` and `usageIdentifierKey` travel on in the request context.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::api::{
    IdentitySource, LambdaAuthorizer, LambdaAuthorizerKind, ResolvedApi, Route, RouteAuth,
};
use crate::context::RequestContext;
use crate::gateway_response::GatewayError;
use crate::invoke::{InvokeError, InvokeOutcome, InvokeRequest};
use crate::method_request::MethodRequest;
use crate::pipeline::{Flow, Services};
use crate::policy::{Decision, Policy};

/// How long API Gateway waits for a Lambda authorizer (documented for HTTP APIs; the same
/// bound is assumed for REST). [?]
const AUTHORIZER_TIMEOUT: Duration = Duration::from_secs(10);

/// What an authorizer said about a caller, as later stages and the integration see it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizerOutput {
    pub principal_id: Option<String>,
    /// Context values with their JSON types (the Lambda event keeps them; `$context.authorizer.*`
    /// stringifies them).
    pub context: Map<String, Value>,
    pub usage_identifier_key: Option<String>,
    pub latency: Duration,
    /// A JWT or Cognito authorizer's verified claims and the token's scopes.
    pub claims: Option<Map<String, Value>>,
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone)]
struct Cached {
    policy: Policy,
    output: AuthorizerOutput,
    until: Instant,
}

/// An authorizer's cached results, keyed by identity-source values.
#[derive(Debug, Default)]
pub struct ResultCache {
    entries: Mutex<HashMap<String, Cached>>,
    hits: std::sync::atomic::AtomicU64,
    misses: std::sync::atomic::AtomicU64,
}

impl ResultCache {
    /// Lookups answered from the cache, and lookups that had to call the authorizer.
    pub fn stats(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.hits.load(Relaxed), self.misses.load(Relaxed))
    }

    fn get(&self, key: &str) -> Option<Cached> {
        use std::sync::atomic::Ordering::Relaxed;
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let found = match map.get(key) {
            Some(c) if c.until > Instant::now() => Some(c.clone()),
            Some(_) => {
                map.remove(key);
                None
            }
            None => None,
        };
        if found.is_some() {
            self.hits.fetch_add(1, Relaxed);
        } else {
            self.misses.fetch_add(1, Relaxed);
        }
        found
    }

    fn put(&self, key: String, value: Cached) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        // Keep the cache bounded: drop expired entries when it grows.
        if map.len() > 10_000 {
            let now = Instant::now();
            map.retain(|_, c| c.until > now);
        }
        map.insert(key, value);
    }
}

/// `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{VERB}/{path}`, with the request's
/// actual path (the root is `.../GET/`).
pub fn method_arn(api: &ResolvedApi, method: &str, path: &str) -> String {
    format!(
        "arn:aws:execute-api:{}:{}:{}/{}/{}/{}",
        crate::REGION,
        crate::ACCOUNT_ID,
        api.api_id,
        api.stage.name,
        method,
        path.trim_start_matches('/')
    )
}

pub async fn run(
    services: &Services,
    api: &ResolvedApi,
    route: &Route,
    ctx: &mut RequestContext,
    req: &mut MethodRequest,
) -> Result<Flow<()>, GatewayError> {
    // The resource policy first: its explicit Deny applies before any authorizer runs (facts §1).
    let arn = method_arn(api, req.method.as_str(), &req.path);
    let rp = api.resource_policy.as_ref().map(|p| {
        p.evaluate_for(
            "execute-api:Invoke",
            &arn,
            crate::policy::Caller {
                source_ip: ctx.source_ip.parse().ok(),
            },
        )
    });
    if rp == Some(Decision::ExplicitDeny) {
        return Err(GatewayError::ResourcePolicyDenied {
            explicit: true,
            resource: arn,
        });
    }
    let rp_allows = rp == Some(Decision::Allow);
    // Without an authorizer (and for Cognito), a resource policy must allow explicitly
    // (facts §1, Table A).
    let rp_must_allow = |flow: Flow<()>| -> Result<Flow<()>, GatewayError> {
        match rp {
            Some(Decision::Allow) | None => Ok(flow),
            Some(_) => Err(GatewayError::ResourcePolicyDenied {
                explicit: false,
                resource: arn.clone(),
            }),
        }
    };
    match &route.auth {
        RouteAuth::None => rp_must_allow(Flow::Continue(())),
        RouteAuth::Lambda(a) => {
            match lambda(services, api, route, a, ctx, req).await {
                // An Allow on either side allows, unless the authorizer denied explicitly.
                Err(GatewayError::AccessDenied { explicit: false }) if rp_allows => {
                    Ok(Flow::Continue(()))
                }
                other => other,
            }
        }
        RouteAuth::Jwt(a, scopes) => {
            let flow = jwt(services, api, a, scopes, ctx, req).await?;
            rp_must_allow(flow)
        }
        RouteAuth::Iam => {
            iam(services, ctx, req).await?;
            // A signed caller's own IAM permissions are assumed to allow the call (there are
            // no IAM policies locally); the resource policy may still deny explicitly. [?]
            Ok(Flow::Continue(()))
        }
        RouteAuth::Unsupported(what) => Err(GatewayError::AuthorizerConfiguration(format!(
            "{what} is not supported by this build of tollgate; the route fails closed"
        ))),
    }
}

async fn iam(
    services: &Services,
    ctx: &mut RequestContext,
    req: &mut MethodRequest,
) -> Result<(), GatewayError> {
    // The signature covers the body: read it, then hand the bytes on.
    let body = match req.body.take() {
        Some(b) => crate::integration_request::collect(b).await?,
        None => Bytes::new(),
    };
    req.body = Some(crate::body::full(body.clone()));
    let identity = crate::sigv4::verify(
        &services.iam,
        req.method.as_str(),
        &req.path_and_query,
        &req.headers,
        &body,
        std::time::SystemTime::now(),
    )
    .map_err(GatewayError::Iam)?;
    ctx.iam = Some(identity);
    Ok(())
}

async fn jwt(
    services: &Services,
    api: &ResolvedApi,
    a: &crate::jwt::JwtAuthorizer,
    required_scopes: &[String],
    ctx: &mut RequestContext,
    req: &MethodRequest,
) -> Result<Flow<()>, GatewayError> {
    use crate::jwt::JwtError;
    let http_api = api.kind == crate::spec::ApiKind::Http;
    let fail = |e: JwtError| -> GatewayError {
        match (http_api, e) {
            (true, JwtError::Invalid(m)) => GatewayError::JwtInvalid(m),
            (true, JwtError::InsufficientScope(s)) => GatewayError::JwtInsufficientScope(s),
            // REST Cognito authorizers answer every failure with 401.
            (false, e) => GatewayError::Unauthorized(e.to_string()),
        }
    };
    let Some(token) = identity_value(&a.identity, ctx, req) else {
        return Err(fail(JwtError::Invalid("the request has no token".into())));
    };
    let started = Instant::now();
    let verified = crate::jwt::verify(
        a,
        &services.jwks,
        &services.http,
        &token,
        required_scopes,
        services.jwt_leeway,
    )
    .await
    .map_err(fail)?;
    ctx.authorizer = Some(AuthorizerOutput {
        principal_id: verified
            .claims
            .get("sub")
            .and_then(Value::as_str)
            .map(str::to_string),
        context: Map::new(),
        usage_identifier_key: None,
        latency: started.elapsed(),
        claims: Some(verified.claims),
        scopes: verified.scopes,
    });
    Ok(Flow::Continue(()))
}

fn identity_value(
    src: &IdentitySource,
    ctx: &RequestContext,
    req: &MethodRequest,
) -> Option<String> {
    let v = match src {
        IdentitySource::Header(h) => req.header_value(h).map(str::to_string),
        IdentitySource::Query(q) => req.query_value(q).map(str::to_string),
        IdentitySource::StageVariable(n) => ctx.stage_variables.get(n).cloned(),
        IdentitySource::Context(n) => ctx.variable(n),
    };
    v.filter(|s| !s.trim().is_empty())
}

async fn lambda(
    services: &Services,
    api: &ResolvedApi,
    route: &Route,
    a: &LambdaAuthorizer,
    ctx: &mut RequestContext,
    req: &MethodRequest,
) -> Result<Flow<()>, GatewayError> {
    let arn = method_arn(api, req.method.as_str(), &req.path);
    let values: Vec<Option<String>> = a
        .identity_sources
        .iter()
        .map(|s| identity_value(s, ctx, req))
        .collect();
    let caching = !a.ttl.is_zero();
    // A TOKEN authorizer always needs its token; a REQUEST authorizer needs every source only
    // when caching is on (the values are the cache key) (facts §4a).
    // On HTTP APIs identity sources are optional, but every one that is set must be present.
    let must_have_all =
        a.kind == LambdaAuthorizerKind::Token || caching || a.payload_version.is_some();
    if must_have_all && values.iter().any(Option::is_none) {
        return Err(GatewayError::Unauthorized(
            "identity source missing or empty".into(),
        ));
    }
    if let (Some(re), LambdaAuthorizerKind::Token) = (&a.validation, a.kind) {
        let token = values.first().cloned().flatten().unwrap_or_default();
        if !re.is_match(&token) {
            return Err(GatewayError::Unauthorized(
                "token does not match identityValidationExpression".into(),
            ));
        }
    }
    let key: String = values
        .iter()
        .map(|v| v.clone().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\u{1f}");

    let cached = if caching { a.cache.get(&key) } else { None };
    let (policy, output) = match cached {
        Some(c) => (c.policy, c.output),
        None => {
            let event = match a.kind {
                LambdaAuthorizerKind::Token => serde_json::json!({
                    "type": "TOKEN",
                    "authorizationToken": values.first().cloned().flatten().unwrap_or_default(),
                    "methodArn": arn,
                }),
                LambdaAuthorizerKind::Request => {
                    let identity: Vec<String> = values.iter().flatten().cloned().collect();
                    let v2 = a.payload_version.as_deref() == Some("2.0");
                    let mut e = if v2 {
                        crate::lambda_proxy::http_v2_event(api, route, ctx, req, &Bytes::new())
                    } else {
                        crate::lambda_proxy::rest_event(
                            api,
                            route,
                            ctx,
                            req,
                            &Bytes::new(),
                            a.payload_version.as_deref(),
                        )
                    };
                    if let Some(o) = e.as_object_mut() {
                        o.remove("body");
                        o.remove("isBase64Encoded");
                        o.insert("type".into(), Value::from("REQUEST"));
                        if v2 {
                            // HTTP API 2.0 authorizer events (facts §4b).
                            o.insert("routeArn".into(), Value::from(arn.clone()));
                            o.insert("identitySource".into(), serde_json::json!(identity));
                        } else {
                            o.insert("methodArn".into(), Value::from(arn.clone()));
                            if a.payload_version.is_some() {
                                let joined = identity.join(",");
                                o.insert("identitySource".into(), Value::from(joined.clone()));
                                o.insert("authorizationToken".into(), Value::from(joined));
                            }
                        }
                    }
                    e
                }
            };
            let (policy, output) = invoke(services, a, ctx, event).await?;
            if caching {
                a.cache.put(
                    key,
                    Cached {
                        policy: policy.clone(),
                        output: output.clone(),
                        until: Instant::now() + a.ttl,
                    },
                );
            }
            (policy, output)
        }
    };
    ctx.authorizer = Some(output);
    match policy.evaluate("execute-api:Invoke", &arn) {
        Decision::Allow => Ok(Flow::Continue(())),
        Decision::ExplicitDeny => Err(GatewayError::AccessDenied { explicit: true }),
        Decision::ImplicitDeny => Err(GatewayError::AccessDenied { explicit: false }),
    }
}

async fn invoke(
    services: &Services,
    a: &LambdaAuthorizer,
    ctx: &mut RequestContext,
    event: Value,
) -> Result<(Policy, AuthorizerOutput), GatewayError> {
    let Some(invoker) = &services.invoker else {
        return Err(GatewayError::AuthorizerConfiguration(format!(
            "authorizer {} cannot run: no Lambda runtime host is configured",
            a.name
        )));
    };
    let started = Instant::now();
    let call = invoker.invoke(InvokeRequest {
        function: a.function.clone(),
        payload: Bytes::from(event.to_string()),
        trace_id: ctx.trace_id.clone(),
    });
    let outcome = tokio::time::timeout(AUTHORIZER_TIMEOUT, call).await;
    let latency = started.elapsed();
    let payload = match outcome {
        Err(_) => {
            return Err(GatewayError::AuthorizerConfiguration(format!(
                "authorizer {} timed out after {AUTHORIZER_TIMEOUT:?}",
                a.name
            )))
        }
        Ok(Err(InvokeError::Throttled(f))) => {
            return Err(GatewayError::AuthorizerConfiguration(format!(
                "authorizer function {f} is throttled"
            )))
        }
        Ok(Err(e)) => return Err(GatewayError::AuthorizerConfiguration(e.to_string())),
        Ok(Ok(InvokeOutcome::FunctionError(p))) => {
            // Failing with exactly "Unauthorized" is how an authorizer says 401 (facts §4a).
            if crate::invoke::error_message(&p) == "Unauthorized" {
                return Err(GatewayError::Unauthorized(
                    "the authorizer answered Unauthorized".into(),
                ));
            }
            return Err(GatewayError::AuthorizerConfiguration(format!(
                "authorizer {} failed: {}",
                a.name,
                String::from_utf8_lossy(&p)
            )));
        }
        Ok(Ok(InvokeOutcome::Success(p))) => p,
    };
    let simple = a.simple_responses && a.payload_version.as_deref() == Some("2.0");
    let parsed = if simple {
        parse_simple(&payload, latency)
    } else {
        parse_output(&payload, latency)
    };
    parsed.map_err(|m| {
        GatewayError::AuthorizerConfiguration(format!(
            "authorizer {} returned an invalid response: {m}",
            a.name
        ))
    })
}

/// Read an HTTP API simple response, `{"isAuthorized": bool, "context": {...}}`, as an
/// allow-all or deny-all policy (lists and maps are allowed in this context).
fn parse_simple(payload: &[u8], latency: Duration) -> Result<(Policy, AuthorizerOutput), String> {
    let v: Value = serde_json::from_slice(payload).map_err(|e| format!("not JSON: {e}"))?;
    let allowed = v
        .get("isAuthorized")
        .and_then(Value::as_bool)
        .ok_or("a simple response needs a boolean isAuthorized")?;
    let effect = if allowed { "Allow" } else { "Deny" };
    let policy = Policy::parse(
        &serde_json::json!({"Statement": {"Effect": effect, "Action": "*", "Resource": "*"}}),
    )
    .map_err(|e| e.to_string())?;
    let context = v
        .get("context")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    Ok((
        policy,
        AuthorizerOutput {
            principal_id: None,
            context,
            usage_identifier_key: None,
            latency,
            claims: None,
            scopes: Vec::new(),
        },
    ))
}

/// Read `{principalId, policyDocument, context, usageIdentifierKey}`.
fn parse_output(payload: &[u8], latency: Duration) -> Result<(Policy, AuthorizerOutput), String> {
    let v: Value = serde_json::from_slice(payload).map_err(|e| format!("not JSON: {e}"))?;
    let obj = v.as_object().ok_or("not a JSON object")?;
    const KNOWN: &[&str] = &[
        "principalId",
        "policyDocument",
        "context",
        "usageIdentifierKey",
    ];
    if let Some(k) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(format!("Unrecognized field \"{k}\""));
    }
    let principal_id = match obj.get("principalId") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    };
    let policy = Policy::parse(obj.get("policyDocument").ok_or("no policyDocument")?)
        .map_err(|e| e.to_string())?;
    let context = match obj.get("context") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => {
            if let Some((k, _)) = m.iter().find(|(_, v)| v.is_object() || v.is_array()) {
                return Err(format!(
                    "context value `{k}` must be a string, number or boolean"
                ));
            }
            m.clone()
        }
        Some(_) => return Err("context must be an object".into()),
    };
    let usage_identifier_key = obj
        .get("usageIdentifierKey")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok((
        policy,
        AuthorizerOutput {
            principal_id,
            context,
            usage_identifier_key,
            latency,
            claims: None,
            scopes: Vec::new(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_are_checked_like_aws() {
        let ok = br#"{"principalId":"u1","policyDocument":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]},"context":{"n":1,"b":true,"s":"x"},"usageIdentifierKey":"k"}"#;
        let (p, out) = parse_output(ok, Duration::ZERO).expect("valid");
        assert_eq!(p.evaluate("execute-api:Invoke", "arn:x"), Decision::Allow);
        assert_eq!(out.principal_id.as_deref(), Some("u1"));
        assert_eq!(out.context["n"], 1);
        assert_eq!(out.usage_identifier_key.as_deref(), Some("k"));
        assert!(parse_output(
            br#"{"principalId":"u","policyDocument":{"Statement":[]},"errorType":"x"}"#,
            Duration::ZERO
        )
        .expect_err("unknown field")
        .contains("Unrecognized field \"errorType\""));
        assert!(parse_output(
            br#"{"principalId":"u","policyDocument":{"Statement":[]},"context":{"a":{"b":1}}}"#,
            Duration::ZERO
        )
        .is_err());
        assert!(parse_output(br#"{"principalId":"u"}"#, Duration::ZERO).is_err());
        assert!(parse_output(b"nope", Duration::ZERO).is_err());
    }
}
