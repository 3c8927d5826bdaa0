//! Template `Parameters`, with `--parameter-overrides` applied (both of SAM CLI's forms).

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::intrinsics::scalar_text;
use crate::load_error::{pointer_join, LoadError, LoadErrors};

/// Parse `--parameter-overrides`: `Key=Value Key2='two words'` or
/// `ParameterKey=Key,ParameterValue=Value ...` (both SAM CLI forms).
pub fn parse_parameter_overrides(input: &str) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for token in split_respecting_quotes(input) {
        if let Some(rest) = token.strip_prefix("ParameterKey=") {
            let (key, value) = rest.split_once(",ParameterValue=").ok_or_else(|| {
                format!("`{token}`: expected ParameterKey=KEY,ParameterValue=VALUE")
            })?;
            out.insert(key.to_string(), value.to_string());
        } else {
            let (key, value) = token
                .split_once('=')
                .ok_or_else(|| format!("`{token}`: expected KEY=VALUE"))?;
            if key.is_empty() {
                return Err(format!("`{token}`: the parameter name is empty"));
            }
            out.insert(key.to_string(), value.to_string());
        }
    }
    Ok(out)
}

fn split_respecting_quotes(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            None => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The template's parameters with their values: overrides first, then each `Default`. Returns
/// the values and the names that have neither.
pub(super) fn resolve(
    file: &Path,
    root: &Map<String, Value>,
    overrides: &HashMap<String, String>,
    errors: &mut LoadErrors,
    warnings: &mut Vec<LoadError>,
) -> (HashMap<String, Value>, Vec<String>) {
    let mut parameters = HashMap::new();
    let mut missing = Vec::new();
    let declared = root
        .get("Parameters")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (name, def) in &declared {
        let ptr = pointer_join("/Parameters", name);
        let ty = def.get("Type").and_then(Value::as_str).unwrap_or("String");
        let raw = overrides
            .get(name)
            .cloned()
            .or_else(|| def.get("Default").map(scalar_text));
        let Some(raw) = raw else {
            missing.push(name.clone());
            continue;
        };
        if let Some(allowed) = def.get("AllowedValues").and_then(Value::as_array) {
            if !allowed.iter().any(|a| scalar_text(a) == raw) {
                let list: Vec<String> = allowed.iter().map(scalar_text).collect();
                errors.push(LoadError::new(
                    file,
                    ptr.clone(),
                    format!(
                        "value `{raw}` is not allowed: expected one of {}",
                        list.join(", ")
                    ),
                ));
            }
        }
        let value = if ty == "CommaDelimitedList" || ty.starts_with("List<") {
            Value::Array(raw.split(',').map(|s| Value::from(s.trim())).collect())
        } else {
            Value::from(raw)
        };
        parameters.insert(name.clone(), value);
    }
    for key in overrides.keys() {
        if !declared.contains_key(key) {
            warnings.push(LoadError::new(
                file,
                "/Parameters",
                format!("--parameter-overrides sets `{key}`, which the template does not declare under Parameters"),
            ));
        }
    }

    (parameters, missing)
}

/// One warning per parameter that has neither a Default nor an override, at its declaration,
/// naming every place the template uses it (aws-behaviour §12: only what uses it fails).
pub(super) fn missing_warnings(
    file: &Path,
    root: &Map<String, Value>,
    missing: &[String],
) -> Vec<LoadError> {
    let replaced = local_asset_properties(root);
    missing
        .iter()
        .filter_map(|name| {
            let mut uses = Vec::new();
            for section in ["Resources", "Outputs", "Conditions"] {
                if let Some(v) = root.get(section) {
                    find_uses(v, name, &format!("/{section}"), &mut uses);
                }
            }
            // A parameter nothing local needs (unused, or only where a CDK asset's local folder
            // stands in, as for CDK's asset parameters) does not matter here.
            let uses: Vec<(std::path::PathBuf, String)> = uses
                .into_iter()
                .filter(|u| !replaced.iter().any(|r| u == r || u.starts_with(&format!("{r}/"))))
                .map(|p| (file.to_path_buf(), p))
                .collect();
            if uses.is_empty() {
                return None;
            }
            let used = format!(
                "used at {}; only what uses it fails (a route that needs it answers 500)",
                super::intrinsics::places(file, &uses)
            );
            Some(LoadError::new(
                file,
                pointer_join("/Parameters", name),
                format!(
                    "parameter `{name}` has no Default and no value (pass --parameter-overrides {name}=VALUE); {used}"
                ),
            ))
        })
        .collect()
}

/// Pointers of the properties a CDK asset's local copy replaces (`aws:asset:property` of a
/// resource whose metadata names an `aws:asset:path`).
fn local_asset_properties(root: &Map<String, Value>) -> Vec<String> {
    let Some(resources) = root.get("Resources").and_then(Value::as_object) else {
        return Vec::new();
    };
    resources
        .iter()
        .filter_map(|(id, r)| {
            let meta = r.get("Metadata")?;
            meta.get("aws:asset:path")?;
            let property = meta.get("aws:asset:property")?.as_str()?;
            let mut ptr = pointer_join(&pointer_join("/Resources", id), "Properties");
            for part in property.split('.') {
                ptr = pointer_join(&ptr, part);
            }
            Some(ptr)
        })
        .collect()
}

/// Pointers of every `Ref: name` and `Fn::Sub` naming `${name}` under `v`.
fn find_uses(v: &Value, name: &str, ptr: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = pointer_join(ptr, k);
                let hit = match (k.as_str(), x) {
                    ("Ref", Value::String(s)) => s == name,
                    ("Fn::Sub", Value::String(s)) => s.contains(&format!("${{{name}}}")),
                    ("Fn::Sub", Value::Array(a)) => a
                        .first()
                        .and_then(Value::as_str)
                        .is_some_and(|s| s.contains(&format!("${{{name}}}"))),
                    _ => false,
                };
                if hit {
                    out.push(p.clone());
                }
                find_uses(x, name, &p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                find_uses(x, name, &pointer_join(ptr, &i.to_string()), out);
            }
        }
        _ => {}
    }
}
