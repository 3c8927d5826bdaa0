//! Where a pool's instances come from besides its static list: a watched registry file, DNS
//! (following record TTLs) or an etcd prefix (followed with a watch).

use std::path::PathBuf;
use std::sync::Weak;
use std::time::{Duration, Instant, SystemTime};

use crate::spec::extensions::InstanceExt;

use super::{check_base, HttpClient, Instance, UpstreamPool};

/// `{"instances": ["host:port", {"url": ..., "weight": ...}]}`.
pub(super) fn read_registry(path: &std::path::Path) -> Result<Vec<Instance>, String> {
    #[derive(serde::Deserialize)]
    struct Registry {
        instances: Vec<InstanceExt>,
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("registry file {}: {e}", path.display()))?;
    let r: Registry = serde_json::from_str(&text).map_err(|e| {
        format!(
            "registry file {}: expected {{\"instances\": [\"host:port\", ...]}}: {e}",
            path.display()
        )
    })?;
    let mut out = Vec::new();
    for i in &r.instances {
        let (base, weight) = i.normalized();
        check_base(&base).map_err(|e| format!("registry file {}: {e}", path.display()))?;
        out.push(Instance::new(base, weight));
    }
    Ok(out)
}

pub(super) type DnsResolver =
    hickory_resolver::Resolver<hickory_resolver::net::runtime::TokioRuntimeProvider>;

/// A resolver: the given name server, or the system's configuration.
pub(super) fn dns_resolver(d: &crate::spec::extensions::DnsExt) -> Result<DnsResolver, String> {
    use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
    use hickory_resolver::net::runtime::TokioRuntimeProvider;
    let builder = match &d.server {
        Some(s) => {
            let addr: std::net::SocketAddr = s
                .parse()
                .map_err(|e| format!("dns server `{s}`: expected IP:port: {e}"))?;
            let mut udp = ConnectionConfig::udp();
            udp.port = addr.port();
            let mut tcp = ConnectionConfig::tcp();
            tcp.port = addr.port();
            let ns = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
            hickory_resolver::Resolver::builder_with_config(
                ResolverConfig::from_name_servers(vec![ns]),
                TokioRuntimeProvider::default(),
            )
        }
        None => hickory_resolver::Resolver::builder_tokio()
            .map_err(|e| format!("dns: the system resolver configuration: {e}"))?,
    };
    builder.build().map_err(|e| format!("dns: {e}"))
}

/// The instances a DNS name resolves to now (sorted, so an unchanged answer keeps the pool),
/// and when the answer expires.
pub(super) async fn resolve(
    resolver: &DnsResolver,
    d: &crate::spec::extensions::DnsExt,
) -> Result<(Vec<Instance>, Instant), String> {
    let found = resolver
        .lookup_ip(d.name.as_str())
        .await
        .map_err(|e| format!("dns {}: {e}", d.name))?;
    let mut bases: Vec<String> = found
        .iter()
        .map(|ip| format!("http://{}", std::net::SocketAddr::new(ip, d.port)))
        .collect();
    bases.sort();
    bases.dedup();
    Ok((
        bases.into_iter().map(|b| Instance::new(b, 1)).collect(),
        found.valid_until(),
    ))
}

/// Resolve again when the records' TTL runs out (at least every `maxRefreshMs`, at most every
/// 100 ms); a failed or empty lookup keeps the last answer.
pub(super) async fn dns_loop(
    pool: Weak<UpstreamPool>,
    d: crate::spec::extensions::DnsExt,
    mut next: Instant,
) {
    let resolver = match dns_resolver(&d) {
        Ok(r) => r,
        Err(m) => {
            tracing::warn!("{m}");
            return;
        }
    };
    let max = Duration::from_millis(d.max_refresh_ms.max(100));
    loop {
        let now = Instant::now();
        let wait = next
            .saturating_duration_since(now)
            .clamp(Duration::from_millis(100), max);
        tokio::time::sleep(wait).await;
        let Some(p) = pool.upgrade() else { return };
        match resolve(&resolver, &d).await {
            Ok((list, until)) if !list.is_empty() => {
                p.replace_instances(list);
                next = until;
            }
            Ok(_) => {
                tracing::warn!(upstream = %p.name, "dns {}: no addresses; keeping the last answer", d.name);
                next = Instant::now() + Duration::from_secs(1);
            }
            Err(m) => {
                tracing::warn!(upstream = %p.name, "{m}; keeping the last answer");
                next = Instant::now() + Duration::from_secs(1);
            }
        }
    }
}

/// Base64 as etcd's JSON gateway writes keys and values.
fn b64(s: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// The key just past every key with `prefix` (etcd's `range_end` for a prefix).
fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

fn range_body(e: &crate::spec::extensions::EtcdExt) -> String {
    serde_json::json!({"key": b64(e.prefix.as_bytes()), "range_end": b64(&prefix_end(&e.prefix))})
        .to_string()
}

/// The instances registered under the prefix now.
pub(super) async fn etcd_range(
    client: &HttpClient,
    e: &crate::spec::extensions::EtcdExt,
) -> Result<Vec<Instance>, String> {
    use base64::Engine;
    let url = format!("{}/v3/kv/range", e.endpoint.trim_end_matches('/'));
    let bytes = client
        .post_json(&url, range_body(e), Duration::from_secs(2), 4 << 20)
        .await
        .map_err(|m| format!("{url}: {m}"))?;
    let v: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|m| format!("{url}: not JSON: {m}"))?;
    let mut out = Vec::new();
    for kv in v["kvs"].as_array().into_iter().flatten() {
        let Some(raw) = kv["value"]
            .as_str()
            .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
        else {
            continue;
        };
        let text = String::from_utf8_lossy(&raw).trim().to_string();
        let inst: InstanceExt = serde_json::from_str(&text).unwrap_or(InstanceExt::Url(text));
        let (base, weight) = inst.normalized();
        match check_base(&base) {
            Ok(()) => out.push(Instance::new(base, weight)),
            Err(m) => tracing::warn!("etcd {}: {m}", e.prefix),
        }
    }
    Ok(out)
}

/// Follow the prefix with an etcd watch: every change re-reads the list, so the pool follows
/// registrations within a second. A broken stream reconnects after a second.
pub(super) async fn etcd_loop(
    pool: Weak<UpstreamPool>,
    e: crate::spec::extensions::EtcdExt,
    client: HttpClient,
) {
    use http_body_util::BodyExt;
    let watch_url = format!("{}/v3/watch", e.endpoint.trim_end_matches('/'));
    let create = serde_json::json!({"create_request": {
        "key": b64(e.prefix.as_bytes()),
        "range_end": b64(&prefix_end(&e.prefix)),
    }})
    .to_string();
    loop {
        if pool.upgrade().is_none() {
            return;
        }
        match client
            .post_stream(&watch_url, create.clone(), Duration::from_secs(5))
            .await
        {
            Err(m) => tracing::warn!("etcd watch {watch_url}: {m}"),
            Ok(mut body) => {
                // Re-read once the watch is open, in case something changed before it.
                let mut refresh = true;
                loop {
                    if refresh {
                        let Some(p) = pool.upgrade() else { return };
                        match etcd_range(&client, &e).await {
                            Ok(list) => {
                                tracing::info!(upstream = %p.name, "etcd: {} instance(s)", list.len());
                                p.replace_instances(list);
                            }
                            Err(m) => tracing::warn!(upstream = %p.name, "etcd: {m}"),
                        }
                    }
                    // Each event arrives as one JSON object; any data means "look again".
                    let frame = tokio::time::timeout(Duration::from_secs(5), body.frame()).await;
                    refresh = match frame {
                        Err(_) => false,
                        Ok(Some(Ok(f))) => f
                            .data_ref()
                            .is_some_and(|d| String::from_utf8_lossy(d).contains("\"events\"")),
                        Ok(_) => break,
                    };
                    if pool.upgrade().is_none() {
                        return;
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Re-read the registry file when it changes (polled every 250 ms, so a registration shows up
/// within a second); a broken edit keeps the last good list.
pub(super) async fn registry_loop(pool: Weak<UpstreamPool>, path: PathBuf) {
    let stamp = |p: &std::path::Path| -> Option<(SystemTime, u64)> {
        let m = std::fs::metadata(p).ok()?;
        Some((m.modified().ok()?, m.len()))
    };
    let mut last = stamp(&path);
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let Some(pool) = pool.upgrade() else { return };
        let now = stamp(&path);
        if now == last {
            continue;
        }
        last = now;
        match read_registry(&path) {
            Ok(list) => {
                tracing::info!(upstream = %pool.name, "registry changed: {} instance(s)", list.len());
                pool.replace_instances(list);
            }
            Err(e) => tracing::warn!(upstream = %pool.name, "{e}; keeping the previous instances"),
        }
    }
}
