//! The per-request context every phase reads and writes: ids, times, the matched route, path
//! parameters, stage variables, per-phase timings and the outcome. It is what `$context.*`
//! variables resolve against, in templates, gateway responses and access logs alike.

mod calls;
mod format;
mod identity;
mod variables;

pub(crate) use calls::{exchange_text, EXCHANGE_LIMIT};
pub use calls::{Call, CallKind};
pub use format::ContextFormat;
pub(crate) use identity::Claims;
pub(crate) use identity::IamIdentity;
pub use identity::{AuthorizerOutput, ClientCert, ConnInfo};

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use indexmap::IndexMap;

use crate::ids::TraceIds;
use crate::phase::{Phase, PhaseTiming};
use crate::spec::extensions::ResponseType;
use crate::spec::ApiKind;

/// The error a request ended with, for `$context.error.*`.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub response_type: Option<ResponseType>,
    /// `None` renders as `null` in `$context.error.messageString`.
    pub message: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: String,
    pub extended_request_id: String,
    /// `Root=1-...` trace id sent to integrations.
    pub trace_id: String,
    /// The same trace in W3C terms, for spans and `traceparent`: made on first use (see
    /// [`RequestContext::trace`]) from the headers kept in `trace_sources`.
    trace: std::sync::OnceLock<TraceIds>,
    trace_sources: crate::ids::TraceSources,
    /// What the request mapping template overrode, for the response side.
    pub overrides: Overrides,
    pub start: Instant,
    /// CLF time, `dd/MMM/yyyy:HH:mm:ss +0000`.
    pub request_time: String,
    pub request_time_epoch: i64,
    pub http_method: String,
    /// `$context.path`: the path with the stage prefix, on REST APIs whichever URL style
    /// served it.
    pub path: String,
    /// The path exactly as the client sent it (what a person expects to see in a log).
    pub request_path: String,
    pub protocol: &'static str,
    pub source_ip: String,
    pub user_agent: Option<String>,
    pub domain_name: String,
    pub conn: ConnInfo,
    pub api_name: Option<String>,
    pub api_id: Option<String>,
    pub api_kind: Option<ApiKind>,
    pub stage: Option<String>,
    pub stage_variables: std::sync::Arc<IndexMap<String, String>>,
    pub resource_path: Option<String>,
    pub route_key: Option<String>,
    pub operation_name: Option<String>,
    pub path_params: Vec<(String, String)>,
    pub timings: Vec<PhaseTiming>,
    pub status: u16,
    pub response_length: u64,
    pub integration_latency: Option<Duration>,
    pub integration_status: Option<u16>,
    pub error: Option<ErrorInfo>,
    /// What request validation found wrong, for `$context.error.validationErrorString`.
    pub validation_error: Option<String>,
    /// The API key that passed the usage-plan check, and its id.
    pub api_key: Option<String>,
    pub api_key_id: Option<String>,
    /// Seconds until a throttled or over-quota caller may try again (for `Retry-After`).
    pub retry_after: Option<u64>,
    /// Who signed an `AWS_IAM` request.
    pub iam: Option<IamIdentity>,
    /// What the authorizer said about the caller.
    pub authorizer: Option<AuthorizerOutput>,
    /// The phase that answered instead of the integration, if any.
    pub answered_by: Option<Phase>,
    /// The client certificate, on an mTLS connection.
    pub client_cert: Option<std::sync::Arc<ClientCert>>,
    /// The correlation id the `requestId` policy settled on.
    pub correlation_id: Option<String>,
    /// The API's own access-log format (SAM `AccessLogSetting`), if it sets one.
    pub access_log_format: Option<std::sync::Arc<ContextFormat>>,
    /// `rewritePath` rules for the outgoing integration path, in order.
    pub path_rewrites: Vec<std::sync::Arc<(regex::Regex, String)>>,
    /// The functions and upstreams the integration called, in order.
    pub calls: Vec<Call>,
    /// Keep each call's request and response (for the dashboard); off unless someone looks.
    pub capture_exchanges: bool,
}

/// Overrides a mapping template set (`$context.requestOverride.*`, `responseOverride.*`),
/// applied after the normal mappings; the request template's stay in force for the response
/// (aws-behaviour §7).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Overrides {
    pub request_headers: Vec<(String, String)>,
    pub request_path: Vec<(String, String)>,
    pub request_query: Vec<(String, String)>,
    pub status: Option<u16>,
    pub response_headers: Vec<(String, String)>,
}

impl RequestContext {
    pub fn new(
        method: &http::Method,
        path: &str,
        headers: &http::HeaderMap,
        conn: ConnInfo,
    ) -> Self {
        let now = SystemTime::now();
        let epoch_ms = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let request_id = crate::ids::request_id(headers);
        let extended_request_id = crate::ids::extended_request_id();
        let trace_id = crate::ids::xray_trace_id(headers, epoch_ms);
        let trace_sources = crate::ids::TraceSources::of(headers);
        Self {
            request_id,
            extended_request_id,
            trace_id,
            trace: std::sync::OnceLock::new(),
            trace_sources,
            overrides: Overrides::default(),
            start: Instant::now(),
            request_time: clf_time(now),
            request_time_epoch: epoch_ms,
            http_method: method.as_str().to_string(),
            path: path.to_string(),
            request_path: path.to_string(),
            // API Gateway logs HTTP/1.1 even for HTTP/2 clients (aws-behaviour §7).
            protocol: "HTTP/1.1",
            source_ip: ip_text(conn.remote.ip()),
            user_agent: headers
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            domain_name: headers
                .get(http::header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .unwrap_or_else(|| conn.local.to_string()),
            conn,
            api_name: None,
            api_id: None,
            api_kind: None,
            stage: None,
            stage_variables: Default::default(),
            resource_path: None,
            route_key: None,
            operation_name: None,
            path_params: Vec::new(),
            timings: Vec::with_capacity(Phase::ALL.len()),
            status: 0,
            response_length: 0,
            integration_latency: None,
            integration_status: None,
            error: None,
            validation_error: None,
            authorizer: None,
            iam: None,
            api_key: None,
            api_key_id: None,
            retry_after: None,
            answered_by: None,
            client_cert: None,
            correlation_id: None,
            access_log_format: None,
            path_rewrites: Vec::new(),
            calls: Vec::new(),
            capture_exchanges: false,
        }
    }

    /// The request's trace in W3C terms, for spans, `traceparent` and the X-Ray header sent on:
    /// the caller's `traceparent`, else the X-Ray trace, with a span of the gateway's own. Made
    /// the first time it is asked for, then the same for the rest of the request.
    pub fn trace(&self) -> &TraceIds {
        self.trace
            .get_or_init(|| TraceIds::from_sources(&self.trace_sources, &self.trace_id))
    }

    /// A copy for a sub-request of this one (an aggregate's calls), in the same trace and under
    /// the same gateway span: the trace is made first, so the copies do not each make their own.
    pub fn fork(&self) -> RequestContext {
        self.trace();
        self.clone()
    }

    /// The `X-Amzn-Trace-Id` an integration receives: the trace's `Root`, the caller's `Parent`
    /// when it sent one (else the gateway's own segment), and the caller's `Sampled` decision
    /// (aws-behaviour §7).
    pub fn outgoing_trace_header(&self) -> String {
        let trace = self.trace();
        let parent = trace.parent_span_id.as_deref().unwrap_or(&trace.span_id);
        let root = self.trace_id.split(';').next().unwrap_or_default();
        let mut header = String::with_capacity(root.len() + parent.len() + 19);
        header.push_str(root);
        header.push_str(";Parent=");
        header.push_str(parent);
        if let Some(sampled) = trace.sampled {
            header.push_str(if sampled { ";Sampled=1" } else { ";Sampled=0" });
        }
        header
    }

    pub fn offset(&self, at: Instant) -> Duration {
        at.saturating_duration_since(self.start)
    }

    /// Note that `phase` ran from `started` until now, and return now: the next phase starts
    /// there (one clock reading per phase, not two).
    pub fn record(&mut self, phase: Phase, started: Instant) -> Instant {
        let now = Instant::now();
        self.timings.push(PhaseTiming::new(phase, started, now));
        now
    }
}

/// An address as API Gateway writes it. IPv4 is written digit by digit: `Display` went through
/// the formatting machinery for every octet, which showed in the per-request profile.
fn ip_text(ip: std::net::IpAddr) -> String {
    let std::net::IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut text = String::with_capacity(15);
    for (i, octet) in v4.octets().into_iter().enumerate() {
        if i > 0 {
            text.push('.');
        }
        if octet >= 100 {
            text.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            text.push(char::from(b'0' + octet / 10 % 10));
        }
        text.push(char::from(b'0' + octet % 10));
    }
    text
}

/// `dd/MMM/yyyy:HH:mm:ss +0000`, as `$context.requestTime` is written.
pub(crate) fn clf_time(t: SystemTime) -> String {
    // Formatting showed in the per-request profile; within one second the text is the same.
    thread_local! {
        static LAST: std::cell::RefCell<(u64, String)> = const { std::cell::RefCell::new((u64::MAX, String::new())) };
    }
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if last.0 != secs {
            *last = (secs, format_clf_time(t));
        }
        last.1.clone()
    })
}

fn format_clf_time(t: SystemTime) -> String {
    let dt = time::OffsetDateTime::from(t);
    dt.format(time::macros::format_description!(
        "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"
    ))
    .unwrap_or_default()
}

/// A request from 10.1.2.3 to 127.0.0.1:2 with no headers, for tests.
#[cfg(test)]
pub(crate) fn test_request(method: http::Method, path: &str) -> RequestContext {
    let conn = ConnInfo {
        remote: "10.1.2.3:1".parse().expect("addr"),
        local: "127.0.0.1:2".parse().expect("addr"),
        tls: false,
    };
    RequestContext::new(&method, path, &http::HeaderMap::new(), conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> ConnInfo {
        ConnInfo {
            remote: "127.0.0.9:5555".parse().expect("addr"),
            local: "127.0.0.1:3000".parse().expect("addr"),
            tls: false,
        }
    }

    #[test]
    fn ids_have_aws_shapes() {
        let c = RequestContext::new(&http::Method::GET, "/x", &http::HeaderMap::new(), conn());
        assert!(uuid::Uuid::parse_str(&c.request_id).is_ok());
        assert_eq!(c.extended_request_id.len(), 16);
        assert!(c.extended_request_id.ends_with('='));
        assert!(c.trace_id.starts_with("Root=1-"));
        assert_eq!(c.trace_id.len(), "Root=1-".len() + 8 + 1 + 24);
    }

    #[test]
    fn client_uuid_request_id_is_kept() {
        let mut h = http::HeaderMap::new();
        h.insert(
            "x-amzn-RequestId",
            "6b0b6a9a-31a5-4c36-8c9f-2e5b7ad1a0c1".parse().expect("hv"),
        );
        let c = RequestContext::new(&http::Method::GET, "/x", &h, conn());
        assert_eq!(c.request_id, "6b0b6a9a-31a5-4c36-8c9f-2e5b7ad1a0c1");
        h.insert("x-amzn-RequestId", "not-a-uuid".parse().expect("hv"));
        let c = RequestContext::new(&http::Method::GET, "/x", &h, conn());
        assert_ne!(c.request_id, "not-a-uuid");
    }

    /// The trace is made once: asked twice, or through a fork, it is the same, and a caller's
    /// `traceparent` is continued.
    #[test]
    fn the_trace_is_made_once_and_forks_share_it() {
        let mut h = http::HeaderMap::new();
        h.insert(
            "traceparent",
            http::HeaderValue::from_static(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
        );
        let c = RequestContext::new(&http::Method::GET, "/x", &h, conn());
        let first = c.trace().clone();
        assert_eq!(first.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(first.parent_span_id.as_deref(), Some("00f067aa0ba902b7"));
        assert_eq!(first.sampled, Some(true));
        assert_eq!(c.trace(), &first);
        assert_eq!(c.fork().trace(), &first);
        let fresh = RequestContext::new(&http::Method::GET, "/x", &http::HeaderMap::new(), conn());
        let fork = fresh.fork();
        assert_eq!(fork.trace(), fresh.trace());
        assert!(fresh.trace_id.contains(&fresh.trace().trace_id[..8]));
    }

    /// Addresses read as `Display` writes them.
    #[test]
    fn addresses_as_text() {
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "10.20.30.40",
            "9.99.100.255",
            "255.255.255.255",
            "::1",
            "::ffff:127.0.0.1",
            "2001:db8::8a2e:370:7334",
        ] {
            let addr: std::net::IpAddr = ip.parse().expect("address");
            assert_eq!(ip_text(addr), addr.to_string());
        }
    }

    #[test]
    fn clf_time_format() {
        let t = UNIX_EPOCH + Duration::from_secs(1_583_349_317);
        assert_eq!(clf_time(t), "04/Mar/2020:19:15:17 +0000");
    }

    #[test]
    fn error_message_string_is_quoted_or_null() {
        let mut c = RequestContext::new(&http::Method::GET, "/x", &http::HeaderMap::new(), conn());
        c.error = Some(ErrorInfo {
            response_type: None,
            message: Some("a \"b\"".into()),
        });
        assert_eq!(
            c.variable("error.messageString").as_deref(),
            Some("\"a \\\"b\\\"\"")
        );
        c.error = Some(ErrorInfo {
            response_type: None,
            message: None,
        });
        assert_eq!(c.variable("error.messageString").as_deref(), Some("null"));
        assert_eq!(
            c.variable("identity.sourceIp").as_deref(),
            Some("127.0.0.9")
        );
    }
}
