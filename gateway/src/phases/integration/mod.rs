//! The integration phase: call the backend. MOCK answers with the status its request template
//! chose; Lambda integrations invoke the function within `timeoutInMillis`; HTTP and HTTP_PROXY
//! send the request through a pooled keep-alive client (or an upstream pool) and stream the
//! answer back; aggregates run their calls in parallel.

mod aggregate;
mod http;
mod lambda;

use ::http::HeaderMap;

use crate::body;
use crate::context::RequestContext;
use crate::error::GatewayError;

use crate::phases::env::Env;
use crate::phases::handoff::{IntegrationKind, IntegrationRequest, IntegrationResponse};

pub(crate) async fn run(
    env: &Env<'_>,
    ctx: &mut RequestContext,
    request: IntegrationRequest,
) -> Result<IntegrationResponse, GatewayError> {
    let services = env.services;
    match request {
        IntegrationRequest::Lambda(l) => lambda::call(services, ctx, l).await,
        IntegrationRequest::Mock { status_code } => Ok(IntegrationResponse {
            status: status_code
                .and_then(|s| u16::try_from(s).ok())
                .unwrap_or(200),
            headers: HeaderMap::new(),
            body: body::empty(),
            payload: None,
            selection: status_code.map(|s| s.to_string()).unwrap_or_default(),
            kind: IntegrationKind::Mock,
        }),
        IntegrationRequest::Http(plan) => http::call(&services.http, ctx, plan).await,
        IntegrationRequest::Aggregate(calls) => aggregate::execute(services, ctx, calls).await,
        IntegrationRequest::Example(example) => {
            let mut headers = HeaderMap::new();
            if let Some(value) = example
                .content_type
                .as_deref()
                .and_then(|t| ::http::HeaderValue::from_str(t).ok())
            {
                headers.insert(::http::header::CONTENT_TYPE, value);
            }
            // Answered as a proxy response: the example is the method response.
            Ok(IntegrationResponse {
                status: example.status,
                headers,
                body: body::full(example.body.clone()),
                payload: None,
                selection: example.status.to_string(),
                kind: IntegrationKind::HttpProxy,
            })
        }
    }
}
