//! `traceparent`: W3C Trace Context. A valid incoming `traceparent` is continued (same trace id,
//! the gateway's span as the new parent id); otherwise the request's trace (its X-Ray root) is used. The integration gets the
//! updated header.

use http::{HeaderValue, Response};
use serde::Deserialize;

use super::Filter;
use crate::body::Body;
use crate::context::RequestContext;
use crate::method_request::MethodRequest;

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {}

#[derive(Debug)]
pub struct Traceparent;

impl Traceparent {
    pub fn new(_: &Config) -> Self {
        Traceparent
    }
}

/// `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`, neither id all zeros:
/// (trace id, parent id, flags).
pub fn parse(v: &str) -> Option<(String, String, String)> {
    let parts: Vec<&str> = v.trim().split('-').collect();
    let [version, trace, parent, flags] = parts.as_slice() else {
        return None;
    };
    let hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    if !hex(version, 2) || *version == "ff" || !hex(trace, 32) || !hex(parent, 16) || !hex(flags, 2)
    {
        return None;
    }
    if trace.bytes().all(|b| b == b'0') || parent.bytes().all(|b| b == b'0') {
        return None;
    }
    Some((trace.to_string(), parent.to_string(), flags.to_string()))
}

impl Filter for Traceparent {
    fn on_request(
        &self,
        ctx: &mut RequestContext,
        req: &mut MethodRequest,
    ) -> Option<Response<Body>> {
        // The trace and the gateway's span are the request's own (`ctx.trace`), so the
        // integration's spans hang under the gateway's in an exported trace.
        let flags = req
            .headers
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .and_then(parse)
            .map_or_else(|| "01".to_string(), |(_, _, f)| f);
        let (trace, span) = (&ctx.trace.trace_id, &ctx.trace.span_id);
        if let Ok(v) = HeaderValue::from_str(&format!("00-{trace}-{span}-{flags}")) {
            req.headers.insert("traceparent", v);
        }
        None
    }
}
