//! REST APIs declared as plain CloudFormation: an `AWS::ApiGateway::RestApi` with a `Body`, a
//! local `BodyS3Location`, or a tree of `Resource`s and `Method`s, with the `Authorizer`s,
//! `Model`s, `RequestValidator`s, `GatewayResponse`s and `Stage` that name it. Everything is
//! written into one API definition, the way API Gateway builds the same API (aws-behaviour §12);
//! each generated operation remembers the resource it came from, so a diagnostic names the
//! user's `Method`, not the generated document.

use std::collections::HashMap;
use std::path::Path;

use indexmap::IndexMap;
use serde_json::{json, Map, Value};

use super::apis::sam_gateway_response;
use super::auth::{add_api_key_requirement, declare_api_key_scheme, definition_section};
use super::intrinsics::{scalar_text, Resolver};
use super::resources::{referenced_id, written_reference, Resource, Resources};
use super::usage::stage_throttle;
use super::SamApi;
use crate::load_error::{pointer_join, LoadError};
use crate::spec::{ApiKind, Stage};

/// CloudFormation's `Method.Integration` keys → the extension's.
const INTEGRATION_KEYS: [(&str, &str); 13] = [
    ("Type", "type"),
    ("Uri", "uri"),
    ("IntegrationHttpMethod", "httpMethod"),
    ("RequestTemplates", "requestTemplates"),
    ("RequestParameters", "requestParameters"),
    ("PassthroughBehavior", "passthroughBehavior"),
    ("ContentHandling", "contentHandling"),
    ("TimeoutInMillis", "timeoutInMillis"),
    ("Credentials", "credentials"),
    ("CacheKeyParameters", "cacheKeyParameters"),
    ("CacheNamespace", "cacheNamespace"),
    ("ConnectionType", "connectionType"),
    ("ConnectionId", "connectionId"),
];

/// One REST API from its CloudFormation resources.
pub(super) fn rest_api(
    file: &Path,
    resolver: &Resolver,
    active: &Resources,
    id: &str,
    warnings: &mut Vec<LoadError>,
) -> SamApi {
    let api_ptr = pointer_join(&pointer_join("/Resources", id), "Properties");
    let r = &active[id];
    let get = |key: &str| {
        r.properties
            .get(key)
            .and_then(|v| resolver.resolve(v, &pointer_join(&api_ptr, key)))
    };
    let (def_file, pointer_base, mut definition) = body(file, resolver, id, r, warnings);
    let mut origins = Vec::new();
    let children = |kind: &str| -> Vec<(&String, &Resource)> {
        active
            .iter()
            .filter(|(_, c)| c.kind == kind && belongs_to(resolver, c, "RestApiId", id))
            .collect()
    };

    let names = names(resolver, &children);
    write_root_sections(resolver, &children, &names, &mut definition);
    let paths = resource_paths(resolver, &children("AWS::ApiGateway::Resource"));
    for (mid, m) in children("AWS::ApiGateway::Method") {
        let ptr = pointer_join(&pointer_join("/Resources", mid), "Properties");
        let Some(props) = resolver.resolve(&m.properties, &ptr) else {
            continue;
        };
        let Some(path) = method_path(resolver, m, &paths) else {
            warnings.push(LoadError::new(
                file,
                pointer_join(&ptr, "ResourceId"),
                "names no AWS::ApiGateway::Resource of this API (nor its RootResourceId): the method is not served",
            ));
            continue;
        };
        let method = props
            .get("HttpMethod")
            .map(scalar_text)
            .unwrap_or_default()
            .to_ascii_lowercase();
        let key = if method == "any" {
            "x-amazon-apigateway-any-method".to_string()
        } else {
            method
        };
        let op = operation(&props, &names, &mut definition);
        let op_ptr = pointer_join(
            &pointer_join(&pointer_join(&pointer_base, "paths"), &path),
            &key,
        );
        origins.extend(operation_origins(&op_ptr, &ptr));
        if let Some(paths) = definition
            .as_object_mut()
            .map(|d| d.entry("paths").or_insert_with(|| json!({})))
            .and_then(Value::as_object_mut)
        {
            if let Some(item) = paths
                .entry(path)
                .or_insert_with(|| json!({}))
                .as_object_mut()
            {
                // Methods are added on top of an imported Body, as CloudFormation does.
                item.insert(key, op);
            }
        }
    }
    for (aid, _) in children("AWS::ApiGateway::Authorizer") {
        if let Some(name) = names.authorizers.get(aid.as_str()) {
            let synth = pointer_join(
                &pointer_join(&pointer_base, scheme_section(&definition)),
                name,
            );
            origins.push((
                synth,
                pointer_join(&pointer_join("/Resources", aid), "Properties"),
            ));
        }
    }
    if let Some(obj) = definition.as_object_mut() {
        if let Some(Value::Array(types)) = get("BinaryMediaTypes") {
            let list: Vec<Value> = types
                .iter()
                .map(|t| Value::from(scalar_text(t).replace("~1", "/")))
                .collect();
            obj.insert(
                "x-amazon-apigateway-binary-media-types".into(),
                Value::Array(list),
            );
        }
        if let Some(v) = get("ApiKeySourceType") {
            obj.insert("x-amazon-apigateway-api-key-source".into(), v);
        }
        if let Some(v) = get("Policy") {
            obj.insert("x-amazon-apigateway-policy".into(), v);
        }
        if let Some(v) = get("MinimumCompressionSize") {
            obj.insert("x-amazon-apigateway-minimum-compression-size".into(), v);
        }
    }

    rest_stage(file, resolver, active, id, warnings).api(
        id,
        ApiKind::Rest,
        (def_file, pointer_base, definition),
        origins,
    )
}

/// Whether resource `c` belongs to API `api` through its `key` property.
pub(super) fn belongs_to(resolver: &Resolver, c: &Resource, key: &str, api: &str) -> bool {
    let raw = c.properties.get(key);
    let resolved = raw.and_then(|v| resolver.resolve(v, ""));
    referenced_id(resolver, raw, resolved.as_ref()).as_deref() == Some(api)
}

/// The API's starting definition: its `Body`, the local file `BodyS3Location` names, or an
/// empty Swagger 2.0 document placed at the RestApi resource (so anything reported about a
/// generated part that is not mapped back still lands on the user's resource).
fn body(
    file: &Path,
    resolver: &Resolver,
    id: &str,
    r: &Resource,
    warnings: &mut Vec<LoadError>,
) -> (std::path::PathBuf, String, Value) {
    let ptr = pointer_join(&pointer_join("/Resources", id), "Properties");
    if let Some(b) = r.properties.get("Body") {
        let body_ptr = pointer_join(&ptr, "Body");
        let resolved = resolver.resolve(b, &body_ptr).unwrap_or(Value::Null);
        return (file.to_path_buf(), body_ptr, resolved);
    }
    if let Some(location) = r.properties.get("BodyS3Location") {
        let loc_ptr = pointer_join(&ptr, "BodyS3Location");
        let location = resolver.resolve(location, &loc_ptr).unwrap_or(Value::Null);
        if let Some((path, doc)) = local_body(file, resolver, &location, &loc_ptr, warnings) {
            return (path, String::new(), doc);
        }
    }
    let title = r
        .properties
        .get("Name")
        .and_then(|n| resolver.resolve(n, &pointer_join(&ptr, "Name")))
        .map(|n| scalar_text(&n))
        .unwrap_or_else(|| id.to_string());
    (
        file.to_path_buf(),
        pointer_join("/Resources", id),
        json!({"swagger": "2.0", "info": {"title": title, "version": "1.0"}, "paths": {}}),
    )
}

/// The document a `BodyS3Location` names when it is a local path (what `aws cloudformation
/// package` reads before uploading it); otherwise a warning, and the API is served without it.
pub(super) fn local_body(
    file: &Path,
    resolver: &Resolver,
    location: &Value,
    loc_ptr: &str,
    warnings: &mut Vec<LoadError>,
) -> Option<(std::path::PathBuf, Value)> {
    match location {
        Value::String(path) if !path.starts_with("s3://") => {
            let path = resolver.base_dir().join(path);
            match crate::spec::yaml::read_document(&path) {
                Ok(doc) => return Some((path, doc)),
                Err(e) => warnings.push(LoadError::new(
                    file,
                    loc_ptr,
                    format!("cannot read the body: {e}; the API is served without it"),
                )),
            }
        }
        _ => warnings.push(LoadError::new(
            file,
            loc_ptr,
            "the body is in S3, which a local run cannot read: point BodyS3Location at a local file; the API is served without it",
        )),
    }
    None
}

/// What Methods refer to by logical id, by the name the definition gives it.
#[derive(Default)]
struct Names {
    authorizers: HashMap<String, String>,
    validators: HashMap<String, String>,
}

fn names<'a>(
    resolver: &Resolver,
    children: &dyn Fn(&str) -> Vec<(&'a String, &'a Resource)>,
) -> Names {
    let named = |kind: &str| -> HashMap<String, String> {
        children(kind)
            .into_iter()
            .map(|(cid, c)| {
                let name = c
                    .properties
                    .get("Name")
                    .and_then(|n| resolver.resolve(n, ""))
                    .map(|n| scalar_text(&n))
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| cid.clone());
                (cid.clone(), name)
            })
            .collect()
    };
    Names {
        authorizers: named("AWS::ApiGateway::Authorizer"),
        validators: named("AWS::ApiGateway::RequestValidator"),
    }
}

fn scheme_section(definition: &Value) -> &'static str {
    if definition.get("swagger").is_some() {
        "securityDefinitions"
    } else {
        "components/securitySchemes"
    }
}

/// Authorizers, models, request validators and gateway responses, where the definition keeps
/// them.
fn write_root_sections<'a>(
    resolver: &Resolver,
    children: &dyn Fn(&str) -> Vec<(&'a String, &'a Resource)>,
    names: &Names,
    definition: &mut Value,
) {
    let resolved = |cid: &str, c: &Resource| {
        resolver
            .resolve(
                &c.properties,
                &pointer_join(&pointer_join("/Resources", cid), "Properties"),
            )
            .unwrap_or_else(|| json!({}))
    };
    let Some(doc) = definition.as_object_mut() else {
        return;
    };
    for (cid, c) in children("AWS::ApiGateway::Authorizer") {
        let p = resolved(cid, c);
        let name = names.authorizers[cid.as_str()].clone();
        if let Some(s) = definition_section(doc, "securityDefinitions", "securitySchemes") {
            s.insert(name, authorizer_scheme(&p));
        }
    }
    for (cid, c) in children("AWS::ApiGateway::Model") {
        let p = resolved(cid, c);
        let name = p
            .get("Name")
            .map(scalar_text)
            .unwrap_or_else(|| cid.clone());
        if let (Some(schema), Some(models)) = (
            p.get("Schema").cloned(),
            definition_section(doc, "definitions", "schemas"),
        ) {
            // A schema may be written as JSON text.
            let schema = match schema {
                Value::String(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
                other => other,
            };
            models.insert(name, schema);
        }
    }
    for (cid, c) in children("AWS::ApiGateway::RequestValidator") {
        let p = resolved(cid, c);
        let validators = doc
            .entry("x-amazon-apigateway-request-validators")
            .or_insert_with(|| json!({}));
        if let Some(v) = validators.as_object_mut() {
            v.insert(
                names.validators[cid.as_str()].clone(),
                json!({
                    "validateRequestBody": p.get("ValidateRequestBody").and_then(Value::as_bool).unwrap_or(false),
                    "validateRequestParameters": p.get("ValidateRequestParameters").and_then(Value::as_bool).unwrap_or(false),
                }),
            );
        }
    }
    for (cid, c) in children("AWS::ApiGateway::GatewayResponse") {
        let p = resolved(cid, c);
        let Some(ty) = p.get("ResponseType").map(scalar_text) else {
            continue;
        };
        // CloudFormation writes the header mappings flat, SAM nests them: make them SAM's.
        let mut nested = Map::new();
        if let Some(params) = p.get("ResponseParameters").and_then(Value::as_object) {
            for (k, v) in params {
                for (prefix, section) in [
                    ("gatewayresponse.header.", "Headers"),
                    ("gatewayresponse.path.", "Paths"),
                    ("gatewayresponse.querystring.", "QueryStrings"),
                ] {
                    if let Some(name) = k.strip_prefix(prefix) {
                        nested
                            .entry(section)
                            .or_insert_with(|| json!({}))
                            .as_object_mut()
                            .map(|m| m.insert(name.to_string(), v.clone()));
                    }
                }
            }
        }
        let mut sam = json!({"ResponseParameters": nested});
        if let Some(s) = p.get("StatusCode") {
            sam["StatusCode"] = s.clone();
        }
        if let Some(t) = p.get("ResponseTemplates") {
            sam["ResponseTemplates"] = t.clone();
        }
        let responses = doc
            .entry("x-amazon-apigateway-gateway-responses")
            .or_insert_with(|| json!({}));
        if let Some(m) = responses.as_object_mut() {
            m.insert(ty, sam_gateway_response(&sam));
        }
    }
}

/// An `AWS::ApiGateway::Authorizer` as the security scheme an import would have made of it.
fn authorizer_scheme(p: &Value) -> Value {
    let ty = p
        .get("Type")
        .map(scalar_text)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let source = p.get("IdentitySource").map(scalar_text);
    let header = source
        .as_deref()
        .and_then(|s| s.strip_prefix("method.request.header."))
        .filter(|_| ty != "request")
        .unwrap_or(if ty == "request" {
            "Unused"
        } else {
            "Authorization"
        })
        .to_string();
    let mut ext = json!({"type": ty});
    let pairs = [
        ("AuthorizerUri", "authorizerUri"),
        (
            "IdentityValidationExpression",
            "identityValidationExpression",
        ),
        ("AuthorizerCredentials", "authorizerCredentials"),
    ];
    for (from, to) in pairs {
        if let Some(v) = p.get(from) {
            ext[to] = Value::from(scalar_text(v));
        }
    }
    if let Some(s) = source {
        ext["identitySource"] = Value::from(s);
    }
    ext["authorizerResultTtlInSeconds"] = p
        .get("AuthorizerResultTtlInSeconds")
        .cloned()
        .unwrap_or(json!(300));
    if let Some(arns) = p.get("ProviderARNs") {
        ext["providerARNs"] = arns.clone();
    }
    json!({
        "type": "apiKey",
        "name": header,
        "in": "header",
        "x-amazon-apigateway-authtype": if ty == "cognito_user_pools" { "cognito_user_pools" } else { "custom" },
        "x-amazon-apigateway-authorizer": ext,
    })
}

/// Each `Resource`'s full path, following `ParentId` up to the root.
fn resource_paths(
    resolver: &Resolver,
    resources: &[(&String, &Resource)],
) -> HashMap<String, String> {
    let parts: HashMap<&str, (Option<String>, String)> = resources
        .iter()
        .map(|(rid, r)| {
            let parent = r
                .properties
                .get("ParentId")
                .and_then(|p| parent_of(resolver, p));
            let part = r
                .properties
                .get("PathPart")
                .and_then(|v| resolver.resolve(v, ""))
                .map(|v| scalar_text(&v))
                .unwrap_or_default();
            (rid.as_str(), (parent, part))
        })
        .collect();
    let mut out = HashMap::new();
    for rid in parts.keys() {
        let mut segments = Vec::new();
        let mut at = Some(rid.to_string());
        // Bounded by the number of resources, so a cycle cannot loop.
        for _ in 0..=parts.len() {
            let Some(id) = at else { break };
            let Some((parent, part)) = parts.get(id.as_str()) else {
                break;
            };
            segments.push(part.clone());
            at = parent.clone();
        }
        segments.reverse();
        out.insert(rid.to_string(), format!("/{}", segments.join("/")));
    }
    out
}

/// The parent a `ParentId` (or a Method's `ResourceId`) names: `None` for the API's root
/// (`Fn::GetAtt [Api, RootResourceId]`), else the Resource's logical id.
fn parent_of(resolver: &Resolver, v: &Value) -> Option<String> {
    let root = match v.get("Fn::GetAtt") {
        Some(Value::Array(a)) => a.get(1).and_then(Value::as_str) == Some("RootResourceId"),
        Some(Value::String(s)) => s.ends_with(".RootResourceId"),
        _ => false,
    };
    if root {
        return None;
    }
    written_reference(v).or_else(|| resolver.resolve(v, "").map(|v| scalar_text(&v)))
}

/// The path a Method is on.
fn method_path(
    resolver: &Resolver,
    m: &Resource,
    paths: &HashMap<String, String>,
) -> Option<String> {
    let resource = m.properties.get("ResourceId")?;
    match parent_of(resolver, resource) {
        None => Some("/".to_string()),
        Some(rid) => paths.get(&rid).cloned(),
    }
}

/// A resolved `AWS::ApiGateway::Method` as the operation an import would have made of it.
fn operation(p: &Value, names: &Names, definition: &mut Value) -> Value {
    let swagger = definition.get("swagger").is_some();
    let mut op = Map::new();
    if let Some(name) = p.get("OperationName") {
        op.insert("operationId".into(), Value::from(scalar_text(name)));
    }
    if let Some(i) = p.get("Integration").and_then(Value::as_object) {
        op.insert("x-amazon-apigateway-integration".into(), integration(i));
    }
    let mut parameters = Vec::new();
    if let Some(params) = p.get("RequestParameters").and_then(Value::as_object) {
        for (key, required) in params {
            let Some((kind, name)) = key
                .strip_prefix("method.request.")
                .and_then(|r| r.split_once('.'))
            else {
                continue;
            };
            let location = match kind {
                "querystring" => "query",
                "header" => "header",
                "path" => "path",
                _ => continue,
            };
            let required = required.as_bool().unwrap_or(false) || location == "path";
            parameters.push(if swagger {
                json!({"in": location, "name": name, "required": required, "type": "string"})
            } else {
                json!({"in": location, "name": name, "required": required, "schema": {"type": "string"}})
            });
        }
    }
    if let Some(models) = p.get("RequestModels").and_then(Value::as_object) {
        if swagger {
            if let Some((_, model)) = models.iter().next() {
                let name = scalar_text(model);
                parameters.push(json!({"in": "body", "name": name.to_ascii_lowercase(), "required": true, "schema": {"$ref": format!("#/definitions/{name}")}}));
            }
            let consumes: Vec<Value> = models.keys().map(|k| Value::from(k.clone())).collect();
            op.insert("consumes".into(), Value::Array(consumes));
        } else {
            let content: Map<String, Value> = models
                .iter()
                .map(|(media, model)| {
                    (
                        media.clone(),
                        json!({"schema": {"$ref": format!("#/components/schemas/{}", scalar_text(model))}}),
                    )
                })
                .collect();
            op.insert("requestBody".into(), json!({"content": content}));
        }
    }
    if !parameters.is_empty() {
        op.insert("parameters".into(), Value::Array(parameters));
    }
    if let Some(v) = p
        .get("RequestValidatorId")
        .map(scalar_text)
        .and_then(|id| names.validators.get(&id).cloned())
    {
        op.insert(
            "x-amazon-apigateway-request-validator".into(),
            Value::from(v),
        );
    }
    op.insert("responses".into(), method_responses(p, swagger));
    let auth_type = p
        .get("AuthorizationType")
        .map(scalar_text)
        .unwrap_or_default()
        .to_ascii_uppercase();
    match auth_type.as_str() {
        "AWS_IAM" => {
            op.insert(
                "x-amazon-apigateway-auth".into(),
                json!({"type": "AWS_IAM"}),
            );
        }
        "CUSTOM" | "COGNITO_USER_POOLS" => {
            let name = p
                .get("AuthorizerId")
                .map(scalar_text)
                .map(|id| names.authorizers.get(&id).cloned().unwrap_or(id))
                .unwrap_or_default();
            let scopes = p.get("AuthorizationScopes").cloned().unwrap_or(json!([]));
            op.insert("security".into(), json!([{ name: scopes }]));
        }
        _ => {}
    }
    if p.get("ApiKeyRequired").and_then(Value::as_bool) == Some(true) {
        add_api_key_requirement(&mut op);
        declare_api_key_scheme(definition);
    }
    Value::Object(op)
}

/// `Method.Integration` in the extension's words.
fn integration(i: &Map<String, Value>) -> Value {
    let mut ext = Map::new();
    for (from, to) in INTEGRATION_KEYS {
        if let Some(v) = i.get(from) {
            let v = if from == "Type" {
                Value::from(scalar_text(v).to_ascii_lowercase())
            } else {
                v.clone()
            };
            ext.insert(to.into(), v);
        }
    }
    if let Some(list) = i.get("IntegrationResponses").and_then(Value::as_array) {
        let mut responses = IndexMap::new();
        for r in list {
            let key = r
                .get("SelectionPattern")
                .map(scalar_text)
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "default".into());
            let mut out = Map::new();
            for (from, to) in [
                ("StatusCode", "statusCode"),
                ("ResponseParameters", "responseParameters"),
                ("ResponseTemplates", "responseTemplates"),
                ("ContentHandling", "contentHandling"),
            ] {
                if let Some(v) = r.get(from) {
                    let v = if from == "StatusCode" {
                        Value::from(scalar_text(v))
                    } else {
                        v.clone()
                    };
                    out.insert(to.into(), v);
                }
            }
            responses.insert(key, Value::Object(out));
        }
        ext.insert(
            "responses".into(),
            Value::Object(responses.into_iter().collect()),
        );
    }
    Value::Object(ext)
}

/// `MethodResponses` as the operation's responses: each status with the headers it declares.
fn method_responses(p: &Value, swagger: bool) -> Value {
    let mut responses = Map::new();
    for r in p
        .get("MethodResponses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(status) = r.get("StatusCode").map(scalar_text) else {
            continue;
        };
        let mut headers = Map::new();
        for key in r
            .get("ResponseParameters")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.keys())
        {
            if let Some(name) = key.strip_prefix("method.response.header.") {
                let schema = if swagger {
                    json!({"type": "string"})
                } else {
                    json!({"schema": {"type": "string"}})
                };
                headers.insert(name.to_string(), schema);
            }
        }
        responses.insert(
            status,
            json!({"description": "", "headers": Value::Object(headers)}),
        );
    }
    Value::Object(responses)
}

/// Where each generated part of an operation was written in the template.
fn operation_origins(op_ptr: &str, method_ptr: &str) -> Vec<(String, String)> {
    let ext = pointer_join(op_ptr, "x-amazon-apigateway-integration");
    let written = pointer_join(method_ptr, "Integration");
    let mut out = vec![
        (op_ptr.to_string(), method_ptr.to_string()),
        (ext.clone(), written.clone()),
        (
            pointer_join(op_ptr, "security"),
            pointer_join(method_ptr, "AuthorizerId"),
        ),
        (
            pointer_join(op_ptr, "parameters"),
            pointer_join(method_ptr, "RequestParameters"),
        ),
        (
            pointer_join(op_ptr, "responses"),
            pointer_join(method_ptr, "MethodResponses"),
        ),
        (
            pointer_join(&ext, "responses"),
            pointer_join(&written, "IntegrationResponses"),
        ),
    ];
    for (from, to) in INTEGRATION_KEYS {
        out.push((pointer_join(&ext, to), pointer_join(&written, from)));
    }
    out
}

/// What an API's stage resource gives it (REST and HTTP).
pub(super) struct ResourceStage {
    pub(super) stage: Stage,
    pub(super) throttle: crate::usage::StageThrottle,
    pub(super) access_log_format: Option<String>,
}

impl ResourceStage {
    /// The API a template declares as resources, served at this stage.
    pub(super) fn api(
        self,
        id: &str,
        kind: ApiKind,
        (file, pointer_base, definition): (std::path::PathBuf, String, Value),
        origins: Vec<(String, String)>,
    ) -> SamApi {
        SamApi {
            logical_id: id.to_string(),
            kind,
            stage: self.stage,
            file,
            pointer_base,
            definition,
            default_authorizer: None,
            api_key_required: false,
            usage_plan: None,
            stage_throttle: self.throttle,
            cors: None,
            access_log_format: self.access_log_format,
            cors_authorizer: false,
            origins,
        }
    }
}

/// The API's stage: its `AWS::ApiGateway::Stage` (the first; tollgate serves one stage per API),
/// else the stage its `Deployment` creates (`StageName`, `StageDescription`), else `Prod` [?].
fn rest_stage(
    file: &Path,
    resolver: &Resolver,
    active: &Resources,
    id: &str,
    warnings: &mut Vec<LoadError>,
) -> ResourceStage {
    let resolved = |cid: &str, r: &Resource| {
        resolver
            .resolve(
                &r.properties,
                &pointer_join(&pointer_join("/Resources", cid), "Properties"),
            )
            .unwrap_or_else(|| json!({}))
    };
    let stages: Vec<(&String, &Resource)> = active
        .iter()
        .filter(|(_, r)| {
            r.kind == "AWS::ApiGateway::Stage" && belongs_to(resolver, r, "RestApiId", id)
        })
        .collect();
    let settings = if let Some((sid, s)) = stages.first() {
        for (other, _) in stages.iter().skip(1) {
            warnings.push(LoadError::new(
                file,
                pointer_join("/Resources", other),
                format!("tollgate serves one stage per API: {id} is served as its stage {sid}"),
            ));
        }
        resolved(sid, s)
    } else {
        let deployment = active.iter().find(|(_, r)| {
            r.kind == "AWS::ApiGateway::Deployment" && belongs_to(resolver, r, "RestApiId", id)
        });
        match deployment {
            Some((did, d)) => {
                let p = resolved(did, d);
                let mut s = p
                    .get("StageDescription")
                    .cloned()
                    .unwrap_or_else(|| json!({}));
                if let (Some(obj), Some(name)) = (s.as_object_mut(), p.get("StageName")) {
                    obj.insert("StageName".into(), name.clone());
                }
                s
            }
            None => json!({}),
        }
    };
    let variables = settings
        .get("Variables")
        .and_then(Value::as_object)
        .map(|m| std::sync::Arc::new(m.iter().map(|(k, v)| (k.clone(), scalar_text(v))).collect()))
        .unwrap_or_default();
    ResourceStage {
        stage: Stage {
            name: settings
                .get("StageName")
                .map(scalar_text)
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "Prod".into()),
            variables,
        },
        throttle: stage_throttle(settings.get("MethodSettings").cloned(), None, None),
        access_log_format: settings
            .pointer("/AccessLogSetting/Format")
            .map(scalar_text),
    }
}
