//! Integration: call the backend. MOCK answers with the status its request template chose;
//! HTTP_PROXY sends the request through a pooled keep-alive client and streams the response back,
//! bounded by the integration's `timeoutInMillis`.

use std::time::{Duration, Instant};

use http::HeaderMap;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;

use crate::body::{self, Body};
use crate::context::RequestContext;
use crate::gateway_response::GatewayError;
use crate::integration_request::IntegrationRequest;
use crate::invoke::{InvokeError, InvokeOutcome, InvokeRequest};

/// What the integration answered.
pub struct IntegrationResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Body,
    /// The whole payload, for integrations that answer with one buffer (Lambda).
    pub payload: Option<bytes::Bytes>,
    /// The value integration responses are selected by: the status code for MOCK and HTTP, the
    /// `errorMessage` (or "") for Lambda.
    pub selection: String,
    pub kind: IntegrationKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegrationKind {
    Mock,
    HttpProxy,
    LambdaProxy(crate::integration_request::LambdaFormat),
    /// Non-proxy Lambda (`AWS`): the payload goes through the integration responses.
    Lambda,
    /// Non-proxy HTTP.
    Http,
}

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// The pooled client every HTTP integration shares (http and https; an upstream pool with its
/// own TLS settings has its own).
#[derive(Clone)]
pub struct HttpClient {
    client: Client<Connector, Body>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HttpClient")
    }
}

/// The machine's CA certificates.
pub fn native_roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    roots
}

fn provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    std::sync::Arc::new(rustls::crypto::ring::default_provider())
}

/// Verify HTTPS integrations against `roots`, presenting `client_auth` (a certificate chain and
/// key) when the upstream asks for one.
pub fn tls_config(
    roots: rustls::RootCertStore,
    client_auth: Option<(
        Vec<rustls::pki_types::CertificateDer<'static>>,
        rustls::pki_types::PrivateKeyDer<'static>,
    )>,
) -> Result<rustls::ClientConfig, String> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    match client_auth {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| format!("the client certificate and key do not match: {e}")),
        None => Ok(builder.with_no_client_auth()),
    }
}

impl Default for HttpClient {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpClient {
    /// HTTPS integrations are verified against the machine's CA certificates.
    pub fn new() -> Self {
        match tls_config(native_roots(), None) {
            Ok(config) => Self::with_tls(config),
            Err(e) => panic!("rustls with ring supports its safe defaults: {e}"),
        }
    }

    /// A client with its own TLS settings (an upstream's CA and client certificate).
    pub fn with_tls(config: rustls::ClientConfig) -> Self {
        Self::with_tls_and_connect_timeout(config, Duration::from_secs(10))
    }

    /// A client with its own TLS settings and connect timeout (an upstream pool's).
    pub fn with_tls_and_connect_timeout(config: rustls::ClientConfig, connect: Duration) -> Self {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect));
        http.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(config)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(256)
            .build(connector);
        Self { client }
    }
}

impl HttpClient {
    /// POST a JSON body and open the answer's body as a stream (etcd's watch).
    pub async fn post_stream(
        &self,
        url: &str,
        json: String,
        timeout: Duration,
    ) -> Result<hyper::body::Incoming, String> {
        let mut req = http::Request::new(body::full(json));
        *req.method_mut() = http::Method::POST;
        req.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        self.send_small(url, req, timeout).await
    }

    /// Send a request of the gateway's own (not a client's) and open a successful answer.
    async fn send_small(
        &self,
        url: &str,
        mut req: http::Request<Body>,
        timeout: Duration,
    ) -> Result<hyper::body::Incoming, String> {
        *req.uri_mut() = url.parse().map_err(|e| format!("not a URL: {e}"))?;
        let resp = tokio::time::timeout(timeout, self.client.request(req))
            .await
            .map_err(|_| format!("timed out after {timeout:?}"))?
            .map_err(|e| describe(&e))?;
        if !resp.status().is_success() {
            return Err(format!("answered {}", resp.status()));
        }
        Ok(resp.into_body())
    }

    /// Send a request of the gateway's own and read the whole answer, whatever its status
    /// (the OTLP exporter judges its collector's answers itself).
    pub async fn exchange(
        &self,
        req: http::Request<Body>,
        timeout: Duration,
        max_bytes: usize,
    ) -> Result<http::Response<bytes::Bytes>, String> {
        use http_body_util::BodyExt;
        let work = async {
            let resp = self.client.request(req).await.map_err(|e| describe(&e))?;
            let (parts, body) = resp.into_parts();
            let bytes = http_body_util::Limited::new(body, max_bytes)
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok(http::Response::from_parts(parts, bytes))
        };
        tokio::time::timeout(timeout, work)
            .await
            .map_err(|_| format!("timed out after {timeout:?}"))?
    }

    /// POST a JSON body and read the whole answer, with a time and size bound.
    pub async fn post_json(
        &self,
        url: &str,
        json: String,
        timeout: Duration,
        max_bytes: usize,
    ) -> Result<bytes::Bytes, String> {
        use http_body_util::BodyExt;
        let body = self.post_stream(url, json, timeout).await?;
        tokio::time::timeout(
            timeout,
            http_body_util::Limited::new(body, max_bytes).collect(),
        )
        .await
        .map_err(|_| format!("timed out after {timeout:?}"))?
        .map(|c| c.to_bytes())
        .map_err(|e| e.to_string())
    }

    /// A small GET (JWKS, discovery documents) with a time and size bound.
    pub async fn get(
        &self,
        url: &str,
        timeout: Duration,
        max_bytes: usize,
    ) -> Result<bytes::Bytes, String> {
        use http_body_util::BodyExt;
        let body = self
            .send_small(url, http::Request::new(body::empty()), timeout)
            .await?;
        let limited = http_body_util::Limited::new(body, max_bytes);
        tokio::time::timeout(timeout, limited.collect())
            .await
            .map_err(|_| format!("timed out after {timeout:?}"))?
            .map(|c| c.to_bytes())
            .map_err(|e| e.to_string())
    }
}

pub async fn run(
    services: &crate::pipeline::Services,
    ctx: &mut RequestContext,
    request: IntegrationRequest,
) -> Result<IntegrationResponse, GatewayError> {
    match request {
        IntegrationRequest::Lambda(l) => call_lambda(services, ctx, l).await,
        IntegrationRequest::Mock { status_code } => Ok(IntegrationResponse {
            status: status_code
                .and_then(|s| u16::try_from(s).ok())
                .unwrap_or(200),
            headers: HeaderMap::new(),
            body: body::empty(),
            payload: None,
            selection: status_code.map(|s| s.to_string()).unwrap_or_default(),
            kind: IntegrationKind::Mock,
        }),
        IntegrationRequest::Http(plan) => call_http(&services.http, ctx, plan).await,
        IntegrationRequest::Aggregate(calls) => {
            crate::aggregate::execute(services, ctx, calls).await
        }
    }
}

/// Invoke a Lambda function (proxy or not) within the integration's timeout.
pub(crate) async fn call_lambda(
    services: &crate::pipeline::Services,
    ctx: &mut RequestContext,
    l: crate::integration_request::LambdaRequest,
) -> Result<IntegrationResponse, GatewayError> {
    let Some(invoker) = &services.invoker else {
        return Err(GatewayError::Configuration(format!(
            "Lambda function {} cannot run: no Lambda runtime host is configured",
            l.function
        )));
    };
    let started = Instant::now();
    let sent = ctx
        .capture_exchanges
        .then(|| crate::context::exchange_text(&l.payload));
    let call = invoker.invoke(InvokeRequest {
        function: l.function.clone(),
        payload: l.payload,
        trace_id: ctx.trace_id.clone(),
    });
    let result = tokio::time::timeout(l.timeout, call).await;
    ctx.integration_latency = Some(started.elapsed());
    let (status, error, answer) = match &result {
        Err(_) => (None, Some(format!("timed out after {:?}", l.timeout)), None),
        Ok(Err(e)) => (None, Some(e.to_string()), None),
        Ok(Ok(InvokeOutcome::FunctionError(p))) => {
            (Some(200), Some("function error".to_string()), Some(p))
        }
        Ok(Ok(InvokeOutcome::Success(p))) => (Some(200), None, Some(p)),
    };
    let call = crate::context::Call {
        kind: "lambda",
        target: l.function.clone(),
        started: ctx.offset(started),
        elapsed: started.elapsed(),
        status,
        error,
        request: sent,
        response: answer
            .filter(|_| ctx.capture_exchanges)
            .map(|p| crate::context::exchange_text(p)),
        response_body: None,
    };
    ctx.calls.push(call);
    match result {
        Err(_) => Err(GatewayError::IntegrationTimeout(l.timeout)),
        Ok(Err(InvokeError::Throttled(f))) => Err(GatewayError::LambdaThrottled(f)),
        Ok(Err(e)) => Err(GatewayError::IntegrationFailure(e.to_string())),
        Ok(Ok(InvokeOutcome::FunctionError(payload))) if !l.proxy => {
            // Non-proxy: the error is a response like any other, selected on its
            // errorMessage (facts §7).
            ctx.integration_status = Some(200);
            Ok(IntegrationResponse {
                status: 200,
                headers: HeaderMap::new(),
                body: body::empty(),
                selection: crate::invoke::error_message(&payload),
                payload: Some(payload),
                kind: IntegrationKind::Lambda,
            })
        }
        Ok(Ok(InvokeOutcome::FunctionError(payload))) => {
            ctx.integration_status = Some(200);
            Err(GatewayError::LambdaFunctionError(
                String::from_utf8_lossy(&payload).into_owned(),
            ))
        }
        Ok(Ok(InvokeOutcome::Success(payload))) => {
            ctx.integration_status = Some(200);
            Ok(IntegrationResponse {
                status: 200,
                headers: HeaderMap::new(),
                body: body::empty(),
                payload: Some(payload),
                selection: String::new(),
                kind: if l.proxy {
                    IntegrationKind::LambdaProxy(l.format)
                } else {
                    IntegrationKind::Lambda
                },
            })
        }
    }
}

/// Send an HTTP request: to a fixed URL, or to an instance of an upstream pool.
pub(crate) async fn call_http(
    client: &HttpClient,
    ctx: &mut RequestContext,
    plan: Box<crate::integration_request::HttpRequestPlan>,
) -> Result<IntegrationResponse, GatewayError> {
    let mut plan = *plan;
    // Showing the request means holding its body; only when someone looks (the dashboard).
    let shown = if ctx.capture_exchanges {
        let bytes = read_request_body(plan.body).await?;
        plan.body = body::full(bytes.clone());
        Some(bytes)
    } else {
        None
    };
    let kind = if plan.mapped {
        IntegrationKind::Http
    } else {
        IntegrationKind::HttpProxy
    };
    if let Some((pool, key)) = plan.upstream.clone() {
        return send_to_pool(client, ctx, plan, &pool, key.as_deref(), kind, shown).await;
    }
    let mut req = http::Request::new(plan.body);
    *req.method_mut() = plan.method;
    *req.uri_mut() = plan.uri;
    *req.headers_mut() = plan.headers;
    let sent = request_head(ctx, &req, shown.as_ref());
    let started = Instant::now();
    let result = tokio::time::timeout(plan.timeout, client.client.request(req)).await;
    ctx.integration_latency = Some(started.elapsed());
    record_http(ctx, started, sent, &result);
    let resp = match result {
        Err(_) => return Err(GatewayError::IntegrationTimeout(plan.timeout)),
        Ok(Err(e)) => {
            if is_length_limit(&e) {
                return Err(GatewayError::RequestTooLarge);
            }
            return Err(GatewayError::IntegrationFailure(describe(&e)));
        }
        Ok(Ok(r)) => r,
    };
    Ok(upstream_answer(ctx, resp, kind))
}

/// An upstream's answer as the integration's response (its body streams on).
fn upstream_answer(
    ctx: &mut RequestContext,
    resp: http::Response<hyper::body::Incoming>,
    kind: IntegrationKind,
) -> IntegrationResponse {
    let (parts, incoming) = resp.into_parts();
    ctx.integration_status = Some(parts.status.as_u16());
    IntegrationResponse {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: answer_body(ctx, incoming),
        payload: None,
        selection: parts.status.as_u16().to_string(),
        kind,
    }
}

/// Send to an instance of an upstream pool: pick one, and when an idempotent request cannot
/// connect, try another (up to the pool's `retries`); connect failures and 5xx answers count
/// against the instance's outlier budget.
async fn send_to_pool(
    client: &HttpClient,
    ctx: &mut RequestContext,
    plan: crate::integration_request::HttpRequestPlan,
    pool: &std::sync::Arc<crate::upstream::Pool>,
    key: Option<&str>,
    kind: IntegrationKind,
    shown: Option<bytes::Bytes>,
) -> Result<IntegrationResponse, GatewayError> {
    pool.ready(client).await;
    // Each pool has its own client: its connect timeout and TLS settings.
    let client = pool.client().unwrap_or(client);
    let idempotent = matches!(
        plan.method,
        http::Method::GET
            | http::Method::HEAD
            | http::Method::OPTIONS
            | http::Method::PUT
            | http::Method::DELETE
            | http::Method::TRACE
    );
    let attempts = 1 + if idempotent { pool.retries } else { 0 };
    // A retry needs the body again.
    let (mut once, replay) = if attempts > 1 {
        let bytes = match &shown {
            Some(b) => b.clone(),
            None => read_request_body(plan.body).await?,
        };
        (None, Some(bytes))
    } else {
        (Some(plan.body), None)
    };
    let path_and_query = plan
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let started = Instant::now();
    let mut tried: Vec<String> = Vec::new();
    let mut last_error = String::new();
    for _ in 0..attempts {
        let Some(flight) = pool.pick(key, &tried) else {
            break;
        };
        let instance = std::sync::Arc::clone(flight.instance());
        let uri: http::Uri = format!("{}{path_and_query}", instance.base)
            .parse()
            .map_err(|e| GatewayError::Configuration(format!("upstream {} URI: {e}", pool.name)))?;
        let body = match (&replay, once.take()) {
            (Some(b), _) => body::full(b.clone()),
            (None, Some(b)) => b,
            (None, None) => break,
        };
        let mut req = http::Request::new(body);
        *req.method_mut() = plan.method.clone();
        *req.uri_mut() = uri;
        *req.headers_mut() = plan.headers.clone();
        let budget = pool
            .request_timeout
            .map_or(plan.timeout, |t| t.min(plan.timeout));
        let remaining = budget.saturating_sub(started.elapsed());
        let sent = request_head(ctx, &req, shown.as_ref());
        let attempt = Instant::now();
        let result = tokio::time::timeout(remaining, client.client.request(req)).await;
        record_http(ctx, attempt, sent, &result);
        match result {
            Err(_) => {
                pool.report(&instance, false);
                ctx.integration_latency = Some(started.elapsed());
                return Err(GatewayError::IntegrationTimeout(budget));
            }
            Ok(Err(e)) => {
                pool.report(&instance, false);
                last_error = format!("{}: {}", instance.base, describe(&e));
                tried.push(instance.base.clone());
                if !e.is_connect() {
                    // The request may have reached the instance: never resend it.
                    break;
                }
                tracing::debug!(upstream = %pool.name, "{last_error}; trying another instance");
            }
            Ok(Ok(resp)) => {
                pool.report(&instance, resp.status().as_u16() < 500);
                ctx.integration_latency = Some(started.elapsed());
                return Ok(upstream_answer(ctx, resp, kind));
            }
        }
    }
    ctx.integration_latency = Some(started.elapsed());
    Err(GatewayError::IntegrationFailure(if last_error.is_empty() {
        format!("upstream {} has no healthy instance", pool.name)
    } else {
        format!("upstream {}: {last_error}", pool.name)
    }))
}

/// `METHOD URL`, and for a captured exchange the headers and body, of an upstream request.
fn request_head<B>(
    ctx: &RequestContext,
    req: &http::Request<B>,
    body: Option<&bytes::Bytes>,
) -> (String, Option<String>) {
    let target = format!("{} {}", req.method(), req.uri());
    let head = ctx.capture_exchanges.then(|| {
        let mut s = target.clone();
        for (k, v) in req.headers() {
            s.push_str(&format!("\n{k}: {}", String::from_utf8_lossy(v.as_bytes())));
        }
        if let Some(b) = body.filter(|b| !b.is_empty()) {
            s.push_str("\n\n");
            s.push_str(&crate::context::exchange_text(b));
        }
        s
    });
    (target, head)
}

type HttpResult = Result<
    Result<http::Response<hyper::body::Incoming>, hyper_util::client::legacy::Error>,
    tokio::time::error::Elapsed,
>;

/// Note one upstream request among the context's calls (its response body is attached as it
/// streams, see [`answer_body`]).
fn record_http(
    ctx: &mut RequestContext,
    started: Instant,
    (target, sent): (String, Option<String>),
    result: &HttpResult,
) {
    let (status, error, answer) = match result {
        Err(_) => (None, Some("timed out".to_string()), None),
        Ok(Err(e)) => (None, Some(describe(e)), None),
        Ok(Ok(r)) => {
            let head = ctx.capture_exchanges.then(|| {
                let mut s = format!("{:?} {}", r.version(), r.status());
                for (k, v) in r.headers() {
                    s.push_str(&format!("\n{k}: {}", String::from_utf8_lossy(v.as_bytes())));
                }
                s
            });
            (Some(r.status().as_u16()), None, head)
        }
    };
    let call = crate::context::Call {
        kind: "http",
        target,
        started: ctx.offset(started),
        elapsed: started.elapsed(),
        status,
        error,
        request: sent,
        response: answer,
        response_body: None,
    };
    ctx.calls.push(call);
}

/// The upstream's answer on its way to the client; a captured exchange keeps a copy of its body.
fn answer_body(ctx: &mut RequestContext, incoming: hyper::body::Incoming) -> Body {
    let body = body::boxed(incoming);
    if !ctx.capture_exchanges {
        return body;
    }
    let copy = std::sync::Arc::new(std::sync::Mutex::new(body::Copied::default()));
    if let Some(call) = ctx.calls.last_mut() {
        call.response_body = Some(std::sync::Arc::clone(&copy));
    }
    body::tee(body, copy, crate::context::EXCHANGE_LIMIT)
}

/// Read a whole request body (to resend it, or to show it), mapping the 10 MB limit to 413.
async fn read_request_body(b: Body) -> Result<bytes::Bytes, GatewayError> {
    use http_body_util::BodyExt;
    b.collect().await.map(|c| c.to_bytes()).map_err(|e| {
        if is_length_limit(e.as_ref()) {
            GatewayError::RequestTooLarge
        } else {
            GatewayError::IntegrationFailure(format!("reading the request body failed: {e}"))
        }
    })
}

/// Whether an error (or anything in its source chain) is the 10 MB request-body limit.
pub fn is_length_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cur = err.source();
    }
    false
}

fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(err) = cur {
        parts.push(err.to_string());
        cur = err.source();
    }
    parts.join(": ")
}
