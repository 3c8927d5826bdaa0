//! Request validators: required parameters and body models (JSON Schema draft 4).

use std::sync::Arc;

use indexmap::IndexMap;

use crate::load_error::{LoadError, LoadErrors};
use crate::model::Validation;
use crate::spec::ApiSpec;

/// The method's validator (its own, else the API's default), compiled. `None` when the method
/// validates nothing.
pub(super) fn validation(
    spec: &ApiSpec,
    op: &crate::spec::OperationSpec,
) -> Result<Option<Arc<Validation>>, LoadErrors> {
    use crate::spec::ParamLocation;
    let file = spec.file.as_path();
    let Some(name) = op
        .request_validator
        .as_ref()
        .or(spec.root.request_validator.as_ref())
    else {
        return Ok(None);
    };
    let Some(v) = spec.root.request_validators.get(name) else {
        let known: Vec<&str> = spec
            .root
            .request_validators
            .keys()
            .map(String::as_str)
            .collect();
        return Err(LoadError::new(
            file,
            op.pointer.clone(),
            format!(
                "request validator `{name}` is not defined in x-amazon-apigateway-request-validators (defined: {})",
                if known.is_empty() { "none".to_string() } else { known.join(", ") }
            ),
        )
        .into());
    };
    let mut required = Vec::new();
    if v.validate_request_parameters {
        for p in op.parameters.iter().filter(|p| p.required) {
            match p.location {
                ParamLocation::Header | ParamLocation::Path | ParamLocation::Query => {
                    required.push((p.location, p.name.clone()))
                }
                _ => {}
            }
        }
        let key = |(l, n): &(ParamLocation, String)| {
            let kind = match l {
                ParamLocation::Header => "header",
                ParamLocation::Path => "path",
                _ => "querystring",
            };
            format!("method.request.{kind}.{n}")
        };
        required.sort_by_key(key);
    }
    let mut models = IndexMap::new();
    let mut errors = LoadErrors::default();
    if v.validate_request_body {
        for (media, schema) in &op.request_models {
            // The model sits next to the document's definitions so its `$ref`s resolve.
            let mut doc = spec.models.clone();
            if let Some(o) = doc.as_object_mut() {
                o.insert("allOf".into(), serde_json::json!([schema]));
            }
            // Basic validation does not enforce minItems/maxItems (aws-behaviour §8).
            strip_unenforced(&mut doc, true);
            match jsonschema::draft4::new(&doc) {
                Ok(compiled) => {
                    models.insert(media.clone(), Arc::new(compiled));
                }
                Err(e) => errors.push(LoadError::new(
                    file,
                    op.pointer.clone(),
                    format!("the {media} request model is not a valid JSON Schema (draft 4): {e}"),
                )),
            }
        }
    }
    errors.into_result(())?;
    if required.is_empty() && models.is_empty() {
        return Ok(None);
    }
    Ok(Some(Arc::new(Validation { required, models })))
}

/// Remove the keywords API Gateway's validation ignores. `names` marks a map whose keys are
/// property or model names rather than keywords.
fn strip_unenforced(v: &mut serde_json::Value, names: bool) {
    let Some(o) = v.as_object_mut() else {
        if let Some(a) = v.as_array_mut() {
            for item in a {
                strip_unenforced(item, false);
            }
        }
        return;
    };
    if !names {
        o.remove("minItems");
        o.remove("maxItems");
    }
    for (k, child) in o.iter_mut() {
        let child_names = !names
            && matches!(
                k.as_str(),
                "properties" | "definitions" | "schemas" | "patternProperties" | "components"
            );
        strip_unenforced(child, child_names);
    }
}
