//! `AWS::Serverless::Api` and `AWS::Serverless::HttpApi`: stage, variables, definition (inline,
//! `AWS::Include` or a local `DefinitionUri`), binary media types, gateway responses, auth, CORS,
//! access logs and throttling, read into a [`SamApi`].

use std::path::Path;

use indexmap::IndexMap;
use serde_json::{json, Map, Value};

use super::auth::{definition_section, require_api_keys, sam_auth};
use super::cors::http_cors_configuration;
use super::intrinsics::{scalar_text, Resolver};
use super::usage::stage_throttle;
use super::SamApi;
use crate::load_error::{pointer_join, LoadError, LoadErrors};
use crate::spec::{ApiKind, Stage};

/// Properties this version reads but does not act on yet, per API type.
const PENDING_API_PROPERTIES: &[&str] = &["CacheClusterEnabled", "Domain"];

pub(super) fn api_from_resource(
    resolver: &Resolver,
    file: &Path,
    id: &str,
    kind: ApiKind,
    raw_props: &Value,
    warnings: &mut Vec<LoadError>,
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
            warnings.push(LoadError::new(
                file,
                pointer_join(&ptr, key),
                format!("{key} is parsed but not enforced by this version of tollgate"),
            ));
        }
    }

    errors.into_result(SamApi {
        logical_id: id.to_string(),
        kind,
        stage: Stage {
            name: stage_name,
            variables: variables.into(),
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
        origins: Vec::new(),
    })
}

/// SAM's `GatewayResponses` form → the OpenAPI extension's form.
pub(super) fn sam_gateway_response(spec: &Value) -> Value {
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
