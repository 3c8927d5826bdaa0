//! Method request: the client's request as the route sees it (path without the stage, decoded
//! query, headers, path parameters). Request validation (required parameters, body models) joins
//! this stage with the mapping-template work.

use http::HeaderMap;

use crate::api::{ResolvedApi, Route};
use crate::body::Body;
use crate::context::RequestContext;
use crate::gateway_response::GatewayError;
use crate::pipeline::Flow;

/// The request after routing, as later stages read it.
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
    pub path_params: Vec<(String, String)>,
    /// Taken by the integration request stage.
    pub body: Option<Body>,
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
pub fn joined_header(headers: &HeaderMap, name: &str) -> Option<String> {
    let v: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!v.is_empty()).then(|| v.join(","))
}

pub fn parse_query(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|q| {
        form_urlencoded::parse(q.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    })
    .unwrap_or_default()
}

pub fn run(
    _api: &ResolvedApi,
    _route: &Route,
    _ctx: &mut RequestContext,
    _request: &mut MethodRequest,
) -> Result<Flow<()>, GatewayError> {
    Ok(Flow::Continue(()))
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
            path_params: vec![],
            body: None,
        };
        assert_eq!(r.query_value("price"), Some("30"));
        assert_eq!(r.query_value("a"), Some("b c"));
        assert_eq!(r.query_value("p"), Some("+1"));
        assert_eq!(r.query_value("none"), None);
    }
}
