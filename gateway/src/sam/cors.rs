//! SAM `Cors` (REST: generated MOCK OPTIONS methods, aws-behaviour §10) and HTTP API
//! `CorsConfiguration`.

use serde_json::{json, Map, Value};

use super::auth::apply_default_authorizer;
use super::intrinsics::scalar_text;

/// Add the operation SAM generates for a function event, unless the definition already has it.
/// SAM's HttpApi `CorsConfiguration` as `x-amazon-apigateway-cors` fields: `true` allows every
/// origin, method and header ([?] SAM's exact expansion of `true`), a string is one origin,
/// an object maps its properties.
pub(super) fn http_cors_configuration(c: &Value) -> Map<String, Value> {
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
/// operation SAM's translator writes (aws-behaviour §10).
pub(super) fn add_rest_cors(definition: &mut Value, cors: &Value, authorizer: Option<&str>) {
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
