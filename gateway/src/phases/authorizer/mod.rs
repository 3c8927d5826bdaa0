//! The authorizer phase: the resource policy's explicit Deny first, then the route's
//! authorizer — a Lambda authorizer (TOKEN or REQUEST, cached), a JWT or Cognito authorizer, or
//! SigV4 (`AWS_IAM`) — and the two decisions combined as API Gateway combines them
//! (aws-behaviour §1, §4). What the authorizer says about the caller travels on in the request
//! context.

mod iam;
mod jwt;
mod lambda;

use crate::auth::{Caller, Decision, IdentitySource};
use crate::context::RequestContext;
use crate::error::GatewayError;
use crate::model::RouteAuth;
use crate::phase::Flow;
use crate::request::MethodRequest;

use crate::phases::env::{Env, PhaseResult};

pub(crate) async fn run(
    env: &Env<'_>,
    ctx: &mut RequestContext,
    req: &mut MethodRequest,
) -> PhaseResult<()> {
    let (services, api, route) = (env.services, env.api, env.route);
    // The resource policy first: its explicit Deny applies before any authorizer runs (aws-behaviour §1).
    // The method's ARN is built only for a policy to judge.
    let rp = api.resource_policy.as_ref().map(|p| {
        let arn = api.method_arn(req.method.as_str(), &req.path);
        let decision = p.evaluate_for(
            "execute-api:Invoke",
            &arn,
            Caller {
                source_ip: ctx.source_ip.parse().ok(),
            },
        );
        (decision, arn)
    });
    if let Some((Decision::ExplicitDeny, arn)) = &rp {
        return Err(GatewayError::ResourcePolicyDenied {
            explicit: true,
            resource: arn.clone(),
        });
    }
    let rp_allows = matches!(rp, Some((Decision::Allow, _)));
    // Without an authorizer (and for Cognito), a resource policy must allow explicitly
    // (aws-behaviour §1).
    let rp_must_allow = |flow: Flow<()>| -> Result<Flow<()>, GatewayError> {
        match &rp {
            Some((Decision::Allow, _)) | None => Ok(flow),
            Some((_, arn)) => Err(GatewayError::ResourcePolicyDenied {
                explicit: false,
                resource: arn.clone(),
            }),
        }
    };
    match &route.auth {
        RouteAuth::None => rp_must_allow(Flow::Continue(())),
        RouteAuth::Lambda(a) => {
            match lambda::run(services, api, route, a, ctx, req).await {
                // An Allow on either side allows, unless the authorizer denied explicitly.
                Err(GatewayError::AccessDenied { explicit: false }) if rp_allows => {
                    Ok(Flow::Continue(()))
                }
                other => other,
            }
        }
        RouteAuth::Jwt(a, scopes) => {
            let flow = jwt::run(env, a, scopes, ctx, req).await?;
            rp_must_allow(flow)
        }
        RouteAuth::Iam => {
            iam::run(services, ctx, req).await?;
            // A signed caller's own IAM permissions are assumed to allow the call (there are
            // no IAM policies locally); the resource policy may still deny explicitly. [?]
            Ok(Flow::Continue(()))
        }
        RouteAuth::Unsupported(what) => Err(GatewayError::AuthorizerConfiguration(format!(
            "{what} is not supported by this build of tollgate; the route fails closed"
        ))),
    }
}

/// The value of one identity source for this request; blank counts as missing.
pub(super) fn identity_value(
    src: &IdentitySource,
    ctx: &RequestContext,
    req: &MethodRequest,
) -> Option<String> {
    let v = match src {
        IdentitySource::Header(h) => req.header_value(h).map(str::to_string),
        IdentitySource::Query(q) => req.query_value(q).map(str::to_string),
        IdentitySource::StageVariable(n) => ctx.stage_variables.get(n).cloned(),
        IdentitySource::Context(n) => ctx.variable(n),
    };
    v.filter(|s| !s.trim().is_empty())
}
