//! A standalone Lambda authorizer for a real API Gateway (TOKEN or REQUEST type), built from the
//! same pieces the emulator uses: the caller's bearer token is verified against the issuer's
//! JWKS (`gateway::verify_jwt`), then, for REQUEST events when `QUOTA_TABLE` is set, the caller's
//! `x-api-key` is counted
//! against a daily quota in DynamoDB (`gateway::DynamoDbStore`). The answer is the IAM policy
//! API Gateway expects, with the token's subject and scopes as context.
//!
//! Environment: `JWT_ISSUER` (required; its OpenID discovery document names the JWKS),
//! `JWT_AUDIENCE` (comma-separated; unset accepts any audience), `QUOTA_TABLE`, `QUOTA_PER_DAY` (default 1000),
//! `DYNAMODB_ENDPOINT` (a local endpoint, for tests), `AWS_REGION`.

use std::sync::Arc;

use gateway::{
    Discovery, HttpClient, IdentitySource, JwksRegistry, JwtAuthorizer, JwtKind, Period, UsageStore,
};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

#[derive(Debug, thiserror::Error)]
enum ConfigError {
    #[error("JWT_ISSUER is not set: give the token issuer's URL (its /.well-known/openid-configuration names the keys)")]
    NoIssuer,
    #[error("QUOTA_PER_DAY `{0}` is not a whole number")]
    BadQuota(String),
}

struct Authorizer {
    jwt: JwtAuthorizer,
    jwks: Arc<JwksRegistry>,
    http: HttpClient,
    quota: Option<(Arc<dyn UsageStore>, u64)>,
}

/// The token: a TOKEN event's `authorizationToken`, or a REQUEST event's Authorization header.
fn token(event: &Value) -> Option<&str> {
    event["authorizationToken"].as_str().or_else(|| {
        event["headers"].as_object().and_then(|h| {
            h.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
                .and_then(|(_, v)| v.as_str())
        })
    })
}

/// A REQUEST event's `x-api-key` header (TOKEN events carry no headers).
fn api_key(event: &Value) -> Option<&str> {
    event["headers"].as_object().and_then(|h| {
        h.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("x-api-key"))
            .and_then(|(_, v)| v.as_str())
    })
}

fn policy(principal: &str, effect: &str, resource: &str, context: Value) -> Value {
    json!({
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}]
        },
        "context": context,
    })
}

impl Authorizer {
    async fn decide(&self, event: &Value) -> Result<Value, Error> {
        let resource = event["methodArn"].as_str().unwrap_or("*");
        // API Gateway maps this exact error message to a 401 for the caller.
        let raw = token(event).ok_or_else(|| Error::from("Unauthorized"))?;
        let verified = gateway::verify_jwt(&self.jwt, &self.jwks, &self.http, raw, &[], 0)
            .await
            .map_err(|_| Error::from("Unauthorized"))?;
        let sub = verified
            .claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        let mut context = json!({"sub": sub, "scopes": verified.scopes.join(" ")});
        // Only REQUEST events carry headers; TOKEN authorizers check the token alone.
        let request_type = event["type"].as_str() == Some("REQUEST");
        if let Some((store, limit)) = self.quota.as_ref().filter(|_| request_type) {
            let Some(key) = api_key(event) else {
                return Ok(policy(
                    sub,
                    "Deny",
                    resource,
                    json!({"reason": "no API key"}),
                ));
            };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            let (start, end) = gateway::period_bounds(now, Period::Day);
            let admitted = store
                .count(&format!("authorizer-quota|{key}|{start}"), *limit, end)
                .await
                .map_err(Error::from)?;
            if !admitted {
                return Ok(policy(
                    sub,
                    "Deny",
                    resource,
                    json!({"reason": "daily quota used up"}),
                ));
            }
            context["apiKey"] = Value::from(key);
        }
        Ok(policy(sub, "Allow", resource, context))
    }
}

async fn build() -> Result<Authorizer, Error> {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
    let issuer = var("JWT_ISSUER").ok_or(ConfigError::NoIssuer)?;
    let audience: Vec<String> = var("JWT_AUDIENCE")
        .map(|a| a.split(',').map(|s| s.trim().to_string()).collect())
        .unwrap_or_default();
    let jwt = JwtAuthorizer {
        name: "jwt-authorizer".into(),
        issuer,
        // With an audience, `aud` (or `client_id`) must name it, as an HTTP API JWT authorizer
        // checks; without one, any audience of the issuer passes, as a Cognito authorizer does.
        kind: if audience.is_empty() {
            JwtKind::Cognito
        } else {
            JwtKind::HttpApi
        },
        audience,
        identity: IdentitySource::Header("Authorization".into()),
        discovery: Discovery::Oidc,
        leeway: 0,
        verified: Default::default(),
    };
    let quota = match var("QUOTA_TABLE") {
        None => None,
        Some(table) => {
            let limit = match var("QUOTA_PER_DAY") {
                None => 1000,
                Some(v) => v.parse().map_err(|_| ConfigError::BadQuota(v))?,
            };
            let endpoint = var("DYNAMODB_ENDPOINT");
            let region = var("AWS_REGION").unwrap_or_else(|| "us-east-1".into());
            let store = gateway::DynamoDbStore::connect(
                endpoint.as_deref(),
                &table,
                &region,
                endpoint.is_some(),
            )
            .await?;
            Some((Arc::new(store) as Arc<dyn UsageStore>, limit))
        }
    };
    Ok(Authorizer {
        jwt,
        jwks: Arc::new(JwksRegistry::default()),
        http: HttpClient::default(),
        quota,
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let authorizer = Arc::new(build().await?);
    run(service_fn(move |e: LambdaEvent<Value>| {
        let a = Arc::clone(&authorizer);
        async move { a.decide(&e.payload).await }
    }))
    .await
}
