//! HTTP APIs declared as plain CloudFormation: an `AWS::ApiGatewayV2::Api` with a `Body`, a local
//! `BodyS3Location`, a quick-create `Target`, or `Route`s, `Integration`s and `Authorizer`s that
//! name it, served at the `Stage` that names it. As for REST (see `cfn_rest`), everything is
//! written into one OpenAPI document, each generated part remembering the resource it came from.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::cfn_rest::{belongs_to, local_body, ResourceStage};
use super::intrinsics::{scalar_text, Resolver};
use super::resources::{referenced_id, Resource, Resources};
use super::usage::stage_throttle;
use super::SamApi;
use crate::load_error::{pointer_join, LoadError};
use crate::spec::{ApiKind, Stage};

/// CloudFormation's `AWS::ApiGatewayV2::Integration` keys → the extension's.
const INTEGRATION_KEYS: [(&str, &str); 9] = [
    ("IntegrationUri", "uri"),
    ("IntegrationMethod", "httpMethod"),
    ("PayloadFormatVersion", "payloadFormatVersion"),
    ("TimeoutInMillis", "timeoutInMillis"),
    ("IntegrationSubtype", "integrationSubtype"),
    ("RequestParameters", "requestParameters"),
    ("ResponseParameters", "responseParameters"),
    ("ConnectionType", "connectionType"),
    ("CredentialsArn", "credentials"),
];

/// `CorsConfiguration` keys → `x-amazon-apigateway-cors` keys.
const CORS_KEYS: [(&str, &str); 6] = [
    ("AllowOrigins", "allowOrigins"),
    ("AllowMethods", "allowMethods"),
    ("AllowHeaders", "allowHeaders"),
    ("ExposeHeaders", "exposeHeaders"),
    ("MaxAge", "maxAge"),
    ("AllowCredentials", "allowCredentials"),
];

/// One HTTP API from its CloudFormation resources; `None` (with a warning) for a WebSocket API.
pub(super) fn http_api(
    file: &Path,
    resolver: &Resolver,
    active: &Resources,
    id: &str,
    warnings: &mut Vec<LoadError>,
) -> Option<SamApi> {
    let res_ptr = pointer_join("/Resources", id);
    let api_ptr = pointer_join(&res_ptr, "Properties");
    let props = resolver
        .resolve(&active[id].properties, &api_ptr)
        .unwrap_or_else(|| json!({}));
    let protocol = props
        .get("ProtocolType")
        .map(scalar_text)
        .unwrap_or_else(|| "HTTP".into());
    if protocol != "HTTP" && props.get("Body").is_none() {
        warnings.push(LoadError::new(
            file,
            pointer_join(&api_ptr, "ProtocolType"),
            format!("{protocol} APIs are not served; tollgate serves REST and HTTP APIs"),
        ));
        return None;
    }
    let (def_file, pointer_base, mut definition) = body(file, resolver, id, &props, warnings);
    let children = |kind: &str| -> Vec<(&String, &Resource)> {
        active
            .iter()
            .filter(|(_, c)| c.kind == kind && belongs_to(resolver, c, "ApiId", id))
            .collect()
    };
    let mut origins = Vec::new();
    let quick_create = props.get("Target").is_some();
    if let Some(target) = props.get("Target") {
        // Quick create: one route (`RouteKey`, default `$default`) to the target, proxied.
        let route_key = props
            .get("RouteKey")
            .map(scalar_text)
            .unwrap_or_else(|| "$default".into());
        let target = scalar_text(target);
        let integration = if target.starts_with("http://") || target.starts_with("https://") {
            json!({"type": "http_proxy", "httpMethod": "ANY", "uri": target})
        } else {
            json!({"type": "aws_proxy", "httpMethod": "POST", "payloadFormatVersion": "2.0", "uri": target})
        };
        let op = json!({"x-amazon-apigateway-integration": integration});
        if let Some(ptr) = add_route(&mut definition, &pointer_base, &route_key, op) {
            origins.push((ptr, pointer_join(&api_ptr, "Target")));
        }
    }
    let integrations = integrations(resolver, &children("AWS::ApiGatewayV2::Integration"));
    let mut authorizer_names = HashMap::new();
    for (aid, a) in children("AWS::ApiGatewayV2::Authorizer") {
        let ptr = pointer_join(&pointer_join("/Resources", aid), "Properties");
        let Some(p) = resolver.resolve(&a.properties, &ptr) else {
            continue;
        };
        let name = authorizer_name(aid, &p);
        authorizer_names.insert(aid.clone(), name.clone());
        let section = pointer_join(
            &pointer_join(&pointer_base, "components"),
            "securitySchemes",
        );
        origins.push((pointer_join(&section, &name), ptr));
        if let Some(schemes) = definition
            .as_object_mut()
            .and_then(|d| {
                d.entry("components")
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
            })
            .and_then(|c| {
                c.entry("securitySchemes")
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
            })
        {
            schemes.insert(name, authorizer_scheme(&p));
        }
    }
    for (rid, r) in children("AWS::ApiGatewayV2::Route") {
        let ptr = pointer_join(&pointer_join("/Resources", rid), "Properties");
        let Some(p) = resolver.resolve(&r.properties, &ptr) else {
            continue;
        };
        let route_key = p.get("RouteKey").map(scalar_text).unwrap_or_default();
        let mut op = Map::new();
        // `Target` is `integrations/<IntegrationId>`; the id is the Integration's Ref, which
        // tollgate resolves to its logical id.
        let target = p.get("Target").map(scalar_text).unwrap_or_default();
        match target
            .strip_prefix("integrations/")
            .and_then(|i| integrations.get(i))
        {
            Some(integration) => {
                op.insert(
                    "x-amazon-apigateway-integration".into(),
                    integration.clone(),
                );
            }
            None if !target.is_empty() => warnings.push(LoadError::new(
                file,
                pointer_join(&ptr, "Target"),
                format!("`{target}` names no AWS::ApiGatewayV2::Integration of this API"),
            )),
            None => {}
        }
        route_auth(resolver, &r.properties, &p, &authorizer_names, &mut op);
        if let Some(generated) = add_route(&mut definition, &pointer_base, &route_key, op.into()) {
            origins.push((generated, ptr));
        } else {
            warnings.push(LoadError::new(
                file,
                pointer_join(&ptr, "RouteKey"),
                format!("`{route_key}` is not a route key (`METHOD /path`, `ANY /path` or `$default`): the route is not served"),
            ));
        }
    }
    if let (Some(cors), Some(obj)) = (props.get("CorsConfiguration"), definition.as_object_mut()) {
        let mut ext = Map::new();
        for (cfn, key) in CORS_KEYS {
            if let Some(v) = cors.get(cfn) {
                ext.insert(key.into(), v.clone());
            }
        }
        obj.insert("x-amazon-apigateway-cors".into(), Value::Object(ext));
    }
    let stage = http_stage(file, resolver, active, id, quick_create, warnings);
    Some(stage.api(
        id,
        ApiKind::Http,
        (def_file, pointer_base, definition),
        origins,
    ))
}

/// The API's starting definition: its `Body`, the local file `BodyS3Location` names, or an empty
/// OpenAPI 3 document placed at the Api resource.
fn body(
    file: &Path,
    resolver: &Resolver,
    id: &str,
    props: &Value,
    warnings: &mut Vec<LoadError>,
) -> (PathBuf, String, Value) {
    let ptr = pointer_join(&pointer_join("/Resources", id), "Properties");
    if let Some(b) = props.get("Body") {
        return (file.to_path_buf(), pointer_join(&ptr, "Body"), b.clone());
    }
    if let Some(location) = props.get("BodyS3Location") {
        let loc_ptr = pointer_join(&ptr, "BodyS3Location");
        if let Some((path, doc)) = local_body(file, resolver, location, &loc_ptr, warnings) {
            return (path, String::new(), doc);
        }
    }
    let title = props
        .get("Name")
        .map(scalar_text)
        .unwrap_or_else(|| id.to_string());
    (
        file.to_path_buf(),
        pointer_join("/Resources", id),
        json!({"openapi": "3.0.1", "info": {"title": title, "version": "1.0"}, "paths": {}}),
    )
}

/// Each Integration of the API as an extension, by logical id.
fn integrations(resolver: &Resolver, list: &[(&String, &Resource)]) -> HashMap<String, Value> {
    list.iter()
        .filter_map(|(iid, i)| {
            let ptr = pointer_join(&pointer_join("/Resources", iid), "Properties");
            let p = resolver.resolve(&i.properties, &ptr)?;
            let mut ext = Map::new();
            let kind = p
                .get("IntegrationType")
                .map(scalar_text)
                .unwrap_or_default()
                .to_ascii_lowercase();
            ext.insert("type".into(), Value::from(kind.clone()));
            for (cfn, key) in INTEGRATION_KEYS {
                if let Some(v) = p.get(cfn) {
                    ext.insert(key.into(), v.clone());
                }
            }
            // A Lambda proxy integration is invoked with POST whatever the route's method.
            if kind == "aws_proxy" {
                ext.entry("httpMethod").or_insert_with(|| "POST".into());
            }
            Some(((*iid).clone(), Value::Object(ext)))
        })
        .collect()
}

fn authorizer_name(id: &str, p: &Value) -> String {
    p.get("Name")
        .map(scalar_text)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| id.to_string())
}

/// An `AWS::ApiGatewayV2::Authorizer` as a security scheme: JWT, or a Lambda REQUEST authorizer.
fn authorizer_scheme(p: &Value) -> Value {
    let sources: Vec<String> = match p.get("IdentitySource") {
        Some(Value::Array(list)) => list.iter().map(scalar_text).collect(),
        Some(one) => vec![scalar_text(one)],
        None => Vec::new(),
    };
    let mut ext = Map::new();
    let kind = p
        .get("AuthorizerType")
        .map(scalar_text)
        .unwrap_or_default()
        .to_ascii_lowercase();
    ext.insert("type".into(), Value::from(kind.clone()));
    if !sources.is_empty() {
        ext.insert("identitySource".into(), Value::from(sources.join(", ")));
    }
    if let Some(j) = p.get("JwtConfiguration") {
        ext.insert(
            "jwtConfiguration".into(),
            json!({
                "issuer": j.get("Issuer").cloned().unwrap_or(Value::Null),
                "audience": j.get("Audience").cloned().unwrap_or(json!([])),
            }),
        );
    }
    for (cfn, key) in [
        ("AuthorizerUri", "authorizerUri"),
        (
            "AuthorizerPayloadFormatVersion",
            "authorizerPayloadFormatVersion",
        ),
        ("EnableSimpleResponses", "enableSimpleResponses"),
        (
            "AuthorizerResultTtlInSeconds",
            "authorizerResultTtlInSeconds",
        ),
    ] {
        if let Some(v) = p.get(cfn) {
            ext.insert(key.into(), v.clone());
        }
    }
    if kind == "request" && sources.is_empty() {
        // Caching needs identity sources.
        ext.insert("authorizerResultTtlInSeconds".into(), Value::from(0));
    }
    json!({"type": "apiKey", "name": "Authorization", "in": "header",
           "x-amazon-apigateway-authorizer": ext})
}

/// The route's `AuthorizationType`: the authorizer its `AuthorizerId` names (with
/// `AuthorizationScopes`), IAM, or none. `names` maps an Authorizer's logical id to its scheme.
fn route_auth(
    resolver: &Resolver,
    written: &Value,
    p: &Value,
    names: &HashMap<String, String>,
    op: &mut Map<String, Value>,
) {
    let kind = p
        .get("AuthorizationType")
        .map(scalar_text)
        .unwrap_or_else(|| "NONE".into());
    match kind.as_str() {
        "AWS_IAM" => {
            op.insert(
                "x-amazon-apigateway-auth".into(),
                json!({"type": "AWS_IAM"}),
            );
        }
        "JWT" | "CUSTOM" => {
            let id = referenced_id(resolver, written.get("AuthorizerId"), p.get("AuthorizerId"))
                .unwrap_or_default();
            let name = names.get(&id).cloned().unwrap_or(id);
            let scopes = p.get("AuthorizationScopes").cloned().unwrap_or(json!([]));
            op.insert("security".into(), json!([{ name: scopes }]));
        }
        _ => {}
    }
}

/// Put `op` at the path and method `route_key` names; the pointer it was written at, or `None`
/// when the key is not a route key.
fn add_route(definition: &mut Value, base: &str, route_key: &str, mut op: Value) -> Option<String> {
    let (path, method) = if route_key == "$default" {
        if let Some(o) = op.as_object_mut() {
            o.insert("isDefaultRoute".into(), Value::Bool(true));
        }
        (
            "$default".to_string(),
            "x-amazon-apigateway-any-method".to_string(),
        )
    } else {
        let (method, path) = route_key.split_once(' ')?;
        if !path.starts_with('/') {
            return None;
        }
        let method = method.to_ascii_lowercase();
        let key = if method == "any" {
            "x-amazon-apigateway-any-method".to_string()
        } else {
            method
        };
        (path.to_string(), key)
    };
    if let Some(o) = op.as_object_mut() {
        o.entry("responses").or_insert_with(|| json!({}));
    }
    let paths = definition
        .as_object_mut()?
        .entry("paths")
        .or_insert_with(|| json!({}))
        .as_object_mut()?;
    let item = paths.entry(path.clone()).or_insert_with(|| json!({}));
    // Routes are added on top of an imported Body, as CloudFormation does.
    item.as_object_mut()?.insert(method.clone(), op);
    Some(pointer_join(
        &pointer_join(&pointer_join(base, "paths"), &path),
        &method,
    ))
}

/// The API's stage: the first `AWS::ApiGatewayV2::Stage` naming it (tollgate serves one stage per
/// API); quick create makes `$default`. An API with neither has no stage on AWS: it is served as
/// `$default`, with a warning.
fn http_stage(
    file: &Path,
    resolver: &Resolver,
    active: &Resources,
    id: &str,
    quick_create: bool,
    warnings: &mut Vec<LoadError>,
) -> ResourceStage {
    let stages: Vec<(&String, &Resource)> = active
        .iter()
        .filter(|(_, r)| {
            r.kind == "AWS::ApiGatewayV2::Stage" && belongs_to(resolver, r, "ApiId", id)
        })
        .collect();
    for (other, _) in stages.iter().skip(1) {
        warnings.push(LoadError::new(
            file,
            pointer_join("/Resources", other),
            format!(
                "tollgate serves one stage per API: {id} is served as its stage {}",
                stages[0].0
            ),
        ));
    }
    let settings = match stages.first() {
        Some((sid, s)) => resolver
            .resolve(
                &s.properties,
                &pointer_join(&pointer_join("/Resources", sid), "Properties"),
            )
            .unwrap_or_else(|| json!({})),
        None => {
            if !quick_create {
                warnings.push(LoadError::new(
                    file,
                    pointer_join("/Resources", id),
                    "no AWS::ApiGatewayV2::Stage names this API, so AWS would not serve it: served as stage $default",
                ));
            }
            json!({})
        }
    };
    ResourceStage {
        stage: Stage {
            name: settings
                .get("StageName")
                .map(scalar_text)
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "$default".into()),
            variables: settings
                .get("StageVariables")
                .and_then(Value::as_object)
                .map(|m| {
                    std::sync::Arc::new(
                        m.iter().map(|(k, v)| (k.clone(), scalar_text(v))).collect(),
                    )
                })
                .unwrap_or_default(),
        },
        throttle: stage_throttle(
            None,
            settings.get("DefaultRouteSettings").cloned(),
            settings.get("RouteSettings").cloned(),
        ),
        access_log_format: settings
            .pointer("/AccessLogSettings/Format")
            .map(scalar_text),
    }
}
