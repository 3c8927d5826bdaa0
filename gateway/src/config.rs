//! The gateway's settings: what the binary's flags (or the deployed function's environment) say,
//! validated once and fixed for the life of the process. A hot reload swaps the APIs, never
//! these.

use crate::usage::Throttle;

/// How the gateway behaves, beyond what the API definitions say.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Serve `/{stage}/path` URLs as AWS does, instead of SAM CLI's root-path style.
    pub stage_in_path: bool,
    /// tollgate's coarse per-client-IP limit, checked before anything else (beyond AWS).
    pub ip_limit: Option<Throttle>,
    /// Add `Retry-After` to 429 answers (AWS sends none; off by default).
    pub retry_after: bool,
    /// Keep each integration call's request and response on the request context (the
    /// dashboard's view); off unless someone looks.
    pub capture_exchanges: bool,
    /// Clock skew allowed on JWT `exp`, `nbf` and `iat`, in seconds.
    pub jwt_leeway: u64,
    /// When the usage store fails: `false` lets the request through (AWS's behaviour), `true`
    /// refuses it with 500.
    pub usage_fail_closed: bool,
    /// The account-level throttle every request passes last (aws-behaviour §5); `None` turns
    /// it off (benchmarks of the pipeline itself).
    pub account_throttle: Option<Throttle>,
    /// How long a client may take to send its whole request body (`--body-timeout`).
    pub body_timeout: std::time::Duration,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            stage_in_path: false,
            ip_limit: None,
            retry_after: false,
            capture_exchanges: false,
            jwt_leeway: 0,
            usage_fail_closed: false,
            account_throttle: Some(crate::usage::ACCOUNT_THROTTLE),
            body_timeout: std::time::Duration::from_secs(60),
        }
    }
}
