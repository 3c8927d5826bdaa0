//! JSON Web Key Sets for JWT and Cognito authorizers: fetched once per issuer, cached, refreshed
//! in the background, and fetched again (at most every few seconds) when a token names a key id
//! the cached set does not have, so key rotation needs no restart. One fetch per issuer is in
//! flight at a time (requests arriving meanwhile use its outcome); a failed fetch is not retried
//! before a backoff (1 s, doubling to a minute) and the last good set stays in use meanwhile.
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

/// One issuer's keys: the last good set (kept while its endpoint fails), when it was fetched,
/// and the state of fetching it.
#[derive(Debug, Default)]
struct Entry {
    set: Option<JwkSet>,
    fetched: Option<Instant>,
    attempted: Option<Instant>,
    /// Failed fetches in a row, and when the next may be tried (a negative cache with backoff).
    failures: u32,
    retry_at: Option<Instant>,
    last_error: Option<String>,
    /// Bumped by every finished fetch, so a request that waited for another's fetch uses it.
    generation: u64,
}

/// Backoff after failed fetches: 1 s, doubling, at most a minute.
fn backoff(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.saturating_sub(1).min(6)).min(Duration::from_secs(60))
}

/// Key sets by issuer.
#[derive(Debug, Default)]
pub struct JwksRegistry {
    overrides: HashMap<String, String>,
    entries: Mutex<HashMap<String, Entry>>,
    /// One fetch in flight per issuer.
    fetching: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
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

    /// How many times a key set was fetched, successfully or not (for tests and metrics).
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
        let generation = {
            let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            let e = map.get(issuer);
            if let Some(k) = e.and_then(|e| e.set.as_ref()).and_then(|s| s.find(kid)) {
                if e.and_then(|e| e.fetched)
                    .is_some_and(|f| f.elapsed() > REFRESH_EVERY)
                {
                    let me = Arc::clone(self);
                    let http = http.clone();
                    let issuer = issuer.to_string();
                    tokio::spawn(async move {
                        me.refresh_in_background(&http, &issuer, discovery).await
                    });
                }
                return Ok(k.clone());
            }
            if let Some(e) = e {
                if let Some(err) = Self::not_now(e, kid) {
                    return Err(err);
                }
            }
            e.map_or(0, |e| e.generation)
        };
        let lock = self.fetch_lock(issuer);
        let _fetching = lock.lock().await;
        // Another request's fetch may have finished while this one waited: use its outcome.
        let refetched = {
            let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            map.get(issuer).is_some_and(|e| e.generation != generation)
        };
        if !refetched {
            self.refresh(http, issuer, discovery).await;
        }
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let e = map.get(issuer);
        match (
            e.and_then(|e| e.set.as_ref()),
            e.and_then(|e| e.last_error.clone()),
        ) {
            (Some(set), _) => set
                .find(kid)
                .cloned()
                .ok_or_else(|| JwksError::UnknownKid(kid.to_string())),
            (None, Some(err)) => Err(JwksError::Unavailable(err)),
            (None, None) => Err(JwksError::UnknownKid(kid.to_string())),
        }
    }

    /// Why `kid` cannot be fetched for now: the endpoint is backing off after failures, or an
    /// unknown `kid` refetched only moments ago.
    fn not_now(e: &Entry, kid: &str) -> Option<JwksError> {
        let now = Instant::now();
        let backing_off = e.retry_at.is_some_and(|t| now < t);
        let recent = e
            .attempted
            .is_some_and(|t| now.duration_since(t) < UNKNOWN_KID_MIN_INTERVAL);
        match (&e.set, backing_off || recent) {
            (_, false) => None,
            (Some(_), true) => Some(JwksError::UnknownKid(kid.to_string())),
            (None, true) => Some(JwksError::Unavailable(
                e.last_error
                    .clone()
                    .unwrap_or_else(|| "the key set is being fetched".into()),
            )),
        }
    }

    fn fetch_lock(&self, issuer: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.fetching.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(locks.entry(issuer.to_string()).or_default())
    }

    /// A background refresh of a set in use, skipped when a fetch is already running.
    async fn refresh_in_background(&self, http: &HttpClient, issuer: &str, discovery: Discovery) {
        let lock = self.fetch_lock(issuer);
        let Ok(_fetching) = lock.try_lock() else {
            return;
        };
        self.refresh(http, issuer, discovery).await;
    }

    /// Fetch the set and record the outcome; a failure keeps the last good set.
    async fn refresh(&self, http: &HttpClient, issuer: &str, discovery: Discovery) {
        let result = self.load(http, issuer, discovery).await;
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let e = map.entry(issuer.to_string()).or_default();
        let now = Instant::now();
        e.attempted = Some(now);
        e.generation += 1;
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match result {
            Ok(set) => {
                e.set = Some(set);
                e.fetched = Some(now);
                e.failures = 0;
                e.retry_at = None;
                e.last_error = None;
            }
            Err(err) => {
                e.failures += 1;
                let wait = backoff(e.failures);
                e.retry_at = Some(now + wait);
                tracing::warn!(issuer, "{err}; trying again in {wait:?}");
                e.last_error = Some(match err {
                    JwksError::Unavailable(m) | JwksError::UnknownKid(m) => m,
                });
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
