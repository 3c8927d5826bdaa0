//! Limits built from a store's two primitives (a token bucket and a bounded counter), so each
//! works with every store: API Gateway's quotas, and tollgate's own rate-limit algorithms
//! (`x-tollgate-rate-limit`).

use crate::spec::extensions::{RateLimitAlgorithm, RateLimitExt};

use super::{period_bounds, Quota, UsageStore};

/// One decision of `rl`'s algorithm on the counters under `base`: admitted or not, and the
/// seconds until a retry could succeed.
pub(crate) async fn admit(
    store: &dyn UsageStore,
    base: &str,
    rl: &RateLimitExt,
    now: f64,
) -> (Result<bool, String>, f64) {
    use RateLimitAlgorithm as A;
    let rate = rl.rate.unwrap_or(1.0);
    match rl.algorithm {
        A::TokenBucket => (
            store
                .take_token(base, rate, rl.burst.unwrap_or(1), now)
                .await,
            1.0 / rate,
        ),
        // A leaky bucket drains at a constant rate with no burst: a bucket of one.
        A::LeakyBucket => (store.take_token(base, rate, 1, now).await, 1.0 / rate),
        A::FixedWindow | A::SlidingWindow => {
            let window = rl.window.unwrap_or(1).max(1) as f64;
            let limit = rl.limit.unwrap_or(0);
            let index = (now / window).floor();
            let end = ((index + 1.0) * window) as i64;
            let mut effective = limit;
            if rl.algorithm == A::SlidingWindow {
                // The previous window's count, weighted by how much of it the sliding window
                // still covers.
                let previous = store
                    .used(&format!("{base}|{}", index - 1.0))
                    .await
                    .unwrap_or(0) as f64;
                let overlap = 1.0 - (now - index * window) / window;
                effective = limit.saturating_sub((previous * overlap).floor() as u64);
            }
            let r = store
                .count(&format!("{base}|{index}"), effective, end + window as i64)
                .await;
            (r, (end as f64 - now).max(1.0))
        }
    }
}

/// The counter of `key`'s quota in `plan` for the period containing `now`, and when it ends.
pub(crate) fn quota_counter(plan: &str, key: &str, quota: &Quota, now: i64) -> (String, i64) {
    let (start, end) = period_bounds(now, quota.period);
    (format!("quota|{plan}|{key}|{start}"), end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::{MemoryStore, Period};

    /// One request counted against `quota` at `now`.
    async fn check_quota(
        store: &dyn UsageStore,
        plan: &str,
        key: &str,
        quota: &Quota,
        now: i64,
    ) -> Result<bool, String> {
        let (counter, end) = quota_counter(plan, key, quota, now);
        store.count(&counter, quota.limit, end).await
    }

    /// Quota rollover on the UTC boundary, with the clock passed in rather than waited for.
    #[tokio::test]
    async fn quotas_roll_over_at_utc_period_boundaries() {
        let store = MemoryStore::default();
        let day = Quota {
            limit: 2,
            period: Period::Day,
            offset: 0,
        };
        let before_midnight = 1_795_910_399; // 2026-11-28T23:59:59Z
        assert!(check_quota(&store, "p", "k", &day, before_midnight - 10)
            .await
            .expect("ok"));
        assert!(check_quota(&store, "p", "k", &day, before_midnight)
            .await
            .expect("ok"));
        assert!(
            !check_quota(&store, "p", "k", &day, before_midnight)
                .await
                .expect("ok"),
            "limit reached"
        );
        assert!(
            check_quota(&store, "p", "k", &day, before_midnight + 1)
                .await
                .expect("ok"),
            "a new day"
        );

        let month = Quota {
            limit: 1,
            period: Period::Month,
            offset: 0,
        };
        let nov_30 = 1_796_083_199; // 2026-11-30T23:59:59Z
        assert!(check_quota(&store, "p", "m", &month, nov_30)
            .await
            .expect("ok"));
        assert!(
            !check_quota(&store, "p", "m", &month, nov_30 - 86_400 * 20)
                .await
                .expect("ok"),
            "same month"
        );
        assert!(
            check_quota(&store, "p", "m", &month, nov_30 + 1)
                .await
                .expect("ok"),
            "December"
        );
    }
}
