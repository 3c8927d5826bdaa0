//! JWT (HTTP API) and Cognito user-pool (REST) authorizers (aws-behaviour §4c).

use std::time::Instant;

use serde_json::{Map, Value};

use super::identity_value;
use crate::auth::JwtAuthorizer;
use crate::context::{AuthorizerOutput, RequestContext};
use crate::error::GatewayError;
use crate::phase::Flow;
use crate::phases::env::{Env, PhaseResult};
use crate::request::MethodRequest;

pub(super) async fn run(
    env: &Env<'_>,
    a: &JwtAuthorizer,
    required_scopes: &[String],
    ctx: &mut RequestContext,
    req: &MethodRequest,
) -> PhaseResult<()> {
    use crate::auth::JwtError;
    let (services, api) = (env.services, env.api);
    let http_api = api.kind == crate::spec::ApiKind::Http;
    let fail = |e: JwtError| -> GatewayError {
        match (http_api, e) {
            (true, JwtError::Invalid(m)) => GatewayError::JwtInvalid(m),
            (true, JwtError::InsufficientScope(s)) => GatewayError::JwtInsufficientScope(s),
            // REST Cognito authorizers answer every failure with 401.
            (false, e) => GatewayError::Unauthorized(e.to_string()),
        }
    };
    let Some(token) = identity_value(&a.identity, ctx, req) else {
        return Err(fail(JwtError::Invalid("the request has no token".into())));
    };
    let started = Instant::now();
    let verified = crate::auth::verify_jwt(
        a,
        &services.jwks,
        &services.http,
        &token,
        required_scopes,
        env.config.jwt_leeway,
    )
    .await
    .map_err(fail)?;
    ctx.authorizer = Some(AuthorizerOutput {
        principal_id: verified
            .claims
            .get("sub")
            .and_then(Value::as_str)
            .map(str::to_string),
        context: Map::new(),
        usage_identifier_key: None,
        latency: started.elapsed(),
        claims: Some(verified.claims),
        scopes: verified.scopes,
    });
    Ok(Flow::Continue(()))
}
