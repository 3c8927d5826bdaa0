//! Loading: from files on disk to the APIs a gateway serves, in two steps (the API as written,
//! then the resolved API), collecting every error along the way.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;

pub use crate::compile::LoadOptions;
use crate::compile::{resolve, ResolveOptions};
use crate::load_error::{LoadError, LoadErrors};
use crate::model::ResolvedApi;
use crate::sam::{self, SamFunction};
use crate::spec::{load_api_partial, ApiKind, Stage};

/// Where APIs come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A SAM template.
    Template {
        path: PathBuf,
        parameter_overrides: HashMap<String, String>,
    },
    /// Bare OpenAPI / Swagger files, served without SAM.
    OpenApi {
        paths: Vec<PathBuf>,
        kind: Option<ApiKind>,
        stage_name: Option<String>,
        stage_variables: IndexMap<String, String>,
    },
}

/// Everything a load produced.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub apis: Vec<ResolvedApi>,
    pub functions: Vec<SamFunction>,
    /// API keys and usage plans the template declares.
    pub usage: crate::usage::UsageConfig,
    pub warnings: Vec<LoadError>,
}

/// Load every API of `source` with the default options.
pub fn load(source: &Source) -> Result<Loaded, LoadErrors> {
    load_with(source, LoadOptions::default())
}

/// Load every API of `source`. Errors and warnings name their file, JSON pointer, line and
/// column.
pub fn load_with(source: &Source, options: LoadOptions) -> Result<Loaded, LoadErrors> {
    crate::spec::yaml::take_read_warnings();
    let result = load_source(source, options);
    let read_warnings = crate::spec::yaml::take_read_warnings();
    match result {
        Ok(mut loaded) => {
            let mut warnings = read_warnings;
            warnings.append(&mut loaded.warnings);
            warnings.iter_mut().for_each(LoadError::locate);
            loaded.warnings = warnings;
            Ok(loaded)
        }
        Err(mut errors) => {
            errors.locate();
            Err(errors)
        }
    }
}

fn load_source(source: &Source, options: LoadOptions) -> Result<Loaded, LoadErrors> {
    match source {
        Source::Template {
            path,
            parameter_overrides,
        } => load_template(path, parameter_overrides, options),
        Source::OpenApi {
            paths,
            kind,
            stage_name,
            stage_variables,
        } => load_openapi(
            paths,
            *kind,
            stage_name.as_deref(),
            stage_variables,
            options,
        ),
    }
}

fn load_template(
    path: &Path,
    overrides: &HashMap<String, String>,
    options: LoadOptions,
) -> Result<Loaded, LoadErrors> {
    let mut template = sam::load_template(path, overrides)?;
    let nested = std::mem::take(&mut template.nested);
    let stacks: Vec<&sam::SamTemplate> = std::iter::once(&template).chain(&nested).collect();
    let mut errors = LoadErrors::default();
    if stacks.iter().all(|t| t.apis.is_empty()) {
        errors.push(LoadError::new(
            path,
            "/Resources",
            "the template declares no API: add an AWS::Serverless::Api or HttpApi, or a function event of type Api or HttpApi (`tollgate start-lambda` serves functions alone)",
        ));
    }
    let mut apis = Vec::new();
    let mut warnings = Vec::new();
    let mut functions = Vec::new();
    let mut usage = crate::usage::UsageConfig::default();
    // A stack may call another stack's function by the name an output passed it: each stack's
    // own names first, then every other stack's.
    let mut every_function: HashMap<String, String> = HashMap::new();
    for stack in &stacks {
        for (name, id) in &stack.function_ids {
            every_function
                .entry(name.clone())
                .or_insert_with(|| id.clone());
        }
    }
    for stack in stacks {
        let mut function_ids = every_function.clone();
        function_ids.extend(stack.function_ids.clone());
        warnings.extend(stack.warnings.iter().cloned());
        functions.extend(stack.functions.iter().cloned());
        usage.merge(stack.usage.clone());
        for api in &stack.apis {
            let (errors_before, warnings_before) = (errors.len(), warnings.len());
            let (spec, parse_errors) = load_api_partial(
                &api.file,
                &api.pointer_base,
                std::borrow::Cow::Borrowed(&api.definition),
                Some(api.kind),
            );
            errors.extend(parse_errors);
            if let Some(spec) = spec {
                let opts = ResolveOptions {
                    name: api.logical_id.clone(),
                    stage: Some(api.stage.clone()),
                    functions: Some(function_ids.clone()),
                    stage_throttle: api.stage_throttle.clone(),
                    access_log_format: api.access_log_format.clone(),
                    load: options,
                };
                resolve_into(&spec, &opts, &mut apis, &mut warnings, &mut errors);
            }
            errors.0[errors_before..]
                .iter_mut()
                .chain(warnings[warnings_before..].iter_mut())
                .for_each(|e| api.relocate(e));
        }
    }
    errors.into_result(Loaded {
        apis,
        functions,
        usage,
        warnings,
    })
}

fn load_openapi(
    paths: &[PathBuf],
    kind: Option<ApiKind>,
    stage_name: Option<&str>,
    stage_variables: &IndexMap<String, String>,
    options: LoadOptions,
) -> Result<Loaded, LoadErrors> {
    let mut errors = LoadErrors::default();
    let mut apis: Vec<ResolvedApi> = Vec::new();
    let mut warnings = Vec::new();
    for path in paths {
        let doc = match crate::spec::yaml::read_document(path) {
            Ok(d) => d,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        // CloudFormation functions (`Fn::Sub` of a function's ARN, as a file written for
        // AWS::Include has) resolve here too, each named resource taken as a function.
        let doc = if uses_functions(&doc) {
            let mut resolver = sam::intrinsics::Resolver::new(path, HashMap::new());
            resolver.standalone = true;
            let out = resolver
                .resolve(&doc, "")
                .unwrap_or(serde_json::Value::Null);
            errors.extend(resolver.take_errors());
            warnings.extend(resolver.take_warnings());
            out
        } else {
            doc
        };
        let (spec, parse_errors) = load_api_partial(path, "", std::borrow::Cow::Owned(doc), kind);
        errors.extend(parse_errors);
        let Some(spec) = spec else { continue };
        let mut name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "api".into());
        if apis.iter().any(|a| a.name == name) {
            errors.push(LoadError::new(
                path,
                "",
                format!("another --openapi file is also named `{name}`; API names come from file names and must differ"),
            ));
            name.push('2');
        }
        let stage = Stage {
            name: stage_name
                .map(str::to_string)
                .unwrap_or_else(|| match spec.kind {
                    ApiKind::Rest => "Prod".into(),
                    ApiKind::Http => "$default".into(),
                }),
            variables: std::sync::Arc::new(stage_variables.clone()),
        };
        let opts = ResolveOptions {
            name,
            stage: Some(stage),
            functions: None,
            stage_throttle: Default::default(),
            access_log_format: None,
            load: options,
        };
        resolve_into(&spec, &opts, &mut apis, &mut warnings, &mut errors);
    }
    errors.into_result(Loaded {
        apis,
        functions: Vec::new(),
        usage: Default::default(),
        warnings,
    })
}

/// Resolve one API, adding it (and its warnings) or its errors to what the load collects.
fn resolve_into(
    spec: &crate::spec::ApiSpec,
    opts: &ResolveOptions,
    apis: &mut Vec<ResolvedApi>,
    warnings: &mut Vec<LoadError>,
    errors: &mut LoadErrors,
) {
    match resolve(spec, opts) {
        Ok(r) => {
            warnings.extend(r.warnings.iter().cloned());
            apis.push(r);
        }
        Err(e) => errors.extend(e),
    }
}

/// Whether a document uses any `Fn::*` function (a plain OpenAPI file does not).
fn uses_functions(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Object(m) => m
            .iter()
            .any(|(k, x)| k.starts_with("Fn::") || uses_functions(x)),
        serde_json::Value::Array(a) => a.iter().any(uses_functions),
        _ => false,
    }
}
