//! Admission: tollgate's coarse per-client-IP token bucket (`--ip-rate-limit`, beyond AWS),
//! checked before routing, authorizers or any store, so a flood that never authenticates costs
//! one in-memory check per request.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::GatewayConfig;
use crate::context::RequestContext;
use crate::error::GatewayError;
use crate::services::Services;
use crate::usage::UsageStore;

/// Let the request in, or refuse it as throttled (noting when to retry).
pub(crate) async fn admit(
    config: &GatewayConfig,
    services: &Services,
    ctx: &mut RequestContext,
) -> Result<(), GatewayError> {
    let Some(limit) = &config.ip_limit else {
        return Ok(());
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let admitted = services
        .local_buckets
        .take_token(
            &format!("ip|{}", ctx.source_ip),
            limit.rate_limit,
            limit.burst_limit,
            now,
        )
        .await
        .unwrap_or(true);
    if admitted {
        return Ok(());
    }
    ctx.retry_after = Some((1.0 / limit.rate_limit.max(0.001)).ceil() as u64);
    Err(GatewayError::Throttled)
}
