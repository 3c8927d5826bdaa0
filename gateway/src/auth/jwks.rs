//! JSON Web Key Sets for JWT and Cognito authorizers: fetched once per issuer, cached, refreshed
//! in the background, and fetched again (at most every few seconds) when a token names a key id
//! the cached set does not have, so key rotation needs no restart.
//!
//! Where the keys come from: an override (`--jwks ISSUER=FILE|URL`, a local file or server
//! standing in for the identity provider), else OIDC discovery
//! (`{issuer}/.well-known/openid-configuration` → `jwks_uri`) for JWT authorizers, else
//! `{issuer}/.well-known/jwks.json` for Cognito user pools.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};

use crate::upstream::HttpClient;

/// AWS's limits on discovery and JWKS fetches (DG: limits).
const FETCH_TIMEOUT: Duration = Duration::from_millis(1500);
const MAX_JWKS_BYTES: usize = 150_000;
/// How often a set is refreshed in the background, and how soon an unknown `kid` may refetch.
const REFRESH_EVERY: Duration = Duration::from_secs(300);
const UNKNOWN_KID_MIN_INTERVAL: Duration = Duration::from_secs(5);

/// How to find an issuer's keys when no override names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discovery {
    /// OpenID Connect discovery.
    Oidc,
    /// Cognito's fixed `/.well-known/jwks.json`.
    CognitoJwks,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    #[error("the token's key id `{0}` is not in the issuer's key set")]
    UnknownKid(String),
    #[error("cannot load the issuer's key set: {0}")]
    Unavailable(String),
}

#[derive(Debug)]
struct Entry {
    set: JwkSet,
    fetched: Instant,
    last_attempt: Instant,
}

/// Key sets by issuer.
#[derive(Debug, Default)]
pub struct JwksRegistry {
    overrides: HashMap<String, String>,
    entries: Mutex<HashMap<String, Entry>>,
    fetches: std::sync::atomic::AtomicU64,
}

impl JwksRegistry {
    pub fn with_overrides(overrides: HashMap<String, String>) -> Self {
        Self {
            overrides: overrides
                .into_iter()
                .map(|(k, v)| (k.trim_end_matches('/').to_string(), v))
                .collect(),
            ..Default::default()
        }
    }

    /// How many times a key set was loaded (for tests and metrics).
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The key `kid` of `issuer`.
    pub async fn key(
        self: &Arc<Self>,
        http: &HttpClient,
        issuer: &str,
        discovery: Discovery,
        kid: &str,
    ) -> Result<Jwk, JwksError> {
        let issuer = issuer.trim_end_matches('/');
        let (found, stale, may_refetch) = {
            let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            match map.get(issuer) {
                Some(e) => (
                    e.set.find(kid).cloned(),
                    e.fetched.elapsed() > REFRESH_EVERY,
                    e.last_attempt.elapsed() > UNKNOWN_KID_MIN_INTERVAL,
                ),
                None => (None, false, true),
            }
        };
        if let Some(k) = found {
            if stale {
                let me = Arc::clone(self);
                let http = http.clone();
                let issuer = issuer.to_string();
                tokio::spawn(async move {
                    let _ = me.refresh(&http, &issuer, discovery).await;
                });
            }
            return Ok(k);
        }
        if !may_refetch {
            return Err(JwksError::UnknownKid(kid.to_string()));
        }
        self.refresh(http, issuer, discovery).await?;
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.get(issuer)
            .and_then(|e| e.set.find(kid).cloned())
            .ok_or_else(|| JwksError::UnknownKid(kid.to_string()))
    }

    async fn refresh(
        &self,
        http: &HttpClient,
        issuer: &str,
        discovery: Discovery,
    ) -> Result<(), JwksError> {
        {
            let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(e) = map.get_mut(issuer) {
                e.last_attempt = Instant::now();
            }
        }
        let set = self.load(http, issuer, discovery).await;
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match set {
            Ok(set) => {
                self.fetches
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let now = Instant::now();
                map.insert(
                    issuer.to_string(),
                    Entry {
                        set,
                        fetched: now,
                        last_attempt: now,
                    },
                );
                Ok(())
            }
            Err(e) => {
                tracing::warn!(issuer, "{e}");
                Err(e)
            }
        }
    }

    async fn load(
        &self,
        http: &HttpClient,
        issuer: &str,
        discovery: Discovery,
    ) -> Result<JwkSet, JwksError> {
        let jwks_source = match self.overrides.get(issuer) {
            Some(src) => src.clone(),
            None => match discovery {
                Discovery::CognitoJwks => format!("{issuer}/.well-known/jwks.json"),
                Discovery::Oidc => {
                    let doc =
                        fetch(http, &format!("{issuer}/.well-known/openid-configuration")).await?;
                    let v: serde_json::Value = serde_json::from_slice(&doc).map_err(|e| {
                        JwksError::Unavailable(format!(
                            "the OIDC discovery document is not JSON: {e}"
                        ))
                    })?;
                    v.get("jwks_uri")
                        .and_then(|u| u.as_str())
                        .map(str::to_string)
                        .ok_or_else(|| {
                            JwksError::Unavailable(
                                "the OIDC discovery document has no jwks_uri".into(),
                            )
                        })?
                }
            },
        };
        if jwks_source.ends_with(".pem") {
            return key_file_jwks(&jwks_source).await;
        }
        let bytes = if jwks_source.starts_with("http://") || jwks_source.starts_with("https://") {
            fetch(http, &jwks_source).await?
        } else {
            bytes::Bytes::from(
                tokio::fs::read(&jwks_source)
                    .await
                    .map_err(|e| JwksError::Unavailable(format!("{jwks_source}: {e}")))?,
            )
        };
        if bytes.len() > MAX_JWKS_BYTES {
            return Err(JwksError::Unavailable(format!(
                "the key set is over {MAX_JWKS_BYTES} bytes"
            )));
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| JwksError::Unavailable(format!("{jwks_source}: not a JWKS document: {e}")))
    }
}

/// A development issuer: the public half of a local RSA private key (the one `tollgate token mint`
/// signs with), its `kid` the file's stem.
async fn key_file_jwks(path: &str) -> Result<JwkSet, JwksError> {
    let pem = tokio::fs::read(path)
        .await
        .map_err(|e| JwksError::Unavailable(format!("{path}: {e}")))?;
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(&pem)
        .map_err(|e| JwksError::Unavailable(format!("{path}: not an RSA private key: {e}")))?;
    let mut jwk = Jwk::from_encoding_key(&key, jsonwebtoken::Algorithm::RS256)
        .map_err(|e| JwksError::Unavailable(format!("{path}: {e}")))?;
    jwk.common.key_id = std::path::Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned());
    Ok(JwkSet { keys: vec![jwk] })
}

async fn fetch(http: &HttpClient, url: &str) -> Result<bytes::Bytes, JwksError> {
    http.get(url, FETCH_TIMEOUT, MAX_JWKS_BYTES)
        .await
        .map_err(|e| JwksError::Unavailable(format!("GET {url}: {e}")))
}
