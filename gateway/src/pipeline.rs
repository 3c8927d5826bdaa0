//! The stage driver: a plain async function that walks API Gateway's stages in order.
//!
//! Each stage returns `Ok(Flow::Continue(next))`, `Ok(Flow::Respond(response))` to answer early,
//! or `Err(GatewayError)` for a fault; the caller renders errors through
//! [`crate::gateway_response`]. Every stage's time lands in the request context.
//!
//! Order (facts §1): authorizer → usage plan → method request (validation) → integration request
//! → integration → integration response → method response.

use std::time::Instant;

use http::Response;

use crate::api::{ResolvedApi, Route};
use crate::body::Body;
use crate::context::{RequestContext, StageTiming};
use crate::gateway_response::GatewayError;
use crate::integration::HttpClient;
use crate::method_request::MethodRequest;
use crate::{
    integration, integration_request, integration_response, method_request, method_response,
};

/// What a stage decided.
pub enum Flow<T> {
    Continue(T),
    Respond(Response<Body>),
}

/// Run a stage, record its time, and return early on `Respond` or `Err`.
macro_rules! stage {
    ($ctx:expr, $name:literal, $call:expr) => {{
        let started = Instant::now();
        let out = $call;
        $ctx.timings.push(StageTiming {
            stage: $name,
            started: $ctx.offset(started),
            elapsed: started.elapsed(),
        });
        match out {
            Ok(Flow::Continue(v)) => v,
            Ok(Flow::Respond(r)) => {
                $ctx.answered_by = Some($name);
                return Ok(r);
            }
            Err(e) => {
                $ctx.answered_by = Some($name);
                return Err(e);
            }
        }
    }};
}

/// Shared services the stages call out to.
#[derive(Clone)]
pub struct Services {
    pub http: HttpClient,
    /// Runs Lambda functions; `None` when no runtime host is configured.
    pub invoker: Option<std::sync::Arc<dyn crate::invoke::Invoker>>,
    /// Key sets for JWT and Cognito authorizers.
    pub jwks: std::sync::Arc<crate::jwks::JwksRegistry>,
    /// Clock skew allowed on JWT `exp`, `nbf` and `iat`, in seconds.
    pub jwt_leeway: u64,
    /// API keys and usage plans.
    pub usage: std::sync::Arc<crate::usage::UsageConfig>,
    /// Where usage counters live.
    pub usage_store: std::sync::Arc<dyn crate::usage::UsageStore>,
    /// When the store fails: `false` lets the request through (AWS's behaviour), `true` refuses it.
    pub usage_fail_closed: bool,
    /// Buckets that only need to be approximate per process (the account-wide default), kept out
    /// of the shared store so they cost no round trip.
    pub local_buckets: std::sync::Arc<crate::usage::MemoryStore>,
    /// How many usage-store operations failed (for the metrics endpoint).
    pub usage_store_failures: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Callers `AWS_IAM` routes accept.
    pub iam: std::sync::Arc<Vec<crate::sigv4::IamCredential>>,
    /// Gateway-wide policies (`--policies FILE`), before every API's own.
    pub filters: std::sync::Arc<Vec<crate::filters::Attached>>,
}

impl Default for Services {
    fn default() -> Self {
        Services {
            http: HttpClient::default(),
            invoker: None,
            jwks: Default::default(),
            jwt_leeway: 0,
            usage: Default::default(),
            usage_store: std::sync::Arc::new(crate::usage::MemoryStore::default()),
            usage_fail_closed: false,
            usage_store_failures: Default::default(),
            local_buckets: Default::default(),
            iam: Default::default(),
            filters: Default::default(),
        }
    }
}

/// Run one routed request through the stages.
pub async fn run(
    services: &Services,
    api: &ResolvedApi,
    route: &Route,
    ctx: &mut RequestContext,
    request: &mut MethodRequest,
) -> Result<Response<Body>, GatewayError> {
    stage!(
        ctx,
        "authorizer",
        crate::authorizer::run(services, api, route, ctx, request).await
    );
    stage!(
        ctx,
        "usage_plan",
        crate::usage_plan::run(services, api, route, ctx, request).await
    );
    // Validation runs after the authorizer and the usage plan: AWS's execution log starts the
    // method ("Starting execution for request") only then (facts §1).
    stage!(
        ctx,
        "method_request",
        method_request::run(api, route, ctx, request).await
    );
    // The filter chain: global policies, then the API's and the route's (x-tollgate-policies).
    let started = Instant::now();
    let (answer, ran_global) = crate::filters::request(&services.filters, ctx, request);
    let (answer, ran_route) = match answer {
        Some(a) => (Some(a), 0),
        None => crate::filters::request(&route.filters, ctx, request),
    };
    ctx.timings.push(StageTiming {
        stage: "policies",
        started: ctx.offset(started),
        elapsed: started.elapsed(),
    });
    if let Some(mut resp) = answer {
        ctx.answered_by = Some("policies");
        crate::filters::response(&route.filters, ran_route, ctx, &mut resp);
        crate::filters::response(&services.filters, ran_global, ctx, &mut resp);
        return Ok(resp);
    }
    let integration_request = stage!(
        ctx,
        "integration_request",
        integration_request::run(api, route, ctx, request).await
    );
    let integration_response = stage!(
        ctx,
        "integration",
        integration::run(services, ctx, integration_request)
            .await
            .map(Flow::Continue)
    );
    let mut response = stage!(
        ctx,
        "integration_response",
        integration_response::run(api, route, ctx, request, integration_response)
            .await
            .map(Flow::Continue)
    );
    crate::filters::response(&route.filters, ran_route, ctx, &mut response);
    crate::filters::response(&services.filters, ran_global, ctx, &mut response);
    let started = Instant::now();
    method_response::run(&mut response);
    ctx.timings.push(StageTiming {
        stage: "method_response",
        started: ctx.offset(started),
        elapsed: started.elapsed(),
    });
    Ok(response)
}
