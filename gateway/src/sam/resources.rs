//! The template's resources as SAM CLI sees them: conditions applied, `Globals` merged, the
//! implicit APIs SAM adds, and what `Ref` and `Fn::GetAtt` yield for each.

use std::collections::HashMap;
use std::path::Path;

use indexmap::IndexMap;
use serde_json::{json, Map, Value};

use super::globals::{for_type, merge_globals};
use super::intrinsics::{scalar_text, Resolver, ResourceInfo};
use super::{SamFunction, IMPLICIT_HTTP_API, IMPLICIT_REST_API};
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
) -> Resources {
    let mut active = Resources::new();
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
        if let Some(g) = for_type(globals, ty) {
            props = merge_globals(g, &props);
        }
        let metadata = res.get("Metadata").cloned().unwrap_or(Value::Null);
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
    infos
}

/// The functions, their properties resolved; and function name (and logical id) → logical id.
pub(super) fn functions(
    resolver: &Resolver,
    active: &Resources,
) -> (Vec<SamFunction>, HashMap<String, String>) {
    let mut functions = Vec::new();
    let mut function_ids = HashMap::new();
    for (id, r) in active {
        let (ty, props, metadata) = (&r.kind, &r.properties, &r.metadata);
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
    (functions, function_ids)
}
