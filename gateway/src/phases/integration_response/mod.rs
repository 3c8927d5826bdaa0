//! The integration response phase: turn what the backend said into the method response.
//!
//! Non-proxy integrations (MOCK, AWS, HTTP; [`mapped`]): select the response rule by the
//! selection value (status code, or Lambda's `errorMessage`), map its `responseParameters`,
//! render the template chosen by `Accept`, convert binary payloads per `contentHandling`, and
//! apply the template's `$context.responseOverride.*`. Proxy integrations ([`proxy`]): pass
//! status, headers and body through, renaming or dropping headers as API Gateway does
//! (aws-behaviour §9).

mod mapped;
mod proxy;
mod reserved;

use http::Response;

use crate::body::Body;
use crate::context::RequestContext;
use crate::error::GatewayError;
use crate::model::Integration;
use crate::request::MethodRequest;

use crate::phases::env::Env;
use crate::phases::handoff::{IntegrationKind, IntegrationResponse};

pub(crate) async fn run(
    env: &Env<'_>,
    ctx: &mut RequestContext,
    req: &MethodRequest,
    resp: IntegrationResponse,
) -> Result<Response<Body>, GatewayError> {
    let (api, route) = (env.api, env.route);
    let mapping = match (&resp.kind, &route.integration) {
        (IntegrationKind::LambdaProxy(format), _) => {
            return proxy::lambda(api, ctx, req, *format, resp)
        }
        (IntegrationKind::HttpProxy, _) => return Ok(proxy::http(resp)),
        (_, Integration::Mock(m)) => m,
        (_, Integration::Http(h)) => &h.mapping,
        (_, Integration::Lambda(l)) => match &l.mapping {
            Some(m) => m,
            None => return Ok(proxy::http(resp)),
        },
        _ => return Ok(proxy::http(resp)),
    };
    mapped::respond(api, ctx, req, mapping, resp).await
}
