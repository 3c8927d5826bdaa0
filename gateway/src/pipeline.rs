//! The driver: a plain async function that walks the phases after routing in AWS's order
//! (aws-behaviour §1): authorizer → usage plan → method request (validation) → policies →
//! integration request → integration → integration response → method response.
//!
//! Each phase continues, answers early (`Flow::Respond`), or fails with a typed
//! [`GatewayError`]; the driver stops at the first answer or error, notes which phase gave it,
//! and records every phase's time. It renders nothing: the caller turns an error into a
//! response in one place ([`crate::responses`]).
//!
//! Validation runs after the authorizer and the usage plan: AWS's execution log starts the
//! method ("Starting execution for request") only then.

use std::time::Instant;

use http::Response;

use crate::body::Body;
use crate::context::RequestContext;
use crate::error::GatewayError;
use crate::phase::{Flow, Phase};
use crate::phases::{Env, PhaseResult, Phases};
use crate::request::MethodRequest;

/// Note the phase's time; on an answer or an error, note that this phase gave it.
fn settle<T>(
    ctx: &mut RequestContext,
    phase: Phase,
    started: Instant,
    out: PhaseResult<T>,
) -> Result<Flow<T>, GatewayError> {
    ctx.record(phase, started);
    if !matches!(out, Ok(Flow::Continue(_))) {
        ctx.answered_by = Some(phase);
    }
    out
}

/// Run one phase and return early from the driver on `Respond` or `Err`.
macro_rules! phase {
    ($ctx:expr, $phase:expr, $call:expr) => {{
        let started = Instant::now();
        let out = $call;
        match settle($ctx, $phase, started, out)? {
            Flow::Continue(v) => v,
            Flow::Respond(r) => return Ok(r),
        }
    }};
}

/// Run one routed request through the phases.
pub(crate) async fn run<P: Phases>(
    phases: &P,
    env: &Env<'_>,
    ctx: &mut RequestContext,
    req: &mut MethodRequest,
) -> Result<Response<Body>, GatewayError> {
    phase!(
        ctx,
        Phase::Authorizer,
        phases.authorizer(env, ctx, req).await
    );
    phase!(
        ctx,
        Phase::UsagePlan,
        phases.usage_plan(env, ctx, req).await
    );
    phase!(
        ctx,
        Phase::MethodRequest,
        phases.method_request(env, ctx, req).await
    );

    let ran = phase!(ctx, Phase::Policies, phases.policies(env, ctx, req));

    let request = phase!(
        ctx,
        Phase::IntegrationRequest,
        phases.integration_request(env, ctx, req).await
    );
    let response = phase!(
        ctx,
        Phase::Integration,
        phases
            .integration(env, ctx, request)
            .await
            .map(Flow::Continue)
    );
    let mut response = phase!(
        ctx,
        Phase::IntegrationResponse,
        phases
            .integration_response(env, ctx, req, response)
            .await
            .map(Flow::Continue)
    );
    phases.policies_response(env, ran, ctx, &mut response);
    let started = Instant::now();
    phases.method_response(env, ctx, &mut response);
    ctx.record(Phase::MethodResponse, started);
    Ok(response)
}
