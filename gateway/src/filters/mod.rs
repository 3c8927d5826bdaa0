//! The declarative filter chain (`x-tollgate-policies`, tollgate's own): small bidirectional
//! filters attached in order, globally (`--policies FILE`), per API (document root), per route
//! (operation) and per consumer (`when`). Each sees the request on the way in (and may answer it,
//! short-circuiting the integration) and the response on the way out, in reverse order.
//! Attaching one is configuration; adding one is a module implementing [`Filter`].

mod headers;
mod request_id;
mod require_client_cert;
mod respond;
mod rewrite_path;

pub(crate) use rewrite_path::apply as rewrite_uri;
mod traceparent;

use std::sync::Arc;

use http::Response;
use serde::Deserialize;

use crate::body::Body;
use crate::context::RequestContext;
use crate::request::MethodRequest;

/// One filter: request in, response out.
pub trait Filter: Send + Sync + std::fmt::Debug {
    /// Inspect or change the request; `Some(response)` answers it here.
    fn on_request(
        &self,
        _ctx: &mut RequestContext,
        _req: &mut MethodRequest,
    ) -> Option<Response<Body>> {
        None
    }

    /// Inspect or change the response.
    fn on_response(&self, _ctx: &RequestContext, _resp: &mut Response<Body>) {}
}

/// Which callers a policy applies to (all when absent).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct When {
    /// API key ids (or values) the policy applies to.
    #[serde(default)]
    pub api_key: Vec<String>,
    /// Authorizer principals (or IAM user ARNs / access keys).
    #[serde(default)]
    pub principal: Vec<String>,
}

impl When {
    fn matches(&self, ctx: &RequestContext) -> bool {
        let key_ok = self.api_key.is_empty()
            || [&ctx.api_key, &ctx.api_key_id]
                .iter()
                .any(|k| k.as_ref().is_some_and(|k| self.api_key.contains(k)));
        let principal = ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.principal_id.clone())
            .or_else(|| ctx.iam.as_ref().and_then(|i| i.user_arn.clone()))
            .or_else(|| ctx.iam.as_ref().map(|i| i.access_key.clone()));
        let principal_ok =
            self.principal.is_empty() || principal.is_some_and(|p| self.principal.contains(&p));
        key_ok && principal_ok
    }
}

/// One entry of `x-tollgate-policies` as written: exactly one policy name, plus `when`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyEntry {
    pub request_id: Option<request_id::Config>,
    pub traceparent: Option<traceparent::Config>,
    pub set_headers: Option<headers::SetConfig>,
    pub remove_headers: Option<headers::RemoveConfig>,
    pub rewrite_path: Option<rewrite_path::Config>,
    pub respond: Option<respond::Config>,
    pub require_client_cert: Option<require_client_cert::Config>,
    pub when: Option<When>,
}

/// A policy ready to run.
#[derive(Debug, Clone)]
pub struct Attached {
    pub filter: Arc<dyn Filter>,
    pub when: Option<When>,
}

/// The built-in policies' names, for error messages.
pub(crate) const NAMES: &[&str] = &[
    "requestId",
    "traceparent",
    "setHeaders",
    "removeHeaders",
    "rewritePath",
    "respond",
    "requireClientCert",
];

impl PolicyEntry {
    /// Build the filter; an entry must name exactly one policy.
    pub fn build(&self) -> Result<Attached, String> {
        let mut built: Vec<Arc<dyn Filter>> = Vec::new();
        if let Some(c) = &self.request_id {
            built.push(Arc::new(request_id::RequestId::new(c)));
        }
        if let Some(c) = &self.traceparent {
            built.push(Arc::new(traceparent::Traceparent::new(c)));
        }
        if let Some(c) = &self.set_headers {
            built.push(Arc::new(headers::SetHeaders::new(c)?));
        }
        if let Some(c) = &self.remove_headers {
            built.push(Arc::new(headers::RemoveHeaders::new(c)));
        }
        if let Some(c) = &self.rewrite_path {
            built.push(Arc::new(rewrite_path::RewritePath::new(c)?));
        }
        if let Some(c) = &self.respond {
            built.push(Arc::new(respond::Respond::new(c)?));
        }
        if let Some(c) = &self.require_client_cert {
            built.push(Arc::new(require_client_cert::RequireClientCert::new(c)));
        }
        match built.len() {
            1 => Ok(Attached {
                filter: built.remove(0),
                when: self.when.clone(),
            }),
            0 => Err(format!(
                "names no policy: expected one of {}",
                NAMES.join(", ")
            )),
            _ => Err(
                "names several policies: write one per list entry, in the order they run".into(),
            ),
        }
    }
}

/// Run the request side in order; the first answer short-circuits. Returns the answer and how
/// many filters ran (their response sides run on it, in reverse).
pub(crate) fn request(
    chain: &[Attached],
    ctx: &mut RequestContext,
    req: &mut MethodRequest,
) -> (Option<Response<Body>>, usize) {
    for (k, a) in chain.iter().enumerate() {
        if a.when.as_ref().is_some_and(|w| !w.matches(ctx)) {
            continue;
        }
        if let Some(r) = a.filter.on_request(ctx, req) {
            return (Some(r), k + 1);
        }
    }
    (None, chain.len())
}

/// Run the response side of the first `ran` filters, last first.
pub(crate) fn response(
    chain: &[Attached],
    ran: usize,
    ctx: &RequestContext,
    resp: &mut Response<Body>,
) {
    for a in chain[..ran.min(chain.len())].iter().rev() {
        if a.when.as_ref().is_some_and(|w| !w.matches(ctx)) {
            continue;
        }
        a.filter.on_response(ctx, resp);
    }
}
