//! Counters in this process.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{StoreFuture, UsageStore};
use crate::usage::{take_token, Bucket};

#[derive(Debug, Default)]
pub struct MemoryStore {
    buckets: Mutex<HashMap<String, Bucket>>,
    counts: Mutex<HashMap<String, u64>>,
}

impl UsageStore for MemoryStore {
    fn take_token(&self, key: &str, rate: f64, burst: u64, now: f64) -> StoreFuture<'_, bool> {
        let mut map = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let (ok, b) = take_token(map.get(key).copied(), now, rate, burst);
        map.insert(key.to_string(), b);
        Box::pin(async move { Ok(ok) })
    }

    fn count(&self, key: &str, limit: u64, _expires_at: i64) -> StoreFuture<'_, bool> {
        let mut map = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(key.to_string()).or_insert(0);
        let ok = *n < limit;
        if ok {
            *n += 1;
        }
        Box::pin(async move { Ok(ok) })
    }

    fn used(&self, key: &str) -> StoreFuture<'_, u64> {
        let n = self
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .copied()
            .unwrap_or(0);
        Box::pin(async move { Ok(n) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_store_counts_up_to_the_limit() {
        let s = MemoryStore::default();
        assert!(s.count("k", 2, 0).await.expect("ok"));
        assert!(s.count("k", 2, 0).await.expect("ok"));
        assert!(!s.count("k", 2, 0).await.expect("ok"));
        assert_eq!(s.used("k").await.expect("ok"), 2);
    }
}
