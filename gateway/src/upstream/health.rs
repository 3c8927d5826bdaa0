//! Active health checks.

use std::sync::atomic::Ordering;
use std::sync::Weak;
use std::time::Duration;

use crate::spec::extensions::HealthCheckExt;

use super::{HttpClient, UpstreamPool};

/// Probe every instance each interval; `unhealthy_threshold` failures in a row take one out,
/// `healthy_threshold` successes bring it back.
pub(super) async fn health_loop(pool: Weak<UpstreamPool>, hc: HealthCheckExt, client: HttpClient) {
    let interval = Duration::from_millis(hc.interval_ms.max(50));
    let timeout = Duration::from_millis(hc.timeout_ms.max(10));
    loop {
        let Some(p) = pool.upgrade() else { return };
        let instances = p.instances();
        let name = p.name.clone();
        drop(p);
        // All instances at once, so one slow instance does not delay the others' checks.
        let mut set = tokio::task::JoinSet::new();
        for (k, i) in instances.iter().enumerate() {
            let url = format!("{}{}", i.base, hc.path);
            let client = client.clone();
            set.spawn(async move { (k, client.get(&url, timeout, 64 * 1024).await.is_ok()) });
        }
        let mut results = vec![false; instances.len()];
        while let Some(done) = set.join_next().await {
            if let Ok((k, ok)) = done {
                results[k] = ok;
            }
        }
        for (i, ok) in instances.iter().zip(results) {
            let healthy = i.is_healthy();
            if ok == healthy {
                i.check_streak.store(0, Ordering::Relaxed);
                continue;
            }
            let streak = i.check_streak.fetch_add(1, Ordering::Relaxed) + 1;
            let needed = if ok {
                hc.healthy_threshold
            } else {
                hc.unhealthy_threshold
            };
            if streak >= needed.max(1) {
                i.healthy.store(ok, Ordering::Relaxed);
                i.check_streak.store(0, Ordering::Relaxed);
                tracing::warn!(
                    upstream = %name,
                    instance = %i.base,
                    "health check: {}",
                    if ok { "healthy again" } else { "unhealthy, out of the pool" }
                );
            }
        }
        tokio::time::sleep(interval).await;
    }
}
