//! The per-request context every stage reads and writes: ids, times, the matched route, path
//! parameters, stage variables, per-stage timings and the outcome. It is what `$context.*`
//! variables resolve against, in templates, gateway responses and access logs alike.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use indexmap::IndexMap;

use crate::spec::extensions::ResponseType;
use crate::spec::ApiKind;

/// When one stage started (since the request began) and how long it took.
#[derive(Debug, Clone)]
pub struct StageTiming {
    pub stage: &'static str,
    pub started: Duration,
    pub elapsed: Duration,
}

/// One call the integration made: a function invocation or an upstream request. Traces get a
/// span per call; the dashboard shows the exchange when the request captured it.
#[derive(Debug, Clone)]
pub struct Call {
    /// `lambda` or `http`.
    pub kind: &'static str,
    /// The function's name, or the method and URL.
    pub target: String,
    pub started: Duration,
    pub elapsed: Duration,
    pub status: Option<u16>,
    pub error: Option<String>,
    /// What was sent and what came back, when [`RequestContext::capture_exchanges`] is on:
    /// a Lambda event and response in full, an upstream's request and response head.
    pub request: Option<String>,
    pub response: Option<String>,
    /// An upstream answer's body as it streamed to the client (captured exchanges only).
    pub response_body: Option<std::sync::Arc<std::sync::Mutex<crate::body::Copied>>>,
}

impl Call {
    /// The response as the dashboard shows it: the head, then whatever body passed through.
    pub fn response_text(&self) -> Option<String> {
        let mut text = self.response.clone()?;
        if let Some(Ok(c)) = self.response_body.as_ref().map(|b| b.lock()) {
            if c.total > 0 {
                text.push_str("\n\n");
                text.push_str(&String::from_utf8_lossy(&c.bytes));
                if c.total > c.bytes.len() {
                    text.push_str(&format!("\n... ({} bytes in all)", c.total));
                }
            }
        }
        Some(text)
    }
}

/// How much of an exchange the dashboard keeps.
pub const EXCHANGE_LIMIT: usize = 64 * 1024;

/// A captured payload as text, cut at [`EXCHANGE_LIMIT`].
pub fn exchange_text(bytes: &[u8]) -> String {
    let cut = bytes.len().min(EXCHANGE_LIMIT);
    let mut s = String::from_utf8_lossy(&bytes[..cut]).into_owned();
    if bytes.len() > cut {
        s.push_str(&format!("\n... ({} bytes in all)", bytes.len()));
    }
    s
}

/// The W3C/OpenTelemetry identity of a request's trace: the trace it belongs to, the caller's
/// span (if it sent one) and the gateway's own span for this hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceIds {
    /// 32 lowercase hex digits.
    pub trace_id: String,
    /// 16 hex digits: the incoming `traceparent`'s parent id or X-Ray's `Parent=`.
    pub parent_span_id: Option<String>,
    /// 16 hex digits: the gateway's span, sent onwards as the parent of the integration's.
    pub span_id: String,
    /// The caller's sampling decision (`traceparent` flags, X-Ray `Sampled=`), if it made one.
    pub sampled: Option<bool>,
}

impl TraceIds {
    /// Continue an incoming `traceparent`, else the X-Ray trace (`Root=1-{8}-{24}` is the same
    /// 128 bits, as X-Ray's OpenTelemetry mapping has it), else start one.
    fn from_headers(headers: &http::HeaderMap, xray_root: &str) -> TraceIds {
        let span_id = uuid::Uuid::new_v4().simple().to_string()[..16].to_string();
        let w3c = headers
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .and_then(crate::filters::parse_traceparent);
        if let Some((trace_id, parent, flags)) = w3c {
            let sampled = u8::from_str_radix(&flags, 16).map(|f| f & 1 == 1).ok();
            return TraceIds {
                trace_id,
                parent_span_id: Some(parent),
                span_id,
                sampled,
            };
        }
        let root = xray_root
            .split(';')
            .find_map(|p| p.strip_prefix("Root=1-"))
            .unwrap_or_default();
        let mut trace_id = root.replace('-', "").to_ascii_lowercase();
        if trace_id.len() != 32 {
            trace_id = uuid::Uuid::new_v4().simple().to_string();
        }
        let parent_span_id = headers
            .get("x-amzn-trace-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.split(';')
                    .find_map(|p| p.trim().strip_prefix("Parent="))
                    .filter(|p| p.len() == 16 && p.bytes().all(|b| b.is_ascii_hexdigit()))
                    .map(str::to_ascii_lowercase)
            });
        let sampled = headers
            .get("x-amzn-trace-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.split(';').find_map(|p| match p.trim() {
                    "Sampled=1" => Some(true),
                    "Sampled=0" => Some(false),
                    _ => None,
                })
            });
        TraceIds {
            trace_id,
            parent_span_id,
            span_id,
            sampled,
        }
    }
}

/// The error a request ended with, for `$context.error.*`.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub response_type: Option<ResponseType>,
    /// `None` renders as `null` in `$context.error.messageString`.
    pub message: Option<String>,
}

/// The client certificate of an mTLS connection, as API Gateway describes it
/// (`$context.identity.clientCert.*`, `requestContext.identity.clientCert`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCert {
    pub pem: String,
    pub subject_dn: String,
    pub issuer_dn: String,
    pub serial_number: String,
    /// `notBefore` / `notAfter`, written as API Gateway writes them (`May 28 12:30:02 2019 GMT`).
    pub not_before: String,
    pub not_after: String,
}

impl ClientCert {
    /// The JSON object Lambda events carry.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "clientCertPem": self.pem,
            "subjectDN": self.subject_dn,
            "issuerDN": self.issuer_dn,
            "serialNumber": self.serial_number,
            "validity": {"notBefore": self.not_before, "notAfter": self.not_after},
        })
    }
}

/// Connection facts the server knows and the pipeline needs.
#[derive(Debug, Clone, Copy)]
pub struct ConnInfo {
    pub remote: SocketAddr,
    pub local: SocketAddr,
    pub tls: bool,
}

#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: String,
    pub extended_request_id: String,
    /// `Root=1-...` trace id sent to integrations.
    pub trace_id: String,
    /// The same trace in W3C terms, for spans and `traceparent`.
    pub trace: TraceIds,
    pub start: Instant,
    /// CLF time, `dd/MMM/yyyy:HH:mm:ss +0000`.
    pub request_time: String,
    pub request_time_epoch: i64,
    pub http_method: String,
    /// The path as requested, including any stage prefix.
    pub path: String,
    pub protocol: &'static str,
    pub source_ip: String,
    pub user_agent: Option<String>,
    pub domain_name: String,
    pub conn: ConnInfo,
    pub api_name: Option<String>,
    pub api_id: Option<String>,
    pub api_kind: Option<ApiKind>,
    pub stage: Option<String>,
    pub stage_variables: IndexMap<String, String>,
    pub resource_path: Option<String>,
    pub route_key: Option<String>,
    pub operation_name: Option<String>,
    pub path_params: Vec<(String, String)>,
    pub timings: Vec<StageTiming>,
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
    pub iam: Option<crate::sigv4::IamIdentity>,
    /// What the authorizer said about the caller.
    pub authorizer: Option<crate::authorizer::AuthorizerOutput>,
    /// The stage that answered instead of the integration, if any.
    pub answered_by: Option<&'static str>,
    /// The client certificate, on an mTLS connection.
    pub client_cert: Option<std::sync::Arc<ClientCert>>,
    /// The correlation id the `requestId` policy settled on.
    pub correlation_id: Option<String>,
    /// The API's own access-log format (SAM `AccessLogSetting`), if it sets one.
    pub access_log_format: Option<std::sync::Arc<str>>,
    /// `rewritePath` rules for the outgoing integration path, in order.
    pub path_rewrites: Vec<std::sync::Arc<(regex::Regex, String)>>,
    /// The functions and upstreams the integration called, in order.
    pub calls: Vec<Call>,
    /// Keep each call's request and response (for the dashboard); off unless someone looks.
    pub capture_exchanges: bool,
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
        // A client may pick its own request id by sending a UUID in x-amzn-RequestId (DG: set-up-logging).
        let request_id = headers
            .get("x-amzn-requestid")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| uuid::Uuid::parse_str(v).ok())
            .map(|u| u.hyphenated().to_string())
            .unwrap_or_else(|| uuid::Uuid::new_v4().hyphenated().to_string());
        let random = uuid::Uuid::new_v4();
        // extendedRequestId / x-amz-apigw-id: 16 characters ending in `=`, i.e. 11 bytes in base64.
        let extended_request_id =
            base64::engine::general_purpose::STANDARD.encode(&random.as_bytes()[..11]);
        // A caller's X-Amzn-Trace-Id continues its trace (its Root, and Sampled if given);
        // otherwise the request starts one.
        let trace_id = headers
            .get("x-amzn-trace-id")
            .and_then(|v| v.to_str().ok())
            .and_then(incoming_trace)
            .unwrap_or_else(|| {
                format!(
                    "Root=1-{:08x}-{}",
                    epoch_ms / 1000,
                    &uuid::Uuid::new_v4().simple().to_string()[..24]
                )
            });
        let trace = TraceIds::from_headers(headers, &trace_id);
        Self {
            request_id,
            extended_request_id,
            trace_id,
            trace,
            start: Instant::now(),
            request_time: clf_time(now),
            request_time_epoch: epoch_ms,
            http_method: method.as_str().to_string(),
            path: path.to_string(),
            // API Gateway logs HTTP/1.1 even for HTTP/2 clients (facts §7).
            protocol: "HTTP/1.1",
            source_ip: conn.remote.ip().to_string(),
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
            stage_variables: IndexMap::new(),
            resource_path: None,
            route_key: None,
            operation_name: None,
            path_params: Vec::new(),
            timings: Vec::new(),
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

    /// Time since the request began.
    pub fn offset(&self, at: Instant) -> Duration {
        at.saturating_duration_since(self.start)
    }

    /// The value of `$context.<name>`, or `None` when it has none.
    pub fn variable(&self, name: &str) -> Option<String> {
        let ms = |d: Duration| d.as_millis().to_string();
        Some(match name {
            "requestId" | "awsEndpointRequestId" => self.request_id.clone(),
            "extendedRequestId" => self.extended_request_id.clone(),
            "accountId" => crate::ACCOUNT_ID.to_string(),
            "apiId" => self.api_id.clone()?,
            "domainName" => self.domain_name.clone(),
            "domainPrefix" => self
                .domain_name
                .split(['.', ':'])
                .next()
                .unwrap_or_default()
                .to_string(),
            "httpMethod" => self.http_method.clone(),
            "path" => self.path.clone(),
            "protocol" => self.protocol.to_string(),
            "requestTime" => self.request_time.clone(),
            "requestTimeEpoch" => self.request_time_epoch.to_string(),
            "resourcePath" => self.resource_path.clone()?,
            "resourceId" => crate::api::api_id_for(self.resource_path.as_deref()?)[..6].to_string(),
            "routeKey" => self.route_key.clone()?,
            "operationName" => self.operation_name.clone()?,
            "stage" => self.stage.clone()?,
            "identity.sourceIp" => self.source_ip.clone(),
            "identity.userAgent" => self.user_agent.clone()?,
            "identity.apiKey" => self.api_key.clone()?,
            "identity.apiKeyId" => self.api_key_id.clone()?,
            "identity.accessKey" => self.iam.as_ref()?.access_key.clone(),
            "identity.accountId" => self.iam.as_ref()?.account_id.clone(),
            "identity.userArn" => self.iam.as_ref()?.user_arn.clone()?,
            "identity.user" | "identity.caller" => self.iam.as_ref()?.user.clone()?,
            "identity.clientCert.clientCertPem" => self.client_cert.as_ref()?.pem.clone(),
            "identity.clientCert.subjectDN" => self.client_cert.as_ref()?.subject_dn.clone(),
            "identity.clientCert.issuerDN" => self.client_cert.as_ref()?.issuer_dn.clone(),
            "identity.clientCert.serialNumber" => self.client_cert.as_ref()?.serial_number.clone(),
            "identity.clientCert.validity.notBefore" => {
                self.client_cert.as_ref()?.not_before.clone()
            }
            "identity.clientCert.validity.notAfter" => self.client_cert.as_ref()?.not_after.clone(),
            "status" if self.status != 0 => self.status.to_string(),
            "responseLength" => self.response_length.to_string(),
            "responseLatency" => ms(self.start.elapsed()),
            "integrationLatency" | "integration.latency" => ms(self.integration_latency?),
            "integrationStatus" | "integration.integrationStatus" | "integration.status" => {
                self.integration_status?.to_string()
            }
            "error.message" => self.error.as_ref()?.message.clone()?,
            "error.messageString" => match self.error.as_ref()?.message.as_deref() {
                Some(m) => serde_json::Value::from(m).to_string(),
                None => "null".to_string(),
            },
            "error.validationErrorString" => self.validation_error.clone()?,
            "error.responseType" => self.error.as_ref()?.response_type?.as_str().to_string(),
            "xrayTraceId" => self.trace_id.clone(),
            "authorizer.principalId" => self.authorizer.as_ref()?.principal_id.clone()?,
            "authorizer.latency" | "authorizer.integrationLatency" => {
                ms(self.authorizer.as_ref()?.latency)
            }
            other if other.starts_with("authorizer.claims.") => {
                let key = &other["authorizer.claims.".len()..];
                match self.authorizer.as_ref()?.claims.as_ref()?.get(key)? {
                    serde_json::Value::String(s) => s.clone(),
                    v => v.to_string(),
                }
            }
            other if other.starts_with("authorizer.") => {
                // Context values are stringified for templates and logs (facts §4a).
                let key = &other["authorizer.".len()..];
                match self.authorizer.as_ref()?.context.get(key)? {
                    serde_json::Value::String(s) => s.clone(),
                    v => v.to_string(),
                }
            }
            _ => return None,
        })
    }
}

/// `Root=1-{8 hex}-{24 hex}` (and `Sampled=0|1`) from an incoming `X-Amzn-Trace-Id`.
fn incoming_trace(v: &str) -> Option<String> {
    let mut root = None;
    let mut sampled = None;
    for part in v.split(';') {
        let (k, val) = part.trim().split_once('=')?;
        match k {
            "Root" => {
                let ok = val.len() == 35
                    && val.starts_with("1-")
                    && val.as_bytes()[10] == b'-'
                    && val[2..10].bytes().all(|b| b.is_ascii_hexdigit())
                    && val[11..].bytes().all(|b| b.is_ascii_hexdigit());
                if !ok {
                    return None;
                }
                root = Some(val);
            }
            "Sampled" if val == "0" || val == "1" => sampled = Some(val),
            _ => {}
        }
    }
    let root = root?;
    Some(match sampled {
        Some(s) => format!("Root={root};Sampled={s}"),
        None => format!("Root={root}"),
    })
}

/// `dd/MMM/yyyy:HH:mm:ss +0000`, as `$context.requestTime` is written.
pub fn clf_time(t: SystemTime) -> String {
    let dt = time::OffsetDateTime::from(t);
    dt.format(time::macros::format_description!(
        "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"
    ))
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incoming_trace_ids_continue() {
        assert_eq!(
            incoming_trace(
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
            )
            .as_deref(),
            Some("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
        );
        assert_eq!(incoming_trace("Root=1-xyz"), None);
        assert_eq!(incoming_trace("garbage"), None);
    }

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
