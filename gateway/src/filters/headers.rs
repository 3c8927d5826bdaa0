//! `setHeaders` and `removeHeaders`: add, replace or strip request headers (before the
//! integration) and response headers (before the client), e.g. add `Cache-Control`, strip
//! `Server` and internal headers.

use http::{HeaderName, HeaderValue, Response};
use indexmap::IndexMap;
use serde::Deserialize;

use super::Filter;
use crate::body::Body;
use crate::context::RequestContext;
use crate::request::MethodRequest;

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetConfig {
    #[serde(default)]
    pub request: IndexMap<String, String>,
    #[serde(default)]
    pub response: IndexMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemoveConfig {
    #[serde(default)]
    pub request: Vec<String>,
    #[serde(default)]
    pub response: Vec<String>,
}

type Pairs = Vec<(HeaderName, HeaderValue)>;

#[derive(Debug)]
pub(super) struct SetHeaders {
    request: Pairs,
    response: Pairs,
}

fn pairs(m: &IndexMap<String, String>) -> Result<Pairs, String> {
    m.iter()
        .map(|(k, v)| {
            Ok((
                HeaderName::from_bytes(k.as_bytes())
                    .map_err(|_| format!("`{k}` is not a header name"))?,
                HeaderValue::from_str(v)
                    .map_err(|_| format!("the value of {k} is not a valid header value"))?,
            ))
        })
        .collect()
}

impl SetHeaders {
    pub(super) fn new(c: &SetConfig) -> Result<Self, String> {
        Ok(SetHeaders {
            request: pairs(&c.request)?,
            response: pairs(&c.response)?,
        })
    }
}

impl Filter for SetHeaders {
    fn on_request(
        &self,
        _ctx: &mut RequestContext,
        req: &mut MethodRequest,
    ) -> Option<Response<Body>> {
        for (k, v) in &self.request {
            req.headers.insert(k.clone(), v.clone());
        }
        None
    }

    fn on_response(&self, _ctx: &RequestContext, resp: &mut Response<Body>) {
        for (k, v) in &self.response {
            resp.headers_mut().insert(k.clone(), v.clone());
        }
    }
}

#[derive(Debug)]
pub(super) struct RemoveHeaders {
    request: Vec<String>,
    response: Vec<String>,
}

impl RemoveHeaders {
    pub(super) fn new(c: &RemoveConfig) -> Self {
        let lower = |l: &[String]| l.iter().map(|h| h.to_ascii_lowercase()).collect();
        RemoveHeaders {
            request: lower(&c.request),
            response: lower(&c.response),
        }
    }
}

/// `x-internal-*` style prefixes end with `*`.
fn strip(headers: &mut http::HeaderMap, names: &[String]) {
    let doomed: Vec<HeaderName> = headers
        .keys()
        .filter(|k| {
            names.iter().any(|n| match n.strip_suffix('*') {
                Some(prefix) => k.as_str().starts_with(prefix),
                None => k.as_str() == n,
            })
        })
        .cloned()
        .collect();
    for k in doomed {
        headers.remove(k);
    }
}

impl Filter for RemoveHeaders {
    fn on_request(
        &self,
        _ctx: &mut RequestContext,
        req: &mut MethodRequest,
    ) -> Option<Response<Body>> {
        strip(&mut req.headers, &self.request);
        None
    }

    fn on_response(&self, _ctx: &RequestContext, resp: &mut Response<Body>) {
        strip(resp.headers_mut(), &self.response);
    }
}
