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

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use http::{Request, Response};
use http_body_util::{BodyExt, Limited};

use crate::body::Body;
use crate::config::GatewayConfig;
use crate::context::{ClientCert, ConnInfo, RequestContext};
use crate::error::GatewayError;
use crate::front::{admission, cors, edge, path, select};
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

/// A route one API declares that an earlier API on the same port also declares, and answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShadowedRoute {
    pub api: String,
    /// What reaches `api` itself: `Host: <host_label>.localhost`.
    pub host_label: String,
    pub route: String,
    pub winner: String,
}

impl Served {
    pub fn new(apis: Vec<ResolvedApi>, usage: UsageConfig) -> Self {
        let apis: Vec<Arc<ResolvedApi>> = apis.into_iter().map(Arc::new).collect();
        let by_host = apis
            .iter()
            .enumerate()
            .map(|(i, a)| (a.host_label(), i))
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

    /// The API keys and usage plans being served.
    pub fn usage(&self) -> &UsageConfig {
        &self.served.usage
    }

    /// Usage-store operations that failed so far.
    pub fn usage_store_failures(&self) -> u64 {
        self.services
            .usage_store_failures
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether the usage store's circuit breaker is open (calls refused without trying).
    pub fn usage_store_circuit_open(&self) -> bool {
        self.services.usage_store.circuit_open()
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

    /// Routes that two APIs both define, which only host-based selection can tell apart.
    pub fn shadowed_routes(&self) -> Vec<ShadowedRoute> {
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
                    Some(first) => out.push(ShadowedRoute {
                        api: api.name.clone(),
                        host_label: api.host_label(),
                        route: r.route_key.clone(),
                        winner: first.clone(),
                    }),
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
        let (mut parts, body) = req.into_parts();
        // Boxed: the context is over a kilobyte, and it is moved into the response's body and
        // lives across every await of the request's future, which is moved as a whole.
        let mut ctx = Box::new(RequestContext::new(
            &parts.method,
            parts.uri.path(),
            &parts.headers,
            conn,
        ));
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
        let version = parts.version;
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
            // The emulator's server reads the client's spelling off the HTTP/1 wire.
            header_case: parts
                .extensions
                .remove::<crate::request::HeaderCase>()
                .unwrap_or_default(),
            path_params: Vec::new(),
            // A request without a body (most GETs) needs neither the size limit nor the read
            // deadline, nor the three allocations and the timer they cost.
            body: Some(if http_body::Body::is_end_stream(&body) {
                body
            } else {
                crate::body::deadline(
                    Limited::new(body, MAX_BODY_BYTES).boxed(),
                    self.config.body_timeout,
                )
            }),
        };
        let served = Arc::clone(&self.served);
        let mut reached = Reached::default();
        let outcome = self
            .serve(
                &served,
                version,
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
        version: http::Version,
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
        edge::check(version, &request.headers).map_err(|e| stop(ctx, Phase::Edge, e))?;

        let normalized = match path::normalize(&request.path) {
            Ok(Cow::Owned(p)) => Some(p),
            Ok(Cow::Borrowed(_)) => None,
            Err(e) => return Err(stop(ctx, Phase::Edge, e)),
        };
        if let Some(p) = normalized {
            request.path = p;
        }
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
        ctx.stage_variables = Arc::clone(&api.stage.variables);
        ctx.access_log_format = api.access_log_format.clone();
        // $context.path carries the stage on REST APIs whichever URL style served the request.
        if api.kind == ApiKind::Rest && !self.config.stage_in_path {
            let mut path = String::with_capacity(1 + api.stage.name.len() + ctx.path.len());
            path.push('/');
            path.push_str(&api.stage.name);
            path.push_str(&ctx.path);
            ctx.path = path;
        }
    }

    /// API Gateway's own headers on every response, `Retry-After` if asked for, and the
    /// completion hook once the body has gone out.
    fn finish(&self, mut ctx: Box<RequestContext>, mut resp: Response<Body>) -> Response<Body> {
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

#[cfg(test)]
mod tests {
    //! Every edge of the front door (docs/pipeline.md) and the one rescue point, in process: a
    //! real gateway over small APIs, a request in, a response and its completion out.

    use std::sync::Mutex;

    use super::*;
    use crate::compile::testing::api;
    use crate::usage::Throttle;

    const REST: &str = r#"
openapi: 3.0.1
info: {title: rest, version: "1"}
x-tollgate-policies:
  - setHeaders: {response: {x-chain: ran}}
paths:
  /things:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses: {default: {statusCode: "200", responseTemplates: {application/json: '{"ok":true}'}}}
  /teapot:
    get:
      responses: {"200": {description: ok}}
      x-tollgate-policies:
        - respond: {status: 418, body: short and stout}
      x-amazon-apigateway-integration:
        type: mock
        responses: {default: {statusCode: "200"}}
  /broken:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 404}'}
        responses: {"2\\d{2}": {statusCode: "200"}}
"#;

    const HTTP: &str = r#"
openapi: 3.0.1
info: {title: http, version: "1"}
x-amazon-apigateway-importexport-version: "1.0"
x-amazon-apigateway-cors:
  allowOrigins: ["https://example.com"]
  allowMethods: [GET]
paths:
  /items:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: GET
        uri: http://127.0.0.1:9/items
        payloadFormatVersion: "1.0"
"#;

    type Seen = Arc<Mutex<Vec<(u16, Option<Phase>)>>>;

    fn gateway(config: GatewayConfig, apis: &[(&str, &str)]) -> (Gateway, Seen) {
        let seen: Seen = Arc::default();
        let sink_seen = Arc::clone(&seen);
        let sink: CompletionSink = Arc::new(move |ctx: &RequestContext| {
            if let Ok(mut s) = sink_seen.lock() {
                s.push((ctx.status, ctx.answered_by));
            }
        });
        let apis = apis.iter().map(|(n, y)| api(n, y)).collect();
        let g = Gateway::new(
            config,
            Services::default(),
            Served::new(apis, UsageConfig::default()),
            Some(sink),
        );
        (g, seen)
    }

    fn request(method: &str, uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
        let mut b = Request::builder().method(method).uri(uri);
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            b = b.header("host", "localhost");
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(crate::body::empty()).expect("request")
    }

    fn conn() -> ConnInfo {
        ConnInfo {
            remote: "127.0.0.1:40000".parse().expect("addr"),
            local: "127.0.0.1:3000".parse().expect("addr"),
            tls: false,
        }
    }

    /// Send one request; the status, headers, body, and the phase that answered.
    async fn send(
        g: &Gateway,
        seen: &Seen,
        req: Request<Body>,
    ) -> (u16, http::HeaderMap, String, Option<Phase>) {
        let resp = g.handle(req, conn()).await;
        let (parts, body) = resp.into_parts();
        let bytes = body.collect().await.expect("body").to_bytes();
        let answered = seen
            .lock()
            .expect("lock")
            .pop()
            .expect("the completion hook ran")
            .1;
        (
            parts.status.as_u16(),
            parts.headers,
            String::from_utf8_lossy(&bytes).into_owned(),
            answered,
        )
    }

    #[tokio::test]
    async fn a_routed_mock_answers_with_aws_headers() {
        let (g, seen) = gateway(GatewayConfig::default(), &[("Rest", REST)]);
        let (status, headers, body, by) = send(&g, &seen, request("GET", "/things", &[])).await;
        assert_eq!((status, body.as_str(), by), (200, r#"{"ok":true}"#, None));
        assert!(headers.contains_key("x-amzn-requestid"));
        assert_eq!(headers["x-amz-apigw-id"].len(), 16);
        assert_eq!(
            headers["x-chain"], "ran",
            "the API's filter chain ran on the way out"
        );
    }

    #[tokio::test]
    async fn the_edge_refuses_a_declared_body_over_10_mb() {
        let (g, seen) = gateway(GatewayConfig::default(), &[("Rest", REST)]);
        let (status, headers, body, by) = send(
            &g,
            &seen,
            request("GET", "/things", &[("content-length", "10485761")]),
        )
        .await;
        assert_eq!(status, 413);
        assert_eq!(body, "HTTP content length exceeded 10485760 bytes.");
        assert_eq!(headers["content-type"], "text; charset=utf-8");
        assert_eq!(by, Some(Phase::Edge));
    }

    #[tokio::test]
    async fn admission_throttles_a_flooding_address() {
        let config = GatewayConfig {
            ip_limit: Some(Throttle {
                rate_limit: 0.001,
                burst_limit: 1,
            }),
            ..Default::default()
        };
        let (g, seen) = gateway(config, &[("Rest", REST)]);
        assert_eq!(send(&g, &seen, request("GET", "/things", &[])).await.0, 200);
        let (status, headers, body, by) = send(&g, &seen, request("GET", "/things", &[])).await;
        assert_eq!(
            (status, body.as_str()),
            (429, r#"{"message":"Too Many Requests"}"#)
        );
        assert_eq!(headers["x-amzn-errortype"], "TooManyRequestsException");
        assert_eq!(by, Some(Phase::Admission));
    }

    #[tokio::test]
    async fn an_unknown_stage_is_403_on_rest_and_404_on_http_apis() {
        let config = GatewayConfig {
            stage_in_path: true,
            ..Default::default()
        };
        let (g, seen) = gateway(config.clone(), &[("Rest", REST)]);
        let (status, _, body, by) = send(&g, &seen, request("GET", "/Nope/things", &[])).await;
        assert_eq!((status, body.as_str()), (403, r#"{"message":"Forbidden"}"#));
        assert_eq!(by, Some(Phase::Stage));
        let (status, _, body, _) = send(&g, &seen, request("GET", "/Prod/things", &[])).await;
        assert_eq!((status, body.as_str()), (200, r#"{"ok":true}"#));

        let mut http = api("Http", HTTP);
        http.stage.name = "live".into();
        let g = Gateway::new(
            config,
            Services::default(),
            Served::new(vec![http], UsageConfig::default()),
            g.on_complete.clone(),
        );
        let (status, headers, body, by) =
            send(&g, &seen, request("GET", "/other/items", &[])).await;
        assert_eq!((status, body.as_str()), (404, r#"{"message":"Not Found"}"#));
        assert!(headers.contains_key("apigw-requestid"));
        assert_eq!(by, Some(Phase::Stage));
    }

    #[tokio::test]
    async fn no_route_is_missing_authentication_token_on_rest_and_not_found_on_http() {
        let (g, seen) = gateway(GatewayConfig::default(), &[("Rest", REST)]);
        let (status, headers, body, by) = send(&g, &seen, request("GET", "/nope", &[])).await;
        assert_eq!(
            (status, body.as_str()),
            (403, r#"{"message":"Missing Authentication Token"}"#)
        );
        assert_eq!(
            headers["x-amzn-errortype"],
            "MissingAuthenticationTokenException"
        );
        assert_eq!(by, Some(Phase::Route));
        let (g, seen) = gateway(GatewayConfig::default(), &[("Http", HTTP)]);
        let (status, _, body, by) = send(&g, &seen, request("DELETE", "/items", &[])).await;
        assert_eq!((status, body.as_str()), (404, r#"{"message":"Not Found"}"#));
        assert_eq!(by, Some(Phase::Route));
    }

    #[tokio::test]
    async fn an_http_api_answers_cors_preflight_before_routing() {
        let (g, seen) = gateway(GatewayConfig::default(), &[("Http", HTTP)]);
        let (status, headers, _, by) = send(
            &g,
            &seen,
            request(
                "OPTIONS",
                "/anything/at/all",
                &[
                    ("origin", "https://example.com"),
                    ("access-control-request-method", "GET"),
                ],
            ),
        )
        .await;
        assert_eq!(status, 204);
        assert_eq!(
            headers["access-control-allow-origin"],
            "https://example.com"
        );
        assert_eq!(by, Some(Phase::Cors));
    }

    #[tokio::test]
    async fn a_policy_answer_short_circuits_the_integration() {
        let (g, seen) = gateway(GatewayConfig::default(), &[("Rest", REST)]);
        let (status, headers, body, by) = send(&g, &seen, request("GET", "/teapot", &[])).await;
        assert_eq!((status, body.as_str()), (418, "short and stout"));
        assert_eq!(
            headers["x-chain"], "ran",
            "response sides run on a policy's answer"
        );
        assert_eq!(by, Some(Phase::Policies));
    }

    #[tokio::test]
    async fn a_phase_fault_is_rendered_once_with_the_apis_shape() {
        // No integration response matches 404 and there is no default: API Gateway's 500.
        let (g, seen) = gateway(GatewayConfig::default(), &[("Rest", REST)]);
        let (status, headers, body, by) = send(&g, &seen, request("GET", "/broken", &[])).await;
        assert_eq!(
            (status, body.as_str()),
            (500, r#"{"message": "Internal server error"}"#)
        );
        assert_eq!(headers["x-amzn-errortype"], "InternalServerErrorException");
        assert_eq!(by, Some(Phase::IntegrationResponse));
        // An unreachable backend on an HTTP API: 500 in the HTTP API's own words.
        let (g, seen) = gateway(GatewayConfig::default(), &[("Http", HTTP)]);
        let (status, _, body, by) = send(&g, &seen, request("GET", "/items", &[])).await;
        assert_eq!(
            (status, body.as_str()),
            (500, r#"{"message":"Internal Server Error"}"#)
        );
        assert_eq!(by, Some(Phase::Integration));
    }
}
