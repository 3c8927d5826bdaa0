//! Method request: the client's request as the route sees it (path without the stage, decoded
//! query, headers, path parameters), and request validation (facts §8): required parameters
//! first (present and not blank), then the body against its model (JSON Schema draft 4).

use http::HeaderMap;

use crate::api::{ResolvedApi, Route};
use crate::body::Body;
use crate::context::RequestContext;
use crate::gateway_response::GatewayError;
use crate::pipeline::Flow;
use crate::spec::ParamLocation;

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

pub async fn run(
    _api: &ResolvedApi,
    route: &Route,
    ctx: &mut RequestContext,
    req: &mut MethodRequest,
) -> Result<Flow<()>, GatewayError> {
    let Some(v) = &route.validation else {
        return Ok(Flow::Continue(()));
    };
    let blank = |s: Option<&str>| s.is_none_or(|s| s.trim().is_empty());
    let missing: Vec<String> = v
        .required
        .iter()
        .filter(|(loc, name)| match loc {
            ParamLocation::Header => blank(req.header_value(name)),
            ParamLocation::Path => blank(req.path_param(name)),
            _ => blank(req.query_value(name)),
        })
        .map(|(_, name)| name.clone())
        .collect();
    if !missing.is_empty() {
        return Err(GatewayError::MissingParameters(missing));
    }
    let media = crate::integration_request::request_media_type(&req.headers);
    let Some(model) = v.models.get(&media).or_else(|| v.models.get("$default")) else {
        return Ok(Flow::Continue(()));
    };
    let bytes = match req.body.take() {
        Some(b) => crate::integration_request::collect(b).await?,
        None => bytes::Bytes::new(),
    };
    // Later stages read the body again.
    req.body = Some(crate::body::full(bytes.clone()));
    // An empty body is validated as `{}` [emu].
    let doc: serde_json::Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        serde_json::json!({})
    } else {
        match serde_json::from_slice(&bytes) {
            Ok(d) => d,
            Err(e) => {
                ctx.validation_error = Some(format!("[Invalid JSON: {e}]"));
                return Err(GatewayError::InvalidBody);
            }
        }
    };
    let problems: Vec<String> = model.iter_errors(&doc).map(|e| e.to_string()).collect();
    if !problems.is_empty() {
        // [?] AWS's wording comes from its own validator; the list shape is what it shows.
        ctx.validation_error = Some(format!("[{}]", problems.join(", ")));
        return Err(GatewayError::InvalidBody);
    }
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
