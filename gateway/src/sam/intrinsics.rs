//! CloudFormation intrinsic functions, evaluated the way SAM CLI does for local runs.
//!
//! Supported: `Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::If`,
//! `Fn::Equals`, `Fn::And`, `Fn::Or`, `Fn::Not`, `Condition`, `Fn::FindInMap`, `Fn::Base64`,
//! `Fn::GetAZs`, `Fn::ImportValue` (left unresolved, with a warning: there is no other stack
//! locally) and `Fn::Transform` with `AWS::Include` (local files only). Pseudo-parameters take SAM
//! CLI's local defaults.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::{Map, Value};

use crate::load_error::{pointer_join, unresolved_marker, LoadError, LoadErrors};

/// What a `Ref` or `Fn::GetAtt` on a resource yields locally.
#[derive(Debug, Clone)]
pub struct ResourceInfo {
    pub kind: String,
    pub ref_value: Value,
    pub arn: String,
}

pub struct Resolver {
    pub file: PathBuf,
    pub base_dir: PathBuf,
    pub parameters: HashMap<String, Value>,
    pub mappings: Value,
    pub conditions: Map<String, Value>,
    pub resources: HashMap<String, ResourceInfo>,
    /// A bare OpenAPI file (no template): a resource it names is taken to be a Lambda function
    /// of that name, the way the file's integration ARNs name functions.
    pub standalone: bool,
    /// Parameters with no Default and no override: what uses one cannot be resolved.
    pub missing_parameters: Vec<String>,
    /// Each loaded nested stack's resolved `Outputs`, by its logical id.
    pub stack_outputs: HashMap<String, Map<String, Value>>,
    /// Names that could not be resolved, with every place that used them (first use first).
    unresolved: RefCell<indexmap::IndexMap<String, Vec<(PathBuf, String)>>>,
    condition_cache: RefCell<HashMap<String, bool>>,
    evaluating: RefCell<Vec<String>>,
    errors: RefCell<LoadErrors>,
    warnings: RefCell<Vec<LoadError>>,
}

/// SAM CLI's pseudo-parameter values for local runs.
pub fn pseudo_parameter(name: &str) -> Option<Value> {
    Some(match name {
        "AWS::AccountId" => Value::from(crate::ACCOUNT_ID),
        "AWS::Region" => Value::from(crate::REGION),
        "AWS::Partition" => Value::from("aws"),
        "AWS::StackName" => Value::from("local"),
        "AWS::StackId" => Value::from(format!(
            "arn:aws:cloudformation:{}:{}:stack/local/51af3dc0-da77-11e4-872e-1234567db123",
            crate::REGION,
            crate::ACCOUNT_ID
        )),
        "AWS::URLSuffix" => Value::from("amazonaws.com"),
        "AWS::NotificationARNs" => Value::Array(Vec::new()),
        _ => return None,
    })
}

const INTRINSICS: &[&str] = &[
    "Ref",
    "Condition",
    "Fn::GetAtt",
    "Fn::Sub",
    "Fn::Join",
    "Fn::Select",
    "Fn::Split",
    "Fn::If",
    "Fn::Equals",
    "Fn::And",
    "Fn::Or",
    "Fn::Not",
    "Fn::FindInMap",
    "Fn::Base64",
    "Fn::GetAZs",
    "Fn::ImportValue",
    "Fn::Transform",
    "Fn::Cidr",
    "Fn::Length",
    "Fn::ToJsonString",
];

impl Resolver {
    pub fn new(file: &Path, parameters: HashMap<String, Value>) -> Self {
        Self {
            file: file.to_path_buf(),
            base_dir: file.parent().map(Path::to_path_buf).unwrap_or_default(),
            parameters,
            mappings: Value::Null,
            conditions: Map::new(),
            resources: HashMap::new(),
            standalone: false,
            missing_parameters: Vec::new(),
            stack_outputs: HashMap::new(),
            unresolved: RefCell::new(indexmap::IndexMap::new()),
            condition_cache: RefCell::new(HashMap::new()),
            evaluating: RefCell::new(Vec::new()),
            errors: RefCell::new(LoadErrors::default()),
            warnings: RefCell::new(Vec::new()),
        }
    }

    pub fn take_errors(&self) -> LoadErrors {
        std::mem::take(&mut *self.errors.borrow_mut())
    }

    /// The warnings so far, with one for each name that could not be resolved, naming every
    /// place that uses it.
    pub fn take_warnings(&self) -> Vec<LoadError> {
        let mut out = std::mem::take(&mut *self.warnings.borrow_mut());
        for (name, uses) in std::mem::take(&mut *self.unresolved.borrow_mut()) {
            out.push(self.unresolved_warning(&name, &uses));
        }
        out
    }

    /// One warning for a name nothing defines: at its first use, naming the others.
    fn unresolved_warning(&self, name: &str, uses: &[(PathBuf, String)]) -> LoadError {
        let (file, ptr) = uses[0].clone();
        let also = if uses.len() > 1 {
            format!("; also used at {}", places(&self.file, &uses[1..]))
        } else {
            String::new()
        };
        LoadError::new(
            &file,
            ptr,
            format!(
                "`{name}` names no parameter, pseudo-parameter or resource in the template{also}; what uses it fails (a route that needs it answers 500)"
            ),
        )
    }

    /// Remember that `name` could not be resolved at `ptr`, and stand in a marker for it.
    /// Parameters without a value are reported from their declaration instead (see
    /// `parameters::missing_warnings`).
    fn unresolved(&self, file: &Path, name: &str, ptr: &str) -> Value {
        if self.missing_parameters.iter().any(|p| p == name) {
            return Value::String(unresolved_marker(name));
        }
        let mut map = self.unresolved.borrow_mut();
        let uses = map.entry(name.to_string()).or_default();
        if !uses.iter().any(|(f, p)| f == file && p == ptr) {
            uses.push((file.to_path_buf(), ptr.to_string()));
        }
        Value::String(unresolved_marker(name))
    }

    fn error(&self, file: &Path, ptr: &str, msg: impl Into<String>) {
        self.errors
            .borrow_mut()
            .push(LoadError::new(file, ptr.to_string(), msg));
    }

    /// Resolve every intrinsic in `v`. `None` means the value is `AWS::NoValue` (its key or item
    /// is removed).
    pub fn resolve(&self, v: &Value, ptr: &str) -> Option<Value> {
        let file = self.file.clone();
        self.resolve_in(&file, v, ptr)
    }

    /// Resolve inside a document that lives in `file` (an `AWS::Include`d file, say).
    pub fn resolve_in(&self, file: &Path, v: &Value, ptr: &str) -> Option<Value> {
        match v {
            Value::Object(map) => {
                if map.len() == 1 {
                    let (k, arg) = map.iter().next()?;
                    if INTRINSICS.contains(&k.as_str()) {
                        return self.intrinsic(file, k, arg, &pointer_join(ptr, k));
                    }
                }
                let mut out = Map::new();
                for (k, val) in map {
                    if let Some(r) = self.resolve_in(file, val, &pointer_join(ptr, k)) {
                        out.insert(k.clone(), r);
                    }
                }
                Some(Value::Object(out))
            }
            Value::Array(items) => Some(Value::Array(
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, x)| {
                        self.resolve_in(file, x, &pointer_join(ptr, &i.to_string()))
                    })
                    .collect(),
            )),
            other => Some(other.clone()),
        }
    }

    fn intrinsic(&self, file: &Path, name: &str, arg: &Value, ptr: &str) -> Option<Value> {
        match name {
            "Ref" => {
                let target = self.resolve_in(file, arg, ptr)?;
                let Some(t) = target.as_str() else {
                    self.error(file, ptr, "Ref takes a logical id or parameter name");
                    return Some(Value::Null);
                };
                self.reference(file, t, ptr)
            }
            "Condition" => {
                let Some(c) = arg.as_str() else {
                    self.error(file, ptr, "Condition takes a condition name");
                    return Some(Value::Bool(false));
                };
                Some(Value::Bool(self.condition(c, ptr)))
            }
            "Fn::GetAtt" => {
                let arg = self.resolve_in(file, arg, ptr)?;
                let (res, attr) = match &arg {
                    Value::Array(a) if a.len() == 2 => (
                        a[0].as_str().unwrap_or_default().to_string(),
                        a[1].as_str().unwrap_or_default().to_string(),
                    ),
                    Value::String(s) => match s.split_once('.') {
                        Some((a, b)) => (a.to_string(), b.to_string()),
                        None => (s.clone(), String::new()),
                    },
                    _ => (String::new(), String::new()),
                };
                if res.is_empty() || attr.is_empty() {
                    self.error(
                        file,
                        ptr,
                        "Fn::GetAtt takes [LogicalId, Attribute] or \"LogicalId.Attribute\"",
                    );
                    return Some(Value::Null);
                }
                Some(self.get_att(file, &res, &attr, ptr))
            }
            "Fn::Sub" => {
                let (template, vars) = match arg {
                    Value::String(s) => (s.clone(), Map::new()),
                    Value::Array(a) if a.len() == 2 => {
                        let t = a[0].as_str().unwrap_or_default().to_string();
                        let vars = match self.resolve_in(file, &a[1], &pointer_join(ptr, "1")) {
                            Some(Value::Object(m)) => m,
                            _ => Map::new(),
                        };
                        (t, vars)
                    }
                    _ => {
                        self.error(file, ptr, "Fn::Sub takes a string or [string, {variables}]");
                        return Some(Value::Null);
                    }
                };
                Some(Value::String(self.sub(file, &template, &vars, ptr)))
            }
            "Fn::Join" => {
                let arg = self.resolve_in(file, arg, ptr)?;
                match arg.as_array().map(Vec::as_slice) {
                    Some([Value::String(delim), Value::Array(items)]) => Some(Value::String(
                        items
                            .iter()
                            .map(scalar_text)
                            .collect::<Vec<_>>()
                            .join(delim),
                    )),
                    _ => {
                        self.error(file, ptr, "Fn::Join takes [delimiter, [values]]");
                        Some(Value::Null)
                    }
                }
            }
            "Fn::Select" => {
                let arg = self.resolve_in(file, arg, ptr)?;
                match arg.as_array().map(Vec::as_slice) {
                    Some([idx, Value::Array(items)]) => {
                        let i = idx
                            .as_u64()
                            .or_else(|| idx.as_str().and_then(|s| s.parse().ok()));
                        match i.and_then(|i| items.get(i as usize)) {
                            Some(v) => Some(v.clone()),
                            None => {
                                self.error(
                                    file,
                                    ptr,
                                    format!(
                                        "Fn::Select index {idx} is out of range for {} items",
                                        items.len()
                                    ),
                                );
                                Some(Value::Null)
                            }
                        }
                    }
                    _ => {
                        self.error(file, ptr, "Fn::Select takes [index, [values]]");
                        Some(Value::Null)
                    }
                }
            }
            "Fn::Split" => {
                let arg = self.resolve_in(file, arg, ptr)?;
                match arg.as_array().map(Vec::as_slice) {
                    Some([Value::String(delim), Value::String(s)]) if !delim.is_empty() => Some(
                        Value::Array(s.split(delim.as_str()).map(Value::from).collect()),
                    ),
                    _ => {
                        self.error(file, ptr, "Fn::Split takes [delimiter, string]");
                        Some(Value::Null)
                    }
                }
            }
            "Fn::If" => match arg.as_array().map(Vec::as_slice) {
                Some([Value::String(cond), then, otherwise]) => {
                    if self.condition(cond, ptr) {
                        self.resolve_in(file, then, &pointer_join(ptr, "1"))
                    } else {
                        self.resolve_in(file, otherwise, &pointer_join(ptr, "2"))
                    }
                }
                _ => {
                    self.error(
                        file,
                        ptr,
                        "Fn::If takes [ConditionName, valueIfTrue, valueIfFalse]",
                    );
                    Some(Value::Null)
                }
            },
            "Fn::Equals" | "Fn::And" | "Fn::Or" | "Fn::Not" => {
                Some(Value::Bool(self.eval_bool(file, name, arg, ptr)))
            }
            "Fn::FindInMap" => {
                let arg = self.resolve_in(file, arg, ptr)?;
                let keys: Vec<String> = arg
                    .as_array()
                    .map(|a| a.iter().map(scalar_text).collect())
                    .unwrap_or_default();
                if keys.len() != 3 {
                    self.error(
                        file,
                        ptr,
                        "Fn::FindInMap takes [MapName, TopLevelKey, SecondLevelKey]",
                    );
                    return Some(Value::Null);
                }
                match self
                    .mappings
                    .get(&keys[0])
                    .and_then(|m| m.get(&keys[1]))
                    .and_then(|m| m.get(&keys[2]))
                {
                    Some(v) => Some(v.clone()),
                    None => Some(self.unresolved(
                        file,
                        &format!("Mappings/{}/{}/{}", keys[0], keys[1], keys[2]),
                        ptr,
                    )),
                }
            }
            "Fn::Base64" => {
                let v = self.resolve_in(file, arg, ptr)?;
                Some(Value::String(
                    base64::engine::general_purpose::STANDARD.encode(scalar_text(&v)),
                ))
            }
            "Fn::GetAZs" => Some(Value::Array(
                ["a", "b", "c"]
                    .iter()
                    .map(|z| Value::from(format!("{}{z}", crate::REGION)))
                    .collect(),
            )),
            "Fn::ImportValue" => {
                let v = self.resolve_in(file, arg, ptr)?;
                self.warnings.borrow_mut().push(LoadError::new(
                    file,
                    ptr,
                    format!(
                        "Fn::ImportValue {} cannot be resolved locally; left as the export name",
                        scalar_text(&v)
                    ),
                ));
                Some(Value::String(scalar_text(&v)))
            }
            "Fn::Transform" => self.transform(file, arg, ptr),
            "Fn::ToJsonString" => {
                let v = self.resolve_in(file, arg, ptr)?;
                Some(Value::String(v.to_string()))
            }
            "Fn::Length" => {
                let v = self.resolve_in(file, arg, ptr)?;
                Some(Value::from(v.as_array().map(Vec::len).unwrap_or(0)))
            }
            other => {
                self.error(file, ptr, format!("{other} is not supported locally"));
                Some(Value::Null)
            }
        }
    }

    fn reference(&self, file: &Path, name: &str, ptr: &str) -> Option<Value> {
        if name == "AWS::NoValue" {
            return None;
        }
        if let Some(v) = self.parameters.get(name) {
            return Some(v.clone());
        }
        if let Some(v) = pseudo_parameter(name) {
            return Some(v);
        }
        if let Some(r) = self.resources.get(name) {
            return Some(r.ref_value.clone());
        }
        if self.standalone {
            return Some(Value::from(name));
        }
        Some(self.unresolved(file, name, ptr))
    }

    fn get_att(&self, file: &Path, res: &str, attr: &str, ptr: &str) -> Value {
        let standalone_function;
        let found = match self.resources.get(res) {
            Some(r) => Some(r),
            None if self.standalone => {
                standalone_function = ResourceInfo {
                    kind: "AWS::Lambda::Function".into(),
                    ref_value: Value::from(res),
                    arn: format!(
                        "arn:aws:lambda:{}:{}:function:{res}",
                        crate::REGION,
                        crate::ACCOUNT_ID
                    ),
                };
                Some(&standalone_function)
            }
            None => None,
        };
        let Some(r) = found else {
            return self.unresolved(file, res, ptr);
        };
        if let Some(output) = attr.strip_prefix("Outputs.") {
            return match self.stack_outputs.get(res).and_then(|o| o.get(output)) {
                Some(v) => v.clone(),
                None => self.unresolved(file, &format!("{res}.{attr}"), ptr),
            };
        }
        match attr {
            "Arn" => Value::String(r.arn.clone()),
            "RootResourceId" => Value::String(crate::ids::api_id_for(&format!("{res}/root"))),
            "StreamArn" => Value::String(format!("{}/stream/2026-01-01T00:00:00.000", r.arn)),
            "Name" | "TableName" => r.ref_value.clone(),
            "ApiEndpoint" => Value::String(format!(
                "https://{}.execute-api.{}.amazonaws.com",
                scalar_text(&r.ref_value),
                crate::REGION
            )),
            _ => Value::String(format!("{res}.{attr}")),
        }
    }

    fn sub(&self, file: &Path, template: &str, vars: &Map<String, Value>, ptr: &str) -> String {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let name = after[..end].trim();
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(v) = vars.get(name) {
                out.push_str(&scalar_text(v));
            } else if let Some((res, attr)) = name.split_once('.').filter(|(r, _)| {
                self.resources.contains_key(*r)
                    || (self.standalone && *r != "AWS" && *r != "stageVariables")
            }) {
                out.push_str(&scalar_text(&self.get_att(file, res, attr, ptr)));
            } else if name.starts_with("stageVariables.") {
                // API Gateway fills these per request; keep them for the integration stage.
                out.push_str("${");
                out.push_str(name);
                out.push('}');
            } else if let Some(v) = self.reference(file, name, ptr) {
                out.push_str(&scalar_text(&v));
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// Evaluate a named condition from the template's `Conditions`.
    pub fn condition(&self, name: &str, ptr: &str) -> bool {
        if let Some(v) = self.condition_cache.borrow().get(name) {
            return *v;
        }
        if self.evaluating.borrow().iter().any(|n| n == name) {
            let file = self.file.clone();
            self.error(&file, ptr, format!("condition `{name}` refers to itself"));
            return false;
        }
        let Some(def) = self.conditions.get(name).cloned() else {
            let file = self.file.clone();
            self.error(
                &file,
                ptr,
                format!("condition `{name}` is not defined under Conditions"),
            );
            return false;
        };
        self.evaluating.borrow_mut().push(name.to_string());
        let file = self.file.clone();
        let cptr = pointer_join("/Conditions", name);
        let v = match &def {
            Value::Object(m) if m.len() == 1 => {
                let (k, arg) = m
                    .iter()
                    .next()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .unwrap_or_default();
                self.eval_bool(&file, &k, &arg, &cptr)
            }
            Value::Bool(b) => *b,
            _ => {
                self.error(
                    &file,
                    &cptr,
                    "a condition must be Fn::Equals, Fn::And, Fn::Or, Fn::Not or Condition",
                );
                false
            }
        };
        self.evaluating.borrow_mut().pop();
        self.condition_cache
            .borrow_mut()
            .insert(name.to_string(), v);
        v
    }

    fn eval_bool(&self, file: &Path, name: &str, arg: &Value, ptr: &str) -> bool {
        let items = || arg.as_array().cloned().unwrap_or_default();
        let truth = |v: &Value, p: &str| -> bool {
            match self.resolve_in(file, v, p) {
                Some(Value::Bool(b)) => b,
                Some(Value::String(s)) => s == "true",
                _ => false,
            }
        };
        match name {
            "Fn::Equals" => {
                let a = items();
                if a.len() != 2 {
                    self.error(file, ptr, "Fn::Equals takes [value1, value2]");
                    return false;
                }
                let l = self
                    .resolve_in(file, &a[0], &pointer_join(ptr, "0"))
                    .unwrap_or(Value::Null);
                let r = self
                    .resolve_in(file, &a[1], &pointer_join(ptr, "1"))
                    .unwrap_or(Value::Null);
                scalar_text(&l) == scalar_text(&r)
            }
            "Fn::And" => items()
                .iter()
                .enumerate()
                .all(|(i, v)| truth(v, &pointer_join(ptr, &i.to_string()))),
            "Fn::Or" => items()
                .iter()
                .enumerate()
                .any(|(i, v)| truth(v, &pointer_join(ptr, &i.to_string()))),
            "Fn::Not" => !items()
                .first()
                .is_some_and(|v| truth(v, &pointer_join(ptr, "0"))),
            "Condition" => arg.as_str().is_some_and(|c| self.condition(c, ptr)),
            other => {
                self.error(file, ptr, format!("{other} is not a condition function"));
                false
            }
        }
    }

    /// `Fn::Transform` with `AWS::Include`: read the local file and resolve intrinsics inside it.
    fn transform(&self, file: &Path, arg: &Value, ptr: &str) -> Option<Value> {
        let name = arg.get("Name").and_then(Value::as_str).unwrap_or_default();
        if name != "AWS::Include" {
            self.error(
                file,
                ptr,
                format!("Fn::Transform `{name}` is not supported locally: only AWS::Include"),
            );
            return Some(Value::Null);
        }
        let location = arg
            .get("Parameters")
            .and_then(|p| p.get("Location"))
            .and_then(|l| self.resolve_in(file, l, &pointer_join(ptr, "Parameters/Location")))
            .map(|v| scalar_text(&v))
            .unwrap_or_default();
        let (path, included) = match self.include(file, &location, ptr) {
            Some(x) => x,
            None => return Some(Value::Null),
        };
        self.resolve_in(&path, &included, "")
    }

    /// Read an `AWS::Include` location (relative to the including file's folder).
    pub fn include(&self, file: &Path, location: &str, ptr: &str) -> Option<(PathBuf, Value)> {
        if location.is_empty() {
            self.error(file, ptr, "AWS::Include needs Parameters.Location");
            return None;
        }
        if location.starts_with("s3://") || location.starts_with("https://") {
            self.error(
                file,
                ptr,
                format!("AWS::Include location `{location}` is remote; point Location at a local file for local runs"),
            );
            return None;
        }
        let path = file
            .parent()
            .map(|d| d.join(location))
            .unwrap_or_else(|| PathBuf::from(location));
        match crate::spec::yaml::read_document(&path) {
            Ok(v) => Some((path, v)),
            Err(e) => {
                self.errors.borrow_mut().push(LoadError::new(
                    file,
                    ptr.to_string(),
                    format!("AWS::Include of `{location}` failed: {e}"),
                ));
                None
            }
        }
    }

    /// The folder templates are read relative to.
    pub fn base_dir(&self) -> &Path {
        &self.base_dir
    }
}

/// Where values were used, for a message: `line 12 (/Resources/...)`, with the file named
/// when it is not `home`.
pub(super) fn places(home: &Path, uses: &[(PathBuf, String)]) -> String {
    uses.iter()
        .map(|(file, ptr)| {
            let at = crate::load_error::positions_of(file).and_then(|p| p.find(ptr));
            match at {
                Some((line, _)) if file == home => format!("line {line} ({ptr})"),
                Some((line, _)) => format!("{}:{line} ({ptr})", file.display()),
                None => ptr.clone(),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A value as text, for Sub/Join: strings as is, numbers and bools printed, lists comma-joined.
pub fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(a) => a.iter().map(scalar_text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load_error::unresolved_in;
    use serde_json::json;

    fn resolver() -> Resolver {
        let mut params = HashMap::new();
        params.insert("Env".to_string(), json!("dev"));
        let mut r = Resolver::new(Path::new("template.yaml"), params);
        r.resources.insert(
            "Fn".into(),
            ResourceInfo {
                kind: "AWS::Serverless::Function".into(),
                ref_value: json!("Fn"),
                arn: "arn:aws:lambda:us-east-1:123456789012:function:Fn".into(),
            },
        );
        r.mappings = json!({"Sizes": {"dev": {"Mem": 128}}});
        r.conditions = serde_json::from_value(json!({
            "IsDev": {"Fn::Equals": [{"Ref": "Env"}, "dev"]},
            "IsProd": {"Fn::Not": [{"Condition": "IsDev"}]},
            "Both": {"Fn::And": [{"Condition": "IsDev"}, {"Condition": "IsProd"}]},
        }))
        .expect("map");
        r
    }

    #[test]
    fn evaluates_intrinsics() {
        let r = resolver();
        let v = json!({
            "a": {"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations"},
            "b": {"Fn::Join": ["-", [{"Ref": "Env"}, "x", 1]]},
            "c": {"Fn::Select": [1, {"Fn::Split": [",", "p,q,r"]}]},
            "d": {"Fn::If": ["IsDev", "yes", "no"]},
            "e": {"Fn::If": ["IsProd", "yes", {"Ref": "AWS::NoValue"}]},
            "f": {"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "Mem"]},
            "g": {"Fn::Sub": ["${A}-${!Literal}-${stageVariables.host}", {"A": {"Ref": "AWS::StackName"}}]},
            "h": {"Fn::GetAtt": ["Fn", "Arn"]},
            "i": {"Fn::If": ["Both", 1, 2]},
            "j": {"Fn::Base64": "hi"},
        });
        let out = r.resolve(&v, "").expect("value");
        assert!(r.take_errors().is_empty());
        assert_eq!(
            out,
            json!({
                "a": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:Fn/invocations",
                "b": "dev-x-1",
                "c": "q",
                "d": "yes",
                "f": 128,
                "g": "local-${Literal}-${stageVariables.host}",
                "h": "arn:aws:lambda:us-east-1:123456789012:function:Fn",
                "i": 2,
                "j": "aGk=",
            })
        );
    }

    #[test]
    fn unknown_names_warn_once_each_with_every_use_and_leave_a_marker() {
        let mut r = resolver();
        r.missing_parameters = vec!["Secret".into()];
        let out = r
            .resolve(
                &json!({
                    "x": {"Ref": "Nope"},
                    "y": {"Fn::GetAtt": ["Gone", "Arn"]},
                    "z": {"Fn::Sub": "a-${Nope}"},
                    "s": {"Ref": "Secret"},
                }),
                "/Resources/A/Properties",
            )
            .expect("value");
        assert!(r.take_errors().is_empty());
        assert_eq!(
            unresolved_in(out["x"].as_str().expect("text")),
            Some("Nope")
        );
        assert_eq!(
            unresolved_in(out["z"].as_str().expect("text")),
            Some("Nope")
        );
        assert_eq!(
            unresolved_in(out["y"].as_str().expect("text")),
            Some("Gone")
        );
        assert_eq!(
            unresolved_in(out["s"].as_str().expect("text")),
            Some("Secret")
        );
        let warnings = r.take_warnings();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert_eq!(warnings[0].pointer, "/Resources/A/Properties/x/Ref");
        assert!(warnings[0].message.contains("`Nope`"));
        assert!(warnings[0]
            .message
            .contains("also used at /Resources/A/Properties/z/Fn::Sub"));
        assert!(warnings[1].message.contains("`Gone`"));
    }
}
