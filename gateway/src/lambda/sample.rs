//! Sample events for `tollgate generate-event`, built by the same code that builds real ones.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use serde_json::Value;

use super::events::{http_v2_event, rest_event, to_value};
use crate::context::RequestContext;
use crate::model::{Integration, Mapping, ResolvedApi, Route, RouteAuth, Router, Stage};
use crate::request::{parse_query, MethodRequest};
use crate::spec::{ApiKind, RouteMethod};

/// Which event [`sample_event`] builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleFormat {
    Rest,
    HttpV1,
    HttpV2,
}

/// A realistic event for `tollgate generate-event`, built by the same code that builds real ones.
pub fn sample_event(
    format: SampleFormat,
    method: &str,
    path_and_query: &str,
    resource: &str,
    body: &str,
    stage: &str,
) -> Result<Value, String> {
    let route_method = RouteMethod::parse(method)
        .ok_or_else(|| format!("`{method}` is not an HTTP method API Gateway routes"))?;
    let http_method = http::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|e| e.to_string())?;
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p.to_string(), Some(q.to_string())),
        None => (path_and_query.to_string(), None),
    };
    let mut router = Router::new();
    router
        .insert(route_method, resource, 0)
        .map_err(|e| format!("--resource {resource}: {e}"))?;
    let params = router
        .lookup(route_method, &path)
        .ok_or_else(|| format!("--path {path} does not match --resource {resource}"))?
        .params;
    let kind = if format == SampleFormat::Rest {
        ApiKind::Rest
    } else {
        ApiKind::Http
    };
    let api = sample_api(kind, stage);
    let route = sample_route(route_method, resource);
    let mut headers = HeaderMap::new();
    for (k, v) in [
        (
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        ),
        ("accept-encoding", "gzip, deflate, sdch"),
        ("accept-language", "en-US,en;q=0.8"),
        ("content-type", "application/json"),
        ("host", "1234567890.execute-api.us-east-1.amazonaws.com"),
        ("user-agent", "Custom User Agent String"),
    ] {
        headers.insert(k, HeaderValue::from_static(v));
    }
    let conn = crate::context::ConnInfo {
        remote: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        local: std::net::SocketAddr::from(([127, 0, 0, 1], 443)),
        tls: true,
    };
    let mut ctx = RequestContext::new(&http_method, &path, &headers, conn);
    ctx.api_id = Some(api.api_id.clone());
    ctx.api_kind = Some(kind);
    ctx.stage = Some(stage.to_string());
    ctx.resource_path = Some(resource.to_string());
    ctx.route_key = Some(route.route_key.clone());
    ctx.path_params = params.clone();
    if kind == ApiKind::Rest {
        ctx.path = format!("/{stage}{path}");
    }
    let req = MethodRequest {
        path_and_query: path_and_query.to_string(),
        method: http_method,
        path,
        raw_query: query.clone(),
        query: parse_query(query.as_deref()),
        headers,
        header_case: Default::default(),
        path_params: params,
        body: None,
    };
    let body = Bytes::from(body.to_string());
    match format {
        SampleFormat::Rest => to_value(&rest_event(&api, &route, &ctx, &req, &body, None)),
        SampleFormat::HttpV1 => to_value(&rest_event(&api, &route, &ctx, &req, &body, Some("1.0"))),
        SampleFormat::HttpV2 => to_value(&http_v2_event(&api, &route, &ctx, &req, &body)),
    }
    .map_err(|e| e.to_string())
}

/// The API a sample event (and the event tests) come from: one stage, no routes of its own.
pub(super) fn sample_api(kind: ApiKind, stage: &str) -> ResolvedApi {
    ResolvedApi {
        name: "SampleApi".into(),
        api_id: "1234567890".into(),
        kind,
        source: Default::default(),
        stage: Stage {
            name: stage.to_string(),
            variables: Default::default(),
        },
        routes: Vec::new(),
        router: Router::new(),
        gateway_responses: Default::default(),
        binary_media_types: Vec::new(),
        cors: None,
        access_log_format: None,
        upstreams: Default::default(),
        resource_policy: None,
        stage_throttle: Default::default(),
        api_key_source: crate::spec::extensions::ApiKeySource::Header,
        warnings: Vec::new(),
    }
}

/// A route for `resource`, answered by a MOCK: events read only its resource and route key.
pub(super) fn sample_route(method: RouteMethod, resource: &str) -> Route {
    Route {
        method,
        resource_path: resource.to_string(),
        route_key: format!("{method} {resource}"),
        operation_name: None,
        integration: Integration::Mock(Mapping {
            request_templates: Default::default(),
            passthrough: crate::spec::extensions::PassthroughBehavior::WhenNoMatch,
            request_parameters: Vec::new(),
            content_handling: None,
            responses: Default::default(),
        }),
        method_responses: Default::default(),
        pointer: String::new(),
        auth: RouteAuth::None,
        api_key_required: false,
        identity_injection: None,
        rate_limit: None,
        validation: None,
        filters: Vec::new(),
    }
}
