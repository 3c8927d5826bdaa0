//! HTTP and HTTP_PROXY integrations: to a fixed URL, or to an instance of an upstream pool with
//! retries of idempotent requests that could not connect. Every attempt is recorded as a call;
//! when someone is looking (the dashboard), the exchange is kept too.

use std::sync::Arc;
use std::time::Instant;

use crate::body::{self, Body};
use crate::context::{exchange_text, Call, CallKind, RequestContext, EXCHANGE_LIMIT};
use crate::error::GatewayError;
use crate::phases::handoff::{HttpRequestPlan, IntegrationKind, IntegrationResponse};
use crate::request::{collect, is_length_limit};
use crate::upstream::{describe, HttpClient, UpstreamPool};

/// Send an HTTP request: to a fixed URL, or to an instance of an upstream pool.
pub(super) async fn call(
    client: &HttpClient,
    ctx: &mut RequestContext,
    plan: Box<HttpRequestPlan>,
) -> Result<IntegrationResponse, GatewayError> {
    let mut plan = *plan;
    // Showing the request means holding its body; only when someone looks (the dashboard).
    let shown = if ctx.capture_exchanges {
        let bytes = collect(plan.body).await?;
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
    // Named in the failure, so the log says which URL could not be reached.
    let target = req.uri().to_string();
    let started = Instant::now();
    let result = tokio::time::timeout(plan.timeout, client.send(req)).await;
    ctx.integration_latency = Some(started.elapsed());
    record_http(ctx, started, sent, &result);
    let resp = match result {
        Err(_) => return Err(GatewayError::IntegrationTimeout(plan.timeout)),
        Ok(Err(e)) => {
            if is_length_limit(&e) {
                return Err(GatewayError::RequestTooLarge);
            }
            return Err(GatewayError::IntegrationFailure(format!(
                "{target}: {}",
                describe(&e)
            )));
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
    plan: HttpRequestPlan,
    pool: &Arc<UpstreamPool>,
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
            None => collect(plan.body).await?,
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
        let instance = Arc::clone(flight.instance());
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
        let result = tokio::time::timeout(remaining, client.send(req)).await;
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

/// `METHOD URL` as `Display` writes it, pushed piece by piece: the formatting machinery cost more
/// than the rest of noting the call.
fn target_text(method: &http::Method, uri: &http::Uri) -> String {
    let mut s = String::with_capacity(method.as_str().len() + 1 + uri.path().len() + 48);
    s.push_str(method.as_str());
    s.push(' ');
    if let Some(scheme) = uri.scheme_str() {
        s.push_str(scheme);
        s.push_str("://");
    }
    if let Some(authority) = uri.authority() {
        s.push_str(authority.as_str());
    }
    s.push_str(uri.path());
    if let Some(query) = uri.query() {
        s.push('?');
        s.push_str(query);
    }
    s
}

/// `METHOD URL`, and for a captured exchange the headers and body, of an upstream request.
fn request_head<B>(
    ctx: &RequestContext,
    req: &http::Request<B>,
    body: Option<&bytes::Bytes>,
) -> (String, Option<String>) {
    let target = target_text(req.method(), req.uri());
    let head = ctx.capture_exchanges.then(|| {
        let mut s = target.clone();
        for (k, v) in req.headers() {
            s.push_str(&format!("\n{k}: {}", String::from_utf8_lossy(v.as_bytes())));
        }
        if let Some(b) = body.filter(|b| !b.is_empty()) {
            s.push_str("\n\n");
            s.push_str(&exchange_text(b));
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
    let call = Call {
        kind: CallKind::Http,
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
    let copy = Arc::new(std::sync::Mutex::new(body::Copied::default()));
    if let Some(call) = ctx.calls.last_mut() {
        call.response_body = Some(Arc::clone(&copy));
    }
    body::tee(body, copy, EXCHANGE_LIMIT)
}

#[cfg(test)]
mod tests {
    use super::target_text;

    #[test]
    fn the_target_reads_as_display_writes_it() {
        for text in [
            "http://127.0.0.1:18081/x",
            "https://example.com/a/b?q=1&r=2",
            "http://user@example.com:8080/",
            "http://[::1]:9000/p?",
        ] {
            let uri: http::Uri = text.parse().expect("uri");
            let method = http::Method::PATCH;
            assert_eq!(
                target_text(&method, &uri),
                format!("{method} {uri}"),
                "{text}"
            );
        }
    }
}
