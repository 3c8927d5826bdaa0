//! `rewritePath`: rewrite the path an HTTP integration is sent (after its URI is filled), with a
//! regular expression and a replacement (`$1`, `${name}`).

use std::sync::Arc;

use http::Response;
use serde::Deserialize;

use super::Filter;
use crate::body::Body;
use crate::context::RequestContext;
use crate::request::MethodRequest;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    pub from: String,
    pub to: String,
}

#[derive(Debug)]
pub(super) struct RewritePath {
    rule: Arc<(regex::Regex, String)>,
}

impl RewritePath {
    pub(super) fn new(c: &Config) -> Result<Self, String> {
        let re = regex::Regex::new(&c.from).map_err(|e| {
            format!(
                "rewritePath.from `{}` is not a regular expression: {e}",
                c.from
            )
        })?;
        Ok(RewritePath {
            rule: Arc::new((re, c.to.clone())),
        })
    }
}

impl Filter for RewritePath {
    fn on_request(
        &self,
        ctx: &mut RequestContext,
        _req: &mut MethodRequest,
    ) -> Option<Response<Body>> {
        ctx.path_rewrites.push(self.rule.clone());
        None
    }
}

/// Apply the request's rewrites to an outgoing URI's path, keeping its query.
pub(crate) fn apply(ctx: &RequestContext, target: &str) -> String {
    if ctx.path_rewrites.is_empty() {
        return target.to_string();
    }
    let (scheme_host, rest) = match target
        .find("://")
        .and_then(|i| target[i + 3..].find('/').map(|j| i + 3 + j))
    {
        Some(cut) => target.split_at(cut),
        None => return target.to_string(),
    };
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q)),
        None => (rest.to_string(), None),
    };
    let mut path = path;
    for rule in &ctx.path_rewrites {
        path = rule.0.replace(&path, rule.1.as_str()).into_owned();
    }
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    match query {
        Some(q) => format!("{scheme_host}{path}?{q}"),
        None => format!("{scheme_host}{path}"),
    }
}
