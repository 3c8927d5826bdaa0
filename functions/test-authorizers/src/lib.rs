//! Example Lambda authorizers, two binaries over one library:
//!
//! - `token-authorizer` (TOKEN): the bearer token names the outcome, so tests and demos can
//!   drive every case: `allow`, `narrow` (allows only the exact method ARN), `deny`,
//!   `unauthorized`, `error`, `garbage` (an invalid response), `badcontext` (a non-scalar
//!   context value). A `Bearer ` prefix is accepted.
//! - `request-authorizer` (REQUEST): allows when the `x-tenant` header is `acme` and the `key`
//!   query parameter is `k1`, and denies explicitly otherwise.
//!
//! Each answer's context carries a `nonce` unique to the invocation, which shows whether a
//! response came from API Gateway's cache.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Value};

static INVOCATIONS: AtomicU64 = AtomicU64::new(0);

fn nonce() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        INVOCATIONS.fetch_add(1, Ordering::SeqCst) + 1
    )
}

/// `arn:aws:execute-api:region:account:api/stage/VERB/path` → `arn:...:api/*`.
fn whole_api(method_arn: &str) -> String {
    match method_arn.split_once('/') {
        Some((api, _)) => format!("{api}/*"),
        None => method_arn.to_string(),
    }
}

fn policy(principal: &str, effect: &str, resource: &str, context: Value) -> Value {
    json!({
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}]
        },
        "context": context,
        "usageIdentifierKey": format!("key-{principal}"),
    })
}

/// The TOKEN authorizer's decision: `Ok(response)` or `Err(error message)`.
pub fn token(event: &Value) -> Result<Value, String> {
    let raw = event
        .get("authorizationToken")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let token = raw.strip_prefix("Bearer ").unwrap_or(raw);
    let arn = event
        .get("methodArn")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let ctx = json!({"user": "alice", "admin": true, "level": 3, "nonce": nonce()});
    match token {
        "allow" => Ok(policy("alice", "Allow", &whole_api(arn), ctx)),
        "narrow" => Ok(policy("alice", "Allow", arn, ctx)),
        "deny" => Ok(policy("mallory", "Deny", &whole_api(arn), ctx)),
        "error" => Err("boom".into()),
        "garbage" => Ok(json!({"principalId": "x", "errorType": "not a policy"})),
        "badcontext" => Ok(policy(
            "alice",
            "Allow",
            &whole_api(arn),
            json!({"nested": {"a": 1}}),
        )),
        _ => Err("Unauthorized".into()),
    }
}

/// The REQUEST authorizer's decision: an IAM policy, or with `simple` (HTTP API payload 2.0
/// with simple responses) `{"isAuthorized", "context"}`.
pub fn request(event: &Value, simple: bool) -> Result<Value, String> {
    let arn = event
        .get("methodArn")
        .or_else(|| event.get("routeArn"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let tenant = event
        .get("headers")
        .and_then(Value::as_object)
        .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case("x-tenant")))
        .and_then(|(_, v)| v.as_str());
    let key = event
        .pointer("/queryStringParameters/key")
        .and_then(Value::as_str);
    let ctx = json!({"tenant": tenant.unwrap_or(""), "nonce": nonce()});
    let allowed = tenant == Some("acme") && key == Some("k1");
    if simple {
        return Ok(json!({"isAuthorized": allowed, "context": ctx}));
    }
    if allowed {
        Ok(policy("acme", "Allow", &whole_api(arn), ctx))
    } else {
        Ok(policy("anonymous", "Deny", &whole_api(arn), ctx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abc/Prod/GET/x";

    #[test]
    fn tokens_choose_outcomes() {
        let ok =
            token(&json!({"authorizationToken": "Bearer allow", "methodArn": ARN})).expect("allow");
        assert_eq!(
            ok["policyDocument"]["Statement"][0]["Resource"],
            "arn:aws:execute-api:us-east-1:123456789012:abc/*"
        );
        assert_eq!(ok["context"]["level"], 3);
        let narrow =
            token(&json!({"authorizationToken": "narrow", "methodArn": ARN})).expect("narrow");
        assert_eq!(narrow["policyDocument"]["Statement"][0]["Resource"], ARN);
        assert_eq!(
            token(&json!({"authorizationToken": "nope"})),
            Err("Unauthorized".into())
        );
        assert_eq!(
            token(&json!({"authorizationToken": "error"})),
            Err("boom".into())
        );
    }

    #[test]
    fn request_needs_tenant_and_key() {
        let allow = request(&json!({"methodArn": ARN, "headers": {"X-Tenant": "acme"}, "queryStringParameters": {"key": "k1"}}), false).expect("ok");
        assert_eq!(allow["policyDocument"]["Statement"][0]["Effect"], "Allow");
        let deny = request(&json!({"methodArn": ARN, "headers": {"x-tenant": "acme"}, "queryStringParameters": null}), false).expect("ok");
        let simple = request(&json!({"routeArn": ARN, "headers": {"x-tenant": "acme"}, "queryStringParameters": {"key": "k1"}}), true).expect("ok");
        assert_eq!(simple["isAuthorized"], true);
        assert_eq!(deny["policyDocument"]["Statement"][0]["Effect"], "Deny");
    }
}
