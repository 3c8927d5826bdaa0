//! JWT validation for HTTP API JWT authorizers and REST Cognito user-pool authorizers.
//!
//! The algorithm is pinned to an allow-list (RSA only, as API Gateway accepts), so `alg: none`
//! and HS256 signed with the public key are refused before any key is looked at; the `kid` must
//! name a key of the issuer's set; then signature, `iss`, `exp`, `nbf`, `iat`, the audience
//! (`aud` or `client_id`) and the route's scopes (`scope` or `scp`) are checked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::auth::jwks::{Discovery, JwksRegistry};
use crate::auth::IdentitySource;
use crate::context::Claims;
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
    /// Tokens this authorizer has verified the signatures of.
    pub verified: VerifiedTokens,
}

/// Tokens whose signature a key has verified, with their header and claims. A client sends the
/// same token until it expires; seen again, its header is not decoded again (the header is part
/// of the token, so it is the same), and with the same key it skips the RSA check, the largest
/// cost of a JWT route. Its key is still looked up (it may have rotated), and its times,
/// audience and scopes are still checked on every request.
#[derive(Default)]
pub struct VerifiedTokens {
    map: Mutex<HashMap<String, Remembered>>,
}

/// What a verified token's first check found.
struct Remembered {
    header: TokenHeader,
    key: Jwk,
    claims: Claims,
}

/// The parts of a token's header the checks use: an allowed algorithm and the key's id (shared,
/// so taking a remembered header out of the cache copies no text).
#[derive(Debug, Clone)]
struct TokenHeader {
    alg: Algorithm,
    kid: Arc<str>,
}

/// Past this many tokens the cache starts over (a bound, not a policy).
const VERIFIED_CAP: usize = 4096;

impl VerifiedTokens {
    fn header(&self, token: &str) -> Option<TokenHeader> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(token).map(|r| r.header.clone())
    }

    fn get(&self, token: &str, key: &Jwk) -> Option<Claims> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(token)
            .filter(|r| r.key == *key)
            .map(|r| Arc::clone(&r.claims))
    }

    fn insert(&self, token: &str, header: TokenHeader, key: Jwk, claims: Claims) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= VERIFIED_CAP {
            map.clear();
        }
        map.insert(
            token.to_string(),
            Remembered {
                header,
                key,
                claims,
            },
        );
    }
}

impl std::fmt::Debug for VerifiedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.map.lock().map(|m| m.len()).unwrap_or_default();
        write!(f, "VerifiedTokens({n})")
    }
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub claims: Claims,
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
    let header = match a.verified.header(token) {
        Some(h) => h,
        None => token_header(token)?,
    };
    let jwk = jwks
        .key(http, &a.issuer, a.discovery, &header.kid)
        .await
        .map_err(|e| invalid(e.to_string()))?;
    let claims = match a.verified.get(token, &jwk) {
        Some(claims) => {
            check_times(&claims, leeway)?;
            claims
        }
        None => {
            let claims = Arc::new(decode(token, &jwk, header.alg, &a.issuer, leeway)?);
            a.verified.insert(token, header, jwk, Arc::clone(&claims));
            claims
        }
    };
    let now = now_secs();
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

/// The token's header: an allowed algorithm (checked before any key is looked at) and a `kid`.
fn token_header(token: &str) -> Result<TokenHeader, JwtError> {
    let header = jsonwebtoken::decode_header(token)
        .map_err(|e| invalid(format!("the token header is invalid: {e}")))?;
    if !ALLOWED.contains(&header.alg) {
        return Err(invalid(format!(
            "the token's algorithm {:?} is not allowed",
            header.alg
        )));
    }
    let kid = header.kid.ok_or_else(|| invalid("the token has no kid"))?;
    Ok(TokenHeader {
        alg: header.alg,
        kid: kid.into(),
    })
}

/// Verify the signature with `jwk`, then `iss`, `exp` and `nbf`, as jsonwebtoken checks them.
fn decode(
    token: &str,
    jwk: &Jwk,
    alg: Algorithm,
    issuer: &str,
    leeway: u64,
) -> Result<Map<String, Value>, JwtError> {
    let kid = jwk.common.key_id.as_deref().unwrap_or_default();
    let key = DecodingKey::from_jwk(jwk)
        .map_err(|e| invalid(format!("the issuer's key {kid} is unusable: {e}")))?;
    let mut validation = Validation::new(alg);
    validation.algorithms = vec![alg];
    validation.leeway = leeway;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.validate_aud = false;
    validation.set_issuer(&[issuer]);
    validation.set_required_spec_claims(&["exp", "iss"]);
    jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            invalid(match e.kind() {
                ErrorKind::ExpiredSignature => "the token has expired".to_string(),
                ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)".to_string(),
                ErrorKind::InvalidIssuer => "the token does not have a valid issuer".to_string(),
                ErrorKind::InvalidSignature => "the token's signature is invalid".to_string(),
                ErrorKind::MissingRequiredClaim(c) => format!("the token has no {c} claim"),
                other => format!("the token is invalid: {other:?}"),
            })
        })
}

/// `exp` and `nbf` of a token verified before, compared as jsonwebtoken compares them (it
/// parsed both as whole seconds when it verified the token).
fn check_times(claims: &Map<String, Value>, leeway: u64) -> Result<(), JwtError> {
    let now = now_secs();
    if let Some(exp) = claims.get("exp").and_then(Value::as_u64) {
        if exp < now.saturating_sub(leeway) {
            return Err(invalid("the token has expired"));
        }
    }
    if let Some(nbf) = claims.get("nbf").and_then(Value::as_u64) {
        if nbf > now + leeway {
            return Err(invalid("the token is not valid yet (nbf)"));
        }
    }
    Ok(())
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
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
