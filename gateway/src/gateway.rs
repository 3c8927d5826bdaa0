//! The gateway: a set of served APIs behind one listener, and the entry point a server calls for
//! each request.
//!
//! A request goes through the front door ([`crate::front`]: admission, edge, stage, CORS
//! preflight, route), then the phases ([`crate::pipeline`]). Whatever stops it on the way comes
//! back here as a [`GatewayError`] and becomes a response in one place ([`crate::responses`]);
//! every request, answered or refused, then gets API Gateway's own headers and the completion
//! hook (access log, metrics, traces).
//!
//! What a hot reload changes is [`Served`] (the APIs, and the API keys and plans loaded with
//! them); the settings and services stay.

use std::collections::HashMap;
use std::sync::Arc;

use http::{Request, Response};
use http_body_util::{BodyExt, Limited};

use crate::body::Body;
use crate::config::GatewayConfig;
use crate::context::{ClientCert, ConnInfo, RequestContext};
use crate::error::GatewayError;
use crate::front::{admission, cors, edge, select};
use crate::model::ResolvedApi;
use crate::observability::{CompletionBody, CompletionSink};
use crate::phase::Phase;
use crate::phases::{method_response, AwsPhases, Env};
use crate::request::{parse_query, MethodRequest};
use crate::services::Services;
use crate::spec::ApiKind;
use crate::usage::UsageConfig;
use crate::{pipeline, responses, MAX_BODY_BYTES};

/// What the gateway serves: the APIs, and the API keys and usage plans that go with them. A hot
/// reload replaces it whole.
#[derive(Debug, Clone, Default)]
pub struct Served {
    apis: Vec<Arc<ResolvedApi>>,
    by_host: HashMap<String, usize>,
    usage: UsageConfig,
}

impl Served {
    pub fn new(apis: Vec<ResolvedApi>, usage: UsageConfig) -> Self {
        let apis: Vec<Arc<ResolvedApi>> = apis.into_iter().map(Arc::new).collect();
        let by_host = apis
            .iter()
            .enumerate()
            .map(|(i, a)| (a.name.to_ascii_lowercase(), i))
            .collect();
        Self {
            apis,
            by_host,
            usage,
        }
    }

    pub fn apis(&self) -> &[Arc<ResolvedApi>] {
        &self.apis
    }

    pub fn usage(&self) -> &UsageConfig {
        &self.usage
    }
}

pub struct Gateway {
    config: Arc<GatewayConfig>,
    services: Arc<Services>,
    served: Arc<Served>,
    /// Called once per request after its response is finished (access log, metrics, traces).
    on_complete: Option<CompletionSink>,
}

/// How far a request got: the API it reached, and whether a route of it matched.
#[derive(Default)]
struct Reached {
    api: Option<Arc<ResolvedApi>>,
    routed: bool,
}

impl Gateway {
    pub fn new(
        config: GatewayConfig,
        services: Services,
        served: Served,
        on_complete: Option<CompletionSink>,
    ) -> Self {
        Self {
            config: Arc::new(config),
            services: Arc::new(services),
            served: Arc::new(served),
            on_complete,
        }
    }

    /// This gateway serving `served` instead: what a hot reload swaps in. Settings, services and
    /// the completion hook are shared.
    pub fn reloaded(&self, served: Served) -> Gateway {
        Gateway {
            config: Arc::clone(&self.config),
            services: Arc::clone(&self.services),
            served: Arc::new(served),
            on_complete: self.on_complete.clone(),
        }
    }

    pub fn apis(&self) -> &[Arc<ResolvedApi>] {
        self.served.apis()
    }

    pub fn config(&self) -> &GatewayConfig {
        &self.config
    }

    /// Usage-store operations that failed so far.
    pub fn usage_store_failures(&self) -> u64 {
        self.services
            .usage_store_failures
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Each API key against each of its plans: the plan's limits and this period's quota use
    /// (read from the usage store).
    pub async fn usage_report(&self) -> Vec<serde_json::Value> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let usage = &self.served.usage;
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

    /// Routes that two APIs both define, which only host-based selection can tell apart:
    /// `(shadowed api, route key, winning api)`.
    pub fn shadowed_routes(&self) -> Vec<(String, String, String)> {
        let mut seen: HashMap<(String, String), String> = HashMap::new();
        let mut out = Vec::new();
        for api in self.apis() {
            for r in &api.routes {
                let key = (
                    if self.config.stage_in_path {
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

    /// Serve one request.
    pub async fn handle(&self, req: Request<Body>, conn: ConnInfo) -> Response<Body> {
        let (parts, body) = req.into_parts();
        let mut ctx = RequestContext::new(&parts.method, parts.uri.path(), &parts.headers, conn);
        ctx.capture_exchanges = self.config.capture_exchanges;
        // The server puts an mTLS connection's client certificate on each request.
        ctx.client_cert = parts.extensions.get::<Arc<ClientCert>>().cloned();
        // HTTP/2 requests carry the host in the URI's authority rather than a Host header.
        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .or(parts.uri.host())
            .map(str::to_string);
        let mut request = MethodRequest {
            path_and_query: parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/".into()),
            method: parts.method,
            path: parts.uri.path().to_string(),
            raw_query: parts.uri.query().map(str::to_string),
            query: parse_query(parts.uri.query()),
            headers: parts.headers,
            path_params: Vec::new(),
            body: Some(Limited::new(body, MAX_BODY_BYTES).boxed()),
        };
        let served = Arc::clone(&self.served);
        let mut reached = Reached::default();
        let outcome = self
            .serve(
                &served,
                host.as_deref(),
                &mut ctx,
                &mut request,
                &mut reached,
            )
            .await;
        let mut resp = match outcome {
            Ok(r) => r,
            // The one place an error becomes a response.
            Err(e) => {
                if e.is_server_fault() {
                    tracing::warn!(
                        request_id = %ctx.request_id,
                        route = ctx.route_key.as_deref().unwrap_or("-"),
                        api = ctx.api_name.as_deref().unwrap_or("-"),
                        "{e}"
                    );
                } else {
                    tracing::debug!(request_id = %ctx.request_id, "{e}");
                }
                responses::render(
                    &e,
                    reached.api.as_deref(),
                    &mut ctx,
                    &request.headers,
                    &request.query,
                )
            }
        };
        if let (true, Some(cfg)) = (
            reached.routed,
            reached.api.as_ref().and_then(|a| a.cors.as_ref()),
        ) {
            cors::decorate(cfg, &request.headers, &mut resp);
        }
        self.finish(ctx, resp)
    }

    /// The front door, then the phases. Notes how far the request got in `reached`.
    async fn serve(
        &self,
        served: &Served,
        host: Option<&str>,
        ctx: &mut RequestContext,
        request: &mut MethodRequest,
        reached: &mut Reached,
    ) -> Result<Response<Body>, GatewayError> {
        let stop = |ctx: &mut RequestContext, phase: Phase, e: GatewayError| {
            ctx.answered_by = Some(phase);
            e
        };
        admission::admit(&self.config, &self.services, ctx)
            .await
            .map_err(|e| stop(ctx, Phase::Admission, e))?;
        edge::check(&request.headers).map_err(|e| stop(ctx, Phase::Edge, e))?;

        let candidates = select::candidates(&served.apis, &served.by_host, host);
        let staged = select::stages(&candidates, self.config.stage_in_path, &request.path)
            .map_err(|e| {
                ctx.api_kind = Some(candidates.first().map(|a| a.kind).unwrap_or(ApiKind::Rest));
                stop(ctx, Phase::Stage, e)
            })?;

        // HTTP API CORS: the gateway answers preflight itself, before routing (aws-behaviour §10).
        for (api, _) in &staged {
            if let Some(cfg) = &api.cors {
                if let Some(resp) = cors::preflight(cfg, &request.method, &request.headers) {
                    self.enter_api(ctx, api);
                    ctx.answered_by = Some(Phase::Cors);
                    return Ok(resp);
                }
            }
        }

        let Some((api, path, hit)) = select::route(&staged, &request.method) else {
            let api = Arc::clone(&staged[0].0);
            self.enter_api(ctx, &api);
            let e = select::no_route(api.kind);
            reached.api = Some(api);
            return Err(stop(ctx, Phase::Route, e));
        };
        self.enter_api(ctx, &api);
        reached.api = Some(Arc::clone(&api));
        reached.routed = true;
        let route = &api.routes[hit.route];
        ctx.resource_path = Some(route.resource_path.clone());
        ctx.route_key = Some(route.route_key.clone());
        ctx.operation_name = route.operation_name.clone();
        ctx.path_params = hit.params.clone();
        request.path = path;
        request.path_params = hit.params;
        let env = Env {
            config: &self.config,
            services: &self.services,
            usage: &served.usage,
            api: &api,
            route,
        };
        pipeline::run(&AwsPhases, &env, ctx, request).await
    }

    fn enter_api(&self, ctx: &mut RequestContext, api: &ResolvedApi) {
        ctx.api_name = Some(api.name.clone());
        ctx.api_id = Some(api.api_id.clone());
        ctx.api_kind = Some(api.kind);
        ctx.stage = Some(api.stage.name.clone());
        ctx.stage_variables = api.stage.variables.clone();
        ctx.access_log_format = api.access_log_format.clone();
        // $context.path carries the stage on REST APIs whichever URL style served the request.
        if api.kind == ApiKind::Rest && !self.config.stage_in_path {
            ctx.path = format!("/{}{}", api.stage.name, ctx.path);
        }
    }

    /// API Gateway's own headers on every response, `Retry-After` if asked for, and the
    /// completion hook once the body has gone out.
    fn finish(&self, mut ctx: RequestContext, mut resp: Response<Body>) -> Response<Body> {
        ctx.status = resp.status().as_u16();
        method_response::decorate(ctx.api_kind.unwrap_or(ApiKind::Rest), &ctx, &mut resp);
        if self.config.retry_after && ctx.status == 429 {
            if let Some(secs) = ctx.retry_after {
                resp.headers_mut()
                    .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
            }
        }
        match &self.on_complete {
            Some(sink) => {
                resp.map(|b| crate::body::boxed(CompletionBody::new(b, ctx, Arc::clone(sink))))
            }
            None => resp,
        }
    }
}
