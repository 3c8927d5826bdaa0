//! The compiler from the API as written ([`crate::spec`]) to the API as served
//! ([`crate::model`]): every integration, authorizer, template, validator and pool is checked
//! and built once, at load, and every problem is reported with its file and JSON pointer, all of
//! them in one pass.

mod authorizers;
mod example;
mod integration;
mod mapping;
mod validation;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::ids::api_id_for;
use crate::load_error::{deserialize_at, pointer_join, LoadError, LoadErrors};
use crate::model::{Integration, ResolvedApi, Route, Router, Stage};
use crate::spec::extensions::ResponseType;
use crate::spec::OperationSpec;
use crate::spec::{ApiKind, ApiSpec};

use authorizers::{resolve_authorizers, route_auth};
use integration::{resolve_aggregate, resolve_integration};

/// REST integrations may wait 50 ms to 29 s; HTTP API ones up to 30 s (aws-behaviour §2).
pub(crate) const REST_TIMEOUT_MS: (u64, u64) = (50, 29_000);
pub(crate) const HTTP_API_TIMEOUT_MS: (u64, u64) = (50, 30_000);

/// Inputs to [`resolve`] beyond the written API.
#[derive(Debug, Clone, Default)]
pub(crate) struct ResolveOptions {
    pub name: String,
    pub stage: Option<Stage>,
    /// Function name → logical id, for Lambda integration URIs in a template. `None` for a bare
    /// OpenAPI file, where the function name in the ARN is used as is.
    pub functions: Option<HashMap<String, String>>,
    /// Stage-level throttling from the template.
    pub stage_throttle: crate::usage::StageThrottle,
    /// The stage's access-log format (SAM `AccessLogSetting(s).Format`).
    pub access_log_format: Option<String>,
    /// How the load was asked to run (`--mock-missing`, `--disable-authorizer`).
    pub load: LoadOptions,
}

/// Choices a user makes about how definitions are served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// `--mock-missing`: a method without an integration answers its documented example.
    pub mock_missing: bool,
    /// `--disable-authorizer`: every route is served as if it had no authorizer.
    pub disable_authorizers: bool,
}

/// Validate and compile a written API.
pub(crate) fn resolve(spec: &ApiSpec, opts: &ResolveOptions) -> Result<ResolvedApi, LoadErrors> {
    let file = spec.file.as_path();
    let mut errors = LoadErrors::default();
    let mut warnings = spec.warnings.clone();
    let mut router = Router::new();
    let mut routes = Vec::new();

    let authorizers = resolve_authorizers(spec, opts, &mut errors);
    let api_filters = build_policies(
        file,
        &pointer_join(&spec.pointer_base, "x-tollgate-policies"),
        &spec.root.policies,
        &mut errors,
    );
    for op in &spec.operations {
        let Some(route) = compile_route(
            spec,
            op,
            opts,
            &authorizers,
            &api_filters,
            &mut errors,
            &mut warnings,
        ) else {
            continue;
        };
        let id = routes.len();
        let inserted = if route.resource_path == "$default" {
            if spec.kind == ApiKind::Rest {
                Err("the $default route exists only on HTTP APIs".to_string())
            } else {
                router.set_default_route(id).map_err(|e| e.to_string())
            }
        } else {
            router
                .insert(op.method, &op.path, id)
                .map_err(|e| e.to_string())
        };
        match inserted {
            Ok(()) => routes.push(route),
            Err(m) => errors.push(LoadError::new(file, op.pointer.clone(), m)),
        }
    }
    if spec.root.cors.is_some() && spec.kind == ApiKind::Rest {
        warnings.push(LoadError::new(
            file,
            pointer_join(&spec.pointer_base, "x-amazon-apigateway-cors"),
            "x-amazon-apigateway-cors applies to HTTP APIs only; a REST API answers preflight with OPTIONS methods (SAM's Cors writes them)",
        ));
    }
    let resource_policy = resource_policy(spec, opts, &mut errors);
    let upstreams = upstream_pools(spec, &mut errors);
    errors.into_result(ResolvedApi {
        access_log_format: opts
            .access_log_format
            .as_deref()
            .map(|f| Arc::new(crate::context::ContextFormat::parse(f))),
        upstreams,
        api_id: api_id_for(&opts.name),
        name: opts.name.clone(),
        kind: spec.kind,
        source: spec.file.clone(),
        stage: opts
            .stage
            .clone()
            .unwrap_or_else(|| default_stage(spec.kind)),
        routes,
        router,
        gateway_responses: spec
            .root
            .gateway_responses
            .iter()
            .filter_map(|(k, v)| ResponseType::parse(k).map(|t| (t, v.clone())))
            .collect(),
        binary_media_types: spec.root.binary_media_types.clone(),
        cors: spec
            .root
            .cors
            .clone()
            .filter(|_| spec.kind == ApiKind::Http),
        resource_policy,
        stage_throttle: opts.stage_throttle.clone(),
        api_key_source: spec
            .root
            .api_key_source
            .unwrap_or(crate::spec::extensions::ApiKeySource::Header),
        warnings,
    })
}

/// The stage an API gets when nothing names one: SAM's `Prod` for REST, `$default` for HTTP.
fn default_stage(kind: ApiKind) -> Stage {
    Stage {
        name: match kind {
            ApiKind::Rest => "Prod".into(),
            ApiKind::Http => "$default".into(),
        },
        variables: Default::default(),
    }
}

/// One operation as a route: its authorization, integration, validation and filters. `None`
/// (with the reasons in `errors`) when it cannot be served.
fn compile_route(
    spec: &ApiSpec,
    op: &OperationSpec,
    opts: &ResolveOptions,
    authorizers: &HashMap<String, crate::model::RouteAuth>,
    api_filters: &[crate::filters::Attached],
    errors: &mut LoadErrors,
    warnings: &mut Vec<LoadError>,
) -> Option<Route> {
    let file = spec.file.as_path();
    let (mut auth, api_key_required) = route_auth(spec, op, authorizers, warnings);
    if opts.load.disable_authorizers && !matches!(auth, crate::model::RouteAuth::Iam) {
        auth = crate::model::RouteAuth::None;
    }
    // An aggregate is tollgate's own (here and in the deployed gateway Lambda); API Gateway
    // ignores x-tollgate-* and deploys the operation's x-amazon-apigateway-integration, so
    // an operation may carry both: the integration is what a deployed REST API answers.
    let resolved = match (&op.integration, &op.aggregate) {
        (_, Some(agg)) => resolve_aggregate(spec, op, agg, opts),
        (Some(ext), None) => {
            resolve_integration(spec, &op.integration_pointer, ext, op, opts, warnings)
        }
        (None, None) => Ok(missing_integration(spec, op, opts, warnings)),
    };
    let integration = match resolved {
        Ok(i) => i,
        Err(e) => {
            errors.extend(e);
            return None;
        }
    };
    check_method_responses(file, op, &integration, warnings);
    let is_default = op.is_default_route || op.path == "$default" || op.path == "/$default";
    let mut filters = api_filters.to_vec();
    filters.extend(build_policies(
        file,
        &pointer_join(&op.pointer, "x-tollgate-policies"),
        &op.policies,
        errors,
    ));
    let validation = match validation::validation(spec, op) {
        Ok(v) => v,
        Err(e) => {
            errors.extend(e);
            None
        }
    };
    Some(Route {
        method: op.method,
        resource_path: if is_default {
            "$default".to_string()
        } else {
            op.path.clone()
        },
        route_key: if is_default {
            "$default".to_string()
        } else {
            format!("{} {}", op.method, op.path)
        },
        operation_name: op.operation_id.clone(),
        integration,
        method_responses: op.responses.clone(),
        pointer: op.pointer.clone(),
        auth,
        api_key_required,
        identity_injection: op.identity_injection.clone(),
        filters,
        validation,
        rate_limit: op.rate_limit.clone(),
    })
}

/// A method without an integration: AWS imports it but refuses to deploy the API (aws-behaviour
/// §12). Served here so the rest of the API can be used: 500, or with `--mock-missing` the
/// operation's documented example.
fn missing_integration(
    spec: &ApiSpec,
    op: &OperationSpec,
    opts: &ResolveOptions,
    warnings: &mut Vec<LoadError>,
) -> Integration {
    let route = integration::route_name(op);
    if opts.load.mock_missing {
        let example = example::example_response(spec, op);
        warnings.push(LoadError::new(
            &spec.file,
            op.pointer.clone(),
            format!(
                "No integration defined for method (AWS refuses to deploy this): {route} answers its documented {} example (--mock-missing)",
                example.status
            ),
        ));
        return Integration::Example(Arc::new(example));
    }
    warnings.push(LoadError::new(
        &spec.file,
        op.pointer.clone(),
        format!(
            "No integration defined for method (AWS refuses to deploy this): {route} answers 500; --mock-missing answers its documented example instead"
        ),
    ));
    Integration::Unavailable(crate::model::Unavailable::NoIntegration)
}

/// `x-amazon-apigateway-policy`, with `execute-api:/` resources expanded to this API's ARN.
fn resource_policy(
    spec: &ApiSpec,
    opts: &ResolveOptions,
    errors: &mut LoadErrors,
) -> Option<crate::auth::Policy> {
    let written = spec.root.policy.as_ref()?;
    let doc = serde_json::json!({"Statement": written.statement});
    match crate::auth::Policy::parse(&doc) {
        Ok(mut policy) => {
            policy.expand_resources(&format!(
                "arn:aws:execute-api:{}:{}:{}",
                crate::REGION,
                crate::ACCOUNT_ID,
                api_id_for(&opts.name)
            ));
            Some(policy)
        }
        Err(e) => {
            errors.push(LoadError::new(
                &spec.file,
                pointer_join(&spec.pointer_base, "x-amazon-apigateway-policy"),
                e.to_string(),
            ));
            None
        }
    }
}

/// `x-tollgate-upstreams`, by lowercased name.
fn upstream_pools(
    spec: &ApiSpec,
    errors: &mut LoadErrors,
) -> HashMap<String, Arc<crate::upstream::UpstreamPool>> {
    let mut upstreams = HashMap::new();
    let base_dir = spec.file.parent().unwrap_or(Path::new("."));
    for (name, ext) in &spec.root.upstreams {
        match crate::upstream::UpstreamPool::new(name, ext, base_dir) {
            Ok(p) => {
                upstreams.insert(name.to_ascii_lowercase(), Arc::new(p));
            }
            Err(m) => errors.push(LoadError::new(
                &spec.file,
                pointer_join(
                    &pointer_join(&spec.pointer_base, "x-tollgate-upstreams"),
                    name,
                ),
                m,
            )),
        }
    }
    upstreams
}

/// Build a list of `x-tollgate-policies`, reporting each bad entry at its pointer.
fn build_policies(
    file: &Path,
    ptr: &str,
    list: &[serde_json::Value],
    errors: &mut LoadErrors,
) -> Vec<crate::filters::Attached> {
    let mut out = Vec::new();
    for (k, written) in list.iter().enumerate() {
        let at = pointer_join(ptr, &k.to_string());
        let entry = match deserialize_at::<crate::filters::PolicyEntry>(file, &at, written) {
            Ok(e) => e,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        match entry.build() {
            Ok(a) => out.push(a),
            Err(m) => errors.push(LoadError::new(file, at, m)),
        }
    }
    out
}

/// API Gateway only lets an integration response use a status, and map a header, that the
/// method response declares; importing such a definition fails on AWS. tollgate serves it but
/// says so, naming the rule.
fn check_method_responses(
    file: &std::path::Path,
    op: &crate::spec::OperationSpec,
    integration: &Integration,
    warnings: &mut Vec<LoadError>,
) {
    let mapping = match integration {
        Integration::Mock(m) => m,
        Integration::Http(h) => &h.mapping,
        Integration::Lambda(l) => match &l.mapping {
            Some(m) => m,
            None => return,
        },
        _ => return,
    };
    if op.responses.is_empty() {
        return;
    }
    for rule in &mapping.responses.rules {
        let status = rule.status.to_string();
        let Some(declared) = op.responses.get(&status) else {
            warnings.push(LoadError::new(
                file,
                op.pointer.clone(),
                format!(
                    "integration response `{}` answers {status}, which the operation's responses do not declare (AWS refuses to import this)",
                    rule.key
                ),
            ));
            continue;
        };
        for (header, _) in &rule.headers {
            if !declared
                .headers
                .iter()
                .any(|h| h.eq_ignore_ascii_case(header))
            {
                warnings.push(LoadError::new(
                    file,
                    op.pointer.clone(),
                    format!(
                        "integration response `{}` maps header {header}, which response {status} does not declare (AWS refuses to import this)",
                        rule.key
                    ),
                ));
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// An API compiled from OpenAPI text (YAML), as a load would make it.
    pub(crate) fn api(name: &str, yaml: &str) -> ResolvedApi {
        let doc = crate::spec::yaml::parse_document(Path::new("test.yaml"), yaml).expect("YAML");
        let spec = crate::spec::load_api(Path::new("test.yaml"), "", &doc, None).expect("an API");
        resolve(
            &spec,
            &ResolveOptions {
                name: name.into(),
                ..Default::default()
            },
        )
        .expect("it compiles")
    }
}
