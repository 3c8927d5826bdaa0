//! Upstream pools (`x-tollgate-upstreams`): a logical service names a set of instances, found
//! statically or in a watched registry file; each request picks a healthy instance by
//! round-robin, least connections or consistent hashing (all weighted). Instances leave the pool
//! at once when active health checks fail or when passive outlier detection (consecutive
//! failures) ejects them, and come back when healthy again (after a cool-down, one request
//! probes an ejected instance: the circuit breaker's half-open state).

use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
use std::time::{Duration, Instant, SystemTime};

use crate::spec::extensions::{BalanceAlgorithm, HealthCheckExt, InstanceExt, UpstreamExt};

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
    fn new(base: String, weight: u32) -> Self {
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
pub struct Pool {
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
    client: OnceLock<crate::integration::HttpClient>,
    tls_config: Option<rustls::ClientConfig>,
    connect_timeout: Duration,
    /// Caps each request below the integration's timeout.
    pub request_timeout: Option<Duration>,
    started: OnceLock<()>,
    /// Discovery that needs the network (etcd) loads its first list before the first request.
    first_load: tokio::sync::OnceCell<()>,
}

impl Pool {
    /// Build a pool from its definition; `base_dir` resolves a relative registry file.
    pub fn new(name: &str, ext: &UpstreamExt, base_dir: &std::path::Path) -> Result<Pool, String> {
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
        Ok(Pool {
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
                Some(t) => Some(tls_config(t, base_dir)?),
                None => None,
            },
            connect_timeout: Duration::from_millis(ext.connect_timeout_ms.max(1)),
            request_timeout: ext.request_timeout_ms.map(Duration::from_millis),
            started: OnceLock::new(),
            first_load: tokio::sync::OnceCell::new(),
        })
    }

    /// The pool's own client (built on first use: it needs the runtime).
    pub fn client(&self) -> Option<&crate::integration::HttpClient> {
        Some(self.client.get_or_init(|| {
            let config = self.tls_config.clone().or_else(|| {
                crate::integration::tls_config(crate::integration::native_roots(), None).ok()
            });
            match config {
                Some(c) => crate::integration::HttpClient::with_tls_and_connect_timeout(
                    c,
                    self.connect_timeout,
                ),
                None => crate::integration::HttpClient::new(),
            }
        }))
    }

    pub fn instances(&self) -> Vec<Arc<Instance>> {
        self.instances.read().map(|g| g.clone()).unwrap_or_default()
    }

    /// Start the pool's background work (health checks, registry watching) once, on first use,
    /// from inside the runtime. The tasks end when the pool is dropped (a reload).
    pub fn start(self: &Arc<Self>, client: &crate::integration::HttpClient) {
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
    pub async fn ready(self: &Arc<Self>, client: &crate::integration::HttpClient) {
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

    fn replace_instances(&self, list: Vec<Instance>) {
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

fn check_base(base: &str) -> Result<(), String> {
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

/// The TLS settings of a pool with its own CA and client certificate.
fn tls_config(
    t: &crate::spec::extensions::UpstreamTlsExt,
    base_dir: &std::path::Path,
) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = |f: &str| -> Result<Vec<CertificateDer<'static>>, String> {
        let path = base_dir.join(f);
        CertificateDer::pem_file_iter(&path)
            .and_then(|i| i.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("tls: {}: {e}", path.display()))
    };
    let mut roots = rustls::RootCertStore::empty();
    match &t.ca {
        Some(ca) => {
            for c in certs(ca)? {
                roots
                    .add(c)
                    .map_err(|e| format!("tls.ca {ca}: not a usable CA certificate: {e}"))?;
            }
        }
        None => {
            for c in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(c);
            }
        }
    }
    let client_auth = match (&t.cert, &t.key) {
        (Some(c), Some(k)) => {
            let path = base_dir.join(k);
            let key = PrivateKeyDer::from_pem_file(&path)
                .map_err(|e| format!("tls.key {}: {e}", path.display()))?;
            Some((certs(c)?, key))
        }
        (None, None) => None,
        _ => return Err("tls: `cert` and `key` go together".into()),
    };
    crate::integration::tls_config(roots, client_auth)
}

/// `{"instances": ["host:port", {"url": ..., "weight": ...}]}`.
fn read_registry(path: &std::path::Path) -> Result<Vec<Instance>, String> {
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

type DnsResolver = hickory_resolver::Resolver<hickory_resolver::net::runtime::TokioRuntimeProvider>;

/// A resolver: the given name server, or the system's configuration.
fn dns_resolver(d: &crate::spec::extensions::DnsExt) -> Result<DnsResolver, String> {
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
async fn resolve(
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
async fn dns_loop(pool: Weak<Pool>, d: crate::spec::extensions::DnsExt, mut next: Instant) {
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
async fn etcd_range(
    client: &crate::integration::HttpClient,
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
async fn etcd_loop(
    pool: Weak<Pool>,
    e: crate::spec::extensions::EtcdExt,
    client: crate::integration::HttpClient,
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
async fn registry_loop(pool: Weak<Pool>, path: PathBuf) {
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

/// Probe every instance each interval; `unhealthy_threshold` failures in a row take one out,
/// `healthy_threshold` successes bring it back.
async fn health_loop(pool: Weak<Pool>, hc: HealthCheckExt, client: crate::integration::HttpClient) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(balance: BalanceAlgorithm, instances: &[(&str, u32)]) -> Pool {
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
        Pool::new("svc", &ext, std::path::Path::new(".")).expect("pool")
    }

    fn counts(p: &Pool, n: usize, key: impl Fn(usize) -> String) -> Vec<(String, usize)> {
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
