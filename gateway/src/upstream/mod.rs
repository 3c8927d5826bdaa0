//! Upstream pools (`x-tollgate-upstreams`): a logical service names a set of instances, found
//! statically, in a watched registry file, by DNS or in etcd; each request picks a healthy
//! instance by round-robin, least connections or consistent hashing (all weighted). Instances
//! leave the pool at once when active health checks fail or when passive outlier detection
//! (consecutive failures) ejects them, and come back when healthy again (after a cool-down, one
//! request probes an ejected instance: the circuit breaker's half-open state).
//!
//! The folder also owns the HTTP client every integration, key-set fetch and discovery call
//! shares ([`client`]).

mod client;
mod discovery;
mod health;
mod tls;

pub use client::HttpClient;
pub(crate) use client::{describe, native_roots};

use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use crate::spec::extensions::{BalanceAlgorithm, HealthCheckExt, UpstreamExt};
use discovery::{
    dns_loop, dns_resolver, etcd_loop, etcd_range, read_registry, registry_loop, resolve,
};
use health::health_loop;

/// One instance of a pool.
#[derive(Debug)]
pub struct Instance {
    /// `http://host:port`, no trailing slash.
    pub base: String,
    pub weight: u32,
    /// Requests in flight (least connections).
    active: AtomicUsize,
    consecutive_failures: AtomicU32,
    /// Passive ejection: out of the pool until then.
    ejected_until: Mutex<Option<Instant>>,
    /// Active health: false once `unhealthy_threshold` checks in a row failed.
    healthy: AtomicBool,
    check_streak: AtomicU32,
}

impl Instance {
    pub(super) fn new(base: String, weight: u32) -> Self {
        Instance {
            base,
            weight,
            active: AtomicUsize::new(0),
            consecutive_failures: AtomicU32::new(0),
            ejected_until: Mutex::new(None),
            healthy: AtomicBool::new(true),
            check_streak: AtomicU32::new(0),
        }
    }

    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Whether passive ejection keeps it out right now.
    pub fn is_ejected(&self, now: Instant) -> bool {
        self.ejected_until
            .lock()
            .map(|g| g.is_some_and(|t| now < t))
            .unwrap_or(false)
    }
}

/// Counts a request in flight on an instance until dropped.
pub struct InFlight(Arc<Instance>);

impl InFlight {
    pub fn instance(&self) -> &Arc<Instance> {
        &self.0
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What a request hashes on, for consistent hashing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashKey {
    Ip,
    Principal,
    ApiKey,
    Header(String),
}

impl HashKey {
    pub fn parse(s: &str) -> Option<HashKey> {
        Some(match s.trim() {
            "ip" => HashKey::Ip,
            "principal" => HashKey::Principal,
            "apiKey" => HashKey::ApiKey,
            other => HashKey::Header(other.strip_prefix("header:")?.trim().to_ascii_lowercase()),
        })
    }
}

#[derive(Debug)]
pub struct UpstreamPool {
    pub name: String,
    pub algorithm: BalanceAlgorithm,
    pub hash_on: Option<HashKey>,
    pub retries: u32,
    instances: RwLock<Vec<Arc<Instance>>>,
    next: AtomicUsize,
    /// Times outlier detection ejected an instance (for metrics).
    pub ejections: std::sync::atomic::AtomicU64,
    outlier: Option<(u32, Duration)>,
    health: Option<HealthCheckExt>,
    registry: Option<PathBuf>,
    etcd: Option<crate::spec::extensions::EtcdExt>,
    dns: Option<crate::spec::extensions::DnsExt>,
    /// The pool's own client (connect timeout, TLS settings); built on first use.
    client: OnceLock<HttpClient>,
    tls_config: Option<rustls::ClientConfig>,
    connect_timeout: Duration,
    /// Caps each request below the integration's timeout.
    pub request_timeout: Option<Duration>,
    started: OnceLock<()>,
    /// Discovery that needs the network (etcd) loads its first list before the first request.
    first_load: tokio::sync::OnceCell<()>,
}

impl UpstreamPool {
    /// Build a pool from its definition; `base_dir` resolves a relative registry file.
    pub fn new(
        name: &str,
        ext: &UpstreamExt,
        base_dir: &std::path::Path,
    ) -> Result<UpstreamPool, String> {
        let hash_on = match (&ext.hash_on, ext.balance) {
            (Some(h), _) => Some(HashKey::parse(h).ok_or_else(|| {
                format!("hashOn `{h}`: expected ip, principal, apiKey or header:NAME")
            })?),
            (None, BalanceAlgorithm::ConsistentHash) => Some(HashKey::Ip),
            (None, _) => None,
        };
        let registry = ext.registry_file.as_ref().map(|f| base_dir.join(f));
        let mut instances: Vec<Arc<Instance>> = ext
            .instances
            .iter()
            .map(|i| {
                let (base, weight) = i.normalized();
                Arc::new(Instance::new(base, weight))
            })
            .collect();
        if let Some(path) = &registry {
            instances.extend(read_registry(path)?.into_iter().map(Arc::new));
        }
        if instances.is_empty() && registry.is_none() && ext.etcd.is_none() && ext.dns.is_none() {
            return Err(
                "no instances: list some under `instances`, or name a `registryFile`, `etcd` or `dns`"
                    .into(),
            );
        }
        if let Some(e) = &ext.etcd {
            check_base(e.endpoint.trim_end_matches('/'))
                .map_err(|m| format!("etcd endpoint: {m}"))?;
        }
        for i in &instances {
            check_base(&i.base)?;
        }
        Ok(UpstreamPool {
            name: name.to_string(),
            algorithm: ext.balance,
            hash_on,
            retries: ext.retries,
            instances: RwLock::new(instances),
            next: AtomicUsize::new(0),
            ejections: std::sync::atomic::AtomicU64::new(0),
            outlier: ext.outlier.as_ref().map(|o| {
                (
                    o.consecutive_failures.max(1),
                    Duration::from_millis(o.cooldown_ms),
                )
            }),
            health: ext.health_check.clone(),
            registry,
            etcd: ext.etcd.clone(),
            dns: ext.dns.clone(),
            client: OnceLock::new(),
            tls_config: match &ext.tls {
                Some(t) => Some(tls::pool_tls_config(t, base_dir)?),
                None => None,
            },
            connect_timeout: Duration::from_millis(ext.connect_timeout_ms.max(1)),
            request_timeout: ext.request_timeout_ms.map(Duration::from_millis),
            started: OnceLock::new(),
            first_load: tokio::sync::OnceCell::new(),
        })
    }

    /// The pool's own client (built on first use: it needs the runtime).
    pub fn client(&self) -> Option<&HttpClient> {
        Some(self.client.get_or_init(|| {
            let config = self
                .tls_config
                .clone()
                .or_else(|| client::tls_config(native_roots(), None).ok());
            match config {
                Some(c) => HttpClient::with_tls_and_connect_timeout(c, self.connect_timeout),
                None => HttpClient::new(),
            }
        }))
    }

    pub fn instances(&self) -> Vec<Arc<Instance>> {
        self.instances.read().map(|g| g.clone()).unwrap_or_default()
    }

    /// Start the pool's background work (health checks, registry watching) once, on first use,
    /// from inside the runtime. The tasks end when the pool is dropped (a reload).
    pub fn start(self: &Arc<Self>, client: &HttpClient) {
        self.started.get_or_init(|| {
            if tokio::runtime::Handle::try_current().is_err() {
                return;
            }
            if let Some(hc) = self.health.clone() {
                let weak = Arc::downgrade(self);
                let client = self.client().cloned().unwrap_or_else(|| client.clone());
                tokio::spawn(health_loop(weak, hc, client));
            }
            if let Some(path) = self.registry.clone() {
                tokio::spawn(registry_loop(Arc::downgrade(self), path));
            }
            if let Some(e) = self.etcd.clone() {
                tokio::spawn(etcd_loop(Arc::downgrade(self), e, client.clone()));
            }
            if let Some(d) = self.dns.clone() {
                // The first lookup happens in `ready`; the loop follows the TTL from there.
                tokio::spawn(dns_loop(Arc::downgrade(self), d, Instant::now()));
            }
        });
    }

    /// Wait for discovery's first list (etcd), so the first request does not find an empty pool.
    pub async fn ready(self: &Arc<Self>, client: &HttpClient) {
        self.start(client);
        if self.etcd.is_none() && self.dns.is_none() {
            return;
        }
        self.first_load
            .get_or_init(|| async {
                let loaded = match (&self.etcd, &self.dns) {
                    (Some(e), _) => etcd_range(client, e)
                        .await
                        .map_err(|m| format!("etcd: {m}")),
                    (None, Some(d)) => match dns_resolver(d) {
                        Ok(r) => resolve(&r, d).await.map(|(list, _)| list),
                        Err(m) => Err(m),
                    },
                    (None, None) => return,
                };
                match loaded {
                    Ok(list) => self.replace_instances(list),
                    Err(m) => tracing::warn!(upstream = %self.name, "{m}"),
                }
            })
            .await;
    }

    /// Pick an instance for a request, skipping `tried` ones; `None` when none is available.
    pub fn pick(&self, key: Option<&str>, tried: &[String]) -> Option<InFlight> {
        let now = Instant::now();
        let all = self.instances();
        let candidates: Vec<&Arc<Instance>> = all
            .iter()
            .filter(|i| i.is_healthy() && !i.is_ejected(now) && !tried.contains(&i.base))
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let chosen = match self.algorithm {
            BalanceAlgorithm::RoundRobin => {
                // Weighted: each instance owns `weight` consecutive slots of the cycle.
                let total: u64 = candidates.iter().map(|i| u64::from(i.weight)).sum();
                let mut slot = (self.next.fetch_add(1, Ordering::Relaxed) as u64) % total;
                let mut pick = candidates[0];
                for i in &candidates {
                    if slot < u64::from(i.weight) {
                        pick = i;
                        break;
                    }
                    slot -= u64::from(i.weight);
                }
                pick
            }
            BalanceAlgorithm::LeastConnections => {
                // Fewest in flight per unit of weight; ties rotate.
                let start = self.next.fetch_add(1, Ordering::Relaxed);
                let n = candidates.len();
                (0..n)
                    .map(|k| candidates[(start + k) % n])
                    .min_by(|a, b| {
                        let la = a.active.load(Ordering::Relaxed) as f64 / f64::from(a.weight);
                        let lb = b.active.load(Ordering::Relaxed) as f64 / f64::from(b.weight);
                        la.total_cmp(&lb)
                    })
                    .unwrap_or(candidates[0])
            }
            BalanceAlgorithm::ConsistentHash => {
                // Weighted rendezvous hashing: a key keeps its instance while that instance
                // stays, and only the keys of a removed instance move.
                let key = key.unwrap_or("");
                candidates
                    .iter()
                    .copied()
                    .max_by(|a, b| score(key, a).total_cmp(&score(key, b)))
                    .unwrap_or(candidates[0])
            }
        };
        chosen.active.fetch_add(1, Ordering::Relaxed);
        Some(InFlight(Arc::clone(chosen)))
    }

    /// Record how a request to `instance` went (connect failures and 5xx count as failures).
    pub fn report(&self, instance: &Instance, ok: bool) {
        let Some((threshold, cooldown)) = self.outlier else {
            return;
        };
        if ok {
            instance.consecutive_failures.store(0, Ordering::Relaxed);
            if let Ok(mut g) = instance.ejected_until.lock() {
                *g = None;
            }
            return;
        }
        let n = instance
            .consecutive_failures
            .fetch_add(1, Ordering::Relaxed)
            + 1;
        if n >= threshold {
            if let Ok(mut g) = instance.ejected_until.lock() {
                *g = Some(Instant::now() + cooldown);
            }
            self.ejections.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                upstream = %self.name,
                instance = %instance.base,
                "ejected after {n} consecutive failures for {cooldown:?}"
            );
        }
    }

    pub(super) fn replace_instances(&self, list: Vec<Instance>) {
        let Ok(mut current) = self.instances.write() else {
            return;
        };
        // Keep the state of instances that stay.
        let next: Vec<Arc<Instance>> = list
            .into_iter()
            .map(|i| {
                current
                    .iter()
                    .find(|c| c.base == i.base && c.weight == i.weight)
                    .cloned()
                    .unwrap_or_else(|| Arc::new(i))
            })
            .collect();
        *current = next;
    }
}

fn score(key: &str, i: &Instance) -> f64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    i.base.hash(&mut h);
    // A uniform value in (0, 1], then the weighted rendezvous score -w / ln(u).
    let u = ((h.finish() >> 11) as f64 + 1.0) / ((1u64 << 53) as f64 + 1.0);
    -f64::from(i.weight) / u.ln()
}

pub(super) fn check_base(base: &str) -> Result<(), String> {
    let uri: http::Uri = base
        .parse()
        .map_err(|e| format!("instance `{base}` is not a URL: {e}"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.authority().is_none() {
        return Err(format!(
            "instance `{base}`: expected http://host:port or https://host:port"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::extensions::InstanceExt;

    fn pool(balance: BalanceAlgorithm, instances: &[(&str, u32)]) -> UpstreamPool {
        let ext = UpstreamExt {
            instances: instances
                .iter()
                .map(|(u, w)| InstanceExt::Weighted {
                    url: u.to_string(),
                    weight: *w,
                })
                .collect(),
            registry_file: None,
            etcd: None,
            dns: None,
            tls: None,
            connect_timeout_ms: 100,
            request_timeout_ms: None,
            balance,
            hash_on: Some("header:x-user".into()),
            health_check: None,
            outlier: Some(crate::spec::extensions::OutlierExt {
                consecutive_failures: 2,
                cooldown_ms: 60_000,
            }),
            retries: 1,
        };
        UpstreamPool::new("svc", &ext, std::path::Path::new(".")).expect("pool")
    }

    fn counts(p: &UpstreamPool, n: usize, key: impl Fn(usize) -> String) -> Vec<(String, usize)> {
        let mut c: Vec<(String, usize)> =
            p.instances().iter().map(|i| (i.base.clone(), 0)).collect();
        for k in 0..n {
            let f = p.pick(Some(&key(k)), &[]).expect("an instance");
            let e = c
                .iter_mut()
                .find(|(b, _)| b == &f.instance().base)
                .expect("known");
            e.1 += 1;
        }
        c
    }

    #[test]
    fn weighted_round_robin_follows_weights() {
        let p = pool(
            BalanceAlgorithm::RoundRobin,
            &[("a:1", 1), ("b:1", 1), ("c:1", 2)],
        );
        let c = counts(&p, 400, |_| String::new());
        assert_eq!(
            c.iter().map(|x| x.1).collect::<Vec<_>>(),
            vec![100, 100, 200]
        );
    }

    #[test]
    fn least_connections_avoids_busy_instances() {
        let p = pool(
            BalanceAlgorithm::LeastConnections,
            &[("a:1", 1), ("b:1", 1)],
        );
        let busy = p.pick(None, &[]).expect("one");
        for _ in 0..10 {
            let f = p.pick(None, &[]).expect("one");
            assert_ne!(f.instance().base, busy.instance().base);
        }
    }

    #[test]
    fn consistent_hash_keeps_keys_and_moves_only_a_removed_instances_keys() {
        let p = pool(
            BalanceAlgorithm::ConsistentHash,
            &[("a:1", 1), ("b:1", 1), ("c:1", 1)],
        );
        let before: Vec<String> = (0..300)
            .map(|k| {
                p.pick(Some(&format!("user-{k}")), &[])
                    .expect("one")
                    .instance()
                    .base
                    .clone()
            })
            .collect();
        // Same key, same instance.
        for (k, b) in before.iter().enumerate() {
            assert_eq!(
                &p.pick(Some(&format!("user-{k}")), &[])
                    .expect("one")
                    .instance()
                    .base,
                b
            );
        }
        // Spread over all three.
        for base in ["http://a:1", "http://b:1", "http://c:1"] {
            let n = before.iter().filter(|b| *b == base).count();
            assert!(n > 50, "{base} got {n} of 300");
        }
        // Remove c: only c's keys move.
        p.replace_instances(vec![
            Instance::new("http://a:1".into(), 1),
            Instance::new("http://b:1".into(), 1),
        ]);
        for (k, b) in before.iter().enumerate() {
            let now = p
                .pick(Some(&format!("user-{k}")), &[])
                .expect("one")
                .instance()
                .base
                .clone();
            if b != "http://c:1" {
                assert_eq!(&now, b, "key user-{k} moved although its instance stayed");
            }
        }
    }

    #[test]
    fn consecutive_failures_eject_and_success_restores() {
        let p = pool(BalanceAlgorithm::RoundRobin, &[("a:1", 1), ("b:1", 1)]);
        let a = p.instances()[0].clone();
        p.report(&a, false);
        assert!(
            !a.is_ejected(Instant::now()),
            "one failure is below the threshold"
        );
        p.report(&a, false);
        assert!(a.is_ejected(Instant::now()));
        for _ in 0..10 {
            assert_eq!(p.pick(None, &[]).expect("b").instance().base, "http://b:1");
        }
        p.report(&a, true);
        assert!(!a.is_ejected(Instant::now()));
        // Nothing left when every instance is out.
        let b = p.instances()[1].clone();
        p.report(&b, false);
        p.report(&b, false);
        p.report(&a, false);
        p.report(&a, false);
        assert!(p.pick(None, &[]).is_none());
    }
}
