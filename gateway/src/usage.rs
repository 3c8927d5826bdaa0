//! API keys, usage plans and the counters behind them.
//!
//! The model follows API Gateway: keys (value, enabled), plans (throttle, quota, the API stages
//! they cover with per-method throttle overrides), and the key-to-plan associations. The
//! counters (a token bucket per key and method, a quota count per key and period) live behind the
//! [`UsageStore`] trait so one machine or many replicas can share them; [`MemoryStore`] is the
//! in-process one.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Throttle {
    /// Requests per second, refilled continuously.
    pub rate_limit: f64,
    /// Bucket capacity.
    pub burst_limit: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Period {
    Day,
    Week,
    Month,
}

#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Quota {
    pub limit: u64,
    pub period: Period,
    #[serde(default)]
    pub offset: u64,
}

#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiStage {
    /// The API's logical id (template) or name (OpenAPI file).
    pub api: String,
    pub stage: String,
    /// `"/path/METHOD"` → throttle, overriding the plan's for that method.
    #[serde(default)]
    pub throttle: HashMap<String, Throttle>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsagePlan {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub api_stages: Vec<ApiStage>,
    pub throttle: Option<Throttle>,
    pub quota: Option<Quota>,
    /// tollgate's own: admit the plan's callers with another algorithm than AWS's token bucket
    /// (the `x-tollgate-rate-limit` shape; counted per API key, its `key` is ignored). Used
    /// instead of `throttle`; a per-method stage override still wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<crate::spec::extensions::RateLimitExt>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub value: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Plans this key belongs to.
    #[serde(default)]
    pub plans: Vec<String>,
}

fn yes() -> bool {
    true
}

/// Throttling set on a stage rather than a plan: REST `MethodSettings`, HTTP API
/// `DefaultRouteSettings` / `RouteSettings`. Applies to every caller, key or not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StageThrottle {
    /// All methods (`ResourcePath: "/*"`, `HttpMethod: "*"`; `DefaultRouteSettings`).
    pub default: Option<Throttle>,
    /// `"/path/METHOD"` (REST) or a route key `"GET /path"` (HTTP API) → throttle.
    pub methods: HashMap<String, Throttle>,
}

/// API Gateway's per-account, per-region default (facts §5): 10,000 requests per second, burst 5,000.
pub const ACCOUNT_THROTTLE: Throttle = Throttle {
    rate_limit: 10_000.0,
    burst_limit: 5_000,
};

/// Keys and plans, as a template declares them or a keys file lists them.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageConfig {
    #[serde(default)]
    pub keys: Vec<ApiKey>,
    #[serde(default)]
    pub plans: Vec<UsagePlan>,
}

impl UsageConfig {
    pub fn merge(&mut self, other: UsageConfig) {
        self.keys.extend(other.keys);
        self.plans.extend(other.plans);
    }

    pub fn key_by_value(&self, value: &str) -> Option<&ApiKey> {
        self.keys.iter().find(|k| k.value == value)
    }

    /// The plan of `key` that covers `api`'s `stage` (a key has at most one per stage).
    pub fn plan_for(
        &self,
        key: &ApiKey,
        api: &str,
        stage: &str,
    ) -> Option<(&UsagePlan, &ApiStage)> {
        self.plans
            .iter()
            .filter(|p| key.plans.contains(&p.id))
            .find_map(|p| {
                p.api_stages
                    .iter()
                    .find(|s| s.api == api && s.stage == stage)
                    .map(|s| (p, s))
            })
    }
}

/// A token bucket's state: tokens left and when they were counted (epoch seconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub tokens: f64,
    pub at: f64,
}

/// Take one token at `now`: refill at `rate` per second up to `burst`, then spend one.
/// Returns whether the request is admitted and the new state. A new bucket starts full.
pub fn take_token(state: Option<Bucket>, now: f64, rate: f64, burst: u64) -> (bool, Bucket) {
    let burst = burst as f64;
    let mut b = state.unwrap_or(Bucket {
        tokens: burst,
        at: now,
    });
    let elapsed = (now - b.at).max(0.0);
    b.tokens = (b.tokens + elapsed * rate).min(burst);
    b.at = now;
    if b.tokens >= 1.0 {
        b.tokens -= 1.0;
        (true, b)
    } else {
        (false, b)
    }
}

/// The UTC period containing `now` (epoch seconds): `[start, end)`. Weeks start on Monday. [?]
/// (`offset` reduces the first period's limit, per the API reference; it does not move periods.)
pub fn period_bounds(now: i64, period: Period) -> (i64, i64) {
    let dt =
        time::OffsetDateTime::from_unix_timestamp(now).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let day_start = dt.replace_time(time::Time::MIDNIGHT);
    let (start, end) = match period {
        Period::Day => (day_start, day_start + time::Duration::days(1)),
        Period::Week => {
            let s =
                day_start - time::Duration::days(i64::from(dt.weekday().number_days_from_monday()));
            (s, s + time::Duration::weeks(1))
        }
        Period::Month => {
            let s = day_start.replace_day(1).unwrap_or(day_start);
            let (y, m) = if s.month() == time::Month::December {
                (s.year() + 1, time::Month::January)
            } else {
                (s.year(), s.month().next())
            };
            let e = s
                .replace_year(y)
                .and_then(|x| x.replace_month(m))
                .unwrap_or(s + time::Duration::days(31));
            (s, e)
        }
    };
    (start.unix_timestamp(), end.unix_timestamp())
}

pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, String>> + Send + 'a>>;

/// Where usage counters live. One decision is one store operation.
pub trait UsageStore: Send + Sync + 'static {
    /// Take a token from bucket `key` (rate per second, burst capacity) at `now` (epoch seconds).
    fn take_token(&self, key: &str, rate: f64, burst: u64, now: f64) -> StoreFuture<'_, bool>;
    /// Count one request against `limit` in the period `key`; false (and not counted) when the
    /// limit is reached.
    fn count(&self, key: &str, limit: u64, expires_at: i64) -> StoreFuture<'_, bool>;
    /// How many requests the period `key` has counted.
    fn used(&self, key: &str) -> StoreFuture<'_, u64>;
}

/// Counters in this process.
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

    #[test]
    fn token_bucket_allows_bursts_then_the_rate() {
        let (mut state, mut admitted) = (None, 0);
        // 5 requests at the same instant with burst 3: three pass.
        for _ in 0..5 {
            let (ok, s) = take_token(state, 100.0, 1.0, 3);
            state = Some(s);
            admitted += usize::from(ok);
        }
        assert_eq!(admitted, 3);
        // Half a second later at 1 rps: not yet a whole token.
        let (ok, s) = take_token(state, 100.5, 1.0, 3);
        assert!(!ok);
        // One second after the burst: one token back.
        let (ok, s) = take_token(Some(s), 101.0, 1.0, 3);
        assert!(ok);
        // Long idle: the bucket refills to burst, never beyond.
        let (_, s) = take_token(Some(s), 10_000.0, 1.0, 3);
        assert!((s.tokens - 2.0).abs() < 1e-9);
    }

    #[test]
    fn quota_periods_are_utc_calendar_units() {
        // 2026-11-28 (a Saturday) 17:35:20 UTC.
        let t = 1_795_887_320;
        let (ds, de) = period_bounds(t, Period::Day);
        assert_eq!((ds, de - ds), (1_795_824_000, 86_400));
        let (ws, we) = period_bounds(t, Period::Week);
        assert_eq!(we - ws, 7 * 86_400);
        assert_eq!(
            ws,
            1_795_824_000 - 5 * 86_400,
            "weeks start on Monday 2026-11-23"
        );
        let (ms, me) = period_bounds(t, Period::Month);
        assert_eq!(ms, 1_795_824_000 - 27 * 86_400, "2026-11-01");
        assert_eq!(me - ms, 30 * 86_400, "November has 30 days");
        let (dec, jan) = period_bounds(1_796_083_200 + 86_400 * 30, Period::Month);
        assert!(jan > dec);
    }

    #[tokio::test]
    async fn memory_store_counts_up_to_the_limit() {
        let s = MemoryStore::default();
        assert!(s.count("k", 2, 0).await.expect("ok"));
        assert!(s.count("k", 2, 0).await.expect("ok"));
        assert!(!s.count("k", 2, 0).await.expect("ok"));
        assert_eq!(s.used("k").await.expect("ok"), 2);
    }
}
