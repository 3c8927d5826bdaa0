//! `requireClientCert`: answer 403 unless the connection presented a client certificate the
//! truststore accepted (with `--tls-client-cert-optional`, where the handshake lets callers
//! without one through), optionally one whose subject contains a given text.

use http::{HeaderValue, Response, StatusCode};
use serde::Deserialize;

use super::Filter;
use crate::body::{full, Body};
use crate::context::RequestContext;
use crate::request::MethodRequest;

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    /// Accept only certificates whose subject DN contains one of these (e.g. `CN=billing`).
    #[serde(default)]
    pub subject_contains: Vec<String>,
}

#[derive(Debug)]
pub(super) struct RequireClientCert {
    subjects: Vec<String>,
}

impl RequireClientCert {
    pub(super) fn new(c: &Config) -> Self {
        RequireClientCert {
            subjects: c.subject_contains.clone(),
        }
    }
}

impl Filter for RequireClientCert {
    fn on_request(
        &self,
        ctx: &mut RequestContext,
        _req: &mut MethodRequest,
    ) -> Option<Response<Body>> {
        let ok = ctx.client_cert.as_ref().is_some_and(|c| {
            self.subjects.is_empty()
                || self
                    .subjects
                    .iter()
                    .any(|s| c.subject_dn.contains(s.as_str()))
        });
        if ok {
            return None;
        }
        // The body and type API Gateway uses for a refused caller.
        let mut r = Response::new(full(r#"{"message":"Forbidden"}"#));
        *r.status_mut() = StatusCode::FORBIDDEN;
        r.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r.headers_mut().insert(
            "x-amzn-errortype",
            HeaderValue::from_static("ForbiddenException"),
        );
        Some(r)
    }
}
