//! Function `Events` of type `Api` and `HttpApi`: each becomes an operation of the API it names
//! (or of the implicit API), written into that API's definition as SAM's translator writes it.

use std::path::Path;

use serde_json::{json, Value};

use super::auth::{add_api_key_requirement, apply_default_authorizer, declare_api_key_scheme};
use super::intrinsics::{scalar_text, Resolver};
use super::resources::Resources;
use super::{SamApi, SamFunction, IMPLICIT_HTTP_API, IMPLICIT_REST_API};
use crate::load_error::{pointer_join, LoadError, LoadErrors};
use crate::spec::ApiKind;

/// Add every function's API events to the APIs they target.
pub(super) fn add_function_events(
    file: &Path,
    resolver: &Resolver,
    active: &Resources,
    functions: &[SamFunction],
    apis: &mut [SamApi],
    errors: &mut LoadErrors,
) {
    for f in functions {
        let Some(events) = f.properties.get("Events").and_then(Value::as_object) else {
            continue;
        };
        let raw_events = active
            .get(&f.logical_id)
            .and_then(|r| r.properties.get("Events"))
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
            // By logical id: two functions may share a FunctionName, and each event must reach
            // the function that declares it.
            if let Err(e) = add_event_route(file, &ev_ptr, api, &f.logical_id, ev) {
                errors.push(e);
            }
        }
    }
}

/// SAM's `RequestParameters` and `RequestModel` on an Api event, written into the operation as
/// SAM's translator writes them: declared parameters, a body model reference, and (when
/// `ValidateBody`/`ValidateParameters` is given) a request validator named `body-and-params`,
/// `body-only`, `params-only` or `no-validation`.
pub(super) fn request_model_and_parameters(definition: &mut Value, op: &mut Value, props: &Value) {
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

pub(super) fn add_event_route(
    file: &Path,
    ev_ptr: &str,
    api: &mut SamApi,
    function_id: &str,
    ev: &Value,
) -> Result<(), LoadError> {
    let props = ev.get("Properties").cloned().unwrap_or_else(|| json!({}));
    let path = props.get("Path").map(scalar_text);
    let method = props
        .get("Method")
        .map(scalar_text)
        .map(|m| m.to_ascii_lowercase());
    let uri = format!(
        "arn:aws:apigateway:{}:lambda:path/2015-03-31/functions/arn:aws:lambda:{}:{}:function:{function_id}/invocations",
        crate::REGION,
        crate::REGION,
        crate::ACCOUNT_ID
    );
    let mut integration = json!({"type": "aws_proxy", "httpMethod": "POST", "uri": uri});
    // Both event types take TimeoutInMillis (SAM:sam-property-function-api).
    if let Some(t) = props.get("TimeoutInMillis") {
        integration["timeoutInMillis"] = t.clone();
    }
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
