//! Lambda authorizers, TOKEN and REQUEST (REST, aws-behaviour §4a) and HTTP API REQUEST
//! authorizers with payload 1.0 or 2.0 (§4b): identity first (a missing or invalid identity is
//! 401 without invoking anything), then the result cache, then the function, then IAM
//! evaluation of its policy against the method ARN.

use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Map, Value};

use super::identity_value;
use crate::auth::{Cached, Decision, Policy};
use crate::context::{AuthorizerOutput, RequestContext};
use crate::error::GatewayError;
use crate::lambda::{InvokeError, InvokeOutcome, InvokeRequest};
use crate::model::{LambdaAuthorizer, LambdaAuthorizerKind, ResolvedApi, Route};
use crate::phase::Flow;
use crate::request::MethodRequest;
use crate::services::Services;

/// How long API Gateway waits for a Lambda authorizer (documented for HTTP APIs; the same
/// bound is assumed for REST). [?]
const AUTHORIZER_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) async fn run(
    services: &Services,
    api: &ResolvedApi,
    route: &Route,
    a: &LambdaAuthorizer,
    ctx: &mut RequestContext,
    req: &MethodRequest,
) -> Result<Flow<()>, GatewayError> {
    let arn = api.method_arn(req.method.as_str(), &req.path);
    let values: Vec<Option<String>> = a
        .identity_sources
        .iter()
        .map(|s| identity_value(s, ctx, req))
        .collect();
    let caching = !a.ttl.is_zero();
    // A TOKEN authorizer always needs its token; a REQUEST authorizer needs every source only
    // when caching is on (the values are the cache key) (aws-behaviour §4a).
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
                    let empty = Bytes::new();
                    let e = if v2 {
                        crate::lambda::event_value(&crate::lambda::http_v2_event(
                            api, route, ctx, req, &empty,
                        ))
                    } else {
                        crate::lambda::event_value(&crate::lambda::rest_event(
                            api,
                            route,
                            ctx,
                            req,
                            &empty,
                            a.payload_version.as_deref(),
                        ))
                    };
                    let mut e = e.map_err(|e| {
                        GatewayError::AuthorizerConfiguration(format!(
                            "the authorizer's event could not be written: {e}"
                        ))
                    })?;
                    if let Some(o) = e.as_object_mut() {
                        o.remove("body");
                        o.remove("isBase64Encoded");
                        o.insert("type".into(), Value::from("REQUEST"));
                        if v2 {
                            // HTTP API 2.0 authorizer events (aws-behaviour §4b).
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
        trace_id: ctx.outgoing_trace_header(),
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
            // Failing with exactly "Unauthorized" is how an authorizer says 401 (aws-behaviour §4a).
            if crate::lambda::error_message(&p) == "Unauthorized" {
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
