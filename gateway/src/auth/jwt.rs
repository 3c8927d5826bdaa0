//! JWT validation for HTTP API JWT authorizers and REST Cognito user-pool authorizers.
//!
//! The algorithm is pinned to an allow-list (RSA only, as API Gateway accepts), so `alg: none`
//! and HS256 signed with the public key are refused before any key is looked at; the `kid` must
//! name a key of the issuer's set; then signature, `iss`, `exp`, `nbf`, `iat`, the audience
//! (`aud` or `client_id`) and the route's scopes (`scope` or `scp`) are checked.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::auth::jwks::{Discovery, JwksRegistry};
use crate::auth::IdentitySource;
use crate::upstream::HttpClient;

/// Tokens larger than this are refused unread.
const MAX_TOKEN_BYTES: usize = 8 * 1024;
const ALLOWED: &[Algorithm] = &[Algorithm::RS256, Algorithm::RS384, Algorithm::RS512];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtKind {
    /// HTTP API `jwt` authorizer: audience (or client_id) checked.
    HttpApi,
    /// REST `cognito_user_pools`: any app client of the pool.
    Cognito,
}

#[derive(Debug)]
pub struct JwtAuthorizer {
    pub name: String,
    pub issuer: String,
    pub audience: Vec<String>,
    pub identity: IdentitySource,
    pub discovery: Discovery,
    pub kind: JwtKind,
    /// Allowed clock skew for `exp`, `nbf` and `iat`, in seconds.
    pub leeway: u64,
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub claims: Map<String, Value>,
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("{0}")]
    Invalid(String),
    #[error("the token does not have any of the required scopes")]
    InsufficientScope(Vec<String>),
}

fn invalid(m: impl Into<String>) -> JwtError {
    JwtError::Invalid(m.into())
}

/// The token's scopes: `scope` (space-separated) or `scp` (a list or a string).
fn scopes(claims: &Map<String, Value>) -> Vec<String> {
    let from = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => s.split_whitespace().map(str::to_string).collect(),
            Value::Array(a) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    };
    claims
        .get("scope")
        .map(from)
        .or_else(|| claims.get("scp").map(from))
        .unwrap_or_default()
}

pub async fn verify(
    a: &JwtAuthorizer,
    jwks: &Arc<JwksRegistry>,
    http: &HttpClient,
    raw: &str,
    required_scopes: &[String],
    leeway: u64,
) -> Result<Verified, JwtError> {
    let leeway = leeway.max(a.leeway);
    let token = raw.trim();
    let token = token
        .strip_prefix("Bearer ")
        .or_else(|| token.strip_prefix("bearer "))
        .unwrap_or(token)
        .trim();
    if token.is_empty() {
        return Err(invalid("the token is empty"));
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(invalid(format!(
            "the token is longer than {MAX_TOKEN_BYTES} bytes"
        )));
    }
    if token.split('.').count() != 3 {
        return Err(invalid(
            "the token is not a signed JWT (three dot-separated parts)",
        ));
    }
    let header = jsonwebtoken::decode_header(token)
        .map_err(|e| invalid(format!("the token header is invalid: {e}")))?;
    if !ALLOWED.contains(&header.alg) {
        return Err(invalid(format!(
            "the token's algorithm {:?} is not allowed",
            header.alg
        )));
    }
    let kid = header
        .kid
        .clone()
        .ok_or_else(|| invalid("the token has no kid"))?;
    let jwk = jwks
        .key(http, &a.issuer, a.discovery, &kid)
        .await
        .map_err(|e| invalid(e.to_string()))?;
    let key = DecodingKey::from_jwk(&jwk)
        .map_err(|e| invalid(format!("the issuer's key {kid} is unusable: {e}")))?;
    let mut validation = Validation::new(header.alg);
    validation.algorithms = vec![header.alg];
    validation.leeway = leeway;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = false;
    validation.set_issuer(&[a.issuer.as_str()]);
    validation.set_required_spec_claims(&["exp", "iss"]);
    let data =
        jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            invalid(match e.kind() {
                ErrorKind::ExpiredSignature => "the token has expired".to_string(),
                ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)".to_string(),
                ErrorKind::InvalidIssuer => "the token does not have a valid issuer".to_string(),
                ErrorKind::InvalidSignature => "the token's signature is invalid".to_string(),
                ErrorKind::MissingRequiredClaim(c) => format!("the token has no {c} claim"),
                other => format!("the token is invalid: {other:?}"),
            })
        })?;
    let claims = data.claims;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    if let Some(iat) = claims.get("iat").and_then(Value::as_u64) {
        if iat > now + leeway {
            return Err(invalid("the token was issued in the future (iat)"));
        }
    }
    if a.kind == JwtKind::HttpApi {
        let auds: Vec<String> = match claims.get("aud") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(v)) => v
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        };
        let client_id = claims.get("client_id").and_then(Value::as_str);
        let ok = auds.iter().any(|x| a.audience.contains(x))
            || client_id.is_some_and(|c| a.audience.iter().any(|x| x == c));
        if !ok {
            return Err(invalid("the token does not have a valid audience"));
        }
    }
    let token_scopes = scopes(&claims);
    if !required_scopes.is_empty() && !required_scopes.iter().any(|s| token_scopes.contains(s)) {
        return Err(JwtError::InsufficientScope(required_scopes.to_vec()));
    }
    Ok(Verified {
        claims,
        scopes: token_scopes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scopes_from_scope_or_scp() {
        let c = |v: Value| v.as_object().cloned().unwrap_or_default();
        assert_eq!(scopes(&c(json!({"scope": "a b"}))), vec!["a", "b"]);
        assert_eq!(scopes(&c(json!({"scp": ["x", "y"]}))), vec!["x", "y"]);
        assert!(scopes(&c(json!({}))).is_empty());
    }
}
