//! Reading YAML and JSON documents into `serde_json::Value`.
//!
//! CloudFormation's short-form tags (`!Ref X`, `!GetAtt A.B`, `!Sub ...`) arrive from the YAML
//! parser as tagged values; they are rewritten here to their long form (`{"Ref": "X"}`,
//! `{"Fn::GetAtt": ["A", "B"]}`, `{"Fn::Sub": ...}`) so the rest of the loader sees one shape.
//! Non-string mapping keys (YAML reads `200:` as a number) become strings, as OpenAPI means them.

use std::path::Path;

use serde_json::{Map, Value};
use serde_norway::value::{Tag, TaggedValue};

use crate::load_error::LoadError;

/// Parse a document that is JSON or YAML (JSON is tried first when the text looks like JSON, for
/// its better error positions).
pub fn parse_document(file: &Path, text: &str) -> Result<Value, LoadError> {
    let trimmed = text.trim_start();
    let looks_json = trimmed.starts_with('{') || trimmed.starts_with('[');
    let is_json_ext = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if looks_json || is_json_ext {
        match serde_json::from_str::<Value>(text) {
            Ok(v) => return Ok(v),
            Err(e) if is_json_ext => {
                return Err(LoadError::new(
                    file,
                    "",
                    format!(
                        "invalid JSON at line {} column {}: {e}",
                        e.line(),
                        e.column()
                    ),
                ))
            }
            Err(_) => {}
        }
    }
    let mut yaml: serde_norway::Value = serde_norway::from_str(text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!(" at line {} column {}", l.line(), l.column()))
            .unwrap_or_default();
        LoadError::new(file, "", format!("invalid YAML{at}: {e}"))
    })?;
    yaml.apply_merge()
        .map_err(|e| LoadError::new(file, "", format!("invalid YAML merge key: {e}")))?;
    Ok(yaml_to_json(yaml))
}

/// Read and parse a file.
pub fn read_document(file: &Path) -> Result<Value, LoadError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| LoadError::new(file, "", format!("cannot read file: {e}")))?;
    parse_document(file, &text)
}

fn yaml_to_json(v: serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .unwrap_or(Value::Null)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(seq) => Value::Array(seq.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                out.insert(key_string(k), yaml_to_json(v));
            }
            Value::Object(out)
        }
        Y::Tagged(t) => tagged_to_json(*t),
    }
}

fn key_string(k: serde_norway::Value) -> String {
    use serde_norway::Value as Y;
    match k {
        Y::String(s) => s,
        Y::Bool(b) => b.to_string(),
        Y::Number(n) => n.to_string(),
        Y::Null => "null".to_string(),
        other => serde_json::to_string(&yaml_to_json(other)).unwrap_or_default(),
    }
}

/// `!Ref X` → `{"Ref": X}`; `!GetAtt A.B` → `{"Fn::GetAtt": ["A","B"]}`; `!Condition X` →
/// `{"Condition": X}`; any other `!Name v` → `{"Fn::Name": v}`.
fn tagged_to_json(t: TaggedValue) -> Value {
    let TaggedValue { tag, value } = t;
    let name = tag_name(&tag);
    let inner = yaml_to_json(value);
    let (key, inner) = match name.as_str() {
        "Ref" => ("Ref".to_string(), inner),
        "Condition" => ("Condition".to_string(), inner),
        "GetAtt" => {
            let v = match inner {
                Value::String(s) => match s.split_once('.') {
                    Some((a, b)) => Value::Array(vec![Value::from(a), Value::from(b)]),
                    None => Value::String(s),
                },
                other => other,
            };
            ("Fn::GetAtt".to_string(), v)
        }
        other => (format!("Fn::{other}"), inner),
    };
    let mut m = Map::new();
    m.insert(key, inner);
    Value::Object(m)
}

fn tag_name(tag: &Tag) -> String {
    tag.to_string().trim_start_matches('!').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_tags_become_long_form() {
        let v = parse_document(
            Path::new("t.yaml"),
            "a: !Ref Foo\nb: !GetAtt Fn.Arn\nc: !Sub '${X}-y'\nd: !If [C, 1, 2]\n",
        )
        .expect("parses");
        assert_eq!(
            v,
            json!({
                "a": {"Ref": "Foo"},
                "b": {"Fn::GetAtt": ["Fn", "Arn"]},
                "c": {"Fn::Sub": "${X}-y"},
                "d": {"Fn::If": ["C", 1, 2]},
            })
        );
    }

    #[test]
    fn numeric_keys_become_strings() {
        let v = parse_document(
            Path::new("t.yaml"),
            "responses:\n  200:\n    description: ok\n",
        )
        .expect("parses");
        assert_eq!(v, json!({"responses": {"200": {"description": "ok"}}}));
    }

    #[test]
    fn yaml_errors_name_line() {
        let e = parse_document(Path::new("bad.yaml"), "a: [1, 2\nb: c\n").expect_err("fails");
        assert!(
            e.to_string().starts_with("bad.yaml: invalid YAML at line"),
            "{e}"
        );
    }
}
