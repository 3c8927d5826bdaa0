//! AWS_PROXY: the Lambda proxy event for the route's payload format (aws-behaviour §3).

use bytes::Bytes;

use crate::context::RequestContext;
use crate::error::GatewayError;
use crate::model::{LambdaIntegration, Mapping, ParamTarget};
use crate::phase::Flow;
use crate::phases::env::{Env, PhaseResult};
use crate::phases::handoff::{IntegrationRequest, InvocationType, LambdaFormat, LambdaRequest};
use crate::request::{collect, MethodRequest};
use crate::spec::ApiKind;

pub(super) async fn proxy_event(
    env: &Env<'_>,
    l: &LambdaIntegration,
    ctx: &mut RequestContext,
    req: &mut MethodRequest,
) -> PhaseResult<IntegrationRequest> {
    let (api, route) = (env.api, env.route);
    // AWS_PROXY must invoke with POST; anything else is a 500 on AWS (aws-behaviour §2).
    if !l.http_method.eq_ignore_ascii_case("POST") {
        return Err(GatewayError::Configuration(format!(
            "Lambda proxy integration of {} uses httpMethod {}; Lambda is invoked with POST",
            route.route_key, l.http_method
        )));
    }
    let body = match req.body.take() {
        Some(b) => collect(b).await?,
        None => Bytes::new(),
    };
    let (event, format) = match (api.kind, l.payload_format_version.as_str()) {
        (ApiKind::Rest, _) => (
            crate::lambda::event_bytes(&crate::lambda::rest_event(
                api, route, ctx, req, &body, None,
            )),
            LambdaFormat::Rest,
        ),
        (ApiKind::Http, "1.0") => (
            crate::lambda::event_bytes(&crate::lambda::rest_event(
                api,
                route,
                ctx,
                req,
                &body,
                Some("1.0"),
            )),
            LambdaFormat::HttpV1,
        ),
        (ApiKind::Http, _) => (
            crate::lambda::event_bytes(&crate::lambda::http_v2_event(api, route, ctx, req, &body)),
            LambdaFormat::HttpV2,
        ),
    };
    let payload = event.map_err(|e| {
        GatewayError::IntegrationFailure(format!("the Lambda event could not be written: {e}"))
    })?;
    Ok(Flow::Continue(IntegrationRequest::Lambda(LambdaRequest {
        function: l.function.clone(),
        proxy: true,
        payload,
        timeout: l.timeout,
        format,
        invocation: InvocationType::RequestResponse,
    })))
}

/// The invocation type a non-proxy integration asks for: `X-Amz-Invocation-Type` mapped by a
/// request parameter, or set by the request template's override (aws-behaviour §7).
pub(super) fn invocation_type(
    mapping: &Mapping,
    ctx: &RequestContext,
    req: &MethodRequest,
) -> InvocationType {
    const HEADER: &str = "X-Amz-Invocation-Type";
    let mapped = mapping
        .request_parameters
        .iter()
        .filter(|p| p.target == ParamTarget::Header && p.name.eq_ignore_ascii_case(HEADER))
        .find_map(|p| super::params::source_value(&p.source, ctx, req, None));
    let overridden = ctx
        .overrides
        .request_headers
        .iter()
        .rev()
        .find(|(n, _)| n.eq_ignore_ascii_case(HEADER))
        .map(|(_, v)| v.clone());
    match overridden.or(mapped) {
        Some(v) if v.trim() == "Event" => InvocationType::Event,
        _ => InvocationType::RequestResponse,
    }
}
