//! `x-tollgate-aggregate`: one prepared call per part, each a Lambda proxy event for the part's
//! own resource or an HTTP GET, with the caller's identity and trace.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};

use super::upstream_for;
use super::uri::fill_uri;
use crate::context::RequestContext;
use crate::error::GatewayError;
use crate::model::{Aggregate, AggregateTarget, ResolvedApi, Route};
use crate::phases::handoff::{
    CallRequest, HttpRequestPlan, InvocationType, LambdaFormat, LambdaRequest, PreparedCall,
};
use crate::request::MethodRequest;

/// Fill `{param}` from the request's path parameters, `{context.x}` from `$context` and
/// `${stageVariables.x}`.
fn fill(template: &str, ctx: &RequestContext, req: &MethodRequest) -> String {
    fill_uri(template, ctx, &|name| match name.strip_prefix("context.") {
        Some(v) => ctx.variable(v),
        None => req.path_param(name).map(str::to_string),
    })
}

/// Build each call's request from the method request.
pub(super) fn prepare(
    api: &ResolvedApi,
    route: &Route,
    agg: &Aggregate,
    ctx: &RequestContext,
    req: &MethodRequest,
) -> Result<Vec<PreparedCall>, GatewayError> {
    let mut out = Vec::with_capacity(agg.calls.len());
    for c in &agg.calls {
        let call = match &c.target {
            AggregateTarget::Function { function, resource } => {
                // The function sees a GET of its own resource, with the caller's headers,
                // query string, path parameters and identity.
                let sub_req = MethodRequest {
                    method: http::Method::GET,
                    path_and_query: req.path_and_query.clone(),
                    path: fill(resource, ctx, req),
                    raw_query: req.raw_query.clone(),
                    query: req.query.clone(),
                    headers: req.headers.clone(),
                    header_case: req.header_case.clone(),
                    path_params: req.path_params.clone(),
                    body: None,
                };
                let mut sub_route = route.clone();
                sub_route.resource_path = resource.clone();
                let mut sub_ctx = ctx.fork();
                sub_ctx.http_method = "GET".into();
                sub_ctx.resource_path = Some(resource.clone());
                if api.kind == crate::spec::ApiKind::Rest {
                    sub_ctx.path = format!("/{}{}", api.stage.name, sub_req.path);
                }
                let empty = Bytes::new();
                let event =
                    crate::lambda::rest_event(api, &sub_route, &sub_ctx, &sub_req, &empty, None);
                let payload = crate::lambda::event_bytes(&event).map_err(|e| {
                    GatewayError::IntegrationFailure(format!(
                        "aggregate call {}: the Lambda event could not be written: {e}",
                        c.name
                    ))
                })?;
                CallRequest::Lambda(LambdaRequest {
                    function: function.clone(),
                    proxy: true,
                    payload,
                    timeout: c.timeout,
                    format: LambdaFormat::Rest,
                    invocation: InvocationType::RequestResponse,
                })
            }
            AggregateTarget::Http { url } => {
                let target = fill(url, ctx, req);
                let uri: http::Uri = target.parse().map_err(|e| {
                    GatewayError::Configuration(format!(
                        "aggregate call {}: `{target}` is not a URL: {e}",
                        c.name
                    ))
                })?;
                let mut headers = HeaderMap::new();
                headers.insert(
                    http::header::ACCEPT,
                    HeaderValue::from_static("application/json"),
                );
                if let Ok(v) = HeaderValue::from_str(&ctx.trace_id) {
                    headers.insert("x-amzn-trace-id", v);
                }
                if let Ok(v) = HeaderValue::from_str(&ctx.source_ip) {
                    headers.insert("x-forwarded-for", v);
                }
                let upstream = upstream_for(api, &uri, ctx, req);
                CallRequest::Http(Box::new(HttpRequestPlan {
                    method: http::Method::GET,
                    uri,
                    headers,
                    body: crate::body::empty(),
                    timeout: c.timeout,
                    mapped: true,
                    upstream,
                }))
            }
        };
        out.push(PreparedCall {
            name: c.name.clone(),
            call,
            timeout: c.timeout,
            required: c.required,
            default: c.default.clone(),
        });
    }
    Ok(out)
}
