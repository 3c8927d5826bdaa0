//! A Lambda authorizer's result cache, keyed by identity-source values and shared by every
//! method that uses the authorizer (aws-behaviour §4a).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::auth::Policy;
use crate::context::AuthorizerOutput;

/// One cached answer: the policy, what it said about the caller, and until when it holds.
#[derive(Debug, Clone)]
pub struct Cached {
    pub policy: Policy,
    pub output: AuthorizerOutput,
    pub until: Instant,
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

    pub fn get(&self, key: &str) -> Option<Cached> {
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

    pub fn put(&self, key: String, value: Cached) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        // Keep the cache bounded: drop expired entries when it grows.
        if map.len() > 10_000 {
            let now = Instant::now();
            map.retain(|_, c| c.until > now);
        }
        map.insert(key, value);
    }
}
