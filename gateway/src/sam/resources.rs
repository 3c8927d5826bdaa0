//! The template's resources as SAM CLI sees them: conditions applied, `Globals` merged, the
//! implicit APIs SAM adds, and what `Ref` and `Fn::GetAtt` yield for each.

use std::collections::HashMap;
use std::path::Path;

use indexmap::IndexMap;
use serde_json::{json, Map, Value};

use super::globals::{for_type, merge_globals};
use super::intrinsics::{scalar_text, Resolver, ResourceInfo};
use super::{IMPLICIT_HTTP_API, IMPLICIT_REST_API};
use crate::load_error::{pointer_join, LoadError, LoadErrors};

/// A resource whose condition holds, with its `Globals` merged in (still unresolved).
#[derive(Debug, Clone)]
pub(super) struct Resource {
    pub(super) kind: String,
    pub(super) properties: Value,
    pub(super) metadata: Value,
}

/// The active resources by logical id, in template order.
pub(super) type Resources = IndexMap<String, Resource>;

/// Resources whose condition holds, with `Globals` merged.
pub(super) fn active(
    file: &Path,
    resources: &Map<String, Value>,
    resolver: &Resolver,
    globals: &Map<String, Value>,
    errors: &mut LoadErrors,
    warnings: &mut Vec<LoadError>,
) -> Resources {
    let mut active = Resources::new();
    for (id, res) in resources {
        let ptr = pointer_join("/Resources", id);
        let Some(ty) = res.get("Type").and_then(Value::as_str) else {
            errors.push(LoadError::new(file, ptr, "a resource needs a Type"));
            continue;
        };
        if let Some(c) = res.get("Condition").and_then(Value::as_str) {
            if !resolver.conditions.contains_key(c) {
                // CloudFormation refuses the template; locally the resource is left out.
                warnings.push(LoadError::new(
                    file,
                    pointer_join(&ptr, "Condition"),
                    format!("condition `{c}` is not declared under Conditions (AWS refuses this template): the resource is left out"),
                ));
                continue;
            }
            if !resolver.condition(c, &pointer_join(&ptr, "Condition")) {
                continue;
            }
        }
        let mut props = res.get("Properties").cloned().unwrap_or_else(|| json!({}));
        if let Some(g) = for_type(globals, ty) {
            props = merge_globals(g, &props);
        }
        let metadata = res.get("Metadata").cloned().unwrap_or(Value::Null);
        use_local_asset(&mut props, &metadata);
        active.insert(
            id.clone(),
            Resource {
                kind: ty.to_string(),
                properties: props,
                metadata,
            },
        );
    }
    active
}

/// CDK writes where an asset's local copy is (`aws:asset:path`, relative to the template) and
/// which property it stands for (`aws:asset:property`, dotted): that property then names the
/// local copy, as SAM CLI's normaliser does. A container image asset keeps its URI.
fn use_local_asset(props: &mut Value, metadata: &Value) {
    let (Some(path), Some(property)) = (
        metadata.get("aws:asset:path").and_then(Value::as_str),
        metadata.get("aws:asset:property").and_then(Value::as_str),
    ) else {
        return;
    };
    if property.ends_with("ImageUri") {
        return;
    }
    let mut target = props;
    let keys: Vec<&str> = property.split('.').collect();
    for key in &keys[..keys.len() - 1] {
        let Some(obj) = target.as_object_mut() else {
            return;
        };
        target = obj.entry(key.to_string()).or_insert_with(|| json!({}));
    }
    if let (Some(obj), Some(last)) = (target.as_object_mut(), keys.last()) {
        obj.insert(last.to_string(), Value::from(path));
    }
}

/// SAM's implicit APIs exist when a function has an event that names no API.
pub(super) fn add_implicit_apis(active: &mut Resources, globals: &Map<String, Value>) {
    let mut needs_rest = false;
    let mut needs_http = false;
    for r in active.values() {
        let (ty, props) = (&r.kind, &r.properties);
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
            for_type(globals, "AWS::Serverless::Api").unwrap_or(&json!({})),
            &json!({"StageName": "Prod"}),
        );
        active.insert(
            IMPLICIT_REST_API.into(),
            Resource {
                kind: "AWS::Serverless::Api".into(),
                properties: props,
                metadata: Value::Null,
            },
        );
    }
    if needs_http && !active.contains_key(IMPLICIT_HTTP_API) {
        let props = for_type(globals, "AWS::Serverless::HttpApi")
            .cloned()
            .unwrap_or_else(|| json!({}));
        active.insert(
            IMPLICIT_HTTP_API.into(),
            Resource {
                kind: "AWS::Serverless::HttpApi".into(),
                properties: props,
                metadata: Value::Null,
            },
        );
    }
}

/// What `Ref` and `Fn::GetAtt` yield for each resource. Names may themselves use intrinsics over
/// parameters, so those are resolved first.
pub(super) fn references(resolver: &Resolver, active: &Resources) -> HashMap<String, ResourceInfo> {
    let mut infos = HashMap::new();
    let mut stage_refs: Vec<(String, String)> = Vec::new();
    for (id, r) in active {
        let (ty, props) = (&r.kind, &r.properties);
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
                let api_id = crate::ids::api_id_for(id);
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
            // `Ref` on a stage is its name (CloudFormation AWS::ApiGateway::Stage return values).
            "AWS::ApiGateway::Stage" | "AWS::ApiGatewayV2::Stage" => (
                Value::from(name_of("StageName").unwrap_or_else(|| id.clone())),
                String::new(),
            ),
            // `Ref` on a model is its name.
            "AWS::ApiGateway::Model" => (
                Value::from(name_of("Name").unwrap_or_else(|| id.clone())),
                String::new(),
            ),
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
    // An alias or version yields its function's ARN with a qualifier; a route that names one
    // calls the function (Lambda resolves the qualifier to the same code locally).
    for (id, r) in active {
        let qualifier = match r.kind.as_str() {
            "AWS::Lambda::Alias" => r.properties.get("Name").map(scalar_text),
            "AWS::Lambda::Version" => Some("1".to_string()),
            _ => continue,
        };
        let function = r
            .properties
            .get("FunctionName")
            .and_then(|f| {
                f.get("Ref")
                    .and_then(Value::as_str)
                    .or_else(|| f.pointer("/Fn::GetAtt/0").and_then(Value::as_str))
                    .or_else(|| {
                        f.get("Fn::GetAtt")
                            .and_then(Value::as_str)
                            .and_then(|s| s.split('.').next())
                    })
            })
            .and_then(|f| infos.get(f))
            .map(|f: &ResourceInfo| f.arn.clone());
        if let (Some(arn), Some(q)) = (function, qualifier) {
            let qualified = format!("{arn}:{q}");
            infos.insert(
                id.clone(),
                ResourceInfo {
                    kind: r.kind.clone(),
                    ref_value: Value::from(qualified.clone()),
                    arn: qualified,
                },
            );
        }
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
    infos
}

/// The logical id a property refers to: `Ref: X` or `Fn::GetAtt: [X, ...]` as written, else
/// the resource whose `Ref` value the resolved text is, else the text itself.
pub(super) fn referenced_id(
    resolver: &Resolver,
    raw: Option<&Value>,
    resolved: Option<&Value>,
) -> Option<String> {
    if let Some(id) = raw.and_then(written_reference) {
        return Some(id);
    }
    let text = resolved.map(scalar_text)?;
    resolver
        .resources
        .iter()
        .find(|(_, r)| scalar_text(&r.ref_value) == text)
        .map(|(k, _)| k.clone())
        .or(Some(text))
}

/// `Ref: X`, `Fn::GetAtt: [X, attr]` or `Fn::GetAtt: X.attr`, as written: X.
pub(super) fn written_reference(v: &Value) -> Option<String> {
    if let Some(id) = v.get("Ref").and_then(Value::as_str) {
        return Some(id.to_string());
    }
    match v.get("Fn::GetAtt")? {
        Value::Array(a) => a.first().and_then(Value::as_str).map(str::to_string),
        Value::String(s) => s.split('.').next().map(str::to_string),
        _ => None,
    }
}
