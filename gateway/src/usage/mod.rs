//! API keys, usage plans and the counters behind them.
//!
//! The model follows API Gateway: keys (value, enabled), plans (throttle, quota, the API stages
//! they cover with per-method throttle overrides), and the key-to-plan associations. The
//! counters (a token bucket per key and method, a quota count per key and period) live behind the
//! [`UsageStore`] trait so one machine or many replicas can share them; [`MemoryStore`] is the
//! in-process one.

mod bucket;
mod limits;
pub(crate) mod store;

pub use bucket::period_bounds;
pub(crate) use bucket::{take_token, Bucket};
pub(crate) use limits::{admit, quota_counter};
pub(crate) use store::MemoryStore;
pub use store::UsageStore;
pub(crate) use store::{CountAsk, PlanDecision, TokenAsk};

use std::collections::HashMap;

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

/// API Gateway's per-account, per-region default (aws-behaviour §5): 10,000 requests per second, burst 5,000.
pub(crate) const ACCOUNT_THROTTLE: Throttle = Throttle {
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
