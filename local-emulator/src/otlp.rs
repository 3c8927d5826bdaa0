//! Trace export (`--otlp-endpoint`, off by default): each finished request becomes a server span
//! with a child span per pipeline stage and a client span per function or upstream call, sent to
//! an OpenTelemetry collector over OTLP/HTTP (JSON) by `opentelemetry-otlp`'s exporter.
//!
//! The spans are built from the request's recorded timings rather than opened live, so the
//! trace and span ids are the request's own (`ctx.trace`): the caller's `traceparent` or X-Ray
//! trace continues, and the `traceparent` policy hands the gateway's span id to the integration.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use tokio::sync::mpsc;

use gateway::{CallKind, Phase, RequestContext};

/// Spans wait at most this long before they are sent.
const FLUSH_EVERY: Duration = Duration::from_millis(500);
/// A batch is sent at once when it reaches this many spans.
const BATCH: usize = 512;
/// Requests waiting for export; beyond it, traces are dropped rather than slowing requests.
const QUEUE: usize = 4096;

/// The exporter's side of the channel: the completion sink sends finished requests here.
#[derive(Clone)]
pub struct Traces {
    tx: mpsc::Sender<Vec<SpanData>>,
    /// The share of traces kept when the caller did not decide (0.0 to 1.0).
    ratio: f64,
}

/// Whether to export a request's trace: the caller's decision when it sent one (a sampled
/// `traceparent` flag or X-Ray `Sampled=`), as OpenTelemetry's parent-based sampler does;
/// otherwise a share of trace ids, judged on their last 64 bits like its ratio sampler, so
/// every hop that samples by ratio keeps the same traces.
pub fn sampled(trace: &gateway::TraceIds, ratio: f64) -> bool {
    if let Some(decided) = trace.sampled {
        return decided;
    }
    if ratio >= 1.0 {
        return true;
    }
    let low = trace
        .trace_id
        .get(16..)
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .unwrap_or(0);
    (low as f64) < ratio * (u64::MAX as f64)
}

/// `http://host:4318` means the standard `/v1/traces` path under it; a URL with a path of its
/// own is used as given.
pub fn traces_url(endpoint: &str) -> Result<String, String> {
    let uri: http::Uri = endpoint.parse().map_err(|e| {
        format!(
            "not a URL ({e}); give the collector's OTLP/HTTP address, e.g. http://127.0.0.1:4318"
        )
    })?;
    match uri.scheme_str() {
        Some("http") | Some("https") => {}
        _ => return Err("the URL must start with http:// or https:// (OTLP over HTTP)".into()),
    }
    Ok(match uri.path() {
        "" | "/" => format!("{}/v1/traces", endpoint.trim_end_matches('/')),
        _ => endpoint.to_string(),
    })
}

impl Traces {
    /// Start the export task. Must run inside the tokio runtime.
    pub fn start(endpoint: &str, ratio: f64) -> Result<Traces, String> {
        if !(0.0..=1.0).contains(&ratio) {
            return Err(format!(
                "the sample ratio {ratio} is not between 0 and 1 (--otlp-sample-ratio)"
            ));
        }
        let url = traces_url(endpoint)?;
        let mut exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpJson)
            .with_endpoint(url)
            .with_timeout(Duration::from_secs(10))
            .with_http_client(Client(gateway::HttpClient::default()))
            .build()
            .map_err(|e| e.to_string())?;
        exporter.set_resource(
            &opentelemetry_sdk::Resource::builder_empty()
                .with_service_name("tollgate")
                .build(),
        );
        let (tx, mut rx) = mpsc::channel::<Vec<SpanData>>(QUEUE);
        tokio::spawn(async move {
            let mut batch: Vec<SpanData> = Vec::new();
            let mut tick = tokio::time::interval(FLUSH_EVERY);
            loop {
                tokio::select! {
                    got = rx.recv() => match got {
                        Some(spans) => {
                            batch.extend(spans);
                            if batch.len() < BATCH {
                                continue;
                            }
                        }
                        None => {
                            send(&exporter, &mut batch).await;
                            return;
                        }
                    },
                    _ = tick.tick() => {}
                }
                send(&exporter, &mut batch).await;
            }
        });
        Ok(Traces { tx, ratio })
    }

    /// Queue a finished request's spans, if its trace is sampled; never waits.
    pub fn record(&self, ctx: &RequestContext) {
        if !sampled(ctx.trace(), self.ratio) {
            return;
        }
        if let Some(spans) = spans(ctx, SystemTime::now()) {
            if self.tx.try_send(spans).is_err() {
                tracing::debug!("trace export queue full; a request's spans were dropped");
            }
        }
    }
}

async fn send(exporter: &opentelemetry_otlp::SpanExporter, batch: &mut Vec<SpanData>) {
    if batch.is_empty() {
        return;
    }
    if let Err(e) = exporter.export(std::mem::take(batch)).await {
        tracing::warn!("OTLP export failed: {e}");
    }
}

/// The request's spans: the server span first, then its stages and calls.
fn spans(ctx: &RequestContext, now: SystemTime) -> Option<Vec<SpanData>> {
    let trace = ctx.trace();
    let trace_id = TraceId::from_hex(&trace.trace_id).ok()?;
    let root_id = SpanId::from_hex(&trace.span_id).ok()?;
    let parent = trace
        .parent_span_id
        .as_deref()
        .and_then(|p| SpanId::from_hex(p).ok());
    // Wall-clock start: the monotonic clock measured the request, the wall clock dates it.
    let begun = now.checked_sub(ctx.start.elapsed()).unwrap_or(now);
    let at = |offset: Duration| begun + offset;
    let context = |id: SpanId| {
        SpanContext::new(
            trace_id,
            id,
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        )
    };
    let scope = InstrumentationScope::builder("tollgate").build();
    let span = |id: SpanId,
                parent: SpanId,
                kind: SpanKind,
                name: String,
                start: SystemTime,
                end: SystemTime,
                attributes: Vec<KeyValue>,
                status: Status| SpanData {
        span_context: context(id),
        parent_span_id: parent,
        parent_span_is_remote: false,
        span_kind: kind,
        name: Cow::Owned(name),
        start_time: start,
        end_time: end,
        attributes,
        dropped_attributes_count: 0,
        events: Default::default(),
        links: Default::default(),
        status,
        instrumentation_scope: scope.clone(),
    };

    // The route key is `METHOD /path` already; an unrouted request is named by its path.
    let name = ctx
        .route_key
        .clone()
        .unwrap_or_else(|| format!("{} {}", ctx.http_method, ctx.path));
    let mut attrs = vec![
        KeyValue::new("http.request.method", ctx.http_method.clone()),
        KeyValue::new("url.path", ctx.path.clone()),
        KeyValue::new("http.response.status_code", i64::from(ctx.status)),
        KeyValue::new("aws.request_id", ctx.request_id.clone()),
    ];
    if let Some(r) = &ctx.route_key {
        attrs.push(KeyValue::new("http.route", r.clone()));
    }
    if let Some(api) = &ctx.api_name {
        attrs.push(KeyValue::new("tollgate.api", api.clone()));
    }
    if let Some(phase) = ctx.answered_by {
        attrs.push(KeyValue::new("tollgate.answered_by", phase.as_str()));
    }
    let status = if ctx.status >= 500 {
        Status::error(format!("answered {}", ctx.status))
    } else {
        Status::Unset
    };
    let mut out = vec![span(
        root_id,
        parent.unwrap_or(SpanId::INVALID),
        SpanKind::Server,
        name,
        begun,
        now,
        attrs,
        status,
    )];
    if let Some(first) = out.first_mut() {
        first.parent_span_is_remote = parent.is_some();
    }

    let mut integration_span = root_id;
    for t in &ctx.timings {
        let id = new_span_id();
        if t.phase == Phase::Integration {
            integration_span = id;
        }
        let status = if ctx.answered_by == Some(t.phase) && ctx.status >= 500 {
            Status::error("the request ended here")
        } else {
            Status::Unset
        };
        out.push(span(
            id,
            root_id,
            SpanKind::Internal,
            t.phase.as_str().to_string(),
            at(t.started_after(ctx.start)),
            at(t.started_after(ctx.start) + t.elapsed()),
            vec![KeyValue::new("tollgate.stage", t.phase.as_str())],
            status,
        ));
    }
    for c in &ctx.calls {
        let mut attrs = vec![KeyValue::new("tollgate.call", c.kind.as_str())];
        match c.kind {
            CallKind::Lambda => attrs.push(KeyValue::new("faas.invoked_name", c.target.clone())),
            CallKind::Http => attrs.push(KeyValue::new("url.full", c.target.clone())),
        }
        if let Some(s) = c.status {
            attrs.push(KeyValue::new("http.response.status_code", i64::from(s)));
        }
        let status = match &c.error {
            Some(e) => Status::error(e.clone()),
            None => Status::Unset,
        };
        let name = match c.kind {
            CallKind::Lambda => format!("invoke {}", c.target),
            CallKind::Http => c.target.clone(),
        };
        out.push(span(
            new_span_id(),
            integration_span,
            SpanKind::Client,
            name,
            at(c.started),
            at(c.started + c.elapsed),
            attrs,
            status,
        ));
    }
    Some(out)
}

fn new_span_id() -> SpanId {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    let mut id = [0u8; 8];
    id.copy_from_slice(&bytes[..8]);
    SpanId::from_bytes(id)
}

/// The exporter's HTTP client: the gateway's own (rustls, native roots), so an `https://`
/// collector works too.
#[derive(Debug)]
struct Client(gateway::HttpClient);

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for Client {
    async fn send_bytes(
        &self,
        request: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<bytes::Bytes>, opentelemetry_http::HttpError> {
        let (parts, body) = request.into_parts();
        let req = http::Request::from_parts(parts, gateway::body::full(body));
        self.0
            .exchange(req, Duration::from_secs(10), 1 << 20)
            .await
            .map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_gets_the_traces_path() {
        assert_eq!(
            traces_url("http://127.0.0.1:4318").as_deref(),
            Ok("http://127.0.0.1:4318/v1/traces")
        );
        assert_eq!(
            traces_url("http://127.0.0.1:4318/").as_deref(),
            Ok("http://127.0.0.1:4318/v1/traces")
        );
        assert_eq!(
            traces_url("http://c:4318/custom/v1/traces").as_deref(),
            Ok("http://c:4318/custom/v1/traces")
        );
        assert!(traces_url("grpc://c:4317").is_err());
    }

    fn ids(trace_id: &str, sampled: Option<bool>) -> gateway::TraceIds {
        gateway::TraceIds {
            trace_id: trace_id.into(),
            parent_span_id: None,
            span_id: "00f067aa0ba902b7".into(),
            sampled,
        }
    }

    #[test]
    fn the_callers_decision_wins_then_the_ratio_judges_the_trace_id() {
        let low = "4bf92f3577b34da60000000000000001";
        let high = "4bf92f3577b34da6fffffffffffffff0";
        assert!(sampled(&ids(low, None), 1.0));
        assert!(!sampled(&ids(low, None), 0.0));
        assert!(sampled(&ids(low, None), 0.5));
        assert!(!sampled(&ids(high, None), 0.5));
        assert!(
            sampled(&ids(high, Some(true)), 0.0),
            "a sampled caller is followed"
        );
        assert!(
            !sampled(&ids(low, Some(false)), 1.0),
            "so is one that did not sample"
        );
    }
}
