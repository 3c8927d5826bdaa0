//! `respond`: answer from the gateway with a fixed status, headers and body, without calling
//! the integration (maintenance pages, stubs, blocking a consumer with `when`).

use http::{HeaderName, HeaderValue, Response, StatusCode};
use indexmap::IndexMap;
use serde::Deserialize;

use super::Filter;
use crate::body::{full, Body};
use crate::context::RequestContext;
use crate::request::MethodRequest;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    pub status: u16,
    #[serde(default)]
    pub headers: IndexMap<String, String>,
    #[serde(default)]
    pub body: String,
}

#[derive(Debug)]
pub(super) struct Respond {
    status: StatusCode,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: bytes::Bytes,
}

impl Respond {
    pub(super) fn new(c: &Config) -> Result<Self, String> {
        let status = StatusCode::from_u16(c.status)
            .map_err(|_| format!("respond.status {} is not an HTTP status", c.status))?;
        let mut headers = Vec::new();
        for (k, v) in &c.headers {
            headers.push((
                HeaderName::from_bytes(k.as_bytes())
                    .map_err(|_| format!("`{k}` is not a header name"))?,
                HeaderValue::from_str(v)
                    .map_err(|_| format!("the value of {k} is not a valid header value"))?,
            ));
        }
        Ok(Respond {
            status,
            headers,
            body: bytes::Bytes::from(c.body.clone()),
        })
    }
}

impl Filter for Respond {
    fn on_request(
        &self,
        _ctx: &mut RequestContext,
        _req: &mut MethodRequest,
    ) -> Option<Response<Body>> {
        let mut r = Response::new(full(self.body.clone()));
        *r.status_mut() = self.status;
        for (k, v) in &self.headers {
            r.headers_mut().insert(k.clone(), v.clone());
        }
        Some(r)
    }
}
