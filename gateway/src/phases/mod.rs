//! The pipeline's phases in AWS's order (aws-behaviour §1), one module each:
//! [`authorizer`] → [`usage_plan`] → [`method_request`] → [`policies`] →
//! [`integration_request`] → [`integration`] → [`integration_response`] → [`method_response`].
//!
//! Every phase has the same shape: it takes the [`Env`] (settings, services, the matched API
//! and route), the request context and the request, and returns a [`PhaseResult`]: go on, answer
//! here, or fail with a typed error. Phases never import each other; what one hands the next
//! lives in [`handoff`]. [`Phases`] names them for the driver (`crate::pipeline`), and
//! [`AwsPhases`] is the real set.

pub(crate) mod authorizer;
pub(crate) mod env;
pub(crate) mod handoff;
pub(crate) mod integration;
pub(crate) mod integration_request;
pub(crate) mod integration_response;
pub(crate) mod method_request;
pub(crate) mod method_response;
pub(crate) mod policies;
pub(crate) mod usage_plan;

pub(crate) use env::{Env, PhaseResult};

use http::Response;

use crate::body::Body;
use crate::context::RequestContext;
use crate::error::GatewayError;
use crate::request::MethodRequest;
use handoff::{IntegrationRequest, IntegrationResponse};
use policies::Ran;

/// The phases after routing, one hook each, in the order the driver calls them.
#[allow(async_fn_in_trait)]
pub(crate) trait Phases {
    async fn authorizer(
        &self,
        env: &Env<'_>,
        ctx: &mut RequestContext,
        req: &mut MethodRequest,
    ) -> PhaseResult<()>;

    async fn usage_plan(
        &self,
        env: &Env<'_>,
        ctx: &mut RequestContext,
        req: &mut MethodRequest,
    ) -> PhaseResult<()>;

    async fn method_request(
        &self,
        env: &Env<'_>,
        ctx: &mut RequestContext,
        req: &mut MethodRequest,
    ) -> PhaseResult<()>;

    /// The filter chain's request side: which filters ran, or an answer one gave.
    fn policies(
        &self,
        env: &Env<'_>,
        ctx: &mut RequestContext,
        req: &mut MethodRequest,
    ) -> PhaseResult<Ran>;

    /// The filter chain's response side, for the filters that ran.
    fn policies_response(
        &self,
        env: &Env<'_>,
        ran: Ran,
        ctx: &RequestContext,
        resp: &mut Response<Body>,
    );

    async fn integration_request(
        &self,
        env: &Env<'_>,
        ctx: &mut RequestContext,
        req: &mut MethodRequest,
    ) -> PhaseResult<IntegrationRequest>;

    async fn integration(
        &self,
        env: &Env<'_>,
        ctx: &mut RequestContext,
        request: IntegrationRequest,
    ) -> Result<IntegrationResponse, GatewayError>;

    async fn integration_response(
        &self,
        env: &Env<'_>,
        ctx: &mut RequestContext,
        req: &MethodRequest,
        response: IntegrationResponse,
    ) -> Result<Response<Body>, GatewayError>;

    fn method_response(&self, env: &Env<'_>, ctx: &RequestContext, resp: &mut Response<Body>);
}

/// API Gateway's phases, as tollgate runs them.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AwsPhases;

impl Phases for AwsPhases {
    async fn authorizer(
        &self,
        env: &Env<'_>,
        ctx: &mut RequestContext,
        req: &mut MethodRequest,
    ) -> PhaseResult<()> {
        authorizer::run(env, ctx, req).await
    }

    async fn usage_plan(
        &self,
        env: &Env<'_>,
        ctx: &mut RequestContext,
        req: &mut MethodRequest,
    ) -> PhaseResult<()> {
        usage_plan::run(env, ctx, req).await
    }

    async fn method_request(
        &self,
        env: &Env<'_>,
        ctx: &mut RequestContext,
        req: &mut MethodRequest,
    ) -> PhaseResult<()> {
        method_request::run(env, ctx, req).await
    }

    fn policies(
        &self,
        env: &Env<'_>,
        ctx: &mut RequestContext,
        req: &mut MethodRequest,
    ) -> PhaseResult<Ran> {
        policies::request(env, ctx, req)
    }

    fn policies_response(
        &self,
        env: &Env<'_>,
        ran: Ran,
        ctx: &RequestContext,
        resp: &mut Response<Body>,
    ) {
        policies::response(env, ran, ctx, resp)
    }

    async fn integration_request(
        &self,
        env: &Env<'_>,
        ctx: &mut RequestContext,
        req: &mut MethodRequest,
    ) -> PhaseResult<IntegrationRequest> {
        integration_request::run(env, ctx, req).await
    }

    async fn integration(
        &self,
        env: &Env<'_>,
        ctx: &mut RequestContext,
        request: IntegrationRequest,
    ) -> Result<IntegrationResponse, GatewayError> {
        integration::run(env, ctx, request).await
    }

    async fn integration_response(
        &self,
        env: &Env<'_>,
        ctx: &mut RequestContext,
        req: &MethodRequest,
        response: IntegrationResponse,
    ) -> Result<Response<Body>, GatewayError> {
        integration_response::run(env, ctx, req, response).await
    }

    fn method_response(&self, _env: &Env<'_>, _ctx: &RequestContext, resp: &mut Response<Body>) {
        method_response::run(resp)
    }
}
