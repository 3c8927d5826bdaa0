//! The resolved API: what a written definition becomes once it is validated and compiled.
//!
//! Built once per load from an [`ApiSpec`]; every problem found is collected and reported with the
//! file and JSON pointer. Requests only ever see a [`ResolvedApi`], never the written form.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;
use regex::Regex;

use crate::load_error::{pointer_join, LoadError, LoadErrors};
use crate::router::Router;
use crate::spec::extensions::{
    ContentHandling, GatewayResponseExt, IntegrationExt, IntegrationResponseExt, IntegrationType,
    PassthroughBehavior, ResponseType,
};
use crate::spec::{ApiKind, ApiSpec, MethodResponseSpec, RouteMethod};
use crate::vtl::Template;

/// REST integrations may wait 50 ms to 29 s; HTTP API ones up to 30 s (facts §2).
pub const REST_TIMEOUT_MS: (u64, u64) = (50, 29_000);
pub const HTTP_API_TIMEOUT_MS: (u64, u64) = (50, 30_000);

/// A deployed stage.
#[derive(Debug, Clone)]
pub struct Stage {
    pub name: String,
    pub variables: IndexMap<String, String>,
}

/// Where a mapped parameter value comes from (`method.request.header.X`, `'static'`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamSource {
    Static(String),
    Path(String),
    Query(String),
    MultiQuery(String),
    Header(String),
    MultiHeader(String),
    StageVariable(String),
    Context(String),
    /// `method.request.body` / `integration.response.body` and their JSONPath forms: evaluated
    /// by the mapping-template stage.
    Body(Option<String>),
    IntegrationResponseHeader(String),
    IntegrationResponseMultiHeader(String),
}

impl ParamSource {
    /// Parse a REST mapping expression. `side` is `method.request` or `integration.response`.
    pub fn parse(expr: &str, side: &str) -> Option<ParamSource> {
        let e = expr.trim();
        if e.len() >= 2 && e.starts_with('\'') && e.ends_with('\'') {
            return Some(ParamSource::Static(e[1..e.len() - 1].to_string()));
        }
        if let Some(n) = e.strip_prefix("stageVariables.") {
            return Some(ParamSource::StageVariable(n.to_string()));
        }
        if let Some(n) = e.strip_prefix("context.") {
            return Some(ParamSource::Context(n.to_string()));
        }
        let rest = e.strip_prefix(side)?.strip_prefix('.')?;
        if rest == "body" {
            return Some(ParamSource::Body(None));
        }
        if let Some(p) = rest.strip_prefix("body.") {
            return Some(ParamSource::Body(Some(p.to_string())));
        }
        let (kind, name) = rest.split_once('.')?;
        if name.is_empty() {
            return None;
        }
        let name = name.to_string();
        Some(match (side, kind) {
            ("method.request", "path") => ParamSource::Path(name),
            ("method.request", "querystring") => ParamSource::Query(name),
            ("method.request", "multivaluequerystring") => ParamSource::MultiQuery(name),
            ("method.request", "header") => ParamSource::Header(name),
            ("method.request", "multivalueheader") => ParamSource::MultiHeader(name),
            ("integration.response", "header") => ParamSource::IntegrationResponseHeader(name),
            ("integration.response", "multivalueheader") => {
                ParamSource::IntegrationResponseMultiHeader(name)
            }
            _ => return None,
        })
    }
}

/// Where a mapped integration request parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamTarget {
    Path,
    Query,
    Header,
}

#[derive(Debug, Clone)]
pub struct RequestParameter {
    pub target: ParamTarget,
    pub name: String,
    pub source: ParamSource,
}

/// One integration response rule (a `responses` entry).
#[derive(Debug, Clone)]
pub struct IntegrationResponseRule {
    /// The map key as written (`default`, `2\d{2}`, ...).
    pub key: String,
    /// `None` for `default`.
    pub pattern: Option<Regex>,
    pub status: u16,
    /// `method.response.header.X` → source.
    pub headers: Vec<(String, ParamSource)>,
    /// Response templates by media type, compiled at load.
    pub templates: IndexMap<String, Arc<Template>>,
    pub content_handling: Option<ContentHandling>,
}

#[derive(Debug, Clone, Default)]
pub struct IntegrationResponses {
    pub rules: Vec<IntegrationResponseRule>,
}

impl IntegrationResponses {
    /// The rule for a selection value: the first pattern that matches the whole value, else the
    /// `default` entry, else `None` (API Gateway answers 500 then).
    pub fn select(&self, value: &str) -> Option<&IntegrationResponseRule> {
        self.rules
            .iter()
            .find(|r| r.pattern.as_ref().is_some_and(|p| p.is_match(value)))
            .or_else(|| self.rules.iter().find(|r| r.pattern.is_none()))
    }
}

/// The mapping half of a non-proxy integration (MOCK, AWS, HTTP): what turns the method request
/// into the integration request, and the integration response into the method response.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// Request templates by media type, compiled at load.
    pub request_templates: IndexMap<String, Arc<Template>>,
    pub passthrough: PassthroughBehavior,
    pub request_parameters: Vec<RequestParameter>,
    pub content_handling: Option<ContentHandling>,
    pub responses: IntegrationResponses,
}

pub type MockIntegration = Mapping;

/// A non-proxy HTTP integration.
#[derive(Debug, Clone)]
pub struct HttpIntegration {
    /// The endpoint with `{param}` and `${stageVariables.x}` placeholders still in it.
    pub uri: String,
    /// `None` means `ANY`: use the client's method.
    pub method: Option<http::Method>,
    pub timeout: Duration,
    pub mapping: Mapping,
}

#[derive(Debug, Clone)]
pub struct HttpProxyIntegration {
    /// The endpoint with `{param}` and `${stageVariables.x}` placeholders still in it.
    pub uri: String,
    /// `None` means `ANY`: use the client's method.
    pub method: Option<http::Method>,
    pub timeout: Duration,
    pub request_parameters: Vec<RequestParameter>,
}

#[derive(Debug, Clone)]
pub struct LambdaIntegration {
    /// The function's logical id (or name, for a bare OpenAPI file).
    pub function: String,
    pub proxy: bool,
    pub payload_format_version: String,
    pub timeout: Duration,
    pub http_method: String,
    /// Non-proxy (`AWS`) integrations map the request and response.
    pub mapping: Option<Mapping>,
}

#[derive(Debug, Clone)]
pub enum Integration {
    Mock(MockIntegration),
    HttpProxy(HttpProxyIntegration),
    Lambda(LambdaIntegration),
    /// HTTP (non-proxy).
    Http(HttpIntegration),
    /// AWS service integrations (`arn:aws:apigateway:region:service:...`).
    AwsService {
        uri: String,
    },
    /// `x-tollgate-aggregate`: several calls in parallel, merged into one document.
    Aggregate(Arc<Aggregate>),
}

/// A resolved `x-tollgate-aggregate`.
#[derive(Debug)]
pub struct Aggregate {
    pub calls: Vec<AggregateCall>,
}

#[derive(Debug)]
pub struct AggregateCall {
    pub name: String,
    pub target: AggregateTarget,
    pub timeout: Duration,
    pub required: bool,
    pub default: Option<serde_json::Value>,
}

#[derive(Debug)]
pub enum AggregateTarget {
    /// A Lambda function, sent a REST proxy event for `resource` (placeholders filled from the
    /// request's path parameters).
    Function { function: String, resource: String },
    /// An HTTP GET; `{param}` and `{context.x}` placeholders are filled per request.
    Http { url: String },
}

impl Integration {
    pub fn label(&self) -> String {
        match self {
            Integration::Mock(_) => "MOCK".into(),
            Integration::HttpProxy(h) => format!("HTTP_PROXY {}", h.uri),
            Integration::Lambda(l) if l.proxy => format!("AWS_PROXY {}", l.function),
            Integration::Lambda(l) => format!("AWS {}", l.function),
            Integration::Http(h) => format!("HTTP {}", h.uri),
            Integration::AwsService { uri } => format!("AWS {uri}"),
            Integration::Aggregate(a) => format!(
                "AGGREGATE {}",
                a.calls
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }
}

/// Which Lambda authorizer event and response a [`LambdaAuthorizer`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LambdaAuthorizerKind {
    Token,
    Request,
}

/// Where an authorizer reads an identity value from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySource {
    Header(String),
    Query(String),
    StageVariable(String),
    Context(String),
}

impl IdentitySource {
    /// Parse REST (`method.request.header.X`, `stageVariables.X`, `context.X`) and HTTP API
    /// (`$request.header.X`, `$stageVariables.X`, `$context.X`) forms.
    pub fn parse(s: &str) -> Option<IdentitySource> {
        let s = s.trim();
        let rest = s
            .strip_prefix("method.request.")
            .or_else(|| s.strip_prefix("$request."));
        if let Some(r) = rest {
            let (kind, name) = r.split_once('.')?;
            if name.is_empty() {
                return None;
            }
            return match kind {
                "header" => Some(IdentitySource::Header(name.to_string())),
                "querystring" => Some(IdentitySource::Query(name.to_string())),
                _ => None,
            };
        }
        let s = s.strip_prefix('$').unwrap_or(s);
        if let Some(n) = s.strip_prefix("stageVariables.").filter(|n| !n.is_empty()) {
            return Some(IdentitySource::StageVariable(n.to_string()));
        }
        s.strip_prefix("context.")
            .filter(|n| !n.is_empty())
            .map(|n| IdentitySource::Context(n.to_string()))
    }
}

/// A Lambda authorizer, shared by every route that uses it (and so is its result cache).
#[derive(Debug)]
pub struct LambdaAuthorizer {
    pub name: String,
    /// The authorizer function's logical id (or name, for a bare OpenAPI file).
    pub function: String,
    pub kind: LambdaAuthorizerKind,
    pub identity_sources: Vec<IdentitySource>,
    pub validation: Option<Regex>,
    /// `authorizerResultTtlInSeconds`; zero turns caching off.
    pub ttl: Duration,
    pub cache: crate::authorizer::ResultCache,
    /// HTTP APIs: `authorizerPayloadFormatVersion` (`None` on REST APIs).
    pub payload_version: Option<String>,
    /// HTTP APIs with payload 2.0: `{"isAuthorized": bool}` answers.
    pub simple_responses: bool,
}

/// How a route authorizes requests.
#[derive(Debug, Clone)]
pub enum RouteAuth {
    None,
    Lambda(Arc<LambdaAuthorizer>),
    /// A JWT (HTTP API) or Cognito user pool (REST) authorizer, with the route's required scopes.
    Jwt(Arc<crate::jwt::JwtAuthorizer>, Vec<String>),
    /// `AWS_IAM`: SigV4 signatures checked against the configured credentials.
    Iam,
    /// An authorizer type this build cannot check yet: requests fail closed (500), never pass
    /// unauthenticated.
    Unsupported(String),
}

/// One servable route.
#[derive(Debug, Clone)]
pub struct Route {
    pub method: RouteMethod,
    /// Resource path as defined (`/orders/{id}`), or `$default`.
    pub resource_path: String,
    /// HTTP API route key (`GET /orders/{id}` or `$default`).
    pub route_key: String,
    pub operation_name: Option<String>,
    pub integration: Integration,
    pub method_responses: IndexMap<String, MethodResponseSpec>,
    /// Pointer of the operation in its file, for diagnostics.
    pub pointer: String,
    pub auth: RouteAuth,
    /// The method requires an API key (`security: [{api_key: []}]`).
    pub api_key_required: bool,
    /// `x-tollgate-identity`: trusted identity headers for HTTP integrations.
    pub identity_injection: Option<crate::spec::extensions::IdentityInjectionExt>,
    /// `x-tollgate-rate-limit`: tollgate's own limit for every caller.
    pub rate_limit: Option<crate::spec::extensions::RateLimitExt>,
    /// REST request validation, when the method's validator asks for any.
    pub validation: Option<Arc<Validation>>,
    /// The API's then the route's `x-tollgate-policies`, in order.
    pub filters: Vec<crate::filters::Attached>,
}

/// An API ready to serve.
#[derive(Debug, Clone)]
pub struct ResolvedApi {
    /// The API's name: its logical id in a template, or the file stem of a bare OpenAPI file.
    pub name: String,
    /// A stable 10-character id in API Gateway's style, derived from the name.
    pub api_id: String,
    pub kind: ApiKind,
    pub source: PathBuf,
    pub stage: Stage,
    pub routes: Vec<Route>,
    pub router: Router,
    pub gateway_responses: HashMap<ResponseType, GatewayResponseExt>,
    pub binary_media_types: Vec<String>,
    /// HTTP API CORS, answered by the gateway itself.
    pub cors: Option<crate::spec::extensions::CorsExt>,
    /// The stage's access-log format, when the template sets one.
    pub access_log_format: Option<Arc<str>>,
    /// `x-tollgate-upstreams`: pools HTTP integrations reach as `http://NAME/...`.
    pub upstreams: HashMap<String, Arc<crate::upstream::Pool>>,
    /// Stage-level throttling (every caller).
    pub stage_throttle: crate::usage::StageThrottle,
    /// Where API keys come from (`x-amazon-apigateway-api-key-source`, default HEADER).
    pub api_key_source: crate::spec::extensions::ApiKeySource,
    /// `x-amazon-apigateway-policy`, with `execute-api:/` resources expanded to this API's ARN.
    pub resource_policy: Option<crate::policy::Policy>,
    /// Things that load but that this version does not act on yet, or that AWS would warn about.
    pub warnings: Vec<String>,
}

/// Inputs to [`resolve`] beyond the written API.
#[derive(Debug, Clone, Default)]
pub struct ResolveOptions {
    pub name: String,
    pub stage: Option<Stage>,
    /// Function name → logical id, for Lambda integration URIs in a template. `None` for a bare
    /// OpenAPI file, where the function name in the ARN is used as is.
    pub functions: Option<HashMap<String, String>>,
    /// Stage-level throttling from the template.
    pub stage_throttle: crate::usage::StageThrottle,
    /// The stage's access-log format (SAM `AccessLogSetting(s).Format`).
    pub access_log_format: Option<String>,
}

/// API Gateway ids are 10 lowercase alphanumerics; derive one from the name so it is stable
/// across restarts (FNV-1a, then base 36).
pub fn api_id_for(name: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in name.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..10)
        .map(|_| {
            let c = ALPHABET[(h % 36) as usize] as char;
            h /= 36;
            if h == 0 {
                h = 0x9e3779b97f4a7c15;
            }
            c
        })
        .collect()
}

/// Validate and compile a written API.
pub fn resolve(spec: &ApiSpec, opts: &ResolveOptions) -> Result<ResolvedApi, LoadErrors> {
    let file = spec.file.as_path();
    let mut errors = LoadErrors::default();
    let mut warnings = Vec::new();
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
        let (auth, api_key_required) = match route_auth(spec, op, &authorizers) {
            Ok(a) => a,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        if op.integration.is_none() && op.aggregate.is_none() {
            errors.push(LoadError::new(
                file,
                op.pointer.clone(),
                "no x-amazon-apigateway-integration: API Gateway cannot deploy a method without an integration",
            ));
            continue;
        }
        let is_default = op.is_default_route || op.path == "$default" || op.path == "/$default";
        let resource_path = if is_default {
            "$default".to_string()
        } else {
            op.path.clone()
        };
        let route_key = if is_default {
            "$default".to_string()
        } else {
            format!("{} {}", op.method, op.path)
        };
        // An aggregate is tollgate's own (here and in the deployed gateway Lambda); API Gateway
        // ignores x-tollgate-* and deploys the operation's x-amazon-apigateway-integration, so
        // an operation may carry both: the integration is what a deployed REST API answers.
        let resolved = match (&op.integration, &op.aggregate) {
            (_, Some(agg)) => resolve_aggregate(spec, op, agg, opts),
            (Some(ext), None) => {
                resolve_integration(spec, &op.integration_pointer, ext, op, opts, &mut warnings)
            }
            (None, None) => continue,
        };
        let integration = match resolved {
            Ok(i) => i,
            Err(e) => {
                errors.extend(e);
                continue;
            }
        };
        let id = routes.len();
        let inserted = if is_default {
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
        if let Err(m) = inserted {
            errors.push(LoadError::new(file, op.pointer.clone(), m));
            continue;
        }
        check_method_responses(file, op, &integration, &mut warnings);
        routes.push(Route {
            method: op.method,
            resource_path,
            route_key,
            operation_name: op.operation_id.clone(),
            integration,
            method_responses: op.responses.clone(),
            pointer: op.pointer.clone(),
            auth,
            api_key_required,
            identity_injection: op.identity_injection.clone(),
            filters: {
                let mut chain = api_filters.clone();
                chain.extend(build_policies(
                    file,
                    &pointer_join(&op.pointer, "x-tollgate-policies"),
                    &op.policies,
                    &mut errors,
                ));
                chain
            },
            validation: match validation(spec, op) {
                Ok(v) => v,
                Err(e) => {
                    errors.extend(e);
                    None
                }
            },
            rate_limit: op.rate_limit.clone(),
        });
    }

    let mut gateway_responses = HashMap::new();
    for (k, v) in &spec.root.gateway_responses {
        if let Some(t) = ResponseType::parse(k) {
            gateway_responses.insert(t, v.clone());
        }
    }

    let resource_policy = spec.root.policy.as_ref().and_then(|p| {
        let doc = serde_json::json!({"Statement": p.statement});
        match crate::policy::Policy::parse(&doc) {
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
                    file,
                    pointer_join(&spec.pointer_base, "x-amazon-apigateway-policy"),
                    e.to_string(),
                ));
                None
            }
        }
    });
    if spec.root.cors.is_some() && spec.kind == ApiKind::Rest {
        warnings.push(format!(
            "{}: x-amazon-apigateway-cors applies to HTTP APIs only; a REST API answers preflight with OPTIONS methods (SAM's Cors writes them)",
            file.display()
        ));
    }
    let stage = opts.stage.clone().unwrap_or_else(|| Stage {
        name: match spec.kind {
            ApiKind::Rest => "Prod".into(),
            ApiKind::Http => "$default".into(),
        },
        variables: IndexMap::new(),
    });
    let mut upstreams = HashMap::new();
    let base_dir = file.parent().unwrap_or(std::path::Path::new("."));
    for (name, ext) in &spec.root.upstreams {
        match crate::upstream::Pool::new(name, ext, base_dir) {
            Ok(p) => {
                upstreams.insert(name.to_ascii_lowercase(), Arc::new(p));
            }
            Err(m) => errors.push(LoadError::new(
                file,
                pointer_join(
                    &pointer_join(&spec.pointer_base, "x-tollgate-upstreams"),
                    name,
                ),
                m,
            )),
        }
    }
    errors.into_result(ResolvedApi {
        access_log_format: opts.access_log_format.as_deref().map(Arc::from),
        upstreams,
        api_id: api_id_for(&opts.name),
        name: opts.name.clone(),
        kind: spec.kind,
        source: spec.file.clone(),
        stage,
        routes,
        router,
        gateway_responses,
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

fn resolve_integration(
    spec: &ApiSpec,
    ptr: &str,
    ext: &IntegrationExt,
    op: &crate::spec::OperationSpec,
    opts: &ResolveOptions,
    warnings: &mut Vec<String>,
) -> Result<Integration, LoadErrors> {
    let file = spec.file.as_path();
    let mut errors = LoadErrors::default();
    let Some(kind) = ext.kind else {
        return Err(LoadError::new(
            file,
            pointer_join(ptr, "type"),
            format!(
                "missing: expected one of {}",
                IntegrationType::NAMES.join(", ")
            ),
        )
        .into());
    };
    if spec.kind == ApiKind::Http
        && !matches!(kind, IntegrationType::AwsProxy | IntegrationType::HttpProxy)
    {
        errors.push(LoadError::new(
            file,
            pointer_join(ptr, "type"),
            format!("`{kind}` is not available on HTTP APIs: expected aws_proxy or http_proxy"),
        ));
    }
    let (min, max) = match spec.kind {
        ApiKind::Rest => REST_TIMEOUT_MS,
        ApiKind::Http => HTTP_API_TIMEOUT_MS,
    };
    let timeout_ms = ext.timeout_in_millis.unwrap_or(max);
    if !(min..=max).contains(&timeout_ms) {
        errors.push(LoadError::new(
            file,
            pointer_join(ptr, "timeoutInMillis"),
            format!("{timeout_ms} is out of range: expected {min} to {max}"),
        ));
    }
    let timeout = Duration::from_millis(timeout_ms);

    let require_uri = |errors: &mut LoadErrors| -> String {
        match &ext.uri {
            Some(u) if !u.trim().is_empty() => u.clone(),
            _ => {
                errors.push(LoadError::new(
                    file,
                    pointer_join(ptr, "uri"),
                    format!("missing: a `{kind}` integration needs a uri"),
                ));
                String::new()
            }
        }
    };

    // An http(s) endpoint, checked with the stage's variables filled in.
    let http_uri = |errors: &mut LoadErrors| -> String {
        let uri = require_uri(errors);
        if !uri.is_empty() {
            check_http_uri(
                file,
                &pointer_join(ptr, "uri"),
                &uri,
                opts.stage.as_ref(),
                errors,
            );
        }
        uri
    };

    let integration = match kind {
        IntegrationType::Mock => Integration::Mock(mapping(spec, ptr, ext, op, &mut errors)),
        IntegrationType::HttpProxy => {
            let uri = http_uri(&mut errors);
            let method = http_method(file, ptr, ext, &mut errors);
            let request_parameters = if spec.kind == ApiKind::Rest {
                request_parameters(file, ptr, ext, op, &mut errors)
            } else {
                if !ext.request_parameters.is_empty() {
                    warnings.push(format!(
                        "{}: {}: HTTP API parameter mapping is parsed but not applied by this version of tollgate",
                        file.display(),
                        pointer_join(ptr, "requestParameters")
                    ));
                }
                Vec::new()
            };
            Integration::HttpProxy(HttpProxyIntegration {
                uri,
                method,
                timeout,
                request_parameters,
            })
        }
        IntegrationType::AwsProxy | IntegrationType::Aws => {
            let uri = require_uri(&mut errors);
            if uri.contains(":lambda:path/") {
                match function_from_uri(&uri) {
                    Some(name) => {
                        let function = match &opts.functions {
                            Some(map) => match map.get(&name) {
                                Some(id) => id.clone(),
                                None if uri.contains("${stageVariables.") => name,
                                None => {
                                    errors.push(LoadError::new(
                                        file,
                                        pointer_join(ptr, "uri"),
                                        format!("names Lambda function `{name}`, which the template does not define"),
                                    ));
                                    name
                                }
                            },
                            None => name,
                        };
                        let payload_format_version = ext
                            .payload_format_version
                            .clone()
                            .unwrap_or_else(|| "1.0".into());
                        if !["1.0", "2.0"].contains(&payload_format_version.as_str()) {
                            errors.push(LoadError::new(
                                file,
                                pointer_join(ptr, "payloadFormatVersion"),
                                format!(
                                    "`{payload_format_version}` is not valid: expected 1.0 or 2.0"
                                ),
                            ));
                        }
                        let proxy = kind == IntegrationType::AwsProxy;
                        Integration::Lambda(LambdaIntegration {
                            function,
                            proxy,
                            payload_format_version,
                            timeout,
                            http_method: ext.http_method.clone().unwrap_or_else(|| "POST".into()),
                            mapping: (!proxy).then(|| mapping(spec, ptr, ext, op, &mut errors)),
                        })
                    }
                    None => {
                        errors.push(LoadError::new(
                            file,
                            pointer_join(ptr, "uri"),
                            format!("`{uri}` does not name a Lambda function: expected arn:aws:apigateway:{{region}}:lambda:path/2015-03-31/functions/{{functionArn}}/invocations"),
                        ));
                        Integration::AwsService { uri }
                    }
                }
            } else {
                if kind == IntegrationType::AwsProxy && !uri.is_empty() {
                    errors.push(LoadError::new(
                        file,
                        pointer_join(ptr, "uri"),
                        format!("`{uri}` is not a Lambda invocation URI; aws_proxy integrations must invoke a Lambda function"),
                    ));
                }
                Integration::AwsService { uri }
            }
        }
        IntegrationType::Http => {
            let uri = http_uri(&mut errors);
            let method = http_method(file, ptr, ext, &mut errors);
            Integration::Http(HttpIntegration {
                uri,
                method,
                timeout,
                mapping: mapping(spec, ptr, ext, op, &mut errors),
            })
        }
    };
    errors.into_result(integration)
}

/// Build a list of `x-tollgate-policies`, reporting each bad entry at its pointer.
fn build_policies(
    file: &std::path::Path,
    ptr: &str,
    list: &[crate::filters::PolicyExt],
    errors: &mut LoadErrors,
) -> Vec<crate::filters::Attached> {
    let mut out = Vec::new();
    for (k, p) in list.iter().enumerate() {
        match p.build() {
            Ok(a) => out.push(a),
            Err(m) => errors.push(LoadError::new(file, pointer_join(ptr, &k.to_string()), m)),
        }
    }
    out
}

fn resolve_aggregate(
    spec: &ApiSpec,
    op: &crate::spec::OperationSpec,
    agg: &crate::spec::extensions::AggregateExt,
    opts: &ResolveOptions,
) -> Result<Integration, LoadErrors> {
    let file = spec.file.as_path();
    let ptr = pointer_join(&pointer_join(&op.pointer, "x-tollgate-aggregate"), "calls");
    let mut errors = LoadErrors::default();
    let mut calls = Vec::new();
    if agg.calls.is_empty() {
        errors.push(LoadError::new(
            file,
            ptr.clone(),
            "an aggregate needs at least one call",
        ));
    }
    for (name, c) in &agg.calls {
        let cptr = pointer_join(&ptr, name);
        let target = match (&c.function, &c.url) {
            (Some(f), None) => {
                let known = opts
                    .functions
                    .as_ref()
                    .is_none_or(|m| m.values().any(|id| id == f) || m.contains_key(f));
                if !known {
                    errors.push(LoadError::new(
                        file,
                        pointer_join(&cptr, "function"),
                        format!("names Lambda function `{f}`, which the template does not define"),
                    ));
                    continue;
                }
                let function = opts
                    .functions
                    .as_ref()
                    .and_then(|m| m.get(f).cloned())
                    .unwrap_or_else(|| f.clone());
                AggregateTarget::Function {
                    function,
                    resource: c.path.clone().unwrap_or_else(|| op.path.clone()),
                }
            }
            (None, Some(u)) => AggregateTarget::Http { url: u.clone() },
            _ => {
                errors.push(LoadError::new(
                    file,
                    cptr,
                    "a call needs exactly one of `function` or `url`",
                ));
                continue;
            }
        };
        calls.push(AggregateCall {
            name: name.clone(),
            target,
            timeout: Duration::from_millis(c.timeout_ms.clamp(1, 30_000)),
            required: c.required,
            default: c.default.clone(),
        });
    }
    errors.into_result(Integration::Aggregate(Arc::new(Aggregate { calls })))
}

/// API Gateway only lets an integration response use a status, and map a header, that the
/// method response declares; importing such a definition fails on AWS. tollgate serves it but
/// says so, naming the rule.
fn check_method_responses(
    file: &std::path::Path,
    op: &crate::spec::OperationSpec,
    integration: &Integration,
    warnings: &mut Vec<String>,
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
            warnings.push(format!(
                "{}: {}: integration response `{}` answers {status}, which the operation's responses do not declare (AWS refuses to import this)",
                file.display(),
                op.pointer,
                rule.key
            ));
            continue;
        };
        for (header, _) in &rule.headers {
            if !declared
                .headers
                .iter()
                .any(|h| h.eq_ignore_ascii_case(header))
            {
                warnings.push(format!(
                    "{}: {}: integration response `{}` maps header {header}, which response {status} does not declare (AWS refuses to import this)",
                    file.display(),
                    op.pointer,
                    rule.key
                ));
            }
        }
    }
}

/// What a method's request validator checks (facts §8).
#[derive(Debug)]
pub struct Validation {
    /// Required parameters as `(location, name)`, sorted by their `method.request.*` key, the
    /// order AWS lists missing ones in.
    pub required: Vec<(crate::spec::ParamLocation, String)>,
    /// Body models by media type (`validateRequestBody`); empty when bodies are not validated.
    pub models: IndexMap<String, Arc<jsonschema::Validator>>,
}

/// The method's validator (its own, else the API's default), compiled. `None` when the method
/// validates nothing.
fn validation(
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
            // Basic validation does not enforce minItems/maxItems (facts §8, known issues).
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

/// An integration's `httpMethod`: `None` for `ANY` (use the client's method).
fn http_method(
    file: &std::path::Path,
    ptr: &str,
    ext: &IntegrationExt,
    errors: &mut LoadErrors,
) -> Option<http::Method> {
    match ext.http_method.as_deref() {
        None | Some("ANY") | Some("any") => None,
        Some(m) => match http::Method::from_bytes(m.to_ascii_uppercase().as_bytes()) {
            Ok(m) => Some(m),
            Err(_) => {
                errors.push(LoadError::new(
                    file,
                    pointer_join(ptr, "httpMethod"),
                    format!("`{m}` is not an HTTP method"),
                ));
                None
            }
        },
    }
}

/// Compile a map of templates (media type → VTL); a syntax error names the file, the template's
/// JSON pointer and the line and column inside it.
fn templates(
    file: &std::path::Path,
    ptr: &str,
    written: &IndexMap<String, String>,
    errors: &mut LoadErrors,
) -> IndexMap<String, Arc<Template>> {
    let mut out = IndexMap::new();
    for (media, src) in written {
        let tptr = pointer_join(ptr, media);
        match Template::parse(&format!("{}#{tptr}", file.display()), src) {
            Ok(t) => {
                out.insert(media.to_ascii_lowercase(), Arc::new(t));
            }
            Err(e) => errors.push(LoadError::new(
                file,
                tptr,
                format!("template line {}, column {}: {}", e.line, e.col, e.message),
            )),
        }
    }
    out
}

/// The mapping of a non-proxy integration.
fn mapping(
    spec: &ApiSpec,
    ptr: &str,
    ext: &IntegrationExt,
    op: &crate::spec::OperationSpec,
    errors: &mut LoadErrors,
) -> Mapping {
    let file = spec.file.as_path();
    Mapping {
        request_templates: templates(
            file,
            &pointer_join(ptr, "requestTemplates"),
            &ext.request_templates,
            errors,
        ),
        passthrough: ext
            .passthrough_behavior
            .unwrap_or(PassthroughBehavior::WhenNoMatch),
        request_parameters: request_parameters(file, ptr, ext, op, errors),
        content_handling: ext.content_handling,
        responses: integration_responses(file, ptr, &ext.responses, errors),
    }
}

fn integration_responses(
    file: &std::path::Path,
    ptr: &str,
    responses: &IndexMap<String, IntegrationResponseExt>,
    errors: &mut LoadErrors,
) -> IntegrationResponses {
    let mut rules = Vec::new();
    let rptr = pointer_join(ptr, "responses");
    for (key, r) in responses {
        let eptr = pointer_join(&rptr, key);
        let pattern = if key == "default" {
            None
        } else {
            // selectionPattern is a Java regex that must match the whole value.
            match Regex::new(&format!("^(?:{key})$")) {
                Ok(re) => Some(re),
                Err(e) => {
                    errors.push(LoadError::new(
                        file,
                        eptr.clone(),
                        format!("selection pattern is not a valid regular expression: {e}"),
                    ));
                    continue;
                }
            }
        };
        let status = match r
            .status_code
            .as_deref()
            .map(str::trim)
            .map(str::parse::<u16>)
        {
            Some(Ok(s)) if (100..=599).contains(&s) => s,
            Some(_) => {
                errors.push(LoadError::new(
                    file,
                    pointer_join(&eptr, "statusCode"),
                    "expected an HTTP status code (100-599)",
                ));
                continue;
            }
            None => {
                errors.push(LoadError::new(
                    file,
                    pointer_join(&eptr, "statusCode"),
                    "missing: each integration response needs a statusCode",
                ));
                continue;
            }
        };
        let mut headers = Vec::new();
        for (target, source) in &r.response_parameters {
            let pptr = pointer_join(&pointer_join(&eptr, "responseParameters"), target);
            let Some(name) = target.strip_prefix("method.response.header.") else {
                errors.push(LoadError::new(
                    file,
                    pptr,
                    "expected a key of the form method.response.header.NAME",
                ));
                continue;
            };
            match ParamSource::parse(source, "integration.response") {
                Some(s) => headers.push((name.to_string(), s)),
                None => errors.push(LoadError::new(
                    file,
                    pptr,
                    format!("`{source}` is not a mapping expression: expected 'literal', integration.response.header.NAME, integration.response.body[.path], stageVariables.NAME or context.NAME"),
                )),
            }
        }
        let templates = templates(
            file,
            &pointer_join(&eptr, "responseTemplates"),
            &r.response_templates,
            errors,
        );
        rules.push(IntegrationResponseRule {
            key: key.clone(),
            pattern,
            status,
            headers,
            templates,
            content_handling: r.content_handling,
        });
    }
    IntegrationResponses { rules }
}

fn request_parameters(
    file: &std::path::Path,
    ptr: &str,
    ext: &IntegrationExt,
    op: &crate::spec::OperationSpec,
    errors: &mut LoadErrors,
) -> Vec<RequestParameter> {
    let mut out = Vec::new();
    let pptr = pointer_join(ptr, "requestParameters");
    for (target, source) in &ext.request_parameters {
        let eptr = pointer_join(&pptr, target);
        let parsed = target
            .strip_prefix("integration.request.")
            .and_then(|r| r.split_once('.'))
            .and_then(|(kind, name)| {
                let t = match kind {
                    "path" => ParamTarget::Path,
                    "querystring" => ParamTarget::Query,
                    "header" => ParamTarget::Header,
                    _ => return None,
                };
                (!name.is_empty()).then(|| (t, name.to_string()))
            });
        let Some((target, name)) = parsed else {
            errors.push(LoadError::new(
                file,
                eptr,
                "expected a key of the form integration.request.{path|querystring|header}.NAME",
            ));
            continue;
        };
        let Some(source) = ParamSource::parse(source, "method.request") else {
            errors.push(LoadError::new(
                file,
                eptr,
                format!("`{source}` is not a mapping expression: expected 'literal', method.request.{{path|querystring|multivaluequerystring|header|multivalueheader}}.NAME, method.request.body[.path], stageVariables.NAME or context.NAME"),
            ));
            continue;
        };
        if let ParamSource::Path(p) = &source {
            let declared =
                op.path.contains(&format!("{{{p}}}")) || op.path.contains(&format!("{{{p}+}}"));
            if !declared {
                errors.push(LoadError::new(
                    file,
                    eptr,
                    format!(
                        "method.request.path.{p} is not a parameter of path {}",
                        op.path
                    ),
                ));
                continue;
            }
        }
        out.push(RequestParameter {
            target,
            name,
            source,
        });
    }
    out
}

fn check_http_uri(
    file: &std::path::Path,
    ptr: &str,
    uri: &str,
    stage: Option<&Stage>,
    errors: &mut LoadErrors,
) {
    // Stage variables are known at load: fill them in, so a typo in one is caught now rather
    // than as a 500 on the first request.
    let mut filled = String::with_capacity(uri.len());
    let mut rest = uri;
    while let Some(start) = rest.find("${stageVariables.") {
        filled.push_str(&rest[..start]);
        let after = &rest[start + "${stageVariables.".len()..];
        let Some(end) = after.find('}') else {
            filled.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let name = &after[..end];
        match stage.and_then(|s| s.variables.get(name)) {
            Some(v) => filled.push_str(v),
            None => {
                let stage_name = stage.map(|s| s.name.as_str()).unwrap_or("?");
                errors.push(LoadError::new(
                    file,
                    ptr,
                    format!("uses ${{stageVariables.{name}}}, which stage `{stage_name}` does not define (set it in the API's Variables, or pass --stage-variable {name}=VALUE)"),
                ));
                return;
            }
        }
        rest = &after[end + 1..];
    }
    filled.push_str(rest);
    // Path placeholders are filled per request; check the rest parses as an absolute http(s) URL.
    let mut probe = String::with_capacity(filled.len());
    let mut depth = 0;
    for c in filled.chars() {
        match c {
            '{' => {
                depth += 1;
                if depth == 1 {
                    probe.push('x');
                }
            }
            '}' if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            '$' => {}
            _ => probe.push(c),
        }
    }
    let ok = probe
        .parse::<http::Uri>()
        .ok()
        .filter(|u| matches!(u.scheme_str(), Some("http") | Some("https")) && u.host().is_some());
    if ok.is_none() {
        errors.push(LoadError::new(
            file,
            ptr,
            format!("`{uri}` is not an absolute http:// or https:// URL"),
        ));
    }
}

/// The function named by a Lambda invocation URI: the name in a plain function ARN, or else the
/// path segment between `/functions/` and `/invocations` (as SAM CLI reads them).
pub fn function_from_uri(uri: &str) -> Option<String> {
    static ARN: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    static FALLBACK: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let arn = ARN.get_or_init(|| {
        Regex::new(r"arn:aws[a-z-]*:lambda:[^:]+:[^:]+:function:([^:/]+)(?::[^/]+)?")
            .expect("static regex")
    });
    if let Some(c) = arn.captures(uri) {
        return Some(c[1].to_string());
    }
    let fallback = FALLBACK
        .get_or_init(|| Regex::new(r"/functions/([^/]+)/invocations").expect("static regex"));
    fallback.captures(uri).map(|c| c[1].to_string())
}

fn resolve_authorizers(
    spec: &ApiSpec,
    opts: &ResolveOptions,
    errors: &mut LoadErrors,
) -> HashMap<String, RouteAuth> {
    use crate::spec::extensions::AuthorizerType;
    let file = spec.file.as_path();
    let mut out = HashMap::new();
    for (name, scheme) in &spec.security_schemes {
        let Some(a) = &scheme.authorizer else {
            continue;
        };
        let ptr = pointer_join(&scheme.pointer, "x-amazon-apigateway-authorizer");
        let kind = match a.kind {
            AuthorizerType::Token => LambdaAuthorizerKind::Token,
            AuthorizerType::Request => LambdaAuthorizerKind::Request,
            AuthorizerType::Jwt | AuthorizerType::CognitoUserPools => {
                if let Some(j) = jwt_authorizer(spec, name, scheme, a, &ptr, errors) {
                    out.insert(name.clone(), RouteAuth::Jwt(Arc::new(j), Vec::new()));
                }
                continue;
            }
        };
        let function = match a.authorizer_uri.as_deref().and_then(function_from_uri) {
            Some(f) => {
                match &opts.functions {
                    Some(map) => match map.get(&f) {
                        Some(id) => id.clone(),
                        None => {
                            errors.push(LoadError::new(
                            file,
                            pointer_join(&ptr, "authorizerUri"),
                            format!("names Lambda function `{f}`, which the template does not define"),
                        ));
                            continue;
                        }
                    },
                    None => f,
                }
            }
            None => {
                errors.push(LoadError::new(
                    file,
                    pointer_join(&ptr, "authorizerUri"),
                    "a Lambda authorizer needs an authorizerUri naming its function",
                ));
                continue;
            }
        };
        let mut identity_sources = Vec::new();
        let mut declared = a
            .identity_source
            .as_ref()
            .map(|s| s.sources())
            .unwrap_or_default();
        // Without an identitySource, a TOKEN authorizer reads the header its apiKey scheme names,
        // as API Gateway's importer does.
        if declared.is_empty() && kind == LambdaAuthorizerKind::Token {
            if let crate::spec::SecuritySchemeKind::ApiKey {
                location,
                name: header,
            } = &scheme.kind
            {
                if location == "header" && !header.is_empty() {
                    declared.push(format!("method.request.header.{header}"));
                }
            }
        }
        for src in declared {
            match IdentitySource::parse(&src) {
                Some(s) => identity_sources.push(s),
                None => errors.push(LoadError::new(
                    file,
                    pointer_join(&ptr, "identitySource"),
                    format!("`{src}` is not an identity source: expected method.request.header.NAME, method.request.querystring.NAME, stageVariables.NAME or context.NAME"),
                )),
            }
        }
        if kind == LambdaAuthorizerKind::Token
            && !matches!(identity_sources.as_slice(), [IdentitySource::Header(_)])
        {
            errors.push(LoadError::new(
                file,
                pointer_join(&ptr, "identitySource"),
                "a TOKEN authorizer takes exactly one header: method.request.header.NAME",
            ));
            continue;
        }
        // identityValidationExpression is matched against the whole token. [?] AWS documents
        // it as "a regular expression"; Java's matches() semantics are the plausible reading.
        let validation = match &a.identity_validation_expression {
            Some(expr) => match Regex::new(&format!("^(?:{expr})$")) {
                Ok(r) => Some(r),
                Err(e) => {
                    errors.push(LoadError::new(
                        file,
                        pointer_join(&ptr, "identityValidationExpression"),
                        format!("not a valid regular expression: {e}"),
                    ));
                    continue;
                }
            },
            None => None,
        };
        // REST caches for 300 s unless told otherwise; an HTTP API authorizer caches only when
        // it says so (caching there needs identity sources). [?] AWS's HTTP API default is not
        // recorded.
        let default_ttl = if spec.kind == ApiKind::Rest { 300 } else { 0 };
        let ttl = a.authorizer_result_ttl_in_seconds.unwrap_or(default_ttl);
        if ttl > 3600 {
            errors.push(LoadError::new(
                file,
                pointer_join(&ptr, "authorizerResultTtlInSeconds"),
                format!("{ttl} is out of range: expected 0 to 3600"),
            ));
            continue;
        }
        out.insert(
            name.clone(),
            RouteAuth::Lambda(Arc::new(LambdaAuthorizer {
                name: name.clone(),
                function,
                kind,
                identity_sources,
                validation,
                ttl: Duration::from_secs(u64::from(ttl)),
                cache: Default::default(),
                payload_version: (spec.kind == ApiKind::Http).then(|| {
                    a.authorizer_payload_format_version
                        .clone()
                        .unwrap_or_else(|| "2.0".into())
                }),
                simple_responses: a.enable_simple_responses.unwrap_or(false),
            })),
        );
    }
    out
}

/// A `jwt` (HTTP API) or `cognito_user_pools` (REST) authorizer.
fn jwt_authorizer(
    spec: &ApiSpec,
    name: &str,
    scheme: &crate::spec::SecuritySchemeSpec,
    a: &crate::spec::extensions::AuthorizerExt,
    ptr: &str,
    errors: &mut LoadErrors,
) -> Option<crate::jwt::JwtAuthorizer> {
    use crate::jwt::{JwtAuthorizer, JwtKind};
    use crate::spec::extensions::AuthorizerType;
    let file = spec.file.as_path();
    let cognito = a.kind == AuthorizerType::CognitoUserPools;
    let issuer = if cognito {
        // arn:aws:cognito-idp:{region}:{account}:userpool/{poolId}
        let pool = a.provider_arns.first().and_then(|arn| {
            let region = arn.split(':').nth(3)?;
            let id = arn.rsplit('/').next()?;
            Some(format!("https://cognito-idp.{region}.amazonaws.com/{id}"))
        });
        match pool {
            Some(i) => i,
            None => {
                errors.push(LoadError::new(
                    file,
                    pointer_join(ptr, "providerARNs"),
                    "a Cognito authorizer needs a user pool ARN in providerARNs",
                ));
                return None;
            }
        }
    } else {
        let from_oidc = match &scheme.kind {
            crate::spec::SecuritySchemeKind::OpenIdConnect { url } => url
                .strip_suffix("/.well-known/openid-configuration")
                .map(str::to_string),
            _ => None,
        };
        match a
            .jwt_configuration
            .as_ref()
            .and_then(|j| j.issuer.clone())
            .or(from_oidc)
        {
            Some(i) => i,
            None => {
                errors.push(LoadError::new(
                    file,
                    pointer_join(ptr, "jwtConfiguration"),
                    "a JWT authorizer needs jwtConfiguration.issuer (or an openIdConnectUrl)",
                ));
                return None;
            }
        }
    };
    let source = a
        .identity_source
        .as_ref()
        .and_then(|s| s.sources().into_iter().next())
        .or_else(|| match &scheme.kind {
            crate::spec::SecuritySchemeKind::ApiKey { location, name } if location == "header" => {
                Some(format!("method.request.header.{name}"))
            }
            _ => None,
        })
        .unwrap_or_else(|| "$request.header.Authorization".into());
    let Some(identity) = IdentitySource::parse(&source) else {
        errors.push(LoadError::new(
            file,
            pointer_join(ptr, "identitySource"),
            format!("`{source}` is not an identity source"),
        ));
        return None;
    };
    Some(JwtAuthorizer {
        name: name.to_string(),
        issuer: issuer.trim_end_matches('/').to_string(),
        audience: a
            .jwt_configuration
            .as_ref()
            .map(|j| j.audience.clone())
            .unwrap_or_default(),
        identity,
        discovery: if cognito {
            crate::jwks::Discovery::CognitoJwks
        } else {
            crate::jwks::Discovery::Oidc
        },
        kind: if cognito {
            JwtKind::Cognito
        } else {
            JwtKind::HttpApi
        },
        leeway: 0,
    })
}

/// The authorization an operation asks for: its `security` requirement (the first one; root
/// security is ignored, as API Gateway does) or `x-amazon-apigateway-auth`.
fn route_auth(
    spec: &ApiSpec,
    op: &crate::spec::OperationSpec,
    authorizers: &HashMap<String, RouteAuth>,
) -> Result<(RouteAuth, bool), LoadError> {
    use crate::spec::extensions::AuthType;
    let mut auth = RouteAuth::None;
    let mut api_key = false;
    if op.auth.as_ref().is_some_and(|a| a.kind == AuthType::AwsIam) {
        auth = RouteAuth::Iam;
    }
    for requirement in op.security.iter().flatten().take(1) {
        for scheme_name in requirement.keys() {
            let Some(scheme) = spec.security_schemes.get(scheme_name) else {
                return Err(LoadError::new(
                    &spec.file,
                    pointer_join(&op.pointer, "security"),
                    format!("`{scheme_name}` is not a security scheme of this API"),
                ));
            };
            if let Some(a) = authorizers.get(scheme_name) {
                auth = match a {
                    RouteAuth::Jwt(j, _) => {
                        RouteAuth::Jwt(Arc::clone(j), requirement[scheme_name].clone())
                    }
                    other => other.clone(),
                };
            } else if scheme
                .authtype
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("awsSigv4"))
            {
                auth = RouteAuth::Iam;
            } else if scheme.authorizer.is_none()
                && matches!(scheme.kind, crate::spec::SecuritySchemeKind::ApiKey { .. })
            {
                api_key = true;
            }
        }
    }
    Ok((auth, api_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_from_uris() {
        assert_eq!(
            function_from_uri("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:Hello/invocations").as_deref(),
            Some("Hello")
        );
        assert_eq!(
            function_from_uri("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:Hello:live/invocations").as_deref(),
            Some("Hello")
        );
        assert_eq!(
            function_from_uri(
                "arn:aws:apigateway:r:lambda:path/2015-03-31/functions/Plain/invocations"
            )
            .as_deref(),
            Some("Plain")
        );
    }

    #[test]
    fn param_sources() {
        assert_eq!(
            ParamSource::parse("'x y'", "method.request"),
            Some(ParamSource::Static("x y".into()))
        );
        assert_eq!(
            ParamSource::parse("method.request.path.proxy", "method.request"),
            Some(ParamSource::Path("proxy".into()))
        );
        assert_eq!(
            ParamSource::parse("method.request.body.a.b", "method.request"),
            Some(ParamSource::Body(Some("a.b".into())))
        );
        assert_eq!(
            ParamSource::parse("method.request.cookie.x", "method.request"),
            None
        );
        assert_eq!(
            ParamSource::parse("integration.response.header.X", "integration.response"),
            Some(ParamSource::IntegrationResponseHeader("X".into()))
        );
    }

    #[test]
    fn api_ids_are_stable_and_shaped() {
        let a = api_id_for("OrdersApi");
        assert_eq!(a, api_id_for("OrdersApi"));
        assert_eq!(a.len(), 10);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        assert_ne!(a, api_id_for("OtherApi"));
    }

    #[test]
    fn selection_prefers_patterns_then_default() {
        let rules = IntegrationResponses {
            rules: vec![
                IntegrationResponseRule {
                    key: "default".into(),
                    pattern: None,
                    status: 200,
                    headers: vec![],
                    templates: IndexMap::new(),
                    content_handling: None,
                },
                IntegrationResponseRule {
                    key: "4\\d{2}".into(),
                    pattern: Some(Regex::new("^(?:4\\d{2})$").expect("re")),
                    status: 400,
                    headers: vec![],
                    templates: IndexMap::new(),
                    content_handling: None,
                },
            ],
        };
        assert_eq!(rules.select("404").map(|r| r.status), Some(400));
        assert_eq!(rules.select("200").map(|r| r.status), Some(200));
        // The whole value must match.
        assert_eq!(rules.select("4040").map(|r| r.status), Some(200));
    }
}
