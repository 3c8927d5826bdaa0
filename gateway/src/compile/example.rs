//! `--mock-missing`: what an operation without an integration answers instead of 500, taken
//! from its own documentation (a contract mock). The status is its first documented success
//! (else `default`, answered as 200); the body is the media type's `example`, else the first of
//! its `examples`, else a value built from its schema.

use serde_json::{Map, Value};

use crate::model::ExampleResponse;
use crate::spec::{ApiSpec, OperationSpec};

/// Deep enough for any real document; stops a schema that refers to itself.
const MAX_DEPTH: usize = 8;

pub(super) fn example_response(spec: &ApiSpec, op: &OperationSpec) -> ExampleResponse {
    let documented = op
        .responses
        .iter()
        .filter_map(|(code, r)| code.parse::<u16>().ok().map(|c| (c, r)))
        .filter(|(c, _)| (200..300).contains(c))
        .min_by_key(|(c, _)| *c)
        .or_else(|| op.responses.get("default").map(|r| (200, r)));
    let Some((status, response)) = documented else {
        return ExampleResponse {
            status: 200,
            content_type: None,
            body: bytes::Bytes::new(),
        };
    };
    let body = response
        .bodies
        .get_key_value("application/json")
        .or_else(|| response.bodies.first());
    let Some((media, body)) = body else {
        return ExampleResponse {
            status,
            content_type: None,
            body: bytes::Bytes::new(),
        };
    };
    let value = body.example.clone().or_else(|| {
        body.schema
            .as_ref()
            .map(|s| from_schema(&spec.models, s, 0))
    });
    let text = match value {
        Some(Value::String(s)) if !media.contains("json") => s,
        Some(v) => v.to_string(),
        None => String::new(),
    };
    ExampleResponse {
        status,
        content_type: Some(media.clone()),
        body: bytes::Bytes::from(text),
    }
}

/// A value that satisfies `schema`: its own example or default, else the simplest of its type.
fn from_schema(models: &Value, schema: &Value, depth: usize) -> Value {
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        return models
            .pointer(target.trim_start_matches('#'))
            .map(|s| from_schema(models, s, depth + 1))
            .unwrap_or(Value::Null);
    }
    for key in ["example", "default"] {
        if let Some(v) = schema.get(key) {
            return v.clone();
        }
    }
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        let mut merged = Map::new();
        for part in parts {
            if let Value::Object(m) = from_schema(models, part, depth + 1) {
                merged.extend(m);
            }
        }
        return Value::Object(merged);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(first) = schema
            .get(key)
            .and_then(Value::as_array)
            .and_then(|a| a.first())
        {
            return from_schema(models, first, depth + 1);
        }
    }
    let ty = schema
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_else(|| {
            if schema.get("properties").is_some() {
                "object"
            } else if schema.get("items").is_some() {
                "array"
            } else {
                ""
            }
        });
    match ty {
        "object" => Value::Object(
            schema
                .get("properties")
                .and_then(Value::as_object)
                .map(|props| {
                    props
                        .iter()
                        .map(|(k, s)| (k.clone(), from_schema(models, s, depth + 1)))
                        .collect()
                })
                .unwrap_or_default(),
        ),
        "array" => Value::Array(
            schema
                .get("items")
                .map(|s| vec![from_schema(models, s, depth + 1)])
                .unwrap_or_default(),
        ),
        "integer" | "number" => Value::from(0),
        "boolean" => Value::Bool(true),
        "string" => Value::from(match schema.get("format").and_then(Value::as_str) {
            Some("date-time") => "2026-01-01T00:00:00Z",
            Some("date") => "2026-01-01",
            Some("uuid") => "00000000-0000-4000-8000-000000000000",
            Some("email") => "user@example.com",
            Some("uri") | Some("url") => "https://example.com/",
            _ => "string",
        }),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_schema_becomes_the_simplest_value_that_fits_it() {
        let models = json!({"components": {"schemas": {
            "Pet": {"type": "object", "properties": {
                "id": {"type": "integer"},
                "name": {"type": "string", "example": "Rex"},
                "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
                "born": {"type": "string", "format": "date"},
                "parent": {"$ref": "#/components/schemas/Pet"}
            }}
        }}});
        let v = from_schema(&models, &json!({"$ref": "#/components/schemas/Pet"}), 0);
        assert_eq!(v["id"], 0);
        assert_eq!(v["name"], "Rex");
        assert_eq!(v["tags"], json!(["a"]));
        assert_eq!(v["born"], "2026-01-01");
        // A schema that contains itself stops at the depth limit instead of looping.
        assert!(v["parent"]["parent"]["parent"].is_object());
    }
}
