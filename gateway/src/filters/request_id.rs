//! `requestId`: every request carries an `X-Request-Id` to the integration and back to the
//! client; a valid incoming one (a UUID or 1-200 visible ASCII characters) is kept, anything
//! else is replaced by the gateway's request id.

use http::{HeaderName, HeaderValue, Response};
use serde::Deserialize;

use super::Filter;
use crate::body::Body;
use crate::context::RequestContext;
use crate::request::MethodRequest;

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// The header name (default `X-Request-Id`).
    pub header: Option<String>,
}

#[derive(Debug)]
pub(super) struct RequestId {
    header: HeaderName,
}

impl RequestId {
    pub(super) fn new(c: &Config) -> Self {
        let header = c
            .header
            .as_deref()
            .and_then(|h| HeaderName::from_bytes(h.as_bytes()).ok())
            .unwrap_or(HeaderName::from_static("x-request-id"));
        RequestId { header }
    }
}

fn valid(v: &str) -> bool {
    (1..=200).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic())
}

impl Filter for RequestId {
    fn on_request(
        &self,
        ctx: &mut RequestContext,
        req: &mut MethodRequest,
    ) -> Option<Response<Body>> {
        let keep = req
            .headers
            .get(&self.header)
            .and_then(|v| v.to_str().ok())
            .is_some_and(valid);
        if !keep {
            if let Ok(v) = HeaderValue::from_str(&ctx.request_id) {
                req.headers.insert(self.header.clone(), v);
            }
        }
        ctx.correlation_id = req
            .headers
            .get(&self.header)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        None
    }

    fn on_response(&self, ctx: &RequestContext, resp: &mut Response<Body>) {
        if let Some(id) = ctx
            .correlation_id
            .as_deref()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            resp.headers_mut().insert(self.header.clone(), id);
        }
    }
}
