//! Usage plans and throttling from templates: SAM `Auth.UsagePlan`, raw `AWS::ApiGateway::ApiKey`
//! / `UsagePlan` / `UsagePlanKey` resources, and stage or route throttle settings.

use serde_json::{json, Value};

use crate::load_error::pointer_join;

use super::intrinsics::{scalar_text, Resolver};
use super::resources::{referenced_id, Resources};
use super::SamApi;
use crate::usage::{Quota, StageThrottle, Throttle, UsageConfig};

pub(super) fn route_throttle(v: &Value) -> Option<Throttle> {
    Some(Throttle {
        rate_limit: v.get("ThrottlingRateLimit").and_then(Value::as_f64)?,
        burst_limit: v.get("ThrottlingBurstLimit").and_then(Value::as_u64)?,
    })
}

/// Stage throttling: REST `MethodSettings` entries (`ResourcePath` `/*` with `HttpMethod` `*`
/// is the stage default; others key `"/path/METHOD"`), HTTP API `DefaultRouteSettings` and
/// `RouteSettings` (keyed by route key).
pub(super) fn stage_throttle(
    method_settings: Option<Value>,
    default_route: Option<Value>,
    routes: Option<Value>,
) -> StageThrottle {
    let mut t = StageThrottle::default();
    for m in method_settings
        .iter()
        .flat_map(|v| v.as_array().cloned().unwrap_or_default())
    {
        let Some(throttle) = route_throttle(&m) else {
            continue;
        };
        let path = m
            .get("ResourcePath")
            .map(|p| resource_path(&scalar_text(p)))
            .unwrap_or_else(|| "/*".into());
        let method = m
            .get("HttpMethod")
            .map(scalar_text)
            .unwrap_or_else(|| "*".into());
        if path == "/*" && method == "*" {
            t.default = Some(throttle);
        } else {
            t.methods.insert(
                format!(
                    "{}/{}",
                    path.trim_end_matches('/'),
                    method.to_ascii_uppercase()
                ),
                throttle,
            );
        }
    }
    if let Some(d) = default_route.as_ref().and_then(route_throttle) {
        t.default = Some(d);
    }
    if let Some(Value::Object(map)) = routes {
        for (key, v) in map {
            if let Some(throttle) = route_throttle(&v) {
                t.methods.insert(key, throttle);
            }
        }
    }
    t
}

/// A `MethodSettings` `ResourcePath` as the route's path: CloudFormation writes each `/` after the
/// first as `~1` (`/~1pets~1{id}` is `/pets/{id}`, §12), and a path written plainly is kept.
fn resource_path(written: &str) -> String {
    match written.strip_prefix('/') {
        Some(rest) if rest.starts_with("~1") => rest.replace("~1", "/").replace("~0", "~"),
        _ => written.to_string(),
    }
}

/// SAM `Auth.UsagePlan`: `PER_API` makes a plan and a key per API (`<Api>UsagePlan`,
/// `<Api>ApiKey`), `SHARED` one of each for every such API (`ServerlessUsagePlan`,
/// `ServerlessApiKey`), `NONE` nothing. The generated keys' values are stable and printed at
/// start-up.
pub(super) fn sam_usage_plans(apis: &[SamApi]) -> UsageConfig {
    use crate::usage::{ApiKey, ApiStage, UsageConfig, UsagePlan};
    let mut cfg = UsageConfig::default();
    for api in apis {
        let Some(up) = &api.usage_plan else { continue };
        let mode = up
            .get("CreateUsagePlan")
            .map(scalar_text)
            .unwrap_or_default()
            .to_ascii_uppercase();
        let (plan_id, key_id) = match mode.as_str() {
            "PER_API" => (
                format!("{}UsagePlan", api.logical_id),
                format!("{}ApiKey", api.logical_id),
            ),
            "SHARED" => (
                "ServerlessUsagePlan".to_string(),
                "ServerlessApiKey".to_string(),
            ),
            _ => continue,
        };
        let stage = ApiStage {
            api: api.logical_id.clone(),
            stage: api.stage.name.clone(),
            throttle: Default::default(),
        };
        if let Some(existing) = cfg.plans.iter_mut().find(|p| p.id == plan_id) {
            existing.api_stages.push(stage);
            continue;
        }
        let quota = up.get("Quota").and_then(cfn_quota);
        cfg.plans.push(UsagePlan {
            id: plan_id.clone(),
            name: up
                .get("UsagePlanName")
                .map(scalar_text)
                .unwrap_or_else(|| plan_id.clone()),
            api_stages: vec![stage],
            throttle: up.get("Throttle").and_then(cfn_throttle),
            quota,
            rate_limit: None,
        });
        cfg.keys.push(ApiKey {
            id: key_id.clone(),
            name: key_id.clone(),
            value: (0..4)
                .map(|i| crate::ids::api_id_for(&format!("{key_id}#{i}")))
                .collect(),
            enabled: true,
            plans: vec![plan_id],
        });
    }
    cfg
}

/// `Quota {Limit, Period, Offset}`; None when the limit or period is missing or unknown.
pub(super) fn cfn_quota(q: &Value) -> Option<Quota> {
    use crate::usage::Period;
    Some(Quota {
        limit: q.get("Limit").and_then(Value::as_u64)?,
        period: match q
            .get("Period")
            .map(scalar_text)?
            .to_ascii_uppercase()
            .as_str()
        {
            "DAY" => Period::Day,
            "WEEK" => Period::Week,
            "MONTH" => Period::Month,
            _ => return None,
        },
        offset: q.get("Offset").and_then(Value::as_u64).unwrap_or(0),
    })
}

pub(super) fn cfn_throttle(v: &Value) -> Option<Throttle> {
    Some(Throttle {
        rate_limit: v.get("RateLimit").and_then(Value::as_f64)?,
        burst_limit: v.get("BurstLimit").and_then(Value::as_u64)?,
    })
}

/// API keys, usage plans and their associations, as CloudFormation declares them.
pub(super) fn usage_resources(resolver: &Resolver, active: &Resources) -> UsageConfig {
    use crate::usage::{ApiKey, ApiStage, UsageConfig, UsagePlan};
    let mut cfg = UsageConfig::default();
    let resolve = |id: &str, props: &Value| {
        resolver
            .resolve(
                props,
                &pointer_join(&pointer_join("/Resources", id), "Properties"),
            )
            .unwrap_or_else(|| json!({}))
    };
    for (id, r) in active {
        let (ty, props) = (&r.kind, &r.properties);
        match ty.as_str() {
            "AWS::ApiGateway::ApiKey" => {
                let p = resolve(id, props);
                // Without a Value, API Gateway generates one; here it is derived from the id so
                // it is the same every run (printed at start-up).
                let value = p.get("Value").map(scalar_text).unwrap_or_else(|| {
                    (0..4)
                        .map(|i| crate::ids::api_id_for(&format!("{id}#{i}")))
                        .collect()
                });
                cfg.keys.push(ApiKey {
                    id: id.clone(),
                    name: p.get("Name").map(scalar_text).unwrap_or_else(|| id.clone()),
                    value,
                    // CloudFormation's default for Enabled is false.
                    enabled: p.get("Enabled").and_then(Value::as_bool).unwrap_or(false),
                    plans: Vec::new(),
                });
            }
            "AWS::ApiGateway::UsagePlan" => {
                let p = resolve(id, props);
                let raw_stages = props
                    .get("ApiStages")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let api_stages = p
                    .get("ApiStages")
                    .and_then(Value::as_array)
                    .map(|stages| {
                        stages
                            .iter()
                            .enumerate()
                            .filter_map(|(i, s)| {
                                let api = referenced_id(
                                    resolver,
                                    raw_stages.get(i).and_then(|r| r.get("ApiId")),
                                    s.get("ApiId"),
                                )?;
                                let throttle = s
                                    .get("Throttle")
                                    .and_then(Value::as_object)
                                    .map(|m| {
                                        m.iter()
                                            .filter_map(|(k, v)| {
                                                cfn_throttle(v).map(|t| (k.clone(), t))
                                            })
                                            .collect()
                                    })
                                    .unwrap_or_default();
                                Some(ApiStage {
                                    api,
                                    stage: s.get("Stage").map(scalar_text)?,
                                    throttle,
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let quota = p.get("Quota").and_then(cfn_quota);
                cfg.plans.push(UsagePlan {
                    id: id.clone(),
                    name: p
                        .get("UsagePlanName")
                        .map(scalar_text)
                        .unwrap_or_else(|| id.clone()),
                    api_stages,
                    throttle: p.get("Throttle").and_then(cfn_throttle),
                    quota,
                    rate_limit: None,
                });
            }
            _ => {}
        }
    }
    for (id, r) in active {
        let (ty, props) = (&r.kind, &r.properties);
        if ty != "AWS::ApiGateway::UsagePlanKey" {
            continue;
        }
        let p = resolve(id, props);
        let key = referenced_id(resolver, props.get("KeyId"), p.get("KeyId"));
        let plan = referenced_id(resolver, props.get("UsagePlanId"), p.get("UsagePlanId"));
        if let (Some(key), Some(plan)) = (key, plan) {
            if let Some(k) = cfg.keys.iter_mut().find(|k| k.id == key) {
                k.plans.push(plan);
            }
        }
    }
    cfg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_settings_paths_are_decoded() {
        let t = stage_throttle(
            Some(json!([
                {"ResourcePath": "/~1pets~1{id}", "HttpMethod": "get", "ThrottlingRateLimit": 1.0, "ThrottlingBurstLimit": 1},
                {"ResourcePath": "/orders", "HttpMethod": "POST", "ThrottlingRateLimit": 2.0, "ThrottlingBurstLimit": 2},
                {"ResourcePath": "/*", "HttpMethod": "*", "ThrottlingRateLimit": 3.0, "ThrottlingBurstLimit": 3},
            ])),
            None,
            None,
        );
        let mut keys: Vec<&String> = t.methods.keys().collect();
        keys.sort();
        assert_eq!(keys, ["/orders/POST", "/pets/{id}/GET"]);
        assert_eq!(t.default.map(|d| d.burst_limit), Some(3));
    }
}
