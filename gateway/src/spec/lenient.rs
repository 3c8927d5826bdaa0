//! What API Gateway's import accepts although the OpenAPI schema does not (aws-behaviour §12):
//! a document without `info`, an operation without `responses`, a `payloadFormatVersion`
//! written as a number. Each is filled in here, before the format readers see the document,
//! with a warning at the place it was written.

use std::path::Path;

use serde_json::{Map, Value};

use crate::load_error::{pointer_join, LoadError};

const OPERATION_KEYS: [&str; 8] = [
    "get",
    "put",
    "post",
    "delete",
    "options",
    "head",
    "patch",
    "x-amazon-apigateway-any-method",
];

/// The document with what API Gateway's import tolerates filled in, and a warning for each.
pub(crate) fn normalise(
    file: &Path,
    base: &str,
    doc: std::borrow::Cow<'_, Value>,
) -> (Value, Vec<LoadError>) {
    let mut doc = doc.into_owned();
    let mut warnings = Vec::new();
    let Some(root) = doc.as_object_mut() else {
        return (doc, warnings);
    };
    let openapi3 = root.contains_key("openapi");
    if openapi3 {
        fill_info(file, base, root, &mut warnings);
    }
    let paths_ptr = pointer_join(base, "paths");
    if let Some(paths) = root.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let item_ptr = pointer_join(&paths_ptr, path);
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for key in OPERATION_KEYS {
                let Some(op) = item.get_mut(key).and_then(Value::as_object_mut) else {
                    continue;
                };
                let op_ptr = pointer_join(&item_ptr, key);
                if openapi3 && !op.contains_key("responses") {
                    // AWS's own proxy examples have none; openapiv3 requires the field.
                    op.insert("responses".into(), Value::Object(Map::new()));
                    warnings.push(LoadError::new(
                        file,
                        op_ptr.clone(),
                        "no `responses`: OpenAPI requires them; API Gateway imports the method without method responses",
                    ));
                }
                if let Some(integration) = op
                    .get_mut("x-amazon-apigateway-integration")
                    .and_then(Value::as_object_mut)
                {
                    let ptr = pointer_join(&op_ptr, "x-amazon-apigateway-integration");
                    version_as_text(
                        file,
                        &ptr,
                        integration,
                        "payloadFormatVersion",
                        &mut warnings,
                    );
                }
            }
        }
    }
    let integrations = "/components/x-amazon-apigateway-integrations";
    if let Some(shared) = doc.pointer_mut(integrations).and_then(Value::as_object_mut) {
        for (name, integration) in shared.iter_mut() {
            if let Some(integration) = integration.as_object_mut() {
                let ptr = pointer_join(&format!("{base}{integrations}"), name);
                version_as_text(
                    file,
                    &ptr,
                    integration,
                    "payloadFormatVersion",
                    &mut warnings,
                );
            }
        }
    }
    (doc, warnings)
}

/// `info`, `info.title` and `info.version` are required by OpenAPI; API Gateway names the API
/// from the import instead when they are missing.
fn fill_info(
    file: &Path,
    base: &str,
    root: &mut Map<String, Value>,
    warnings: &mut Vec<LoadError>,
) {
    let title = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "api".into());
    let info = root
        .entry("info")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(info) = info.as_object_mut() else {
        return;
    };
    let mut missing = Vec::new();
    if !info.contains_key("title") {
        info.insert("title".into(), Value::from(title));
        missing.push("title");
    }
    if !info.contains_key("version") {
        info.insert("version".into(), Value::from("1.0"));
        missing.push("version");
    }
    if !missing.is_empty() {
        warnings.push(LoadError::new(
            file,
            base.to_string(),
            format!(
                "no info.{}: OpenAPI requires it; API Gateway imports the API without it",
                missing.join(" or info.")
            ),
        ));
    }
}

/// `payloadFormatVersion: 1.0` in YAML is a number; API Gateway reads it as the text `1.0`.
fn version_as_text(
    file: &Path,
    ptr: &str,
    integration: &mut Map<String, Value>,
    key: &str,
    warnings: &mut Vec<LoadError>,
) {
    let Some(Value::Number(n)) = integration.get(key) else {
        return;
    };
    let text = match n.as_f64() {
        Some(f) if f.fract() == 0.0 => format!("{f:.1}"),
        _ => n.to_string(),
    };
    warnings.push(LoadError::new(
        file,
        pointer_join(ptr, key),
        format!("written as a number; read as the text \"{text}\" (quote it: '{text}')"),
    ));
    integration.insert(key.into(), Value::from(text));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fills_what_the_import_tolerates_and_says_where() {
        let doc = json!({
            "openapi": "3.0.1",
            "paths": {"/a": {"get": {"x-amazon-apigateway-integration": {"payloadFormatVersion": 2.0}}}}
        });
        let (out, warnings) =
            normalise(Path::new("api.yaml"), "", std::borrow::Cow::Borrowed(&doc));
        assert_eq!(out["info"], json!({"title": "api", "version": "1.0"}));
        assert_eq!(out["paths"]["/a"]["get"]["responses"], json!({}));
        assert_eq!(
            out["paths"]["/a"]["get"]["x-amazon-apigateway-integration"]["payloadFormatVersion"],
            "2.0"
        );
        let pointers: Vec<&str> = warnings.iter().map(|w| w.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "",
                "/paths/~1a/get",
                "/paths/~1a/get/x-amazon-apigateway-integration/payloadFormatVersion"
            ]
        );
    }

    #[test]
    fn a_complete_document_is_left_alone() {
        let doc = json!({
            "openapi": "3.0.1", "info": {"title": "t", "version": "1"},
            "paths": {"/a": {"get": {"responses": {}}}}
        });
        let (out, warnings) =
            normalise(Path::new("api.yaml"), "", std::borrow::Cow::Borrowed(&doc));
        assert_eq!(out, doc);
        assert!(warnings.is_empty());
    }
}
