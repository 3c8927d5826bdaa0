//! Access logs: `$context` format strings rendered once per request, when its response body has
//! been sent (or dropped), so `$context.responseLength` and `$context.status` are final and
//! rejected requests are logged like any other.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};

use crate::body::{Body, BoxError};
use crate::context::RequestContext;
use crate::spec::ApiKind;

/// AWS's CLF preset for REST APIs.
pub const REST_CLF: &str = "$context.identity.sourceIp $context.identity.caller $context.identity.user [$context.requestTime] \"$context.httpMethod $context.resourcePath $context.protocol\" $context.status $context.responseLength $context.requestId $context.extendedRequestId";

/// AWS's CLF preset for HTTP APIs.
pub const HTTP_CLF: &str = "$context.identity.sourceIp - - [$context.requestTime] \"$context.httpMethod $context.routeKey $context.protocol\" $context.status $context.responseLength $context.requestId";

/// AWS's JSON preset for REST APIs.
pub const REST_JSON: &str = r#"{ "requestId":"$context.requestId", "extendedRequestId":"$context.extendedRequestId", "ip": "$context.identity.sourceIp", "caller":"$context.identity.caller", "user":"$context.identity.user", "requestTime":"$context.requestTime", "httpMethod":"$context.httpMethod", "resourcePath":"$context.resourcePath", "status":"$context.status", "protocol":"$context.protocol", "responseLength":"$context.responseLength" }"#;

/// AWS's XML preset for REST APIs (the JSON preset's fields).
pub const REST_XML: &str = r#"<request id="$context.requestId"> <ip>$context.identity.sourceIp</ip> <caller>$context.identity.caller</caller> <user>$context.identity.user</user> <requestTime>$context.requestTime</requestTime> <httpMethod>$context.httpMethod</httpMethod> <resourcePath>$context.resourcePath</resourcePath> <status>$context.status</status> <protocol>$context.protocol</protocol> <responseLength>$context.responseLength</responseLength> </request>"#;

/// AWS's CSV preset for REST APIs.
pub const REST_CSV: &str = "$context.identity.sourceIp,$context.identity.caller,$context.identity.user,$context.requestTime,$context.httpMethod,$context.resourcePath,$context.protocol,$context.status,$context.responseLength,$context.requestId,$context.extendedRequestId";

/// AWS's JSON preset for HTTP APIs.
pub const HTTP_JSON: &str = r#"{ "requestId":"$context.requestId", "ip": "$context.identity.sourceIp", "requestTime":"$context.requestTime", "httpMethod":"$context.httpMethod","routeKey":"$context.routeKey", "status":"$context.status","protocol":"$context.protocol", "responseLength":"$context.responseLength" }"#;

/// The format a `--access-log-format` value names: a preset (`clf`, `json`, `xml`, `csv`) for
/// the API's kind, or a `$context` format string of its own.
pub fn preset(name: &str, kind: Option<ApiKind>) -> Option<&'static str> {
    let http = kind == Some(ApiKind::Http);
    Some(match (name, http) {
        ("clf", false) => REST_CLF,
        ("clf", true) => HTTP_CLF,
        ("json", false) => REST_JSON,
        ("json", true) => HTTP_JSON,
        ("xml", _) => REST_XML,
        ("csv", _) => REST_CSV,
        _ => return None,
    })
}

/// A REST API's access-log format must name the request (DG: set-up-logging).
pub fn check_format(format: &str, kind: ApiKind) -> Result<(), String> {
    if !format.contains("$context.") {
        return Err("an access-log format is a string of $context variables".into());
    }
    if kind == ApiKind::Rest
        && !format.contains("$context.requestId")
        && !format.contains("$context.extendedRequestId")
    {
        return Err(
            "a REST API's access-log format must contain $context.requestId or $context.extendedRequestId"
                .into(),
        );
    }
    Ok(())
}

/// A human-first line for a terminal: status (coloured), method, route, latency, and the phase
/// that answered when the integration did not.
pub fn pretty(ctx: &RequestContext, colour: bool) -> String {
    let status = ctx.status;
    let paint = |code: &str, text: String| {
        if colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text
        }
    };
    let status_text = match status {
        200..=299 => paint("32", status.to_string()),
        300..=399 => paint("36", status.to_string()),
        400..=499 => paint("33", status.to_string()),
        _ => paint("31", status.to_string()),
    };
    let route = ctx
        .route_key
        .clone()
        .unwrap_or_else(|| format!("{} {}", ctx.http_method, ctx.request_path));
    let ms = ctx.start.elapsed().as_secs_f64() * 1000.0;
    let mut line = format!("{status_text} {route} {ms:.1}ms");
    if let Some(phase) = ctx.answered_by {
        line.push_str(&paint("2", format!(" answered by {phase}")));
    }
    line.push_str(&paint("2", format!(" {}", ctx.request_id)));
    line
}

/// Called once per finished request.
pub type CompletionSink = Arc<dyn Fn(&RequestContext) + Send + Sync>;

/// The preset for an API kind.
pub fn default_format(kind: Option<ApiKind>) -> &'static str {
    match kind {
        Some(ApiKind::Http) => HTTP_CLF,
        _ => REST_CLF,
    }
}

/// A response body that counts its bytes and calls the sink once, at end of stream or on drop.
pub struct CompletionBody {
    inner: Body,
    ctx: Option<Box<RequestContext>>,
    sink: CompletionSink,
    sent: u64,
}

impl CompletionBody {
    pub fn new(inner: Body, ctx: Box<RequestContext>, sink: CompletionSink) -> Self {
        Self {
            inner,
            ctx: Some(ctx),
            sink,
            sent: 0,
        }
    }

    fn finish(&mut self) {
        if let Some(mut ctx) = self.ctx.take() {
            ctx.response_length = self.sent;
            (self.sink)(&ctx);
        }
    }
}

impl HttpBody for CompletionBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(d) = frame.data_ref() {
                    this.sent += d.len() as u64;
                }
            }
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => this.finish(),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for CompletionBody {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::ContextFormat;

    fn render(format: &str, ctx: &RequestContext) -> String {
        ContextFormat::parse(format).render(ctx)
    }

    #[test]
    fn clf_renders_missing_values_as_dash() {
        let mut c = crate::context::test_request(http::Method::POST, "/orders");
        c.resource_path = Some("/orders".into());
        c.status = 201;
        c.response_length = 17;
        let line = render(REST_CLF, &c);
        let want = format!(
            "10.1.2.3 - - [{}] \"POST /orders HTTP/1.1\" 201 17 {} {}",
            c.request_time, c.request_id, c.extended_request_id
        );
        assert_eq!(line, want);
    }

    fn ctx() -> RequestContext {
        let mut c = crate::context::test_request(http::Method::GET, "/pets");
        c.resource_path = Some("/pets".into());
        c.route_key = Some("GET /pets".into());
        c.status = 200;
        c.response_length = 42;
        c
    }

    #[test]
    fn json_presets_render_valid_json() {
        let c = ctx();
        for (kind, preset_name) in [(ApiKind::Rest, "json"), (ApiKind::Http, "json")] {
            let f = preset(preset_name, Some(kind)).expect("preset");
            let v: serde_json::Value = serde_json::from_str(&render(f, &c)).expect("JSON");
            assert_eq!(v["status"], "200");
            assert_eq!(v["responseLength"], "42");
            assert_eq!(v["requestId"], c.request_id.as_str());
            assert_eq!(v["ip"], "10.1.2.3");
        }
        let v: serde_json::Value = serde_json::from_str(&render(REST_JSON, &c)).expect("JSON");
        assert_eq!(v["caller"], "-", "a variable without a value renders as -");
        assert_eq!(v["resourcePath"], "/pets");
    }

    #[test]
    fn xml_and_csv_presets() {
        let c = ctx();
        let xml = render(REST_XML, &c);
        assert!(
            xml.starts_with(&format!("<request id=\"{}\">", c.request_id)),
            "{xml}"
        );
        assert!(
            xml.contains("<status>200</status>") && xml.ends_with("</request>"),
            "{xml}"
        );
        let csv = render(REST_CSV, &c);
        let fields: Vec<&str> = csv.split(',').collect();
        assert_eq!(fields.len(), 11, "{csv}");
        assert_eq!(fields[0], "10.1.2.3");
        assert_eq!(fields[4], "GET");
        assert_eq!(fields[7], "200");
        assert_eq!(fields[9], c.request_id);
    }

    #[test]
    fn rest_formats_must_name_the_request() {
        assert!(check_format("$context.status", ApiKind::Rest).is_err());
        assert!(check_format("$context.status $context.requestId", ApiKind::Rest).is_ok());
        assert!(check_format("$context.status", ApiKind::Http).is_ok());
        assert!(check_format("no variables", ApiKind::Http).is_err());
    }

    #[test]
    fn pretty_lines_name_the_answering_phase() {
        let mut c = ctx();
        c.status = 429;
        c.answered_by = Some(crate::phase::Phase::UsagePlan);
        let line = pretty(&c, false);
        assert!(line.starts_with("429 GET /pets "), "{line}");
        assert!(line.contains("answered by usage_plan"), "{line}");
        assert!(pretty(&c, true).contains("\x1b[33m429\x1b[0m"));
    }
}
