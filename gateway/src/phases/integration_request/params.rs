//! Where mapped parameter values come from, and small header helpers.

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::context::RequestContext;
use crate::model::ParamSource;
use crate::request::MethodRequest;

/// Replace or add each `(name, value)` (case-insensitively, as header and override names are).
pub(super) fn override_pairs(list: &mut Vec<(String, String)>, overrides: &[(String, String)]) {
    for (k, v) in overrides {
        list.retain(|(n, _)| !n.eq_ignore_ascii_case(k));
        list.push((k.clone(), v.clone()));
    }
}

/// A multi-value query string mapped to a query string keeps each value as its own parameter;
/// everything else is the one value.
pub(super) fn query_values(
    source: &ParamSource,
    req: &MethodRequest,
    joined: String,
) -> Vec<String> {
    match source {
        ParamSource::MultiQuery(n) => req
            .query
            .iter()
            .filter(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .collect(),
        _ => vec![joined],
    }
}

pub(super) fn source_value(
    source: &ParamSource,
    ctx: &RequestContext,
    req: &MethodRequest,
    body: Option<&[u8]>,
) -> Option<String> {
    match source {
        ParamSource::Static(s) => Some(s.clone()),
        ParamSource::Path(n) => req.path_param(n).map(str::to_string),
        ParamSource::Query(n) => req.query_value(n).map(str::to_string),
        ParamSource::MultiQuery(n) => {
            let v: Vec<&str> = req
                .query
                .iter()
                .filter(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
                .collect();
            (!v.is_empty()).then(|| v.join(","))
        }
        ParamSource::Header(n) => req.header_value(n).map(str::to_string),
        ParamSource::MultiHeader(n) => crate::request::joined_header(&req.headers, n),
        ParamSource::StageVariable(n) => ctx.stage_variables.get(n).cloned(),
        ParamSource::Context(n) => ctx.variable(n),
        ParamSource::Body(path) => crate::mapping::body_value(body?, path.as_deref()),
        ParamSource::IntegrationResponseHeader(_)
        | ParamSource::IntegrationResponseMultiHeader(_) => None,
    }
}

pub(super) fn set(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

// Names the gateway adds, made at compile time: `HeaderName::from_static` at run time checks
// every byte of the name again on each request.
pub(super) const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub(super) const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub(super) const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
pub(super) const X_AMZN_TRACE_ID: HeaderName = HeaderName::from_static("x-amzn-trace-id");
pub(super) const X_AMZN_APIGATEWAY_API_ID: HeaderName =
    HeaderName::from_static("x-amzn-apigateway-api-id");

/// A port as text, without the formatting machinery.
pub(super) fn port_text(port: u16) -> String {
    let mut text = String::with_capacity(5);
    crate::digits::push_decimal(&mut text, u64::from(port));
    text
}
