//! HTTP API CORS (`x-amazon-apigateway-cors`, SAM `CorsConfiguration`): API Gateway answers
//! preflight requests itself, even without an OPTIONS route, and puts the configured headers on
//! every response to a request that carries `Origin`; the backend's own CORS headers are
//! replaced (aws-behaviour §10). REST APIs have no such phase: SAM's `Cors` writes MOCK OPTIONS methods.

use http::{HeaderMap, HeaderValue, Response, StatusCode};

use crate::body::{empty, Body};
use crate::spec::extensions::CorsExt;

/// The allowed origin to send back for `origin`, if any: `*` when every origin is allowed,
/// else the origin itself when it matches an entry (exact, or a `scheme://*` wildcard).
fn allowed_origin(cfg: &CorsExt, origin: &str) -> Option<String> {
    if cfg.allow_origins.iter().any(|o| o == "*") {
        return Some("*".into());
    }
    cfg.allow_origins
        .iter()
        .any(|o| {
            o.eq_ignore_ascii_case(origin)
                || o.strip_suffix('*')
                    .is_some_and(|prefix| prefix.ends_with("://") && origin.starts_with(prefix))
        })
        .then(|| origin.to_string())
}

fn join(list: &[String]) -> Option<HeaderValue> {
    (!list.is_empty())
        .then(|| HeaderValue::from_str(&list.join(",")).ok())
        .flatten()
}

/// A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`), answered here.
/// [?] AWS does not document the status; tollgate answers 204 No Content.
pub(crate) fn preflight(
    cfg: &CorsExt,
    method: &http::Method,
    headers: &HeaderMap,
) -> Option<Response<Body>> {
    if method != http::Method::OPTIONS || !headers.contains_key("access-control-request-method") {
        return None;
    }
    let origin = headers.get(http::header::ORIGIN)?.to_str().ok()?;
    let mut resp = Response::new(empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    let h = resp.headers_mut();
    if let Some(allowed) = allowed_origin(cfg, origin) {
        if let Ok(v) = HeaderValue::from_str(&allowed) {
            h.insert("access-control-allow-origin", v);
        }
        if let Some(v) = join(&cfg.allow_methods) {
            h.insert("access-control-allow-methods", v);
        }
        if let Some(v) = join(&cfg.allow_headers) {
            h.insert("access-control-allow-headers", v);
        }
        if let Some(age) = cfg.max_age {
            h.insert("access-control-max-age", HeaderValue::from(age));
        }
        if cfg.allow_credentials == Some(true) {
            h.insert(
                "access-control-allow-credentials",
                HeaderValue::from_static("true"),
            );
        }
    }
    Some(resp)
}

/// Put the configured headers on a response to a request with `Origin`, replacing the
/// backend's.
pub(crate) fn decorate(cfg: &CorsExt, request_headers: &HeaderMap, resp: &mut Response<Body>) {
    let Some(origin) = request_headers
        .get(http::header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return;
    };
    let h = resp.headers_mut();
    let backend: Vec<http::HeaderName> = h
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .cloned()
        .collect();
    for k in backend {
        h.remove(k);
    }
    let Some(allowed) = allowed_origin(cfg, origin) else {
        return;
    };
    if let Ok(v) = HeaderValue::from_str(&allowed) {
        h.insert("access-control-allow-origin", v);
    }
    if let Some(v) = join(&cfg.expose_headers) {
        h.insert("access-control-expose-headers", v);
    }
    if cfg.allow_credentials == Some(true) {
        h.insert(
            "access-control-allow-credentials",
            HeaderValue::from_static("true"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(origins: &[&str]) -> CorsExt {
        CorsExt {
            allow_origins: origins.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn origin_matching() {
        assert_eq!(
            allowed_origin(&cfg(&["*"]), "https://a.test"),
            Some("*".into())
        );
        let c = cfg(&["https://a.test", "http://*"]);
        assert_eq!(
            allowed_origin(&c, "https://a.test").as_deref(),
            Some("https://a.test")
        );
        assert_eq!(
            allowed_origin(&c, "http://b.test").as_deref(),
            Some("http://b.test")
        );
        assert_eq!(allowed_origin(&c, "https://b.test"), None);
    }
}
