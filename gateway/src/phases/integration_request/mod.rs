//! The integration request phase: turn the method request into what the integration is sent.
//!
//! Non-proxy integrations (MOCK, AWS, HTTP; [`mapped`]): choose the request template by
//! Content-Type, honour `passthroughBehavior` (415), convert binary payloads per
//! `contentHandling`, render the template, apply `requestParameters` and the template's
//! `$context.requestOverride.*`; MOCK then reads the `statusCode` the template asks for.
//! HTTP_PROXY ([`http_proxy`]): fill the endpoint URI, apply header and query-string mappings,
//! drop the headers API Gateway drops, and add `X-Forwarded-*`. AWS_PROXY ([`lambda`]): build the
//! proxy event. Aggregates ([`aggregate`]): one prepared call per part.

mod aggregate;
mod http_proxy;
mod lambda;
mod mapped;
mod params;
mod uri;

use std::sync::Arc;

use crate::context::RequestContext;
use crate::error::GatewayError;
use crate::model::{Integration, ResolvedApi};
use crate::phase::Flow;
use crate::request::MethodRequest;
use crate::upstream::UpstreamPool;

use crate::phases::env::{Env, PhaseResult};
use crate::phases::handoff::{IntegrationRequest, LambdaFormat, LambdaRequest};

/// Headers no mapping may set: doing so is a 500 on AWS (aws-behaviour §7).
const UNMAPPABLE: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "x-amzn-trace-id",
    "x-amzn-apigateway-api-id",
];

pub(crate) async fn run(
    env: &Env<'_>,
    ctx: &mut RequestContext,
    req: &mut MethodRequest,
) -> PhaseResult<IntegrationRequest> {
    let (api, route) = (env.api, env.route);
    match &route.integration {
        Integration::Mock(m) => {
            let prepared = mapped::prepare(api, m, ctx, req).await?;
            mapped::mock_status(&prepared.body)
                .map(|status_code| Flow::Continue(IntegrationRequest::Mock { status_code }))
        }
        Integration::Http(h) => {
            let prepared = mapped::prepare(api, &h.mapping, ctx, req).await?;
            mapped::http_request(api, h, prepared, ctx, req).map(Flow::Continue)
        }
        Integration::HttpProxy(h) => {
            http_proxy::request(api, route, h, ctx, req).map(Flow::Continue)
        }
        Integration::Lambda(l) if l.proxy => lambda::proxy_event(env, l, ctx, req).await,
        Integration::Lambda(l) => {
            let Some(mapping) = &l.mapping else {
                return Err(GatewayError::Configuration(format!(
                    "route {} has a non-proxy Lambda integration without a mapping",
                    route.route_key
                )));
            };
            let prepared = mapped::prepare(api, mapping, ctx, req).await?;
            let invocation = lambda::invocation_type(mapping, ctx, req);
            // Nothing to send (a GET passed through without a template) reaches the function
            // as `{}`, as on AWS (aws-behaviour §7).
            let payload = if prepared.body.is_empty() {
                bytes::Bytes::from_static(b"{}")
            } else {
                prepared.body
            };
            Ok(Flow::Continue(IntegrationRequest::Lambda(LambdaRequest {
                function: l.function.clone(),
                proxy: false,
                payload,
                timeout: l.timeout,
                format: LambdaFormat::Rest,
                invocation,
            })))
        }
        Integration::Aggregate(agg) => Ok(Flow::Continue(IntegrationRequest::Aggregate(
            aggregate::prepare(api, route, agg, ctx, req)?,
        ))),
        // What AWS answers when a method's integration fails (aws-behaviour §12).
        Integration::Unavailable(why) => Err(GatewayError::Configuration(format!(
            "route {}: {why}",
            route.route_key
        ))),
        Integration::Example(example) => Ok(Flow::Continue(IntegrationRequest::Example(
            Arc::clone(example),
        ))),
    }
}

/// The pool an integration URI's host names (`http://orders/...`), if any.
pub(crate) fn upstream_for(
    api: &ResolvedApi,
    uri: &http::Uri,
    ctx: &RequestContext,
    req: &MethodRequest,
) -> Option<(Arc<UpstreamPool>, Option<String>)> {
    if uri.port().is_some() {
        return None;
    }
    let pool = api.upstreams.get(&uri.host()?.to_ascii_lowercase())?;
    use crate::upstream::HashKey;
    let key = pool.hash_on.as_ref().and_then(|k| match k {
        HashKey::Ip => Some(ctx.source_ip.clone()),
        HashKey::ApiKey => ctx.api_key.clone(),
        HashKey::Principal => ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.principal_id.clone())
            .or_else(|| ctx.iam.as_ref().map(|i| i.access_key.clone())),
        HashKey::Header(h) => req.header_value(h).map(str::to_string),
    });
    Some((Arc::clone(pool), key))
}
