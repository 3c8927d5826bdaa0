//! SAM `Auth`: authorizers, the default authorizer, API keys and resource policies, written
//! into the API's definition as SAM's translator does.

use std::path::Path;

use serde_json::{json, Map, Value};

use super::intrinsics::scalar_text;
use crate::load_error::{pointer_join, LoadError, LoadErrors};
use crate::spec::ApiKind;

/// SAM `Auth` on an API: `Authorizers` become security schemes with the authorizer extension;
/// `DefaultAuthorizer` goes on every written operation that has no `security` of its own (event
/// operations get it when they are added). Returns the default authorizer's name.
pub(super) fn sam_auth(
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

/// `ApiKeyRequired`: declare the `api_key` scheme and add it to every operation's requirement.
pub(super) fn require_api_keys(definition: &mut Value) {
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
pub(super) fn definition_section<'a>(
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
pub(super) fn declare_api_key_scheme(definition: &mut Value) {
    let Some(doc) = definition.as_object_mut() else {
        return;
    };
    let scheme = json!({"type": "apiKey", "name": "x-api-key", "in": "header"});
    if let Some(s) = definition_section(doc, "securityDefinitions", "securitySchemes") {
        s.entry("api_key").or_insert(scheme);
    }
}

pub(super) fn add_api_key_requirement(op: &mut Map<String, Value>) {
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

pub(super) fn apply_default_authorizer(op: &mut Map<String, Value>, default: &str) {
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

/// SAM `Auth.ResourcePolicy` → a policy document: `CustomStatements` as written, and IP range
/// lists as an allow for everyone plus a deny outside (whitelist) or inside (blacklist) the
/// ranges. [?] SAM's own expansion writes per-method statements; the decisions are the same.
pub(super) fn sam_resource_policy(rp: &Value) -> Value {
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
