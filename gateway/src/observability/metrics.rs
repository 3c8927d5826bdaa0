//! Prometheus metrics: what the gateway did, per API, route, method and status; how long each
//! phase took (labelled `stage`, the metric's published name); who was throttled or over quota; usage-store failures; upstream health. Requests
//! are recorded once each, when their response completes (rejected ones included); the rest is
//! read when the metrics are scraped.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::context::RequestContext;
use crate::model::{ResolvedApi, RouteAuth};
use crate::spec::extensions::ResponseType;

type Labels = Vec<(String, String)>;

fn latency_histogram() -> Histogram {
    // 100 µs to ~6.5 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 17))
}

pub struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    latency: Family<Labels, Histogram, fn() -> Histogram>,
    stage_latency: Family<Labels, Histogram, fn() -> Histogram>,
    usage_rejections: Family<Labels, Counter>,
    answered_by: Family<Labels, Counter>,
    store_failures: Counter,
    store_circuit_open: Gauge,
    upstream_up: Family<Labels, Gauge>,
    upstream_ejected: Family<Labels, Gauge>,
    upstream_ejections: Family<Labels, Gauge>,
    authorizer_cache: Family<Labels, Gauge>,
    function_instances: Family<Labels, Gauge>,
    function_cold_starts: Family<Labels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("tollgate");
        let requests = Family::<Labels, Counter>::default();
        registry.register(
            "requests",
            "Requests by API, route, method and status",
            requests.clone(),
        );
        let latency: Family<Labels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "request_duration_seconds",
            "Time from request to response, by API and route",
            latency.clone(),
        );
        let stage_latency: Family<Labels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "stage_duration_seconds",
            "Time spent in each pipeline stage",
            stage_latency.clone(),
        );
        let usage_rejections = Family::<Labels, Counter>::default();
        registry.register(
            "usage_plan_rejections",
            "Requests refused by usage plans: throttled or over quota, by API key",
            usage_rejections.clone(),
        );
        let answered_by = Family::<Labels, Counter>::default();
        registry.register(
            "short_circuits",
            "Requests answered before the integration, by the stage that answered",
            answered_by.clone(),
        );
        let store_failures = Counter::default();
        registry.register(
            "usage_store_failures",
            "Usage-store operations that failed (the request then passed, or with --usage-store-fail-closed was refused)",
            store_failures.clone(),
        );
        let store_circuit_open = Gauge::default();
        registry.register(
            "usage_store_circuit_open",
            "1 while the usage store's circuit breaker refuses calls without trying (the store failed repeatedly)",
            store_circuit_open.clone(),
        );
        let upstream_up = Family::<Labels, Gauge>::default();
        registry.register(
            "upstream_instance_healthy",
            "1 while an upstream instance passes its health checks",
            upstream_up.clone(),
        );
        let upstream_ejected = Family::<Labels, Gauge>::default();
        registry.register(
            "upstream_instance_ejected",
            "1 while outlier detection keeps an upstream instance out of its pool",
            upstream_ejected.clone(),
        );
        let upstream_ejections = Family::<Labels, Gauge>::default();
        registry.register(
            "upstream_ejections",
            "Times outlier detection ejected an instance of the upstream",
            upstream_ejections.clone(),
        );
        let authorizer_cache = Family::<Labels, Gauge>::default();
        registry.register(
            "authorizer_cache_lookups",
            "Lambda authorizer cache lookups, by result (hit or miss)",
            authorizer_cache.clone(),
        );
        let function_instances = Family::<Labels, Gauge>::default();
        registry.register(
            "function_instances",
            "Lambda function processes, by state (idle or busy)",
            function_instances.clone(),
        );
        let function_cold_starts = Family::<Labels, Gauge>::default();
        registry.register(
            "function_cold_starts",
            "Lambda function processes started to serve a request",
            function_cold_starts.clone(),
        );
        Metrics {
            authorizer_cache,
            function_instances,
            function_cold_starts,
            registry,
            requests,
            latency,
            stage_latency,
            usage_rejections,
            answered_by,
            store_failures,
            store_circuit_open,
            upstream_up,
            upstream_ejected,
            upstream_ejections,
        }
    }

    /// Count one finished request.
    pub fn record(&self, ctx: &RequestContext) {
        let api = ctx.api_name.clone().unwrap_or_else(|| "-".into());
        let route = ctx.resource_path.clone().unwrap_or_else(|| "-".into());
        self.requests
            .get_or_create(&vec![
                ("api".into(), api.clone()),
                ("route".into(), route.clone()),
                ("method".into(), ctx.http_method.clone()),
                ("status".into(), ctx.status.to_string()),
            ])
            .inc();
        self.latency
            .get_or_create(&vec![("api".into(), api.clone()), ("route".into(), route)])
            .observe(ctx.start.elapsed().as_secs_f64());
        for t in &ctx.timings {
            self.stage_latency
                .get_or_create(&vec![("stage".into(), t.phase.as_str().to_string())])
                .observe(t.elapsed().as_secs_f64());
        }
        if let Some(phase) = ctx.answered_by {
            self.answered_by
                .get_or_create(&vec![("stage".into(), phase.as_str().to_string())])
                .inc();
        }
        let reason = match ctx.error.as_ref().and_then(|e| e.response_type) {
            Some(ResponseType::Throttled) => Some("throttled"),
            Some(ResponseType::QuotaExceeded) => Some("quota"),
            _ => None,
        };
        if let Some(reason) = reason {
            let key = ctx
                .api_key_id
                .clone()
                .or_else(|| ctx.api_key.clone())
                .unwrap_or_else(|| "-".into());
            self.usage_rejections
                .get_or_create(&vec![
                    ("api".into(), api),
                    ("key".into(), key),
                    ("reason".into(), reason.into()),
                ])
                .inc();
        }
    }

    /// A function pool's state, set by the process host at scrape time.
    pub fn set_function(&self, function: &str, idle: usize, busy: usize, cold_starts: u64) {
        for (state, n) in [("idle", idle), ("busy", busy)] {
            self.function_instances
                .get_or_create(&vec![
                    ("function".to_string(), function.to_string()),
                    ("state".to_string(), state.to_string()),
                ])
                .set(n as i64);
        }
        self.function_cold_starts
            .get_or_create(&vec![("function".to_string(), function.to_string())])
            .set(cold_starts as i64);
    }

    /// The Prometheus text exposition, with the scrape-time values read from the served APIs
    /// (authorizer caches, upstream pools) and the usage store's failure count.
    pub fn render(
        &self,
        apis: &[Arc<ResolvedApi>],
        usage_store_failures: u64,
        usage_store_circuit_open: bool,
    ) -> String {
        self.store_circuit_open
            .set(i64::from(usage_store_circuit_open));
        let failures = usage_store_failures;
        let seen = self.store_failures.get();
        if failures > seen {
            self.store_failures.inc_by(failures - seen);
        }
        for api in apis {
            let mut seen_authorizers = std::collections::HashSet::new();
            for route in &api.routes {
                if let RouteAuth::Lambda(a) = &route.auth {
                    if !seen_authorizers.insert(a.name.clone()) {
                        continue;
                    }
                    let (hits, misses) = a.cache.stats();
                    for (result, n) in [("hit", hits), ("miss", misses)] {
                        self.authorizer_cache
                            .get_or_create(&vec![
                                ("api".to_string(), api.name.clone()),
                                ("authorizer".to_string(), a.name.clone()),
                                ("result".to_string(), result.to_string()),
                            ])
                            .set(n as i64);
                    }
                }
            }
            for (name, pool) in &api.upstreams {
                let now = std::time::Instant::now();
                for i in pool.instances() {
                    let labels = vec![
                        ("upstream".to_string(), name.clone()),
                        ("instance".to_string(), i.base.clone()),
                    ];
                    self.upstream_up
                        .get_or_create(&labels)
                        .set(i64::from(i.is_healthy()));
                    self.upstream_ejected
                        .get_or_create(&labels)
                        .set(i64::from(i.is_ejected(now)));
                }
                self.upstream_ejections
                    .get_or_create(&vec![("upstream".to_string(), name.clone())])
                    .set(pool.ejections.load(Ordering::Relaxed) as i64);
            }
        }
        let mut out = String::new();
        let _ = encode(&mut out, &self.registry);
        out
    }
}
