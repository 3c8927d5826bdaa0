//! The method request: the client's request as the route sees it (path without the stage,
//! decoded query, headers, path parameters, the body still streaming), and the small readers
//! every phase shares.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use http_body_util::BodyExt;

use crate::body::Body;
use crate::error::GatewayError;

/// The request after routing, as later phases read it.
pub struct MethodRequest {
    pub method: http::Method,
    /// The request target exactly as the client sent it (stage prefix included), for SigV4.
    pub path_and_query: String,
    /// The request path without any stage prefix, undecoded.
    pub path: String,
    pub raw_query: Option<String>,
    /// Query parameters, URL-decoded (`+` is a space), in order.
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    /// How the client spelled the header names (HTTP/1 only; `headers` holds them lowercased).
    pub header_case: HeaderCase,
    pub path_params: Vec<(String, String)>,
    /// Taken by the integration request stage.
    pub body: Option<Body>,
}

/// Header names as the client wrote them, for the places API Gateway shows them so: REST (payload
/// 1.0) events and `$input.params()` (aws-behaviour §3a). The server reads them off the wire and
/// puts them on the request's extensions; only names not already lowercase are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderCase(Vec<String>);

impl HeaderCase {
    /// From the names in the order the client sent them; the first spelling of a name wins.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> HeaderCase {
        let mut kept: Vec<String> = Vec::new();
        for n in names {
            let lower = !n.bytes().any(|b| b.is_ascii_uppercase());
            if !lower && !kept.iter().any(|k| k.eq_ignore_ascii_case(n)) {
                kept.push(n.to_string());
            }
        }
        HeaderCase(kept)
    }

    /// The client's spelling of `name` (a lowercase name from the header map).
    pub fn spelled<'a>(&'a self, name: &'a str) -> &'a str {
        self.0
            .iter()
            .find(|k| k.eq_ignore_ascii_case(name))
            .map_or(name, String::as_str)
    }
}

impl MethodRequest {
    /// The single-value view of a query parameter: the last value wins, as API Gateway does.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn path_param(&self, name: &str) -> Option<&str> {
        self.path_params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Every value of a header, joined with `,` as API Gateway's multi-value mappings do.
pub(crate) fn joined_header(headers: &HeaderMap, name: &str) -> Option<String> {
    let v: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!v.is_empty()).then(|| v.join(","))
}

pub(crate) fn parse_query(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|q| {
        form_urlencoded::parse(q.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    })
    .unwrap_or_default()
}

/// The Content-Type that picks a request template or model: the media type without parameters;
/// a request without one counts as `application/json` (aws-behaviour §7).
pub(crate) fn request_media_type(headers: &HeaderMap) -> String {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "application/json".to_string())
}

/// Request headers a mapping template never sees: `$input.params()` reads `""` for them
/// (aws-behaviour §7).
const HIDDEN_FROM_TEMPLATES: &[&str] = &[
    "connection",
    "content-md5",
    "max-forwards",
    "proxy-authenticate",
    "server",
    "te",
    "trailer",
    "upgrade",
    "www-authenticate",
];

/// The request headers as mapping templates see them: named as the client spelled them, without
/// the hidden ones; values that are not text are skipped.
pub(crate) fn template_headers(req: &MethodRequest) -> Vec<(String, String)> {
    req.headers
        .iter()
        .filter(|(k, _)| !HIDDEN_FROM_TEMPLATES.contains(&k.as_str()))
        .filter_map(|(k, v)| {
            let name = req.header_case.spelled(k.as_str());
            Some((name.to_string(), v.to_str().ok()?.to_string()))
        })
        .collect()
}

/// Set a header from mapped text, skipping a name or value HTTP cannot carry.
pub(crate) fn insert_header(headers: &mut HeaderMap, name: &str, value: &str) {
    if let (Ok(n), Ok(v)) = (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        headers.insert(n, v);
    }
}

/// Read the client's whole request body: past the 10 MB limit is 413, past `--body-timeout`
/// 408, and a body hyper cannot read (malformed chunked encoding, a client that left) 400.
pub(crate) async fn collect(body: Body) -> Result<Bytes, GatewayError> {
    body.collect().await.map(|c| c.to_bytes()).map_err(|e| {
        if is_length_limit(e.as_ref()) {
            GatewayError::RequestTooLarge
        } else if let Some(t) = find::<crate::body::BodyTimeout>(e.as_ref()) {
            GatewayError::RequestTimeout(t.0)
        } else {
            GatewayError::BadRequest(format!("reading the request body failed: {e}"))
        }
    })
}

/// Read a backend's whole answer; a failure is the integration's.
pub(crate) async fn collect_answer(body: Body) -> Result<Bytes, GatewayError> {
    body.collect().await.map(|c| c.to_bytes()).map_err(|e| {
        GatewayError::IntegrationFailure(format!("reading the integration's answer failed: {e}"))
    })
}

/// The first error of type `T` in `e`'s source chain.
fn find<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<T>() {
            return Some(t);
        }
        cur = err.source();
    }
    None
}

/// Whether an error (or anything in its source chain) is the 10 MB request-body limit.
pub(crate) fn is_length_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    find::<http_body_util::LengthLimitError>(e).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding_and_last_value_wins() {
        let q = parse_query(Some("price=10&price=20&price=30&a=b+c&p=%2B1"));
        let r = MethodRequest {
            path_and_query: "/".into(),
            method: http::Method::GET,
            path: "/".into(),
            raw_query: None,
            query: q,
            headers: HeaderMap::new(),
            header_case: HeaderCase::default(),
            path_params: vec![],
            body: None,
        };
        assert_eq!(r.query_value("price"), Some("30"));
        assert_eq!(r.query_value("a"), Some("b c"));
        assert_eq!(r.query_value("p"), Some("+1"));
        assert_eq!(r.query_value("none"), None);
    }

    #[test]
    fn media_type_defaults_to_json() {
        let mut h = HeaderMap::new();
        assert_eq!(request_media_type(&h), "application/json");
        h.insert(
            "content-type",
            http::HeaderValue::from_static("Text/Plain; charset=UTF-8"),
        );
        assert_eq!(request_media_type(&h), "text/plain");
    }
}
