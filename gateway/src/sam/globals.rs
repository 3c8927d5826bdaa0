//! SAM's `Globals`: the sections it allows, and how a section merges into each resource.

use std::path::Path;

use serde_json::{Map, Value};

use crate::load_error::{pointer_join, LoadError, LoadErrors};

fn is_intrinsic(v: &Value) -> bool {
    v.as_object().is_some_and(|m| {
        m.len() == 1
            && m.keys()
                .next()
                .is_some_and(|k| k == "Ref" || k == "Condition" || k.starts_with("Fn::"))
    })
}

/// SAM's Globals merge: maps merge key by key (the resource wins), lists concatenate (globals
/// first), anything else is taken from the resource.
pub(super) fn merge_globals(global: &Value, local: &Value) -> Value {
    match (global, local) {
        (Value::Object(g), Value::Object(l)) if !is_intrinsic(global) && !is_intrinsic(local) => {
            let mut out = g.clone();
            for (k, lv) in l {
                let merged = match g.get(k) {
                    Some(gv) => merge_globals(gv, lv),
                    None => lv.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(g), Value::Array(l)) => {
            Value::Array(g.iter().chain(l.iter()).cloned().collect())
        }
        (_, l) => l.clone(),
    }
}

const GLOBAL_SECTIONS: &[(&str, &str)] = &[
    ("Function", "AWS::Serverless::Function"),
    ("Api", "AWS::Serverless::Api"),
    ("HttpApi", "AWS::Serverless::HttpApi"),
    ("SimpleTable", "AWS::Serverless::SimpleTable"),
    ("LayerVersion", "AWS::Serverless::LayerVersion"),
    ("StateMachine", "AWS::Serverless::StateMachine"),
];

/// The template's `Globals`, each section checked against the ones SAM allows.
pub(super) fn read(
    file: &Path,
    root: &Map<String, Value>,
    errors: &mut LoadErrors,
) -> Map<String, Value> {
    let globals = root
        .get("Globals")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for key in globals.keys() {
        if !GLOBAL_SECTIONS.iter().any(|(s, _)| s == key) {
            let names: Vec<&str> = GLOBAL_SECTIONS.iter().map(|(s, _)| *s).collect();
            errors.push(LoadError::new(
                file,
                pointer_join("/Globals", key),
                format!(
                    "`{key}` is not a Globals section: expected one of {}",
                    names.join(", ")
                ),
            ));
        }
    }
    globals
}

/// The `Globals` section for resources of type `ty`, if the template has one.
pub(super) fn for_type<'a>(globals: &'a Map<String, Value>, ty: &str) -> Option<&'a Value> {
    GLOBAL_SECTIONS
        .iter()
        .find(|(_, t)| *t == ty)
        .and_then(|(s, _)| globals.get(*s))
}
