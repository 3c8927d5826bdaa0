//! SAM templates: the APIs and functions a `template.yaml` declares, with `Globals` merged,
//! `Parameters` (and `--parameter-overrides`) applied, conditions evaluated and intrinsic functions
//! resolved as SAM CLI does locally.
//!
//! APIs come from `AWS::Serverless::Api` and `AWS::Serverless::HttpApi` (inline `DefinitionBody`,
//! `Fn::Transform: AWS::Include`, or a local `DefinitionUri`), and from function `Events` of type
//! `Api` / `HttpApi`, which SAM turns into the implicit `ServerlessRestApi` (stage `Prod`) and
//! `ServerlessHttpApi` (stage `$default`) or adds to the API their `RestApiId` / `ApiId` names.

pub mod intrinsics;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::{json, Map, Value};

use crate::api::Stage;
use crate::load_error::{pointer_join, LoadError, LoadErrors};
use crate::spec::ApiKind;
use intrinsics::{scalar_text, Resolver, ResourceInfo};

pub const IMPLICIT_REST_API: &str = "ServerlessRestApi";
pub const IMPLICIT_HTTP_API: &str = "ServerlessHttpApi";

/// One API found in a template, its definition resolved and ready for [`crate::spec::load_api`].
#[derive(Debug, Clone)]
pub struct SamApi {
    pub logical_id: String,
    pub kind: ApiKind,
    pub stage: Stage,
    /// The file the definition lives in (the template, or an included file).
    pub file: PathBuf,
    pub pointer_base: String,
    pub definition: Value,
    /// `Auth.DefaultAuthorizer`: applied to generated and written operations that name none.
    pub default_authorizer: Option<String>,
    /// `Auth.ApiKeyRequired`: every method needs an API key.
    pub api_key_required: bool,
    /// `Auth.UsagePlan`, as written (resolved).
    pub usage_plan: Option<Value>,
    /// `MethodSettings` (REST) or `DefaultRouteSettings`/`RouteSettings` (HTTP API) throttling.
    pub stage_throttle: crate::usage::StageThrottle,
    /// REST `Cors`, applied once every event's path is in the definition.
    pub cors: Option<Value>,
    /// `AccessLogSetting.Format` (REST) / `AccessLogSettings.Format` (HTTP API).
    pub access_log_format: Option<String>,
    /// `Auth.AddDefaultAuthorizerToCorsPreflight` (default true).
    pub cors_authorizer: bool,
}

/// One function, its properties resolved.
#[derive(Debug, Clone)]
pub struct SamFunction {
    pub logical_id: String,
    pub name: String,
    pub properties: Value,
    pub metadata: Value,
}

#[derive(Debug, Clone)]
pub struct SamTemplate {
    pub file: PathBuf,
    pub apis: Vec<SamApi>,
    pub functions: Vec<SamFunction>,
    /// Function name (and logical id) → logical id.
    pub function_ids: HashMap<String, String>,
    /// `AWS::ApiGateway::ApiKey`, `UsagePlan` and `UsagePlanKey` resources.
    pub usage: crate::usage::UsageConfig,
    pub warnings: Vec<String>,
}

/// Parse `--parameter-overrides`: `Key=Value Key2='two words'` or
/// `ParameterKey=Key,ParameterValue=Value ...` (both SAM CLI forms).
pub fn parse_parameter_overrides(input: &str) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for token in split_respecting_quotes(input) {
        if let Some(rest) = token.strip_prefix("ParameterKey=") {
            let (key, value) = rest.split_once(",ParameterValue=").ok_or_else(|| {
                format!("`{token}`: expected ParameterKey=KEY,ParameterValue=VALUE")
            })?;
            out.insert(key.to_string(), value.to_string());
        } else {
            let (key, value) = token
                .split_once('=')
                .ok_or_else(|| format!("`{token}`: expected KEY=VALUE"))?;
            if key.is_empty() {
                return Err(format!("`{token}`: the parameter name is empty"));
            }
            out.insert(key.to_string(), value.to_string());
        }
    }
    Ok(out)
}

fn split_respecting_quotes(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            None => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn is_intrinsic(v: &Value) -> bool {
    v.as_object().is_some_and(|m| {
        m.len() == 1
            && m.keys()
                .next()
                .is_some_and(|k| k == "Ref" || k == "Condition" || k.starts_with("Fn::"))
    })
}

/// SAM's Globals merge: maps merge key by key (the resource wins), lists concatenate (globals
/// first), anything else is taken from the resource.
pub fn merge_globals(global: &Value, local: &Value) -> Value {
    match (global, local) {
        (Value::Object(g), Value::Object(l)) if !is_intrinsic(global) && !is_intrinsic(local) => {
            let mut out = g.clone();
            for (k, lv) in l {
                let merged = match g.get(k) {
                    Some(gv) => merge_globals(gv, lv),
                    None => lv.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(g), Value::Array(l)) => {
            Value::Array(g.iter().chain(l.iter()).cloned().collect())
        }
        (_, l) => l.clone(),
    }
}

const GLOBAL_SECTIONS: &[(&str, &str)] = &[
    ("Function", "AWS::Serverless::Function"),
    ("Api", "AWS::Serverless::Api"),
    ("HttpApi", "AWS::Serverless::HttpApi"),
    ("SimpleTable", "AWS::Serverless::SimpleTable"),
    ("LayerVersion", "AWS::Serverless::LayerVersion"),
    ("StateMachine", "AWS::Serverless::StateMachine"),
];

/// Properties this version reads but does not act on yet, per API type.
const PENDING_API_PROPERTIES: &[&str] = &["CacheClusterEnabled", "Domain"];

/// Load a SAM template.
pub fn load_template(
    file: &Path,
    overrides: &HashMap<String, String>,
) -> Result<SamTemplate, LoadErrors> {
    let doc = crate::spec::yaml::read_document(file)?;
    let mut errors = LoadErrors::default();
    let mut warnings = Vec::new();
    let Some(root) = doc.as_object() else {
        return Err(LoadError::new(file, "", "a template must be a mapping").into());
    };
    let Some(resources) = root.get("Resources").and_then(Value::as_object) else {
        return Err(LoadError::new(
            file,
            "",
            "no Resources section: is this a SAM template? (serve a bare OpenAPI file with --openapi FILE)",
        )
        .into());
    };

    // Parameters, with overrides.
    let mut parameters = HashMap::new();
    let mut missing = Vec::new();
    let declared = root
        .get("Parameters")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (name, def) in &declared {
        let ptr = pointer_join("/Parameters", name);
        let ty = def.get("Type").and_then(Value::as_str).unwrap_or("String");
        let raw = overrides
            .get(name)
            .cloned()
            .or_else(|| def.get("Default").map(scalar_text));
        let Some(raw) = raw else {
            missing.push(name.clone());
            continue;
        };
        if let Some(allowed) = def.get("AllowedValues").and_then(Value::as_array) {
            if !allowed.iter().any(|a| scalar_text(a) == raw) {
                let list: Vec<String> = allowed.iter().map(scalar_text).collect();
                errors.push(LoadError::new(
                    file,
                    ptr.clone(),
                    format!(
                        "value `{raw}` is not allowed: expected one of {}",
                        list.join(", ")
                    ),
                ));
            }
        }
        let value = if ty == "CommaDelimitedList" || ty.starts_with("List<") {
            Value::Array(raw.split(',').map(|s| Value::from(s.trim())).collect())
        } else {
            Value::from(raw)
        };
        parameters.insert(name.clone(), value);
    }
    for key in overrides.keys() {
        if !declared.contains_key(key) {
            warnings.push(format!(
                "{}: --parameter-overrides sets `{key}`, which the template does not declare under Parameters",
                file.display()
            ));
        }
    }

    let mut resolver = Resolver::new(file, parameters);
    resolver.missing_parameters = missing;
    resolver.mappings = root.get("Mappings").cloned().unwrap_or(Value::Null);
    resolver.conditions = root
        .get("Conditions")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();

    // Globals.
    let globals = root
        .get("Globals")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for key in globals.keys() {
        if !GLOBAL_SECTIONS.iter().any(|(s, _)| s == key) {
            let names: Vec<&str> = GLOBAL_SECTIONS.iter().map(|(s, _)| *s).collect();
            errors.push(LoadError::new(
                file,
                pointer_join("/Globals", key),
                format!(
                    "`{key}` is not a Globals section: expected one of {}",
                    names.join(", ")
                ),
            ));
        }
    }
    let global_for = |ty: &str| -> Option<&Value> {
        GLOBAL_SECTIONS
            .iter()
            .find(|(_, t)| *t == ty)
            .and_then(|(s, _)| globals.get(*s))
    };

    // Resources, with Globals merged and false conditions dropped.
    let mut active: IndexMap<String, (String, Value, Value)> = IndexMap::new();
    for (id, res) in resources {
        let ptr = pointer_join("/Resources", id);
        let Some(ty) = res.get("Type").and_then(Value::as_str) else {
            errors.push(LoadError::new(file, ptr, "a resource needs a Type"));
            continue;
        };
        if let Some(c) = res.get("Condition").and_then(Value::as_str) {
            if !resolver.condition(c, &pointer_join(&ptr, "Condition")) {
                continue;
            }
        }
        let mut props = res.get("Properties").cloned().unwrap_or_else(|| json!({}));
        if let Some(g) = global_for(ty) {
            props = merge_globals(g, &props);
        }
        let metadata = res.get("Metadata").cloned().unwrap_or(Value::Null);
        active.insert(id.clone(), (ty.to_string(), props, metadata));
    }

    // Implicit APIs exist when a function has an event that names no API.
    let mut needs_rest = false;
    let mut needs_http = false;
    for (ty, props, _) in active.values() {
        if ty != "AWS::Serverless::Function" {
            continue;
        }
        for ev in props
            .get("Events")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.values())
        {
            match ev.get("Type").and_then(Value::as_str) {
                Some("Api") if ev.pointer("/Properties/RestApiId").is_none() => needs_rest = true,
                Some("HttpApi") if ev.pointer("/Properties/ApiId").is_none() => needs_http = true,
                _ => {}
            }
        }
    }
    if needs_rest && !active.contains_key(IMPLICIT_REST_API) {
        let props = merge_globals(
            global_for("AWS::Serverless::Api").unwrap_or(&json!({})),
            &json!({"StageName": "Prod"}),
        );
        active.insert(
            IMPLICIT_REST_API.into(),
            ("AWS::Serverless::Api".into(), props, Value::Null),
        );
    }
    if needs_http && !active.contains_key(IMPLICIT_HTTP_API) {
        let props = global_for("AWS::Serverless::HttpApi")
            .cloned()
            .unwrap_or_else(|| json!({}));
        active.insert(
            IMPLICIT_HTTP_API.into(),
            ("AWS::Serverless::HttpApi".into(), props, Value::Null),
        );
    }

    // What Ref and GetAtt yield for each resource. Names may themselves use intrinsics over
    // parameters, so resolve those first.
    let mut infos = HashMap::new();
    let mut stage_refs: Vec<(String, String)> = Vec::new();
    for (id, (ty, props, _)) in &active {
        let name_of = |key: &str| -> Option<String> {
            props
                .get(key)
                .and_then(|v| {
                    resolver.resolve(
                        v,
                        &pointer_join(
                            &pointer_join(&pointer_join("/Resources", id), "Properties"),
                            key,
                        ),
                    )
                })
                .map(|v| scalar_text(&v))
                .filter(|s| !s.is_empty())
        };
        // SAM's `Ref: MyApi.Stage` names the stage SAM generates for a serverless API.
        let stage = match ty.as_str() {
            "AWS::Serverless::Api" => name_of("StageName"),
            "AWS::Serverless::HttpApi" => {
                Some(name_of("StageName").unwrap_or_else(|| "$default".into()))
            }
            _ => None,
        };
        if let Some(stage) = stage {
            stage_refs.push((format!("{id}.Stage"), stage));
        }
        let (ref_value, arn) = match ty.as_str() {
            "AWS::Serverless::Function" | "AWS::Lambda::Function" => {
                let name = name_of("FunctionName").unwrap_or_else(|| id.clone());
                let arn = format!(
                    "arn:aws:lambda:{}:{}:function:{name}",
                    crate::REGION,
                    crate::ACCOUNT_ID
                );
                (Value::from(name), arn)
            }
            "AWS::Serverless::Api"
            | "AWS::Serverless::HttpApi"
            | "AWS::ApiGateway::RestApi"
            | "AWS::ApiGatewayV2::Api" => {
                let api_id = crate::api::api_id_for(id);
                let arn = format!("arn:aws:apigateway:{}::/restapis/{api_id}", crate::REGION);
                (Value::from(api_id), arn)
            }
            "AWS::DynamoDB::Table" | "AWS::Serverless::SimpleTable" => {
                let name = name_of("TableName").unwrap_or_else(|| id.clone());
                let arn = format!(
                    "arn:aws:dynamodb:{}:{}:table/{name}",
                    crate::REGION,
                    crate::ACCOUNT_ID
                );
                (Value::from(name), arn)
            }
            "AWS::IAM::Role" => {
                let name = name_of("RoleName").unwrap_or_else(|| id.clone());
                (
                    Value::from(id.clone()),
                    format!("arn:aws:iam::{}:role/{name}", crate::ACCOUNT_ID),
                )
            }
            other => {
                let service = other
                    .split("::")
                    .nth(1)
                    .unwrap_or("cloudformation")
                    .to_ascii_lowercase();
                (
                    Value::from(id.clone()),
                    format!(
                        "arn:aws:{service}:{}:{}:{id}",
                        crate::REGION,
                        crate::ACCOUNT_ID
                    ),
                )
            }
        };
        infos.insert(
            id.clone(),
            ResourceInfo {
                kind: ty.clone(),
                ref_value,
                arn,
            },
        );
    }
    for (id, stage) in stage_refs {
        infos.insert(
            id,
            ResourceInfo {
                kind: "AWS::ApiGateway::Stage".into(),
                ref_value: Value::from(stage),
                arn: String::new(),
            },
        );
    }
    resolver.resources = infos;

    // Functions.
    let mut functions = Vec::new();
    let mut function_ids = HashMap::new();
    for (id, (ty, props, metadata)) in &active {
        if ty != "AWS::Serverless::Function" && ty != "AWS::Lambda::Function" {
            continue;
        }
        let ptr = pointer_join(&pointer_join("/Resources", id), "Properties");
        let resolved = resolver.resolve(props, &ptr).unwrap_or_else(|| json!({}));
        let name = resolver
            .resources
            .get(id)
            .map(|r| scalar_text(&r.ref_value))
            .unwrap_or_else(|| id.clone());
        function_ids.insert(name.clone(), id.clone());
        function_ids.insert(id.clone(), id.clone());
        functions.push(SamFunction {
            logical_id: id.clone(),
            name,
            properties: resolved,
            metadata: metadata.clone(),
        });
    }

    // APIs.
    let mut apis: Vec<SamApi> = Vec::new();
    for (id, (ty, props, _)) in &active {
        let kind = match ty.as_str() {
            "AWS::Serverless::Api" => ApiKind::Rest,
            "AWS::Serverless::HttpApi" => ApiKind::Http,
            "AWS::ApiGateway::RestApi" | "AWS::ApiGatewayV2::Api" => {
                warnings.push(format!(
                    "{}: /Resources/{id}: raw {ty} resources are not served; declare the API as AWS::Serverless::Api or HttpApi",
                    file.display()
                ));
                continue;
            }
            _ => continue,
        };
        match api_from_resource(&resolver, file, id, kind, props, &mut warnings) {
            Ok(api) => apis.push(api),
            Err(e) => errors.extend(e),
        }
    }

    // Function events add routes to their APIs.
    for f in &functions {
        let Some(events) = f.properties.get("Events").and_then(Value::as_object) else {
            continue;
        };
        let raw_events = active
            .get(&f.logical_id)
            .and_then(|(_, p, _)| p.get("Events"))
            .cloned()
            .unwrap_or(Value::Null);
        for (ev_name, ev) in events {
            let ev_ptr = pointer_join(
                &pointer_join(
                    &pointer_join(&pointer_join("/Resources", &f.logical_id), "Properties"),
                    "Events",
                ),
                ev_name,
            );
            let ty = ev.get("Type").and_then(Value::as_str).unwrap_or_default();
            let kind = match ty {
                "Api" => ApiKind::Rest,
                "HttpApi" => ApiKind::Http,
                _ => continue,
            };
            let id_key = if kind == ApiKind::Rest {
                "RestApiId"
            } else {
                "ApiId"
            };
            let raw_target = raw_events
                .get(ev_name)
                .and_then(|e| e.get("Properties"))
                .and_then(|p| p.get(id_key));
            let target = match raw_target {
                None => Some(
                    if kind == ApiKind::Rest {
                        IMPLICIT_REST_API
                    } else {
                        IMPLICIT_HTTP_API
                    }
                    .to_string(),
                ),
                Some(v) => v
                    .get("Ref")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .or_else(|| {
                        // A resolved id: map it back to the API that owns it.
                        let resolved = ev
                            .pointer(&format!("/Properties/{id_key}"))
                            .map(scalar_text)?;
                        resolver
                            .resources
                            .iter()
                            .find(|(_, r)| scalar_text(&r.ref_value) == resolved)
                            .map(|(k, _)| k.clone())
                    }),
            };
            let Some(api) = target.and_then(|t| apis.iter_mut().find(|a| a.logical_id == t)) else {
                errors.push(LoadError::new(
                    file,
                    pointer_join(&pointer_join(&ev_ptr, "Properties"), id_key),
                    format!(
                        "does not name an {} resource in this template",
                        if kind == ApiKind::Rest {
                            "AWS::Serverless::Api"
                        } else {
                            "AWS::Serverless::HttpApi"
                        }
                    ),
                ));
                continue;
            };
            if api.kind != kind {
                errors.push(LoadError::new(
                    file,
                    ev_ptr,
                    format!("a {ty} event must target an API of the matching type"),
                ));
                continue;
            }
            if let Err(e) = add_event_route(file, &ev_ptr, api, &f.name, ev) {
                errors.push(e);
            }
        }
    }

    for api in apis.iter_mut() {
        if let Some(cors) = api.cors.clone() {
            let authorizer = api
                .cors_authorizer
                .then(|| api.default_authorizer.clone())
                .flatten();
            add_rest_cors(&mut api.definition, &cors, authorizer.as_deref());
        }
    }

    errors.extend(resolver.take_errors());
    warnings.extend(resolver.take_warnings());
    let mut usage = usage_resources(&resolver, &active);
    usage.merge(sam_usage_plans(&apis));
    errors.extend(resolver.take_errors());
    errors.into_result(SamTemplate {
        file: file.to_path_buf(),
        apis,
        functions,
        function_ids,
        usage,
        warnings,
    })
}

fn route_throttle(v: &Value) -> Option<crate::usage::Throttle> {
    Some(crate::usage::Throttle {
        rate_limit: v.get("ThrottlingRateLimit").and_then(Value::as_f64)?,
        burst_limit: v.get("ThrottlingBurstLimit").and_then(Value::as_u64)?,
    })
}

/// Stage throttling: REST `MethodSettings` entries (`ResourcePath` `/*` with `HttpMethod` `*`
/// is the stage default; others key `"/path/METHOD"`), HTTP API `DefaultRouteSettings` and
/// `RouteSettings` (keyed by route key).
fn stage_throttle(
    method_settings: Option<Value>,
    default_route: Option<Value>,
    routes: Option<Value>,
) -> crate::usage::StageThrottle {
    let mut t = crate::usage::StageThrottle::default();
    for m in method_settings
        .iter()
        .flat_map(|v| v.as_array().cloned().unwrap_or_default())
    {
        let Some(throttle) = route_throttle(&m) else {
            continue;
        };
        let path = m
            .get("ResourcePath")
            .map(scalar_text)
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

/// SAM `Auth.UsagePlan`: `PER_API` makes a plan and a key per API (`<Api>UsagePlan`,
/// `<Api>ApiKey`), `SHARED` one of each for every such API (`ServerlessUsagePlan`,
/// `ServerlessApiKey`), `NONE` nothing. The generated keys' values are stable and printed at
/// start-up.
fn sam_usage_plans(apis: &[SamApi]) -> crate::usage::UsageConfig {
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
                .map(|i| crate::api::api_id_for(&format!("{key_id}#{i}")))
                .collect(),
            enabled: true,
            plans: vec![plan_id],
        });
    }
    cfg
}

/// The logical id a `{"Ref": X}` (or an already resolved id) names.
fn referenced_id(
    resolver: &Resolver,
    raw: Option<&Value>,
    resolved: Option<&Value>,
) -> Option<String> {
    if let Some(id) = raw.and_then(|v| v.get("Ref")).and_then(Value::as_str) {
        return Some(id.to_string());
    }
    let text = resolved.map(scalar_text)?;
    resolver
        .resources
        .iter()
        .find(|(_, r)| scalar_text(&r.ref_value) == text)
        .map(|(k, _)| k.clone())
        .or(Some(text))
}

/// `Quota {Limit, Period, Offset}`; None when the limit or period is missing or unknown.
fn cfn_quota(q: &Value) -> Option<crate::usage::Quota> {
    use crate::usage::Period;
    Some(crate::usage::Quota {
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

fn cfn_throttle(v: &Value) -> Option<crate::usage::Throttle> {
    Some(crate::usage::Throttle {
        rate_limit: v.get("RateLimit").and_then(Value::as_f64)?,
        burst_limit: v.get("BurstLimit").and_then(Value::as_u64)?,
    })
}

/// API keys, usage plans and their associations, as CloudFormation declares them.
fn usage_resources(
    resolver: &Resolver,
    active: &IndexMap<String, (String, Value, Value)>,
) -> crate::usage::UsageConfig {
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
    for (id, (ty, props, _)) in active {
        match ty.as_str() {
            "AWS::ApiGateway::ApiKey" => {
                let p = resolve(id, props);
                // Without a Value, API Gateway generates one; here it is derived from the id so
                // it is the same every run (printed at start-up).
                let value = p.get("Value").map(scalar_text).unwrap_or_else(|| {
                    (0..4)
                        .map(|i| crate::api::api_id_for(&format!("{id}#{i}")))
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
    for (id, (ty, props, _)) in active {
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

fn api_from_resource(
    resolver: &Resolver,
    file: &Path,
    id: &str,
    kind: ApiKind,
    raw_props: &Value,
    warnings: &mut Vec<String>,
) -> Result<SamApi, LoadErrors> {
    let mut errors = LoadErrors::default();
    let ptr = pointer_join(&pointer_join("/Resources", id), "Properties");
    let get = |key: &str| -> Option<Value> {
        raw_props
            .get(key)
            .and_then(|v| resolver.resolve(v, &pointer_join(&ptr, key)))
    };

    let stage_name = match (get("StageName"), kind) {
        (Some(v), _) => scalar_text(&v),
        (None, ApiKind::Http) => "$default".to_string(),
        (None, ApiKind::Rest) => {
            errors.push(LoadError::new(
                file,
                pointer_join(&ptr, "StageName"),
                "missing: AWS::Serverless::Api requires StageName",
            ));
            String::new()
        }
    };
    if stage_name != "$default"
        && !stage_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        errors.push(LoadError::new(
            file,
            pointer_join(&ptr, "StageName"),
            format!("`{stage_name}` is not a valid stage name: use letters, digits, - and _"),
        ));
    }
    let vars_key = if kind == ApiKind::Rest {
        "Variables"
    } else {
        "StageVariables"
    };
    let mut variables = IndexMap::new();
    if let Some(Value::Object(m)) = get(vars_key) {
        for (k, v) in m {
            variables.insert(k, scalar_text(&v));
        }
    }

    // The definition: inline (possibly through AWS::Include), a local DefinitionUri, or empty.
    let (def_file, pointer_base, mut definition) = if let Some(body) =
        raw_props.get("DefinitionBody")
    {
        let body_ptr = pointer_join(&ptr, "DefinitionBody");
        let include = body
            .get("Fn::Transform")
            .filter(|t| t.get("Name").and_then(Value::as_str) == Some("AWS::Include"))
            .and_then(|t| t.pointer("/Parameters/Location"))
            .and_then(|l| resolver.resolve(l, &body_ptr))
            .map(|l| scalar_text(&l));
        match include {
            Some(location) => match resolver.include(file, &location, &body_ptr) {
                Some((path, doc)) => {
                    let resolved = resolver.resolve_in(&path, &doc, "").unwrap_or(Value::Null);
                    (path, String::new(), resolved)
                }
                None => (file.to_path_buf(), body_ptr, Value::Null),
            },
            None => {
                let resolved = resolver.resolve(body, &body_ptr).unwrap_or(Value::Null);
                (file.to_path_buf(), body_ptr, resolved)
            }
        }
    } else if let Some(uri) = raw_props.get("DefinitionUri") {
        let uri_ptr = pointer_join(&ptr, "DefinitionUri");
        match uri {
            Value::String(s) if !s.starts_with("s3://") => {
                let path = resolver.base_dir().join(s);
                // Intrinsics are not resolved inside a DefinitionUri file (SAM docs).
                match crate::spec::yaml::read_document(&path) {
                    Ok(doc) => (path, String::new(), doc),
                    Err(e) => {
                        errors.push(LoadError::new(
                            file,
                            uri_ptr,
                            format!("cannot load `{s}`: {e}"),
                        ));
                        (file.to_path_buf(), String::new(), Value::Null)
                    }
                }
            }
            _ => {
                errors.push(LoadError::new(
                    file,
                    uri_ptr,
                    "an S3 DefinitionUri cannot be read locally: point DefinitionUri at a local file",
                ));
                (file.to_path_buf(), String::new(), Value::Null)
            }
        }
    } else {
        let generated = match kind {
            ApiKind::Rest => {
                json!({"swagger": "2.0", "info": {"title": id, "version": "1.0"}, "paths": {}})
            }
            ApiKind::Http => {
                json!({"openapi": "3.0.1", "info": {"title": id, "version": "1.0"}, "paths": {}})
            }
        };
        (file.to_path_buf(), String::new(), generated)
    };

    if let Some(obj) = definition.as_object_mut() {
        if let Some(Value::Array(types)) = get("BinaryMediaTypes") {
            let mut list: Vec<Value> = obj
                .get("x-amazon-apigateway-binary-media-types")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for t in types {
                let t = Value::from(scalar_text(&t).replace("~1", "/"));
                if !list.contains(&t) {
                    list.push(t);
                }
            }
            obj.insert(
                "x-amazon-apigateway-binary-media-types".into(),
                Value::Array(list),
            );
        }
        if let Some(Value::Object(gr)) = get("GatewayResponses") {
            let mut map = obj
                .get("x-amazon-apigateway-gateway-responses")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            for (ty, spec) in gr {
                map.insert(ty, sam_gateway_response(&spec));
            }
            obj.insert(
                "x-amazon-apigateway-gateway-responses".into(),
                Value::Object(map),
            );
        }
        if let Some(v) = get("ApiKeySourceType") {
            obj.insert("x-amazon-apigateway-api-key-source".into(), v);
        }
        if kind == ApiKind::Http {
            if let Some(c) = get("CorsConfiguration") {
                let mut merged = obj
                    .get("x-amazon-apigateway-cors")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                for (k, v) in http_cors_configuration(&c) {
                    merged.insert(k, v);
                }
                obj.insert("x-amazon-apigateway-cors".into(), Value::Object(merged));
            }
        }
        // `Models` become the definition's schemas, where RequestModel's `$ref`s point.
        if let Some(Value::Object(models)) = get("Models") {
            if let Some(t) = definition_section(obj, "definitions", "schemas") {
                for (name, schema) in models {
                    t.entry(name).or_insert(schema);
                }
            }
        }
    }

    let mut default_authorizer = None;
    let mut api_key_required = false;
    let mut usage_plan = None;
    if let Some(auth) = get("Auth") {
        usage_plan = auth.get("UsagePlan").cloned();
        if auth.get("ApiKeyRequired").and_then(Value::as_bool) == Some(true) {
            api_key_required = true;
            require_api_keys(&mut definition);
        }
        let auth_ptr = pointer_join(&ptr, "Auth");
        match sam_auth(file, &auth_ptr, kind, &auth, &mut definition) {
            Ok(d) => default_authorizer = d,
            Err(e) => errors.extend(e),
        }
    }

    let log_key = if kind == ApiKind::Rest {
        "AccessLogSetting"
    } else {
        "AccessLogSettings"
    };
    let access_log_format = get(log_key).and_then(|v| v.get("Format").map(scalar_text));
    if let Some(f) = &access_log_format {
        if let Err(m) = crate::access_log::check_format(f, kind) {
            errors.push(LoadError::new(
                file,
                pointer_join(&pointer_join(&ptr, log_key), "Format"),
                m,
            ));
        }
    }

    for key in PENDING_API_PROPERTIES {
        if raw_props.get(*key).is_some() {
            warnings.push(format!(
                "{}: {}: {key} is parsed but not enforced by this version of tollgate",
                file.display(),
                pointer_join(&ptr, key)
            ));
        }
    }

    errors.into_result(SamApi {
        logical_id: id.to_string(),
        kind,
        stage: Stage {
            name: stage_name,
            variables,
        },
        file: def_file,
        pointer_base,
        definition,
        default_authorizer,
        api_key_required,
        usage_plan,
        stage_throttle: stage_throttle(
            get("MethodSettings"),
            get("DefaultRouteSettings"),
            get("RouteSettings"),
        ),
        cors: if kind == ApiKind::Rest {
            get("Cors")
        } else {
            None
        },
        access_log_format,
        cors_authorizer: get("Auth")
            .and_then(|a| a.get("AddDefaultAuthorizerToCorsPreflight").cloned())
            .and_then(|v| v.as_bool())
            .unwrap_or(true),
    })
}

/// SAM `Auth` on an API: `Authorizers` become security schemes with the authorizer extension;
/// `DefaultAuthorizer` goes on every written operation that has no `security` of its own (event
/// operations get it when they are added). Returns the default authorizer's name.
fn sam_auth(
    file: &Path,
    ptr: &str,
    kind: ApiKind,
    auth: &Value,
    definition: &mut Value,
) -> Result<Option<String>, LoadErrors> {
    let mut errors = LoadErrors::default();
    let mut schemes = Map::new();
    let authorizers = auth
        .get("Authorizers")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (name, a) in &authorizers {
        let aptr = pointer_join(&pointer_join(ptr, "Authorizers"), name);
        if a.get("UserPoolArn").is_some() || a.get("JwtConfiguration").is_some() {
            let ty = if a.get("UserPoolArn").is_some() {
                "cognito_user_pools"
            } else {
                "jwt"
            };
            let mut ext = json!({"type": ty});
            if let Some(pool) = a.get("UserPoolArn") {
                let arns = match pool {
                    Value::Array(list) => list.iter().map(scalar_text).collect(),
                    other => vec![scalar_text(other)],
                };
                ext["providerARNs"] = json!(arns);
                let header = a
                    .pointer("/Identity/Header")
                    .map(scalar_text)
                    .unwrap_or_else(|| "Authorization".into());
                ext["identitySource"] = Value::from(format!("method.request.header.{header}"));
            }
            if let Some(src) = a.get("IdentitySource") {
                ext["identitySource"] = Value::from(scalar_text(src));
            }
            if let Some(j) = a.get("JwtConfiguration") {
                ext["jwtConfiguration"] = json!({
                    "issuer": j.get("issuer").or_else(|| j.get("Issuer")).cloned().unwrap_or(Value::Null),
                    "audience": j.get("audience").or_else(|| j.get("Audience")).cloned().unwrap_or(json!([])),
                });
            }
            schemes.insert(name.clone(), json!({"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authorizer": ext}));
            continue;
        }
        let Some(arn) = a
            .get("FunctionArn")
            .map(scalar_text)
            .filter(|s| !s.is_empty())
        else {
            errors.push(LoadError::new(
                file,
                pointer_join(&aptr, "FunctionArn"),
                "missing: a Lambda authorizer needs FunctionArn",
            ));
            continue;
        };
        let payload = a
            .get("FunctionPayloadType")
            .map(scalar_text)
            .unwrap_or_else(|| {
                if kind == ApiKind::Rest {
                    "TOKEN".into()
                } else {
                    "REQUEST".into()
                }
            });
        let identity = a.get("Identity").cloned().unwrap_or(json!({}));
        let ttl = identity
            .get("ReauthorizeEvery")
            .and_then(Value::as_u64)
            .unwrap_or(300);
        let uri = format!(
            "arn:aws:apigateway:{}:lambda:path/2015-03-31/functions/{arn}/invocations",
            crate::REGION
        );
        let mut ext = Map::new();
        ext.insert("authorizerUri".into(), Value::from(uri));
        ext.insert("authorizerResultTtlInSeconds".into(), Value::from(ttl));
        let header_name;
        match payload.to_ascii_uppercase().as_str() {
            "TOKEN" => {
                header_name = identity
                    .get("Header")
                    .map(scalar_text)
                    .unwrap_or_else(|| "Authorization".into());
                ext.insert("type".into(), Value::from("token"));
                ext.insert(
                    "identitySource".into(),
                    Value::from(format!("method.request.header.{header_name}")),
                );
                if let Some(v) = identity.get("ValidationExpression") {
                    ext.insert(
                        "identityValidationExpression".into(),
                        Value::from(scalar_text(v)),
                    );
                }
            }
            "REQUEST" => {
                header_name = "Unused".into();
                ext.insert("type".into(), Value::from("request"));
                // REST writes identity sources as method.request.*, HTTP APIs as $request.*.
                let (header, query, stage, context) = match kind {
                    ApiKind::Rest => (
                        "method.request.header.",
                        "method.request.querystring.",
                        "stageVariables.",
                        "context.",
                    ),
                    ApiKind::Http => (
                        "$request.header.",
                        "$request.querystring.",
                        "$stageVariables.",
                        "$context.",
                    ),
                };
                let list = |key: &str, prefix: &str| -> Vec<String> {
                    identity
                        .get(key)
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .map(|v| format!("{prefix}{}", scalar_text(v)))
                                .collect()
                        })
                        .unwrap_or_default()
                };
                let sources: Vec<String> = [
                    list("Headers", header),
                    list("QueryStrings", query),
                    list("StageVariables", stage),
                    list("Context", context),
                ]
                .concat();
                if sources.is_empty() {
                    // Caching needs identity sources.
                    ext.insert("authorizerResultTtlInSeconds".into(), Value::from(0));
                } else {
                    ext.insert("identitySource".into(), Value::from(sources.join(", ")));
                }
                if kind == ApiKind::Http {
                    let version = a
                        .get("AuthorizerPayloadFormatVersion")
                        .map(scalar_text)
                        .unwrap_or_else(|| "2.0".into());
                    ext.insert(
                        "authorizerPayloadFormatVersion".into(),
                        Value::from(version),
                    );
                    if let Some(simple) = a.get("EnableSimpleResponses").and_then(Value::as_bool) {
                        ext.insert("enableSimpleResponses".into(), Value::Bool(simple));
                    }
                }
            }
            other => {
                errors.push(LoadError::new(
                    file,
                    pointer_join(&aptr, "FunctionPayloadType"),
                    format!("`{other}` is not valid: expected TOKEN or REQUEST"),
                ));
                continue;
            }
        }
        schemes.insert(
            name.clone(),
            json!({
                "type": "apiKey",
                "name": header_name,
                "in": "header",
                "x-amazon-apigateway-authtype": "custom",
                "x-amazon-apigateway-authorizer": Value::Object(ext),
            }),
        );
    }
    let default = auth.get("DefaultAuthorizer").map(scalar_text);
    if let Some(d) = &default {
        if d != "AWS_IAM" && !authorizers.contains_key(d) {
            errors.push(LoadError::new(
                file,
                pointer_join(ptr, "DefaultAuthorizer"),
                format!("`{d}` is not one of this API's Authorizers"),
            ));
        }
    }
    let resource_policy = auth.get("ResourcePolicy").map(sam_resource_policy);
    let Some(doc) = definition.as_object_mut() else {
        return errors.into_result(default);
    };
    if let Some(p) = resource_policy {
        doc.entry("x-amazon-apigateway-policy").or_insert(p);
    }
    if !schemes.is_empty() {
        if let Some(t) = definition_section(doc, "securityDefinitions", "securitySchemes") {
            for (k, v) in schemes {
                t.entry(k).or_insert(v);
            }
        }
    }
    if let (Some(d), Some(paths)) = (
        &default,
        doc.get_mut("paths").and_then(Value::as_object_mut),
    ) {
        for item in paths.values_mut().filter_map(Value::as_object_mut) {
            for (method, op) in item.iter_mut() {
                if method.starts_with("x-") && method != "x-amazon-apigateway-any-method" {
                    continue;
                }
                if let Some(op) = op.as_object_mut() {
                    apply_default_authorizer(op, d);
                }
            }
        }
    }
    errors.into_result(default)
}

/// SAM `Auth.ResourcePolicy` → a policy document: `CustomStatements` as written, and IP range
/// lists as an allow for everyone plus a deny outside (whitelist) or inside (blacklist) the
/// ranges. [?] SAM's own expansion writes per-method statements; the decisions are the same.
fn sam_resource_policy(rp: &Value) -> Value {
    let mut statements: Vec<Value> = match rp.get("CustomStatements") {
        Some(Value::Array(list)) => list.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    };
    let ranges = |key: &str| -> Option<Vec<Value>> {
        rp.get(key)
            .and_then(Value::as_array)
            .cloned()
            .filter(|v| !v.is_empty())
    };
    let white = ranges("IpRangeWhitelist");
    let black = ranges("IpRangeBlacklist");
    if white.is_some() || black.is_some() {
        statements.push(json!({"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*"}));
    }
    if let Some(w) = white {
        statements.push(json!({"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*",
            "Condition": {"NotIpAddress": {"aws:SourceIp": w}}}));
    }
    if let Some(b) = black {
        statements.push(json!({"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*",
            "Condition": {"IpAddress": {"aws:SourceIp": b}}}));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// `ApiKeyRequired`: declare the `api_key` scheme and add it to every operation's requirement.
fn require_api_keys(definition: &mut Value) {
    declare_api_key_scheme(definition);
    let Some(doc) = definition.as_object_mut() else {
        return;
    };
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut().filter_map(Value::as_object_mut) {
            for (method, op) in item.iter_mut() {
                if method.starts_with("x-") && method != "x-amazon-apigateway-any-method" {
                    continue;
                }
                if let Some(op) = op.as_object_mut() {
                    add_api_key_requirement(op);
                }
            }
        }
    }
}

/// A map of the definition that lives at the root in Swagger 2 (`swagger_key`) and under
/// `components` in OpenAPI 3 (`oas3_key`): security schemes, models.
fn definition_section<'a>(
    doc: &'a mut Map<String, Value>,
    swagger_key: &str,
    oas3_key: &str,
) -> Option<&'a mut Map<String, Value>> {
    if doc.contains_key("swagger") {
        doc.entry(swagger_key)
            .or_insert_with(|| json!({}))
            .as_object_mut()
    } else {
        doc.entry("components")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .and_then(|c| {
                c.entry(oas3_key)
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
            })
    }
}

/// The `api_key` security scheme API Gateway reads as "this method needs an API key".
fn declare_api_key_scheme(definition: &mut Value) {
    let Some(doc) = definition.as_object_mut() else {
        return;
    };
    let scheme = json!({"type": "apiKey", "name": "x-api-key", "in": "header"});
    if let Some(s) = definition_section(doc, "securityDefinitions", "securitySchemes") {
        s.entry("api_key").or_insert(scheme);
    }
}

fn add_api_key_requirement(op: &mut Map<String, Value>) {
    let security = op.entry("security").or_insert_with(|| json!([{}]));
    if let Some(list) = security.as_array_mut() {
        if list.is_empty() {
            list.push(json!({}));
        }
        if let Some(first) = list.first_mut().and_then(Value::as_object_mut) {
            first.entry("api_key").or_insert(json!([]));
        }
    }
}

fn apply_default_authorizer(op: &mut Map<String, Value>, default: &str) {
    if op.contains_key("security") || op.contains_key("x-amazon-apigateway-auth") {
        return;
    }
    if default == "AWS_IAM" {
        op.insert(
            "x-amazon-apigateway-auth".into(),
            json!({"type": "AWS_IAM"}),
        );
    } else {
        op.insert("security".into(), json!([{ default: [] }]));
    }
}

/// SAM's `GatewayResponses` form → the OpenAPI extension's form.
fn sam_gateway_response(spec: &Value) -> Value {
    let mut out = Map::new();
    if let Some(s) = spec.get("StatusCode") {
        out.insert("statusCode".into(), Value::from(scalar_text(s)));
    }
    if let Some(params) = spec.get("ResponseParameters").and_then(Value::as_object) {
        let mut mapped = Map::new();
        for (section, prefix) in [
            ("Headers", "header"),
            ("Paths", "path"),
            ("QueryStrings", "querystring"),
        ] {
            if let Some(m) = params.get(section).and_then(Value::as_object) {
                for (k, v) in m {
                    mapped.insert(
                        format!("gatewayresponse.{prefix}.{k}"),
                        Value::from(scalar_text(v)),
                    );
                }
            }
        }
        out.insert("responseParameters".into(), Value::Object(mapped));
    }
    if let Some(t) = spec.get("ResponseTemplates") {
        out.insert("responseTemplates".into(), t.clone());
    }
    Value::Object(out)
}

/// Add the operation SAM generates for a function event, unless the definition already has it.
/// SAM's HttpApi `CorsConfiguration` as `x-amazon-apigateway-cors` fields: `true` allows every
/// origin, method and header ([?] SAM's exact expansion of `true`), a string is one origin,
/// an object maps its properties.
fn http_cors_configuration(c: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    match c {
        Value::Bool(true) => {
            for k in ["allowOrigins", "allowMethods", "allowHeaders"] {
                out.insert(k.into(), json!(["*"]));
            }
        }
        Value::String(origin) => {
            out.insert("allowOrigins".into(), json!([origin.trim_matches('\'')]));
        }
        Value::Object(m) => {
            for (from, to) in [
                ("AllowOrigins", "allowOrigins"),
                ("AllowHeaders", "allowHeaders"),
                ("AllowMethods", "allowMethods"),
                ("ExposeHeaders", "exposeHeaders"),
                ("AllowCredentials", "allowCredentials"),
                ("MaxAge", "maxAge"),
            ] {
                if let Some(v) = m.get(from) {
                    out.insert(to.into(), v.clone());
                }
            }
        }
        _ => {}
    }
    out
}

/// SAM's `Cors` on a REST API: every path without an OPTIONS method gets the MOCK preflight
/// operation SAM's translator writes (facts §10).
fn add_rest_cors(definition: &mut Value, cors: &Value, authorizer: Option<&str>) {
    let (origin, methods, headers, max_age, credentials) = match cors {
        Value::Object(m) => (
            m.get("AllowOrigin").map(scalar_text),
            m.get("AllowMethods").map(scalar_text),
            m.get("AllowHeaders").map(scalar_text),
            m.get("MaxAge").map(scalar_text),
            m.get("AllowCredentials")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        ),
        other => (Some(scalar_text(other)), None, None, None, false),
    };
    let Some(origin) = origin else { return };
    let swagger = definition.get("swagger").is_some();
    let Some(paths) = definition.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (_, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        if item.contains_key("options") {
            continue;
        }
        // Default AllowMethods: the path's methods plus OPTIONS, sorted; ANY means all seven.
        let methods = methods.clone().unwrap_or_else(|| {
            let mut list: Vec<String> = if item.contains_key("x-amazon-apigateway-any-method") {
                ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
                    .iter()
                    .map(|m| m.to_string())
                    .collect()
            } else {
                let mut l: Vec<String> = item
                    .keys()
                    .filter(|k| {
                        ["get", "put", "post", "delete", "patch", "head"].contains(&k.as_str())
                    })
                    .map(|k| k.to_ascii_uppercase())
                    .collect();
                l.push("OPTIONS".into());
                l
            };
            list.sort();
            list.dedup();
            format!("'{}'", list.join(","))
        });
        let mut params = Map::new();
        let mut header_names = Vec::new();
        for (name, value) in [
            ("Access-Control-Allow-Origin", Some(origin.clone())),
            ("Access-Control-Allow-Headers", headers.clone()),
            ("Access-Control-Allow-Methods", Some(methods)),
            ("Access-Control-Max-Age", max_age.clone()),
            (
                "Access-Control-Allow-Credentials",
                credentials.then(|| "'true'".to_string()),
            ),
        ] {
            if let Some(v) = value {
                params.insert(format!("method.response.header.{name}"), Value::from(v));
                header_names.push(name);
            }
        }
        let header_decls: Map<String, Value> = header_names
            .iter()
            .map(|h| {
                let decl = if swagger {
                    json!({"type": "string"})
                } else {
                    json!({"schema": {"type": "string"}})
                };
                (h.to_string(), decl)
            })
            .collect();
        let mut op = json!({
            "summary": "CORS support",
            "x-amazon-apigateway-integration": {
                "type": "mock",
                "requestTemplates": {"application/json": "{\n  \"statusCode\" : 200\n}\n"},
                "responses": {"default": {
                    "statusCode": "200",
                    "responseParameters": params,
                    "responseTemplates": {"application/json": "{}\n"},
                }},
            },
            "responses": {"200": {"description": "Default response for CORS method", "headers": header_decls}},
        });
        if swagger {
            op["consumes"] = json!(["application/json"]);
            op["produces"] = json!(["application/json"]);
        }
        if let (Some(a), Some(o)) = (authorizer, op.as_object_mut()) {
            apply_default_authorizer(o, a);
        }
        item.insert("options".into(), op);
    }
}

/// SAM's `RequestParameters` and `RequestModel` on an Api event, written into the operation as
/// SAM's translator writes them: declared parameters, a body model reference, and (when
/// `ValidateBody`/`ValidateParameters` is given) a request validator named `body-and-params`,
/// `body-only`, `params-only` or `no-validation`.
fn request_model_and_parameters(definition: &mut Value, op: &mut Value, props: &Value) {
    let swagger = definition.get("swagger").is_some();
    let mut params: Vec<Value> = Vec::new();
    if let Some(Value::Array(list)) = props.get("RequestParameters") {
        for item in list {
            let (key, required) = match item {
                Value::Object(m) => match m.iter().next() {
                    Some((k, v)) => (
                        k.clone(),
                        v.get("Required").and_then(Value::as_bool).unwrap_or(false),
                    ),
                    None => continue,
                },
                other => (scalar_text(other), false),
            };
            let Some(rest) = key.strip_prefix("method.request.") else {
                continue;
            };
            let Some((kind, name)) = rest.split_once('.') else {
                continue;
            };
            let location = match kind {
                "header" => "header",
                "querystring" => "query",
                "path" => "path",
                _ => continue,
            };
            params.push(if swagger {
                json!({"in": location, "name": name, "required": required, "type": "string"})
            } else {
                json!({"in": location, "name": name, "required": required, "schema": {"type": "string"}})
            });
        }
    }
    if let Some(model) = props.get("RequestModel") {
        let name = model.get("Model").map(scalar_text).unwrap_or_default();
        let required = model
            .get("Required")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if swagger {
            params.push(json!({"in": "body", "name": name.to_ascii_lowercase(), "required": required, "schema": {"$ref": format!("#/definitions/{name}")}}));
        } else {
            op["requestBody"] = json!({"required": required, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}")}}}});
        }
        let body = model.get("ValidateBody").and_then(Value::as_bool);
        let parameters = model.get("ValidateParameters").and_then(Value::as_bool);
        if body.is_some() || parameters.is_some() {
            let (b, p) = (body.unwrap_or(false), parameters.unwrap_or(false));
            let validator = match (b, p) {
                (true, true) => "body-and-params",
                (true, false) => "body-only",
                (false, true) => "params-only",
                (false, false) => "no-validation",
            };
            if let Some(obj) = definition.as_object_mut() {
                let validators = obj
                    .entry("x-amazon-apigateway-request-validators")
                    .or_insert_with(|| json!({}));
                if let Some(v) = validators.as_object_mut() {
                    v.insert(
                        validator.into(),
                        json!({"validateRequestBody": b, "validateRequestParameters": p}),
                    );
                }
            }
            op["x-amazon-apigateway-request-validator"] = json!(validator);
        }
    }
    if !params.is_empty() {
        op["parameters"] = Value::Array(params);
    }
}

fn add_event_route(
    file: &Path,
    ev_ptr: &str,
    api: &mut SamApi,
    function_name: &str,
    ev: &Value,
) -> Result<(), LoadError> {
    let props = ev.get("Properties").cloned().unwrap_or_else(|| json!({}));
    let path = props.get("Path").map(scalar_text);
    let method = props
        .get("Method")
        .map(scalar_text)
        .map(|m| m.to_ascii_lowercase());
    let uri = format!(
        "arn:aws:apigateway:{}:lambda:path/2015-03-31/functions/arn:aws:lambda:{}:{}:function:{function_name}/invocations",
        crate::REGION,
        crate::REGION,
        crate::ACCOUNT_ID
    );
    let mut integration = json!({"type": "aws_proxy", "httpMethod": "POST", "uri": uri});
    let (path, method_key, default_route) = match api.kind {
        ApiKind::Rest => {
            let (Some(path), Some(method)) = (path, method) else {
                return Err(LoadError::new(
                    file,
                    pointer_join(ev_ptr, "Properties"),
                    "an Api event needs Path and Method",
                ));
            };
            (path, method, false)
        }
        ApiKind::Http => {
            integration["payloadFormatVersion"] = props
                .get("PayloadFormatVersion")
                .map(|v| Value::from(scalar_text(v)))
                .unwrap_or_else(|| Value::from("2.0"));
            if let Some(t) = props.get("TimeoutInMillis") {
                integration["timeoutInMillis"] = t.clone();
            }
            match (path, method) {
                (None, None) => ("$default".to_string(), "any".to_string(), true),
                (Some(p), Some(m)) => (p, m, false),
                (Some(p), None) => (p, "any".to_string(), false),
                (None, Some(_)) => {
                    return Err(LoadError::new(
                        file,
                        pointer_join(ev_ptr, "Properties"),
                        "an HttpApi event with a Method needs a Path",
                    ))
                }
            }
        }
    };
    if !default_route && !path.starts_with('/') {
        return Err(LoadError::new(
            file,
            pointer_join(&pointer_join(ev_ptr, "Properties"), "Path"),
            format!("`{path}` must start with /"),
        ));
    }
    let key = if method_key == "any" {
        "x-amazon-apigateway-any-method".to_string()
    } else {
        method_key
    };
    let mut op = json!({"x-amazon-apigateway-integration": integration, "responses": {}});
    if api.kind == ApiKind::Rest {
        request_model_and_parameters(&mut api.definition, &mut op, &props);
    }
    // The event's own Auth.Authorizer (NONE opts out of the default), else the API's default.
    match props.pointer("/Auth/Authorizer").map(scalar_text) {
        Some(a) if a == "NONE" => op["security"] = json!([]),
        Some(a) if a == "AWS_IAM" => op["x-amazon-apigateway-auth"] = json!({"type": "AWS_IAM"}),
        Some(a) => {
            let scopes = props
                .pointer("/Auth/AuthorizationScopes")
                .cloned()
                .unwrap_or(json!([]));
            op["security"] = json!([{ a: scopes }]);
        }
        None => {
            if let (Some(d), Some(o)) = (&api.default_authorizer, op.as_object_mut()) {
                apply_default_authorizer(o, d);
                // AuthorizationScopes alone narrow the default authorizer for this route.
                if let (Some(scopes), Some(Value::Array(reqs))) = (
                    props.pointer("/Auth/AuthorizationScopes"),
                    o.get_mut("security"),
                ) {
                    if let Some(Value::Object(first)) = reqs.first_mut() {
                        if let Some(v) = first.get_mut(d.as_str()) {
                            *v = scopes.clone();
                        }
                    }
                }
            }
        }
    }
    if default_route {
        op["isDefaultRoute"] = Value::Bool(true);
    }
    let key_required = props
        .pointer("/Auth/ApiKeyRequired")
        .and_then(Value::as_bool)
        .unwrap_or(api.api_key_required);
    if key_required {
        if let Some(o) = op.as_object_mut() {
            add_api_key_requirement(o);
        }
        declare_api_key_scheme(&mut api.definition);
    }
    let Some(paths) = api
        .definition
        .as_object_mut()
        .map(|o| o.entry("paths").or_insert_with(|| json!({})))
        .and_then(Value::as_object_mut)
    else {
        return Err(LoadError::new(
            file,
            ev_ptr,
            "the API definition has no paths mapping to add this event to",
        ));
    };
    let item = paths.entry(path).or_insert_with(|| json!({}));
    if let Some(item) = item.as_object_mut() {
        // An operation written in the definition wins over the generated one, as in SAM.
        item.entry(key).or_insert(op);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_both_forms() {
        let m =
            parse_parameter_overrides("Env=prod Name='two words' ParameterKey=A,ParameterValue=b")
                .expect("ok");
        assert_eq!(m["Env"], "prod");
        assert_eq!(m["Name"], "two words");
        assert_eq!(m["A"], "b");
        assert!(parse_parameter_overrides("novalue").is_err());
    }

    #[test]
    fn globals_merge_rules() {
        let g = json!({"Timeout": 3, "Environment": {"Variables": {"A": "1", "B": "2"}}, "Layers": ["l1"]});
        let l = json!({"Timeout": 10, "Environment": {"Variables": {"B": "x"}}, "Layers": ["l2"], "CodeUri": {"Ref": "P"}});
        assert_eq!(
            merge_globals(&g, &l),
            json!({"Timeout": 10, "Environment": {"Variables": {"A": "1", "B": "x"}}, "Layers": ["l1", "l2"], "CodeUri": {"Ref": "P"}})
        );
    }
}
