//! OpenAPI 3.0 documents, read through the `openapiv3` crate.

use std::path::Path;

use indexmap::IndexMap;
use openapiv3::{OpenAPI, Operation, Parameter, ReferenceOr, SecurityScheme, StatusCode};
use serde_json::Value;

use super::extensions::ExtensionSite;
use super::{
    MethodResponseSpec, ParamLocation, ParamSpec, RawApi, RawOperation, RawScheme, ResponseBody,
    RouteMethod, SecuritySchemeKind, SpecFormat,
};
use crate::load_error::{deserialize_at, pointer_join, LoadError, LoadErrors};

const ANY_METHOD: &str = "x-amazon-apigateway-any-method";

pub(crate) fn read(
    file: &Path,
    base: &str,
    mut doc: Value,
    version: String,
) -> Result<RawApi, LoadErrors> {
    // openapiv3 keeps only path keys that start with `/`; SAM writes the HTTP API default route
    // as `$default`, so spell it `/$default` (as AWS exports do) and report any other stray key.
    let mut errors = LoadErrors::default();
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        if let Some(v) = paths.remove("$default") {
            paths.insert("/$default".to_string(), v);
        }
        for key in paths.keys() {
            if !key.starts_with('/') && !key.starts_with("x-") {
                errors.push(LoadError::new(
                    file,
                    pointer_join(&pointer_join(base, "paths"), key),
                    "a path must start with `/`",
                ));
            }
        }
    }
    // The paths are read one by one, not as part of the document: openapiv3's flattened
    // extensions make serde buffer whatever holds them, and buffering every path of a large API
    // twice was a quarter of its start-up.
    let paths = match doc.get_mut("paths") {
        Some(Value::Object(paths)) => std::mem::take(paths),
        _ => serde_json::Map::new(),
    };
    let api: OpenAPI = match deserialize_at(file, base, &doc) {
        Ok(a) => a,
        Err(e) => {
            errors.push(e);
            return Err(errors);
        }
    };
    let components = api.components.clone().unwrap_or_default();
    let paths_ptr = pointer_join(base, "paths");

    let mut operations = Vec::new();
    let mut other_extensions = Vec::new();
    for (path, item) in paths.iter().filter(|(p, _)| p.starts_with('/')) {
        let item_ptr = pointer_join(&paths_ptr, path);
        let item: ReferenceOr<openapiv3::PathItem> = match deserialize_at(file, &item_ptr, item) {
            Ok(i) => i,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let item = match &item {
            ReferenceOr::Item(i) => i,
            ReferenceOr::Reference { reference } => {
                errors.push(LoadError::new(
                    file,
                    item_ptr,
                    format!(
                        "path item references (`{reference}`) are not supported by API Gateway"
                    ),
                ));
                continue;
            }
        };
        let path_params = &item.parameters;
        for (method, op) in item.iter() {
            let Some(m) = RouteMethod::parse(method) else {
                errors.push(LoadError::new(
                    file,
                    pointer_join(&item_ptr, method),
                    format!("method `{method}` is not supported by API Gateway"),
                ));
                continue;
            };
            let ptr = pointer_join(&item_ptr, method);
            match operation(file, &ptr, path, m, op, path_params, &components, false) {
                Ok(o) => operations.push(o),
                Err(e) => errors.push(e),
            }
        }
        for (name, value) in &item.extensions {
            if name == ANY_METHOD {
                let ptr = pointer_join(&item_ptr, name);
                let mut value = value.clone();
                let is_default = value
                    .as_object_mut()
                    .and_then(|o| o.remove("isDefaultRoute"))
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false);
                match deserialize_at::<Operation>(file, &ptr, &value) {
                    Ok(op) => match operation(
                        file,
                        &ptr,
                        path,
                        RouteMethod::Any,
                        &op,
                        path_params,
                        &components,
                        is_default,
                    ) {
                        Ok(o) => operations.push(o),
                        Err(e) => errors.push(e),
                    },
                    Err(e) => errors.push(e),
                }
            } else {
                other_extensions.push((
                    name.clone(),
                    ExtensionSite::PathItem,
                    pointer_join(&item_ptr, name),
                ));
            }
        }
    }

    let comp_ptr = pointer_join(base, "components");
    let mut shared_integrations = IndexMap::new();
    for (name, value) in &components.extensions {
        if name == "x-amazon-apigateway-integrations" {
            match value.as_object() {
                Some(map) => {
                    for (k, v) in map {
                        shared_integrations.insert(k.clone(), v.clone());
                    }
                }
                None => errors.push(LoadError::new(
                    file,
                    pointer_join(&comp_ptr, name),
                    "expected a mapping of integration name to integration",
                )),
            }
        } else {
            other_extensions.push((
                name.clone(),
                ExtensionSite::Components,
                pointer_join(&comp_ptr, name),
            ));
        }
    }

    let mut schemes = Vec::new();
    let schemes_ptr = pointer_join(&comp_ptr, "securitySchemes");
    for (name, scheme) in &components.security_schemes {
        let ptr = pointer_join(&schemes_ptr, name);
        let ReferenceOr::Item(scheme) = scheme else {
            errors.push(LoadError::new(
                file,
                ptr,
                "security scheme references are not supported",
            ));
            continue;
        };
        let (kind, extensions) = match scheme {
            SecurityScheme::APIKey {
                location,
                name,
                extensions,
                ..
            } => (
                SecuritySchemeKind::ApiKey {
                    location: format!("{location:?}").to_ascii_lowercase(),
                    name: name.clone(),
                },
                extensions.clone(),
            ),
            SecurityScheme::HTTP {
                scheme, extensions, ..
            } => (
                SecuritySchemeKind::Http {
                    scheme: scheme.clone(),
                },
                extensions.clone(),
            ),
            SecurityScheme::OAuth2 { extensions, .. } => {
                (SecuritySchemeKind::OAuth2, extensions.clone())
            }
            SecurityScheme::OpenIDConnect {
                open_id_connect_url,
                extensions,
                ..
            } => (
                SecuritySchemeKind::OpenIdConnect {
                    url: open_id_connect_url.clone(),
                },
                extensions.clone(),
            ),
        };
        schemes.push(RawScheme {
            name: name.clone(),
            pointer: ptr,
            kind,
            extensions,
        });
    }

    for (i, tag) in api.tags.iter().enumerate() {
        let p = pointer_join(&pointer_join(base, "tags"), &i.to_string());
        for name in tag.extensions.keys() {
            other_extensions.push((name.clone(), ExtensionSite::Tag, pointer_join(&p, name)));
        }
    }
    let mut server_endpoint_configuration = None;
    for (i, server) in api.servers.iter().enumerate() {
        let p = pointer_join(&pointer_join(base, "servers"), &i.to_string());
        for (name, v) in &server.extensions {
            let ep = pointer_join(&p, name);
            if name == "x-amazon-apigateway-endpoint-configuration" {
                server_endpoint_configuration = Some((ep.clone(), v.clone()));
            }
            other_extensions.push((name.clone(), ExtensionSite::Server, ep));
        }
    }

    errors.into_result(RawApi {
        format: SpecFormat::OpenApi3(version),
        title: Some(api.info.title.clone()),
        root_extensions: api.extensions.clone(),
        root_pointer: base.to_string(),
        operations,
        schemes,
        models: serde_json::json!({"components": {"schemas": serde_json::to_value(&components.schemas).unwrap_or_default()}}),
        shared_integrations,
        shared_integrations_pointer: pointer_join(&comp_ptr, "x-amazon-apigateway-integrations"),
        other_extensions,
        server_endpoint_configuration,
    })
}

#[allow(clippy::too_many_arguments)]
fn operation(
    file: &Path,
    ptr: &str,
    path: &str,
    method: RouteMethod,
    op: &Operation,
    path_params: &[ReferenceOr<Parameter>],
    components: &openapiv3::Components,
    is_default_route: bool,
) -> Result<RawOperation, LoadError> {
    let mut parameters: Vec<ParamSpec> = Vec::new();
    for p in path_params.iter().chain(op.parameters.iter()) {
        let param = resolve_parameter(file, ptr, p, components)?;
        let (data, location) = match &param {
            Parameter::Query { parameter_data, .. } => (parameter_data, ParamLocation::Query),
            Parameter::Header { parameter_data, .. } => (parameter_data, ParamLocation::Header),
            Parameter::Path { parameter_data, .. } => (parameter_data, ParamLocation::Path),
            Parameter::Cookie { parameter_data, .. } => (parameter_data, ParamLocation::Cookie),
        };
        // Operation-level parameters override path-level ones with the same name and location.
        parameters.retain(|x| !(x.name == data.name && x.location == location));
        parameters.push(ParamSpec {
            name: data.name.clone(),
            location,
            required: data.required,
        });
    }
    // Body models: a requestBody (possibly a components/requestBodies reference), by media type.
    let mut request_models = IndexMap::new();
    let body = match &op.request_body {
        Some(ReferenceOr::Item(b)) => Some(b),
        Some(ReferenceOr::Reference { reference }) => reference
            .strip_prefix("#/components/requestBodies/")
            .and_then(|n| components.request_bodies.get(n))
            .and_then(|b| b.as_item()),
        None => None,
    };
    if let Some(body) = body {
        for (media, m) in &body.content {
            if let Some(schema) = &m.schema {
                if let Ok(v) = serde_json::to_value(schema) {
                    request_models.insert(media.to_ascii_lowercase(), v);
                }
            }
        }
    }
    let mut responses = IndexMap::new();
    if let Some(ReferenceOr::Item(r)) = &op.responses.default {
        responses.insert("default".to_string(), response_spec(r));
    }
    for (code, r) in &op.responses.responses {
        let key = match code {
            StatusCode::Code(c) => c.to_string(),
            StatusCode::Range(r) => format!("{r}XX"),
        };
        let spec = match r {
            ReferenceOr::Item(r) => response_spec(r),
            ReferenceOr::Reference { reference } => reference
                .strip_prefix("#/components/responses/")
                .and_then(|n| components.responses.get(n))
                .and_then(|r| r.as_item())
                .map(response_spec)
                .unwrap_or_default(),
        };
        responses.insert(key, spec);
    }
    Ok(RawOperation {
        path: path.to_string(),
        method,
        pointer: ptr.to_string(),
        operation_id: op.operation_id.clone(),
        extensions: op.extensions.clone(),
        security: op.security.as_ref().map(|reqs| {
            reqs.iter()
                .map(|r| r.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .collect()
        }),
        parameters,
        request_models,
        responses,
        is_default_route,
    })
}

fn response_spec(r: &openapiv3::Response) -> MethodResponseSpec {
    let bodies = r
        .content
        .iter()
        .map(|(media, m)| {
            let example = m.example.clone().or_else(|| {
                m.examples
                    .values()
                    .find_map(|e| e.as_item().and_then(|e| e.value.clone()))
            });
            let schema = m.schema.as_ref().and_then(|s| serde_json::to_value(s).ok());
            (media.clone(), ResponseBody { example, schema })
        })
        .collect();
    MethodResponseSpec {
        headers: r.headers.keys().cloned().collect(),
        bodies,
    }
}

fn resolve_parameter(
    file: &Path,
    ptr: &str,
    p: &ReferenceOr<Parameter>,
    components: &openapiv3::Components,
) -> Result<Parameter, LoadError> {
    match p {
        ReferenceOr::Item(p) => Ok(p.clone()),
        ReferenceOr::Reference { reference } => reference
            .strip_prefix("#/components/parameters/")
            .and_then(|n| components.parameters.get(n))
            .and_then(|r| r.as_item())
            .cloned()
            .ok_or_else(|| {
                LoadError::new(
                    file,
                    pointer_join(ptr, "parameters"),
                    format!("`{reference}` does not name a parameter under components/parameters"),
                )
            }),
    }
}
