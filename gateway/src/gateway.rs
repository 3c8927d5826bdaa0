//! The gateway: a set of resolved APIs behind one listener, and the entry point a server calls
//! for each request.
//!
//! Selection order: API by host (`<name>.localhost` picks one API of a multi-API template), then
//! stage (with `--stage-in-path`, the first path segment must name the API's stage), then route.
//! Errors before a route is found are rendered here, with the same gateway-response rules as the
//! stages use.

use std::collections::HashMap;
use std::sync::Arc;

use http::{Request, Response};
use http_body_util::{BodyExt, Limited};

use crate::access_log::{CompletionBody, CompletionSink};
use crate::api::ResolvedApi;
use crate::body::Body;
use crate::context::{ConnInfo, RequestContext};
use crate::gateway_response::{self, GatewayError};
use crate::method_request::{parse_query, MethodRequest};
use crate::pipeline::{self, Services};
use crate::spec::{ApiKind, RouteMethod};
use crate::usage::UsageStore;
use crate::{method_response, MAX_BODY_BYTES};

#[derive(Debug, Clone, Default)]
pub struct GatewayOptions {
    /// Serve `/{stage}/path` URLs as AWS does, instead of SAM CLI's root-path style.
    pub stage_in_path: bool,
    /// tollgate's coarse per-client-IP limit, checked before anything else (beyond AWS).
    pub ip_limit: Option<crate::usage::Throttle>,
    /// Add `Retry-After` to 429 answers (AWS sends none; off by default).
    pub retry_after: bool,
}

pub struct Gateway {
    apis: Vec<Arc<ResolvedApi>>,
    by_host: HashMap<String, usize>,
    options: GatewayOptions,
    services: Services,
    sink: Option<CompletionSink>,
    /// Per-client-IP buckets for the admission limit (this process only, by design).
    ip_buckets: Arc<crate::usage::MemoryStore>,
    /// Keep each integration call's request and response on the context (the dashboard's view).
    capture_exchanges: bool,
}

impl Gateway {
    pub fn new(apis: Vec<ResolvedApi>, options: GatewayOptions) -> Self {
        let apis: Vec<Arc<ResolvedApi>> = apis.into_iter().map(Arc::new).collect();
        let by_host = apis
            .iter()
            .enumerate()
            .map(|(i, a)| (a.name.to_ascii_lowercase(), i))
            .collect();
        Self {
            apis,
            by_host,
            options,
            services: Services::default(),
            sink: None,
            ip_buckets: Default::default(),
            capture_exchanges: false,
        }
    }

    /// A gateway serving `apis` with this one's services, options and completion sink: what a
    /// hot reload swaps in.
    pub fn reloaded(&self, apis: Vec<ResolvedApi>) -> Gateway {
        let mut g = Gateway::new(apis, self.options.clone());
        g.services = self.services.clone();
        g.sink = self.sink.clone();
        g.ip_buckets = Arc::clone(&self.ip_buckets);
        g.capture_exchanges = self.capture_exchanges;
        g
    }

    /// Keep what each integration call sent and got (a Lambda event and response, an upstream's
    /// request and response head) on the request context, for whoever reads it at completion.
    pub fn with_capture_exchanges(mut self, on: bool) -> Self {
        self.capture_exchanges = on;
        self
    }

    /// Call `sink` once per request after its response is finished (access log, metrics).
    pub fn with_completion_sink(mut self, sink: CompletionSink) -> Self {
        self.sink = Some(sink);
        self
    }

    /// Where JWT and Cognito authorizers get their keys (overrides by issuer).
    pub fn with_jwks(mut self, jwks: Arc<crate::jwks::JwksRegistry>) -> Self {
        self.services.jwks = jwks;
        self
    }

    /// Clock skew allowed on JWT time claims.
    pub fn with_jwt_leeway(mut self, seconds: u64) -> Self {
        self.services.jwt_leeway = seconds;
        self
    }

    /// API keys and usage plans, and where their counters live.
    pub fn with_usage(
        mut self,
        config: crate::usage::UsageConfig,
        store: Arc<dyn crate::usage::UsageStore>,
    ) -> Self {
        self.services.usage = Arc::new(config);
        self.services.usage_store = store;
        self
    }

    /// Refuse requests (500) when the usage store fails, instead of AWS's fail-open.
    pub fn with_usage_fail_closed(mut self, closed: bool) -> Self {
        self.services.usage_fail_closed = closed;
        self
    }

    /// The callers `AWS_IAM` routes accept (`--iam-credentials`).
    pub fn with_iam_credentials(mut self, creds: Vec<crate::sigv4::IamCredential>) -> Self {
        self.services.iam = Arc::new(creds);
        self
    }

    /// Gateway-wide policies (`--policies`), run before every API's own.
    pub fn with_filters(mut self, filters: Vec<crate::filters::Attached>) -> Self {
        self.services.filters = Arc::new(filters);
        self
    }

    /// Run Lambda integrations with `invoker`.
    pub fn with_invoker(mut self, invoker: Arc<dyn crate::invoke::Invoker>) -> Self {
        self.services.invoker = Some(invoker);
        self
    }

    /// Each API key against each of its plans: the plan's limits and this period's quota use
    /// (read from the usage store).
    pub async fn usage_report(&self) -> Vec<serde_json::Value> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let usage = &self.services.usage;
        let mut out = Vec::new();
        for key in &usage.keys {
            for plan_id in &key.plans {
                let Some(plan) = usage.plans.iter().find(|p| &p.id == plan_id) else {
                    continue;
                };
                let quota = match &plan.quota {
                    Some(q) => {
                        let (start, end) = crate::usage::period_bounds(now, q.period);
                        let used = self
                            .services
                            .usage_store
                            .used(&format!("quota|{}|{}|{start}", plan.id, key.id))
                            .await
                            .ok();
                        serde_json::json!({
                            "limit": q.limit,
                            "period": q.period,
                            "used": used,
                            "remaining": used.map(|u| q.limit.saturating_sub(u)),
                            "resetsAt": end,
                        })
                    }
                    None => serde_json::Value::Null,
                };
                out.push(serde_json::json!({
                    "key": key.id,
                    "name": key.name,
                    "enabled": key.enabled,
                    "plan": plan.id,
                    "throttle": plan.throttle,
                    "quota": quota,
                }));
            }
        }
        out
    }

    /// Usage-store operations that failed so far.
    pub fn usage_store_failures(&self) -> u64 {
        self.services
            .usage_store_failures
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn apis(&self) -> &[Arc<ResolvedApi>] {
        &self.apis
    }

    pub fn options(&self) -> &GatewayOptions {
        &self.options
    }

    /// Routes that two APIs both define, which only host-based selection can tell apart:
    /// `(shadowed api, route key, winning api)`.
    pub fn shadowed_routes(&self) -> Vec<(String, String, String)> {
        let mut seen: HashMap<(String, String), String> = HashMap::new();
        let mut out = Vec::new();
        for api in &self.apis {
            for r in &api.routes {
                let key = (
                    if self.options.stage_in_path {
                        api.stage.name.clone()
                    } else {
                        String::new()
                    },
                    r.route_key.clone(),
                );
                match seen.get(&key) {
                    Some(first) => out.push((api.name.clone(), r.route_key.clone(), first.clone())),
                    None => {
                        seen.insert(key, api.name.clone());
                    }
                }
            }
        }
        out
    }

    /// The APIs a request may reach: one, when its Host is `<api-name>.localhost[:port]`; all of
    /// them in template order otherwise.
    fn candidates(&self, host: Option<&str>) -> Vec<&Arc<ResolvedApi>> {
        if let Some(h) = host {
            let h = h.rsplit_once(':').map(|(a, _)| a).unwrap_or(h);
            if let Some(label) = h.strip_suffix(".localhost") {
                if let Some(i) = self.by_host.get(&label.to_ascii_lowercase()) {
                    return vec![&self.apis[*i]];
                }
            }
        }
        self.apis.iter().collect()
    }

    /// Serve one request.
    pub async fn handle(&self, req: Request<Body>, conn: ConnInfo) -> Response<Body> {
        let (parts, body) = req.into_parts();
        let raw_path = parts.uri.path().to_string();
        let mut ctx = RequestContext::new(&parts.method, &raw_path, &parts.headers, conn);
        ctx.capture_exchanges = self.capture_exchanges;
        // The server puts an mTLS connection's client certificate on each request.
        ctx.client_cert = parts
            .extensions
            .get::<Arc<crate::context::ClientCert>>()
            .cloned();
        let query = parse_query(parts.uri.query());

        // Admission: a coarse per-client-IP token bucket, before routing, authorizers or any
        // store, so a flood that never authenticates costs one in-memory check per request.
        if let Some(limit) = &self.options.ip_limit {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0);
            let admitted = self
                .ip_buckets
                .take_token(&ctx.source_ip, limit.rate_limit, limit.burst_limit, now)
                .await
                .unwrap_or(true);
            if !admitted {
                ctx.answered_by = Some("admission");
                ctx.retry_after = Some((1.0 / limit.rate_limit.max(0.001)).ceil() as u64);
                let resp = gateway_response::render(
                    &GatewayError::Throttled,
                    None,
                    &mut ctx,
                    &parts.headers,
                    &query,
                );
                return self.finish(ApiKind::Rest, ctx, resp);
            }
        }

        // Edge check, before anything else (facts §1 step 0): a declared body over 10 MB.
        let declared = parts
            .headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
            ctx.answered_by = Some("edge");
            let resp = gateway_response::render(
                &GatewayError::RequestTooLarge,
                None,
                &mut ctx,
                &parts.headers,
                &query,
            );
            return self.finish(ApiKind::Rest, ctx, resp);
        }
        let body: Body = Limited::new(body, MAX_BODY_BYTES).boxed();

        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .or(parts.uri.host());
        let candidates = self.candidates(host);
        let first_kind = candidates.first().map(|a| a.kind).unwrap_or(ApiKind::Rest);

        // Stage selection.
        let mut staged: Vec<(&Arc<ResolvedApi>, String)> = Vec::new();
        for api in &candidates {
            let prefixless = api.kind == ApiKind::Http && api.stage.name == "$default";
            if self.options.stage_in_path && !prefixless {
                let rest = raw_path.strip_prefix('/').unwrap_or(&raw_path);
                let (first, tail) = rest.split_once('/').unwrap_or((rest, ""));
                if first == api.stage.name {
                    staged.push((api, format!("/{tail}")));
                }
            } else {
                staged.push((api, raw_path.clone()));
            }
        }
        if staged.is_empty() {
            ctx.answered_by = Some("stage");
            ctx.api_kind = Some(first_kind);
            let err = if first_kind == ApiKind::Http {
                GatewayError::NotFound
            } else {
                GatewayError::UnknownStage
            };
            let resp = gateway_response::render(&err, None, &mut ctx, &parts.headers, &query);
            return self.finish(first_kind, ctx, resp);
        }

        // HTTP API CORS: the gateway answers preflight itself, before routing (facts §10).
        for (api, _) in &staged {
            if let Some(cfg) = &api.cors {
                if let Some(resp) = crate::cors::preflight(cfg, &parts.method, &parts.headers) {
                    let api = Arc::clone(api);
                    self.enter_api(&mut ctx, &api);
                    ctx.answered_by = Some("cors");
                    return self.finish(api.kind, ctx, resp);
                }
            }
        }

        // Routing.
        let method = RouteMethod::from_http(&parts.method);
        let found = method.and_then(|m| {
            staged.iter().find_map(|(api, path)| {
                api.router
                    .lookup(m, path)
                    .map(|hit| (Arc::clone(api), path.clone(), hit))
            })
        });
        let Some((api, path, hit)) = found else {
            let api = Arc::clone(staged[0].0);
            self.enter_api(&mut ctx, &api);
            ctx.answered_by = Some("route");
            let err = match api.kind {
                ApiKind::Rest => GatewayError::MissingAuthenticationToken,
                ApiKind::Http => GatewayError::NotFound,
            };
            let resp = gateway_response::render(&err, Some(&api), &mut ctx, &parts.headers, &query);
            return self.finish(api.kind, ctx, resp);
        };

        let route = &api.routes[hit.route];
        self.enter_api(&mut ctx, &api);
        ctx.resource_path = Some(route.resource_path.clone());
        ctx.route_key = Some(route.route_key.clone());
        ctx.operation_name = route.operation_name.clone();
        ctx.path_params = hit.params.clone();
        let mut request = MethodRequest {
            path_and_query: parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/".into()),
            method: parts.method.clone(),
            path,
            raw_query: parts.uri.query().map(str::to_string),
            query,
            headers: parts.headers,
            path_params: hit.params,
            body: Some(body),
        };
        let mut resp = match pipeline::run(&self.services, &api, route, &mut ctx, &mut request)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                if e.is_server_fault() {
                    tracing::warn!(
                        request_id = %ctx.request_id,
                        route = %route.route_key,
                        api = %api.name,
                        "{e}"
                    );
                } else {
                    tracing::debug!(request_id = %ctx.request_id, route = %route.route_key, "{e}");
                }
                gateway_response::render(&e, Some(&api), &mut ctx, &request.headers, &request.query)
            }
        };
        if let Some(cfg) = &api.cors {
            crate::cors::decorate(cfg, &request.headers, &mut resp);
        }
        self.finish(api.kind, ctx, resp)
    }

    fn enter_api(&self, ctx: &mut RequestContext, api: &ResolvedApi) {
        ctx.api_name = Some(api.name.clone());
        ctx.api_id = Some(api.api_id.clone());
        ctx.api_kind = Some(api.kind);
        ctx.stage = Some(api.stage.name.clone());
        ctx.stage_variables = api.stage.variables.clone();
        ctx.access_log_format = api.access_log_format.clone();
        // $context.path carries the stage on REST APIs whichever URL style served the request.
        if api.kind == ApiKind::Rest && !self.options.stage_in_path {
            ctx.path = format!("/{}{}", api.stage.name, ctx.path);
        }
    }

    fn finish(
        &self,
        kind: ApiKind,
        mut ctx: RequestContext,
        mut resp: Response<Body>,
    ) -> Response<Body> {
        ctx.status = resp.status().as_u16();
        method_response::decorate(kind, &ctx, &mut resp);
        if self.options.retry_after && ctx.status == 429 {
            if let Some(secs) = ctx.retry_after {
                resp.headers_mut()
                    .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
            }
        }
        match &self.sink {
            Some(sink) => {
                resp.map(|b| crate::body::boxed(CompletionBody::new(b, ctx, Arc::clone(sink))))
            }
            None => resp,
        }
    }
}
