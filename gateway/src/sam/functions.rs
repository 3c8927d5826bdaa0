//! Functions: `AWS::Serverless::Function` and `AWS::Lambda::Function`, their properties resolved
//! and their code located (a folder, code written in the template, an image, or only S3).

use std::collections::HashMap;
use std::path::Path;

use serde_json::{json, Value};

use super::intrinsics::{scalar_text, Resolver};
use super::resources::{referenced_id, Resources};
use super::{FunctionCode, Layer, SamFunction};
use crate::load_error::{pointer_join, LoadError};

pub(super) const FUNCTION_TYPES: [&str; 2] = ["AWS::Serverless::Function", "AWS::Lambda::Function"];

/// The functions, their properties resolved; and function name (and logical id) → logical id.
pub(super) fn functions(
    file: &Path,
    resolver: &Resolver,
    active: &Resources,
    warnings: &mut Vec<LoadError>,
) -> (Vec<SamFunction>, HashMap<String, String>) {
    let mut functions: Vec<SamFunction> = Vec::new();
    for (id, r) in active {
        if !FUNCTION_TYPES.contains(&r.kind.as_str()) {
            continue;
        }
        let ptr = pointer_join(&pointer_join("/Resources", id), "Properties");
        let properties = resolver
            .resolve(&r.properties, &ptr)
            .unwrap_or_else(|| json!({}));
        let name = resolver
            .resources
            .get(id)
            .map(|r| scalar_text(&r.ref_value))
            .unwrap_or_else(|| id.clone());
        if let Some(other) = functions.iter().find(|f| f.name == name) {
            warnings.push(LoadError::new(
                file,
                pointer_join(&ptr, "FunctionName"),
                format!(
                    "`{name}` is also the name of {}: function names are unique per account and region, so AWS would refuse to create the second; each route still calls the function it names",
                    other.logical_id
                ),
            ));
        }
        let code = code(&r.kind, &properties);
        let unrunnable = match &code {
            FunctionCode::Image(uri) => Some(format!("its code is the container image `{uri}`, which tollgate does not run")),
            FunctionCode::S3(at) => Some(format!("its code is only in S3 (`{at}`) and no local copy is named (CodeUri, or CDK's aws:asset:path metadata)")),
            _ => None,
        };
        if let Some(why) = unrunnable {
            warnings.push(LoadError::new(
                file,
                pointer_join("/Resources", id),
                format!("{why}: it is not run locally, and a route that calls it answers 500"),
            ));
        }
        let layers = layers(resolver, active, &r.properties, &properties);
        functions.push(SamFunction {
            logical_id: id.clone(),
            name,
            properties,
            metadata: r.metadata.clone(),
            code,
            base_dir: resolver.base_dir().to_path_buf(),
            layers,
        });
    }
    // Logical ids are inserted last: where a name and an id coincide, the id wins.
    let mut ids = HashMap::new();
    for f in &functions {
        ids.insert(f.name.clone(), f.logical_id.clone());
    }
    for f in &functions {
        ids.insert(f.logical_id.clone(), f.logical_id.clone());
    }
    (functions, ids)
}

const LAYER_TYPES: [&str; 2] = ["AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion"];

/// The function's `Layers`: a `Ref` to a layer of the template is its local folder
/// (`ContentUri`, or `Content` written as a path); anything else is an ARN from an account.
fn layers(
    resolver: &Resolver,
    active: &Resources,
    written: &Value,
    resolved: &Value,
) -> Vec<Layer> {
    let written = written.get("Layers").and_then(Value::as_array);
    let resolved = resolved.get("Layers").and_then(Value::as_array);
    let Some(resolved) = resolved else {
        return Vec::new();
    };
    resolved
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let raw = written.and_then(|w| w.get(i));
            let id = referenced_id(resolver, raw, Some(v));
            let local = id.as_ref().and_then(|id| {
                let r = active
                    .get(id)
                    .filter(|r| LAYER_TYPES.contains(&r.kind.as_str()))?;
                let content = r
                    .properties
                    .get("ContentUri")
                    .or_else(|| r.properties.get("Content"))
                    .and_then(|c| resolver.resolve(c, ""))?;
                let Value::String(path) = content else {
                    return None;
                };
                let dir = resolver.base_dir().join(path);
                Some(Layer::Local {
                    logical_id: id.clone(),
                    dir: std::path::absolute(&dir).unwrap_or(dir),
                })
            });
            local.unwrap_or_else(|| Layer::Remote(scalar_text(v)))
        })
        .collect()
}

/// Where a function's code is. SAM: `InlineCode`, `ImageUri`, else `CodeUri` (a local path, or
/// an S3 location), else the template's folder. CloudFormation: `Code.ZipFile`, `Code.ImageUri`,
/// `Code` as a local path (what `aws cloudformation package` reads, and what a CDK asset becomes),
/// else `Code.S3Bucket`/`S3Key`.
fn code(kind: &str, p: &Value) -> FunctionCode {
    if kind == "AWS::Lambda::Function" {
        return match p.get("Code") {
            Some(Value::String(path)) => FunctionCode::Path(path.clone()),
            Some(code) => {
                if let Some(source) = code.get("ZipFile") {
                    FunctionCode::Inline(scalar_text(source))
                } else if let Some(image) = code.get("ImageUri") {
                    FunctionCode::Image(scalar_text(image))
                } else {
                    FunctionCode::S3(format!(
                        "s3://{}/{}",
                        code.get("S3Bucket").map(scalar_text).unwrap_or_default(),
                        code.get("S3Key").map(scalar_text).unwrap_or_default()
                    ))
                }
            }
            None => FunctionCode::S3(String::new()),
        };
    }
    if let Some(source) = p.get("InlineCode") {
        return FunctionCode::Inline(scalar_text(source));
    }
    if p.get("PackageType").map(scalar_text).as_deref() == Some("Image") {
        return FunctionCode::Image(p.get("ImageUri").map(scalar_text).unwrap_or_default());
    }
    match p.get("CodeUri") {
        Some(Value::String(s)) if s.starts_with("s3://") => FunctionCode::S3(s.clone()),
        Some(Value::String(s)) => FunctionCode::Path(s.clone()),
        Some(Value::Object(o)) => FunctionCode::S3(format!(
            "s3://{}/{}",
            o.get("Bucket").map(scalar_text).unwrap_or_default(),
            o.get("Key").map(scalar_text).unwrap_or_default()
        )),
        _ => FunctionCode::Path(".".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_is_found_where_each_resource_type_puts_it() {
        let cfn = "AWS::Lambda::Function";
        let sam = "AWS::Serverless::Function";
        assert_eq!(
            code(
                cfn,
                &json!({"Code": {"ZipFile": "def handler(e, c): pass"}})
            ),
            FunctionCode::Inline("def handler(e, c): pass".into())
        );
        assert_eq!(
            code(cfn, &json!({"Code": "asset.abc"})),
            FunctionCode::Path("asset.abc".into())
        );
        assert_eq!(
            code(cfn, &json!({"Code": {"S3Bucket": "b", "S3Key": "k.zip"}})),
            FunctionCode::S3("s3://b/k.zip".into())
        );
        assert_eq!(
            code(sam, &json!({"InlineCode": "x", "CodeUri": "src"})),
            FunctionCode::Inline("x".into())
        );
        assert_eq!(
            code(sam, &json!({"CodeUri": "src/"})),
            FunctionCode::Path("src/".into())
        );
        assert_eq!(code(sam, &json!({})), FunctionCode::Path(".".into()));
        assert_eq!(
            code(sam, &json!({"CodeUri": {"Bucket": "b", "Key": "k"}})),
            FunctionCode::S3("s3://b/k".into())
        );
    }
}
