//! The usage-plan phase: API key check, then the key's throttle, then its quota — after the
//! authorizer, as API Gateway runs it (aws-behaviour §1, §5) — then stage and account throttling
//! and tollgate's own `x-tollgate-rate-limit`.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::context::RequestContext;
use crate::error::GatewayError;
use crate::model::{ResolvedApi, Route};
use crate::phase::Flow;
use crate::request::MethodRequest;
use crate::spec::extensions::ApiKeySource;
use crate::usage::{admit, quota_counter, CountAsk, PlanDecision, TokenAsk, UsageStore};

use crate::phases::env::{Env, PhaseResult};

pub(crate) async fn run(
    env: &Env<'_>,
    ctx: &mut RequestContext,
    req: &mut MethodRequest,
) -> PhaseResult<()> {
    let (api, route) = (env.api, env.route);
    if route.api_key_required {
        key_and_plan(env, ctx, req).await?;
    }
    stage_and_account(env, api, route, req).await?;
    if let Some(rl) = &route.rate_limit {
        tollgate_rate_limit(env, api, route, rl, ctx).await?;
    }
    Ok(Flow::Continue(()))
}

/// `x-tollgate-rate-limit`: every algorithm is built from the store's two primitives (a token
/// bucket and a bounded counter), so each works with every store.
async fn tollgate_rate_limit(
    env: &Env<'_>,
    api: &ResolvedApi,
    route: &Route,
    rl: &crate::spec::extensions::RateLimitExt,
    ctx: &mut RequestContext,
) -> Result<(), GatewayError> {
    use crate::spec::extensions::RateLimitKey as K;
    let who = match rl.key {
        K::Ip => ctx.source_ip.clone(),
        K::ApiKey => ctx.api_key.clone().unwrap_or_else(|| "anonymous".into()),
        K::Principal => ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.principal_id.clone())
            .unwrap_or_else(|| "anonymous".into()),
        K::Route => "*".into(),
    };
    let base = format!("tl|{}|{}|{}|{who}", api.name, route.route_key, rl.algorithm);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let (admitted, retry) = admit(env.services.usage_store.as_ref(), &base, rl, now).await;
    decide(
        env,
        &mut ctx.retry_after,
        admitted,
        GatewayError::Throttled,
        retry,
    )
}

/// A store's answer as this stage's outcome: admitted; refused with `refusal` (noting `retry`
/// seconds for `Retry-After`); or a store failure, which fails open or closed as configured.
fn decide(
    env: &Env<'_>,
    retry_after: &mut Option<u64>,
    answer: Result<bool, String>,
    refusal: GatewayError,
    retry: f64,
) -> Result<(), GatewayError> {
    match answer {
        Ok(true) => Ok(()),
        Ok(false) => {
            *retry_after = Some(retry.ceil().max(1.0) as u64);
            Err(refusal)
        }
        Err(e) => store_failed(env, &e),
    }
}

/// Stage throttling (per method, else the stage default), then the account-wide default: the
/// later steps of API Gateway's throttle order (aws-behaviour §5), applied to every request.
async fn stage_and_account(
    env: &Env<'_>,
    api: &ResolvedApi,
    route: &Route,
    req: &MethodRequest,
) -> Result<(), GatewayError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let store = &env.services.usage_store;
    let methods = &api.stage_throttle.methods;
    // Most stages set no per-method limits: no key to build then.
    let method = if methods.is_empty() {
        None
    } else {
        let rest_key = method_key(route, req);
        methods
            .get(&rest_key)
            .map(|t| (t, rest_key.clone()))
            .or_else(|| {
                methods
                    .get(&route.route_key)
                    .map(|t| (t, route.route_key.clone()))
            })
    };
    let stage = method.or_else(|| {
        api.stage_throttle
            .default
            .as_ref()
            .map(|t| (t, "*".to_string()))
    });
    if let Some((t, scope)) = stage {
        let bucket = format!("stage|{}|{}|{scope}", api.name, api.stage.name);
        let answer = store
            .take_token(&bucket, t.rate_limit, t.burst_limit, now)
            .await;
        // Stage and account refusals carry no Retry-After hint.
        decide(env, &mut None, answer, GatewayError::Throttled, 1.0)?;
    }
    // The account limit (AWS's 10,000 rps unless `--account-throttle` says otherwise) is kept
    // per process: sharing it would cost every request a store round trip for a ceiling local
    // runs rarely reach.
    let Some(t) = &env.config.account_throttle else {
        return Ok(());
    };
    let answer = env
        .services
        .local_buckets
        .take_token("account", t.rate_limit, t.burst_limit, now)
        .await;
    decide(env, &mut None, answer, GatewayError::Throttled, 1.0)
}

/// `"/{resourcePath}/{METHOD}"`, the key of per-method throttle settings (the root is `//GET`).
fn method_key(route: &Route, req: &MethodRequest) -> String {
    let k = format!(
        "{}/{}",
        route.resource_path.trim_end_matches('/'),
        req.method.as_str()
    );
    if k.starts_with('/') {
        k
    } else {
        format!("/{k}")
    }
}

async fn key_and_plan(
    env: &Env<'_>,
    ctx: &mut RequestContext,
    req: &MethodRequest,
) -> Result<(), GatewayError> {
    let (api, route) = (env.api, env.route);
    let value = match api.api_key_source {
        ApiKeySource::Header => req.header_value("x-api-key").map(str::to_string),
        ApiKeySource::Authorizer => ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.usage_identifier_key.clone()),
    };
    // Missing, unknown, disabled, or not in a plan for this stage: all the same 403.
    let cfg = env.usage;
    let key = value
        .as_deref()
        .and_then(|v| cfg.key_by_value(v))
        .filter(|k| k.enabled)
        .ok_or(GatewayError::InvalidApiKey)?;
    let (plan, stage) = cfg
        .plan_for(key, &api.name, &api.stage.name)
        .ok_or(GatewayError::InvalidApiKey)?;
    ctx.api_key = Some(key.value.clone());
    ctx.api_key_id = Some(key.id.clone());

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let method_key = method_key(route, req);
    let (throttle, scope) = match stage.throttle.get(&method_key) {
        Some(t) => (Some(t), method_key.as_str()),
        None => (plan.throttle.as_ref(), "*"),
    };
    let store = &env.services.usage_store;
    // The plan's throttle as a token bucket, unless the plan names its own algorithm.
    let mut bucket = None;
    if let (Some(rl), "*") = (&plan.rate_limit, scope) {
        let base = format!("plan|{}|{}|{}", plan.id, key.id, rl.algorithm);
        let (answer, retry) = admit(store.as_ref(), &base, rl, now).await;
        decide(
            env,
            &mut ctx.retry_after,
            answer,
            GatewayError::Throttled,
            retry,
        )?;
    } else if let Some(t) = throttle {
        bucket = Some((format!("throttle|{}|{}|{scope}", plan.id, key.id), t));
    }
    let quota = plan
        .quota
        .as_ref()
        .map(|q| (quota_counter(&plan.id, &key.id, q, now as i64), q.limit));
    // Refusals tell when to come back: the next token, or the end of the quota's period.
    let throttled = |t: &crate::usage::Throttle| 1.0 / t.rate_limit.max(0.001);
    let period_left = |end: i64| (end - now as i64) as f64;
    let retry_after = &mut ctx.retry_after;
    // A usage-plan failure fails open, as AWS does (aws-behaviour §5).
    match (bucket, quota) {
        (Some((bucket, t)), Some(((counter, end), limit))) => {
            let token = TokenAsk {
                key: &bucket,
                rate: t.rate_limit,
                burst: t.burst_limit,
            };
            let count = CountAsk {
                key: &counter,
                limit,
                expires_at: end,
            };
            match store.take_and_count(token, count, now).await {
                Ok(PlanDecision::Admitted) => Ok(()),
                Ok(PlanDecision::Throttled) => decide(
                    env,
                    retry_after,
                    Ok(false),
                    GatewayError::Throttled,
                    throttled(t),
                ),
                Ok(PlanDecision::OverQuota) => decide(
                    env,
                    retry_after,
                    Ok(false),
                    GatewayError::QuotaExceeded,
                    period_left(end),
                ),
                Err(e) => store_failed(env, &e),
            }
        }
        (Some((bucket, t)), None) => {
            let answer = store
                .take_token(&bucket, t.rate_limit, t.burst_limit, now)
                .await;
            decide(
                env,
                retry_after,
                answer,
                GatewayError::Throttled,
                throttled(t),
            )
        }
        (None, Some(((counter, end), limit))) => {
            let answer = store.count(&counter, limit, end).await;
            decide(
                env,
                retry_after,
                answer,
                GatewayError::QuotaExceeded,
                period_left(end),
            )
        }
        (None, None) => Ok(()),
    }
}

/// A usage store failed: fail open (logged, as AWS does) unless told to fail closed.
fn store_failed(env: &Env<'_>, e: &str) -> Result<(), GatewayError> {
    env.services
        .usage_store_failures
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if env.config.usage_fail_closed {
        Err(GatewayError::Configuration(format!(
            "the usage store failed: {e}"
        )))
    } else {
        // While the store's circuit breaker is open, it has said so once; a line per request
        // would cost more than the check it replaces.
        if env.services.usage_store.circuit_open() {
            tracing::debug!("Usage Plan check failed due to an internal error: {e}");
        } else {
            tracing::warn!("Usage Plan check failed due to an internal error: {e}");
        }
        Ok(())
    }
}
