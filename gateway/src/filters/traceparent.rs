//! `traceparent`: W3C Trace Context. A valid incoming `traceparent` is continued (same trace id,
//! the gateway's span as the new parent id); otherwise the request's trace (its X-Ray root) is used. The integration gets the
//! updated header.

use http::{HeaderValue, Response};
use serde::Deserialize;

use super::Filter;
use crate::body::Body;
use crate::context::RequestContext;
use crate::request::MethodRequest;

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {}

#[derive(Debug)]
pub(super) struct Traceparent;

impl Traceparent {
    pub(super) fn new(_: &Config) -> Self {
        Traceparent
    }
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
            .and_then(crate::ids::parse_traceparent)
            .map_or_else(|| "01".to_string(), |(_, _, f)| f);
        let ids = ctx.trace();
        let (trace, span) = (&ids.trace_id, &ids.span_id);
        if let Ok(v) = HeaderValue::from_str(&format!("00-{trace}-{span}-{flags}")) {
            req.headers.insert("traceparent", v);
        }
        None
    }
}
