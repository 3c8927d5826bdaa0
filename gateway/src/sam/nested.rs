//! Nested stacks: `AWS::Serverless::Application` (`Location`) and `AWS::CloudFormation::Stack`
//! (`TemplateURL`, or the local copy CDK's asset metadata names) whose template is a local file.
//! Each child is loaded as a template of its own with the `Parameters` its parent passes; its
//! `Outputs` answer the parent's `Fn::GetAtt Child.Outputs.X`, and its APIs and functions are
//! served with the rest, their logical ids prefixed `Child/` as SAM CLI names them (§12).

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::intrinsics::{scalar_text, Resolver};
use super::resources::Resources;
use super::SamTemplate;
use crate::load_error::{pointer_join, LoadError, LoadErrors};

pub(super) const STACK_TYPES: [&str; 2] =
    ["AWS::Serverless::Application", "AWS::CloudFormation::Stack"];

/// How deep stacks may nest: CloudFormation has no small limit, but a template that includes
/// itself must stop somewhere.
const MAX_DEPTH: usize = 8;

/// Load every nested stack of `active` with a local template, in template order, recording each
/// child's outputs in `resolver` so later references (the parent's own, and later siblings'
/// parameters) resolve. Returns the children, their logical ids already prefixed.
pub(super) fn load_children(
    file: &Path,
    resolver: &mut Resolver,
    active: &Resources,
    depth: usize,
    errors: &mut LoadErrors,
    warnings: &mut Vec<LoadError>,
) -> Vec<SamTemplate> {
    let mut children = Vec::new();
    for (id, r) in active {
        if !STACK_TYPES.contains(&r.kind.as_str()) {
            continue;
        }
        let ptr = pointer_join(&pointer_join("/Resources", id), "Properties");
        let key = if r.kind == STACK_TYPES[0] {
            "Location"
        } else {
            "TemplateURL"
        };
        let loc_ptr = pointer_join(&ptr, key);
        let location = r
            .properties
            .get(key)
            .and_then(|v| resolver.resolve(v, &loc_ptr));
        let path = match location {
            Some(Value::String(p))
                if !p.starts_with("https://")
                    && !p.starts_with("http://")
                    && !p.starts_with("s3://") =>
            {
                resolver.base_dir().join(p)
            }
            Some(Value::Object(app)) if app.contains_key("ApplicationId") => {
                warnings.push(LoadError::new(
                    file,
                    loc_ptr,
                    "names an application in the Serverless Application Repository, which a local run cannot fetch: its APIs and functions are not served",
                ));
                continue;
            }
            _ => {
                warnings.push(LoadError::new(
                    file,
                    loc_ptr,
                    "names no local template (an S3 or HTTPS URL): the nested stack's APIs and functions are not served; point it at a local file",
                ));
                continue;
            }
        };
        if depth + 1 > MAX_DEPTH {
            errors.push(LoadError::new(
                file,
                loc_ptr,
                format!("stacks nest more than {MAX_DEPTH} deep: does a template include itself?"),
            ));
            continue;
        }
        let parameters = passed_parameters(resolver, &r.properties, &ptr);
        match super::load_nested(&path, &parameters, depth + 1) {
            Ok(mut child) => {
                resolver
                    .stack_outputs
                    .insert(id.clone(), child.outputs.clone());
                child.prefix(id);
                for nested in child.nested.iter_mut() {
                    nested.prefix(id);
                }
                let grandchildren = std::mem::take(&mut child.nested);
                children.push(child);
                children.extend(grandchildren);
            }
            Err(e) => errors.extend(e),
        }
    }
    children
}

/// The child's parameter values: `Parameters`, each resolved in the parent; a list is passed as
/// CloudFormation passes one, comma-separated.
fn passed_parameters(resolver: &Resolver, props: &Value, ptr: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let Some(Value::Object(params)) = props.get("Parameters") else {
        return out;
    };
    let ptr = pointer_join(ptr, "Parameters");
    for (name, v) in params {
        match resolver.resolve(v, &pointer_join(&ptr, name)) {
            Some(Value::Array(items)) => {
                let list: Vec<String> = items.iter().map(scalar_text).collect();
                out.insert(name.clone(), list.join(","));
            }
            Some(v) => {
                out.insert(name.clone(), scalar_text(&v));
            }
            None => {}
        }
    }
    out
}

/// A template's `Outputs`, each `Value` resolved.
pub(super) fn outputs(resolver: &Resolver, root: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    let Some(Value::Object(list)) = root.get("Outputs") else {
        return out;
    };
    for (name, o) in list {
        let ptr = pointer_join(&pointer_join("/Outputs", name), "Value");
        if let Some(v) = o.get("Value").and_then(|v| resolver.resolve(v, &ptr)) {
            out.insert(name.clone(), v);
        }
    }
    out
}
