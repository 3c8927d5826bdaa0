//! SAM templates: the APIs and functions a `template.yaml` declares, with `Globals` merged,
//! `Parameters` (and `--parameter-overrides`) applied, conditions evaluated and intrinsic functions
//! resolved as SAM CLI does locally.
//!
//! APIs come from `AWS::Serverless::Api` and `AWS::Serverless::HttpApi` (inline `DefinitionBody`,
//! `Fn::Transform: AWS::Include`, or a local `DefinitionUri`), and from function `Events` of type
//! `Api` / `HttpApi`, which SAM turns into the implicit `ServerlessRestApi` (stage `Prod`) and
//! `ServerlessHttpApi` (stage `$default`) or adds to the API their `RestApiId` / `ApiId` names.
//!
//! [`load_template`] reads the template in SAM CLI's order; each step lives in its own module.

mod apis;
mod auth;
mod cfn_http;
mod cfn_rest;
mod cors;
mod diagnostics;
mod events;
mod functions;
mod globals;
pub mod intrinsics;
mod nested;
mod parameters;
mod resources;
mod usage;

pub use diagnostics::not_runnable;
pub use parameters::parse_parameter_overrides;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::load_error::{LoadError, LoadErrors};
use crate::spec::{ApiKind, Stage};
use intrinsics::Resolver;

pub const IMPLICIT_REST_API: &str = "ServerlessRestApi";
pub const IMPLICIT_HTTP_API: &str = "ServerlessHttpApi";

/// One API found in a template, its definition resolved and ready for [`crate::spec::load_api`].
#[derive(Debug, Clone)]
pub struct SamApi {
    pub logical_id: String,
    pub kind: ApiKind,
    pub stage: Stage,
    /// The file the definition lives in (the template, or an included file).
    pub file: PathBuf,
    pub pointer_base: String,
    pub definition: Value,
    /// `Auth.DefaultAuthorizer`: applied to generated and written operations that name none.
    pub default_authorizer: Option<String>,
    /// `Auth.ApiKeyRequired`: every method needs an API key.
    pub api_key_required: bool,
    /// `Auth.UsagePlan`, as written (resolved).
    pub usage_plan: Option<Value>,
    /// `MethodSettings` (REST) or `DefaultRouteSettings`/`RouteSettings` (HTTP API) throttling.
    pub stage_throttle: crate::usage::StageThrottle,
    /// REST `Cors`, applied once every event's path is in the definition.
    pub cors: Option<Value>,
    /// `AccessLogSetting.Format` (REST) / `AccessLogSettings.Format` (HTTP API).
    pub access_log_format: Option<String>,
    /// `Auth.AddDefaultAuthorizerToCorsPreflight` (default true).
    pub cors_authorizer: bool,
    /// For a definition tollgate wrote from resources: pointer in the definition → the place in
    /// the template it was written from, so diagnostics name the user's own resource.
    pub origins: Vec<(String, String)>,
}

impl SamApi {
    /// Point `e` at where the user wrote what it is about, when it is about a generated part.
    pub fn relocate(&self, e: &mut LoadError) {
        if e.file != self.file {
            return;
        }
        let best = self
            .origins
            .iter()
            .filter(|(generated, _)| {
                e.pointer == *generated || e.pointer.starts_with(&format!("{generated}/"))
            })
            .max_by_key(|(generated, _)| generated.len());
        if let Some((_, written)) = best {
            e.pointer = written.clone();
        }
    }
}

/// One function, its properties resolved.
#[derive(Debug, Clone)]
pub struct SamFunction {
    pub logical_id: String,
    pub name: String,
    pub properties: Value,
    pub metadata: Value,
    pub code: FunctionCode,
    /// The folder of the template that declares it: relative code paths start here.
    pub base_dir: PathBuf,
    /// Its `Layers`, in order.
    pub layers: Vec<Layer>,
}

/// A layer a function names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layer {
    /// An `AWS::Serverless::LayerVersion` (`ContentUri`) or `AWS::Lambda::LayerVersion`
    /// (`Content` as a local path, or CDK's asset copy) of the template: its folder, absolute.
    Local { logical_id: String, dir: PathBuf },
    /// A layer version ARN from an account, which a local run cannot fetch.
    Remote(String),
}

/// Where a function's code is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FunctionCode {
    /// A local folder or file, as written (relative to the template's folder): `CodeUri`,
    /// `Code` as a path, or a CDK asset.
    Path(String),
    /// Source written in the template (`InlineCode`, `Code.ZipFile`).
    Inline(String),
    /// A container image.
    Image(String),
    /// Code only in S3, with no local copy named.
    S3(String),
}

#[derive(Debug, Clone)]
pub struct SamTemplate {
    pub file: PathBuf,
    pub apis: Vec<SamApi>,
    pub functions: Vec<SamFunction>,
    /// Function name (and logical id) → logical id.
    pub function_ids: HashMap<String, String>,
    /// `AWS::ApiGateway::ApiKey`, `UsagePlan` and `UsagePlanKey` resources.
    pub usage: crate::usage::UsageConfig,
    pub warnings: Vec<LoadError>,
    /// A nested stack's `Outputs`, resolved (empty for the root template).
    pub outputs: serde_json::Map<String, Value>,
    /// Every stack nested in this one, at any depth, logical ids prefixed with their path.
    pub nested: Vec<SamTemplate>,
}

impl SamTemplate {
    /// Name everything this stack declares as the parent stack `parent` sees it: `Parent/Id`.
    fn prefix(&mut self, parent: &str) {
        let p = |id: &str| format!("{parent}/{id}");
        for api in &mut self.apis {
            api.logical_id = p(&api.logical_id);
        }
        for f in &mut self.functions {
            f.logical_id = p(&f.logical_id);
        }
        for id in self.function_ids.values_mut() {
            *id = p(id);
        }
        for plan in &mut self.usage.plans {
            plan.id = p(&plan.id);
            for stage in &mut plan.api_stages {
                stage.api = p(&stage.api);
            }
        }
        for key in &mut self.usage.keys {
            key.id = p(&key.id);
            key.plans.iter_mut().for_each(|plan| *plan = p(plan));
        }
    }
}

/// Load a SAM template, and the stacks nested in it.
pub fn load_template(
    file: &Path,
    overrides: &HashMap<String, String>,
) -> Result<SamTemplate, LoadErrors> {
    load_nested(file, overrides, 0)
}

/// Load a template `depth` stacks below the root; `overrides` are the parameters passed in.
fn load_nested(
    file: &Path,
    overrides: &HashMap<String, String>,
    depth: usize,
) -> Result<SamTemplate, LoadErrors> {
    let doc = crate::spec::yaml::read_document(file)?;
    let mut errors = LoadErrors::default();
    let mut warnings = Vec::new();
    let Some(root) = doc.as_object() else {
        return Err(LoadError::new(file, "", "a template must be a mapping").into());
    };
    let Some(resources) = root.get("Resources").and_then(Value::as_object) else {
        return Err(LoadError::new(
            file,
            "",
            "no Resources section: is this a SAM template? (serve a bare OpenAPI file with --openapi FILE)",
        )
        .into());
    };

    let (parameters, missing) =
        parameters::resolve(file, root, overrides, &mut errors, &mut warnings);
    warnings.extend(parameters::missing_warnings(file, root, &missing));
    let mut resolver = Resolver::new(file, parameters);
    resolver.missing_parameters = missing;
    resolver.mappings = root.get("Mappings").cloned().unwrap_or(Value::Null);
    resolver.conditions = root
        .get("Conditions")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();

    let globals = globals::read(file, root, &mut errors);
    let mut active = resources::active(
        file,
        resources,
        &resolver,
        &globals,
        &mut errors,
        &mut warnings,
    );
    resources::add_implicit_apis(&mut active, &globals);
    resolver.resources = resources::references(&resolver, &active);
    let nested = nested::load_children(
        file,
        &mut resolver,
        &active,
        depth,
        &mut errors,
        &mut warnings,
    );
    let (functions, function_ids) = functions::functions(file, &resolver, &active, &mut warnings);
    warnings.extend(diagnostics::unknown_types(file, resources));
    for f in &functions {
        warnings.extend(diagnostics::function_warnings(file, f));
    }

    let mut apis: Vec<SamApi> = Vec::new();
    for (id, r) in &active {
        let kind = match r.kind.as_str() {
            "AWS::Serverless::Api" => ApiKind::Rest,
            "AWS::Serverless::HttpApi" => ApiKind::Http,
            "AWS::ApiGateway::RestApi" => {
                apis.push(cfn_rest::rest_api(
                    file,
                    &resolver,
                    &active,
                    id,
                    &mut warnings,
                ));
                continue;
            }
            "AWS::ApiGatewayV2::Api" => {
                apis.extend(cfn_http::http_api(
                    file,
                    &resolver,
                    &active,
                    id,
                    &mut warnings,
                ));
                continue;
            }
            _ => continue,
        };
        match apis::api_from_resource(&resolver, file, id, kind, &r.properties, &mut warnings) {
            Ok(api) => apis.push(api),
            Err(e) => errors.extend(e),
        }
    }
    events::add_function_events(file, &resolver, &active, &functions, &mut apis, &mut errors);
    for api in apis.iter_mut() {
        if let Some(cors) = api.cors.clone() {
            let authorizer = api
                .cors_authorizer
                .then(|| api.default_authorizer.clone())
                .flatten();
            cors::add_rest_cors(&mut api.definition, &cors, authorizer.as_deref());
        }
    }

    let mut usage = usage::usage_resources(&resolver, &active);
    usage.merge(usage::sam_usage_plans(&apis));
    let outputs = if depth > 0 {
        nested::outputs(&resolver, root)
    } else {
        serde_json::Map::new()
    };
    errors.extend(resolver.take_errors());
    warnings.extend(resolver.take_warnings());
    errors.into_result(SamTemplate {
        file: file.to_path_buf(),
        apis,
        functions,
        function_ids,
        usage,
        warnings,
        outputs,
        nested,
    })
}

#[cfg(test)]
mod tests {
    use super::globals::merge_globals;
    use super::*;
    use serde_json::json;

    #[test]
    fn overrides_both_forms() {
        let m =
            parse_parameter_overrides("Env=prod Name='two words' ParameterKey=A,ParameterValue=b")
                .expect("ok");
        assert_eq!(m["Env"], "prod");
        assert_eq!(m["Name"], "two words");
        assert_eq!(m["A"], "b");
        assert!(parse_parameter_overrides("novalue").is_err());
    }

    #[test]
    fn globals_merge_rules() {
        let g = json!({"Timeout": 3, "Environment": {"Variables": {"A": "1", "B": "2"}}, "Layers": ["l1"]});
        let l = json!({"Timeout": 10, "Environment": {"Variables": {"B": "x"}}, "Layers": ["l2"], "CodeUri": {"Ref": "P"}});
        assert_eq!(
            merge_globals(&g, &l),
            json!({"Timeout": 10, "Environment": {"Variables": {"A": "1", "B": "x"}}, "Layers": ["l1", "l2"], "CodeUri": {"Ref": "P"}})
        );
    }
}
