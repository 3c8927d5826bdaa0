//! Swagger 2.0 documents. No maintained crate models Swagger 2.0, and API Gateway reads only a
//! small part of it (paths, operations, parameters, responses, security definitions), so this
//! reader takes just that part with serde and leaves the rest alone.

use std::path::Path;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;

use super::extensions::ExtensionSite;
use super::{
    MethodResponseSpec, ParamLocation, ParamSpec, RawApi, RawOperation, RawScheme, ResponseBody,
    RouteMethod, SecuritySchemeKind, SpecFormat,
};
use crate::load_error::{deserialize_at, pointer_join, LoadError, LoadErrors};

#[derive(Deserialize)]
struct Swagger {
    swagger: Value,
    #[serde(default)]
    info: Option<Info>,
    #[serde(default)]
    paths: IndexMap<String, IndexMap<String, Value>>,
    #[serde(default, rename = "securityDefinitions")]
    security_definitions: IndexMap<String, SecurityDefinition>,
    #[serde(default)]
    parameters: IndexMap<String, Param>,
    #[serde(default)]
    responses: IndexMap<String, Response>,
    #[serde(default)]
    tags: Vec<IndexMap<String, Value>>,
    #[serde(flatten)]
    rest: IndexMap<String, Value>,
}

#[derive(Deserialize)]
struct Info {
    title: Option<String>,
}

#[derive(Deserialize)]
struct SecurityDefinition {
    #[serde(rename = "type")]
    kind: String,
    name: Option<String>,
    #[serde(rename = "in")]
    location: Option<String>,
    #[serde(flatten)]
    rest: IndexMap<String, Value>,
}

#[derive(Deserialize, Clone)]
struct Param {
    #[serde(rename = "$ref")]
    reference: Option<String>,
    name: Option<String>,
    #[serde(rename = "in")]
    location: Option<String>,
    #[serde(default)]
    required: bool,
    /// `in: body` parameters carry the body model.
    schema: Option<Value>,
}

#[derive(Deserialize, Clone, Default)]
struct Response {
    #[serde(rename = "$ref")]
    reference: Option<String>,
    #[serde(default)]
    headers: IndexMap<String, Value>,
    schema: Option<Value>,
    /// Media type → example body.
    #[serde(default)]
    examples: IndexMap<String, Value>,
}

#[derive(Deserialize)]
struct Op {
    #[serde(rename = "operationId")]
    operation_id: Option<String>,
    #[serde(default)]
    parameters: Vec<Param>,
    #[serde(default)]
    responses: IndexMap<String, Response>,
    consumes: Option<Vec<String>>,
    produces: Option<Vec<String>>,
    security: Option<Vec<IndexMap<String, Vec<String>>>>,
    #[serde(flatten)]
    rest: IndexMap<String, Value>,
}

/// A Swagger 2 response's bodies: its `examples` by media type, and its `schema` for each media
/// type the operation produces.
fn response_bodies(r: &Response, produces: &[String]) -> IndexMap<String, ResponseBody> {
    let mut bodies: IndexMap<String, ResponseBody> = IndexMap::new();
    for media in produces {
        if r.schema.is_some() || r.examples.contains_key(media) {
            bodies.insert(
                media.clone(),
                ResponseBody {
                    example: r.examples.get(media).cloned(),
                    schema: r.schema.clone(),
                },
            );
        }
    }
    for (media, example) in &r.examples {
        bodies.entry(media.clone()).or_insert_with(|| ResponseBody {
            example: Some(example.clone()),
            schema: r.schema.clone(),
        });
    }
    bodies
}

const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch"];

pub(crate) fn read(file: &Path, base: &str, doc: &Value) -> Result<RawApi, LoadErrors> {
    let s: Swagger = deserialize_at(file, base, doc)?;
    let mut errors = LoadErrors::default();
    let definitions = s
        .rest
        .get("definitions")
        .cloned()
        .unwrap_or_else(|| serde_json::json!({}));
    let global_consumes: Option<Vec<String>> = s
        .rest
        .get("consumes")
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let global_produces: Option<Vec<String>> = s
        .rest
        .get("produces")
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    if s.swagger != "2.0" {
        errors.push(LoadError::new(
            file,
            pointer_join(base, "swagger"),
            format!("{} is not supported: expected \"2.0\"", s.swagger),
        ));
    }
    let paths_ptr = pointer_join(base, "paths");
    let mut operations = Vec::new();
    let mut other_extensions = Vec::new();
    for (path, item) in &s.paths {
        let item_ptr = pointer_join(&paths_ptr, path);
        let shared_params: Vec<Param> = match item.get("parameters") {
            Some(v) => match deserialize_at(file, &pointer_join(&item_ptr, "parameters"), v) {
                Ok(p) => p,
                Err(e) => {
                    errors.push(e);
                    Vec::new()
                }
            },
            None => Vec::new(),
        };
        for (key, value) in item {
            let ptr = pointer_join(&item_ptr, key);
            let (method, is_default) = if key == "x-amazon-apigateway-any-method" {
                let d = value
                    .get("isDefaultRoute")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                (RouteMethod::Any, d)
            } else if METHODS.contains(&key.as_str()) {
                match RouteMethod::parse(key) {
                    Some(m) => (m, false),
                    None => continue,
                }
            } else if key == "parameters" || key == "$ref" {
                continue;
            } else if key.starts_with("x-") {
                other_extensions.push((key.clone(), ExtensionSite::PathItem, ptr));
                continue;
            } else {
                errors.push(LoadError::new(
                    file,
                    ptr,
                    format!("`{key}` is not a method API Gateway supports"),
                ));
                continue;
            };
            let op: Op = match deserialize_at(file, &ptr, value) {
                Ok(o) => o,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            let mut parameters: Vec<ParamSpec> = Vec::new();
            let mut body_schema: Option<Value> = None;
            for (i, p) in shared_params.iter().chain(op.parameters.iter()).enumerate() {
                let p = match &p.reference {
                    Some(r) => match r
                        .strip_prefix("#/parameters/")
                        .and_then(|n| s.parameters.get(n))
                    {
                        Some(t) => t.clone(),
                        None => {
                            errors.push(LoadError::new(
                                file,
                                pointer_join(&pointer_join(&ptr, "parameters"), &i.to_string()),
                                format!("`{r}` does not name a parameter under /parameters"),
                            ));
                            continue;
                        }
                    },
                    None => p.clone(),
                };
                let (Some(name), Some(loc)) = (p.name.clone(), p.location.as_deref()) else {
                    errors.push(LoadError::new(
                        file,
                        pointer_join(&ptr, "parameters"),
                        "a parameter needs `name` and `in`",
                    ));
                    continue;
                };
                let location = match loc {
                    "path" => ParamLocation::Path,
                    "query" => ParamLocation::Query,
                    "header" => ParamLocation::Header,
                    "body" => ParamLocation::Body,
                    "formData" => ParamLocation::FormData,
                    other => {
                        errors.push(LoadError::new(
                            file,
                            pointer_join(&ptr, "parameters"),
                            format!("parameter location `{other}` is not valid: expected one of path, query, header, body, formData"),
                        ));
                        continue;
                    }
                };
                if location == ParamLocation::Body {
                    if let Some(schema) = &p.schema {
                        body_schema = Some(schema.clone());
                    }
                }
                parameters.retain(|x| !(x.name == name && x.location == location));
                parameters.push(ParamSpec {
                    name,
                    location,
                    required: p.required,
                });
            }
            // The body model applies to each media type the operation consumes (JSON by default).
            let mut request_models = IndexMap::new();
            if let Some(schema) = body_schema {
                let consumes = op
                    .consumes
                    .clone()
                    .or_else(|| global_consumes.clone())
                    .unwrap_or_else(|| vec!["application/json".to_string()]);
                for media in consumes {
                    request_models.insert(media.to_ascii_lowercase(), schema.clone());
                }
            }
            let produces = op
                .produces
                .clone()
                .or_else(|| global_produces.clone())
                .unwrap_or_else(|| vec!["application/json".to_string()]);
            let mut responses = IndexMap::new();
            for (code, r) in &op.responses {
                let r = match &r.reference {
                    Some(rf) => rf
                        .strip_prefix("#/responses/")
                        .and_then(|n| s.responses.get(n))
                        .cloned()
                        .unwrap_or_default(),
                    None => r.clone(),
                };
                responses.insert(
                    code.clone(),
                    MethodResponseSpec {
                        headers: r.headers.keys().cloned().collect(),
                        bodies: response_bodies(&r, &produces),
                    },
                );
            }
            let extensions = op
                .rest
                .into_iter()
                .filter(|(k, _)| k.starts_with("x-") && k != "isDefaultRoute")
                .collect();
            operations.push(RawOperation {
                path: path.clone(),
                method,
                pointer: ptr,
                operation_id: op.operation_id,
                extensions,
                security: op.security,
                parameters,
                request_models,
                responses,
                is_default_route: is_default,
            });
        }
    }

    let defs_ptr = pointer_join(base, "securityDefinitions");
    let schemes = s
        .security_definitions
        .into_iter()
        .map(|(name, d)| {
            let kind = match d.kind.as_str() {
                "apiKey" => SecuritySchemeKind::ApiKey {
                    location: d.location.unwrap_or_default(),
                    name: d.name.unwrap_or_default(),
                },
                "oauth2" => SecuritySchemeKind::OAuth2,
                "basic" => SecuritySchemeKind::Http {
                    scheme: "basic".into(),
                },
                other => SecuritySchemeKind::Other(other.to_string()),
            };
            RawScheme {
                pointer: pointer_join(&defs_ptr, &name),
                name,
                kind,
                extensions: d
                    .rest
                    .into_iter()
                    .filter(|(k, _)| k.starts_with("x-"))
                    .collect(),
            }
        })
        .collect();

    for (i, tag) in s.tags.iter().enumerate() {
        let p = pointer_join(&pointer_join(base, "tags"), &i.to_string());
        for name in tag.keys().filter(|k| k.starts_with("x-")) {
            other_extensions.push((name.clone(), ExtensionSite::Tag, pointer_join(&p, name)));
        }
    }

    let root_extensions = s
        .rest
        .into_iter()
        .filter(|(k, _)| k.starts_with("x-"))
        .collect();
    errors.into_result(RawApi {
        format: SpecFormat::Swagger2,
        title: s.info.and_then(|i| i.title),
        root_extensions,
        root_pointer: base.to_string(),
        operations,
        schemes,
        models: serde_json::json!({"definitions": definitions}),
        shared_integrations: IndexMap::new(),
        shared_integrations_pointer: String::new(),
        other_extensions,
        server_endpoint_configuration: None,
    })
}
