//! The API as written: OpenAPI 3.0 and Swagger 2.0 documents (the two forms API Gateway imports and
//! exports), read into one format-neutral model with every `x-amazon-apigateway-*` extension typed.
//!
//! This step does no I/O beyond reading the document it is given, and resolves nothing: the
//! [`crate::api`] module turns an [`ApiSpec`] into a servable API.

pub mod extensions;
mod lenient;
mod openapi3;
mod swagger2;
pub mod yaml;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::Value;

use crate::load_error::{deserialize_at, pointer_join, LoadError, LoadErrors};
use extensions::*;

/// REST API ("v1") or HTTP API ("v2"): they differ in routing fallbacks, error bodies and events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiKind {
    Rest,
    Http,
}

impl ApiKind {
    pub fn label(self) -> &'static str {
        match self {
            ApiKind::Rest => "REST",
            ApiKind::Http => "HTTP",
        }
    }
}

/// A route's method. `Any` is `x-amazon-apigateway-any-method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RouteMethod {
    Delete,
    Get,
    Head,
    Options,
    Patch,
    Post,
    Put,
    Any,
}

impl RouteMethod {
    /// The methods `ANY` stands for on API Gateway.
    pub const CONCRETE: [RouteMethod; 7] = [
        RouteMethod::Delete,
        RouteMethod::Get,
        RouteMethod::Head,
        RouteMethod::Options,
        RouteMethod::Patch,
        RouteMethod::Post,
        RouteMethod::Put,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_uppercase().as_str() {
            "DELETE" => RouteMethod::Delete,
            "GET" => RouteMethod::Get,
            "HEAD" => RouteMethod::Head,
            "OPTIONS" => RouteMethod::Options,
            "PATCH" => RouteMethod::Patch,
            "POST" => RouteMethod::Post,
            "PUT" => RouteMethod::Put,
            "ANY" | "X-AMAZON-APIGATEWAY-ANY-METHOD" => RouteMethod::Any,
            _ => return None,
        })
    }

    pub fn from_http(m: &http::Method) -> Option<Self> {
        match *m {
            http::Method::DELETE => Some(RouteMethod::Delete),
            http::Method::GET => Some(RouteMethod::Get),
            http::Method::HEAD => Some(RouteMethod::Head),
            http::Method::OPTIONS => Some(RouteMethod::Options),
            http::Method::PATCH => Some(RouteMethod::Patch),
            http::Method::POST => Some(RouteMethod::Post),
            http::Method::PUT => Some(RouteMethod::Put),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RouteMethod::Delete => "DELETE",
            RouteMethod::Get => "GET",
            RouteMethod::Head => "HEAD",
            RouteMethod::Options => "OPTIONS",
            RouteMethod::Patch => "PATCH",
            RouteMethod::Post => "POST",
            RouteMethod::Put => "PUT",
            RouteMethod::Any => "ANY",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for RouteMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An API Gateway deployment stage: its name and stage variables.
#[derive(Debug, Clone)]
pub struct Stage {
    pub name: String,
    /// Shared with every request's context, which would otherwise copy the map each time.
    pub variables: std::sync::Arc<IndexMap<String, String>>,
}

/// Which document format an API was written in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecFormat {
    OpenApi3(String),
    Swagger2,
}

/// Where a parameter is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamLocation {
    Path,
    Query,
    Header,
    Cookie,
    Body,
    FormData,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamSpec {
    pub name: String,
    pub location: ParamLocation,
    pub required: bool,
}

/// A declared method response: its status and header names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MethodResponseSpec {
    pub headers: Vec<String>,
    /// Documented bodies by media type (what `--mock-missing` answers with).
    pub bodies: IndexMap<String, ResponseBody>,
}

/// One documented response body: its example and schema, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseBody {
    pub example: Option<Value>,
    pub schema: Option<Value>,
}

/// One operation (method on a path), with its extensions typed.
#[derive(Debug, Clone)]
pub struct OperationSpec {
    pub path: String,
    pub method: RouteMethod,
    /// JSON pointer of the operation object, for error messages.
    pub pointer: String,
    pub operation_id: Option<String>,
    pub integration: Option<IntegrationExt>,
    /// JSON pointer of the integration extension (it may live in components for HTTP APIs).
    pub integration_pointer: String,
    pub auth: Option<AuthExt>,
    pub request_validator: Option<String>,
    /// `security` as written: a list of requirement objects, scheme name → scopes.
    pub security: Option<Vec<IndexMap<String, Vec<String>>>>,
    pub parameters: Vec<ParamSpec>,
    /// Request body models as written: media type → JSON Schema (draft 4; `$ref`s point into
    /// [`ApiSpec::models`]).
    pub request_models: IndexMap<String, Value>,
    /// Status code (or `default`) → declared method response.
    pub responses: IndexMap<String, MethodResponseSpec>,
    /// HTTP API `$default` route (`isDefaultRoute: true` on the any-method under `/$default`).
    pub is_default_route: bool,
    /// `x-tollgate-identity` on the operation (else the document's).
    pub identity_injection: Option<IdentityInjectionExt>,
    /// `x-tollgate-rate-limit` on the operation (else the document's).
    pub rate_limit: Option<RateLimitExt>,
    /// `x-tollgate-aggregate`: the operation answers from several calls in parallel.
    pub aggregate: Option<crate::spec::extensions::AggregateExt>,
    /// `x-tollgate-policies` on the operation, after the API's: each entry as written, built
    /// into a filter by the compiler (the filters own their settings).
    pub policies: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecuritySchemeKind {
    ApiKey { location: String, name: String },
    Http { scheme: String },
    OAuth2,
    OpenIdConnect { url: String },
    Other(String),
}

#[derive(Debug, Clone)]
pub struct SecuritySchemeSpec {
    pub name: String,
    pub pointer: String,
    pub kind: SecuritySchemeKind,
    pub authorizer: Option<AuthorizerExt>,
    pub authtype: Option<String>,
}

/// Document-level extensions.
#[derive(Debug, Clone, Default)]
pub struct RootExtensions {
    pub api_key_source: Option<ApiKeySource>,
    pub request_validators: IndexMap<String, RequestValidatorExt>,
    pub request_validator: Option<String>,
    pub gateway_responses: IndexMap<String, GatewayResponseExt>,
    pub binary_media_types: Vec<String>,
    pub cors: Option<CorsExt>,
    pub policy: Option<ResourcePolicyExt>,
    pub endpoint_configuration: Option<EndpointConfigurationExt>,
    pub minimum_compression_size: Option<u64>,
    pub importexport_version: Option<String>,
    pub documentation: Option<DocumentationExt>,
    /// `x-tollgate-identity` for every operation that sets none.
    pub identity_injection: Option<IdentityInjectionExt>,
    /// `x-tollgate-rate-limit` for every operation that sets none.
    pub rate_limit: Option<RateLimitExt>,
    /// `x-tollgate-upstreams`: named pools of upstream instances.
    pub upstreams: IndexMap<String, crate::spec::extensions::UpstreamExt>,
    /// `x-tollgate-policies`: the API's filter chain, before each route's own (as written).
    pub policies: Vec<Value>,
}

/// An API definition as written, format-neutral.
#[derive(Debug, Clone)]
pub struct ApiSpec {
    pub file: PathBuf,
    /// Pointer of the document inside `file` ("" when the file is the document; a SAM template's
    /// inline `DefinitionBody` sits under `/Resources/<Id>/Properties/DefinitionBody`).
    pub pointer_base: String,
    pub format: SpecFormat,
    pub kind: ApiKind,
    pub title: Option<String>,
    pub operations: Vec<OperationSpec>,
    pub root: RootExtensions,
    pub security_schemes: IndexMap<String, SecuritySchemeSpec>,
    /// The document's model definitions, placed where its `$ref`s point: OpenAPI 3's
    /// `{"components": {"schemas": ...}}` or Swagger 2's `{"definitions": ...}`.
    pub models: Value,
    /// What API Gateway's import would report as warnings.
    pub warnings: Vec<LoadError>,
}

/// Raw per-operation material both formats produce before extensions are typed.
pub(crate) struct RawOperation {
    pub path: String,
    pub method: RouteMethod,
    pub pointer: String,
    pub operation_id: Option<String>,
    pub extensions: IndexMap<String, Value>,
    pub security: Option<Vec<IndexMap<String, Vec<String>>>>,
    pub parameters: Vec<ParamSpec>,
    pub request_models: IndexMap<String, Value>,
    pub responses: IndexMap<String, MethodResponseSpec>,
    pub is_default_route: bool,
}

pub(crate) struct RawScheme {
    pub name: String,
    pub pointer: String,
    pub kind: SecuritySchemeKind,
    pub extensions: IndexMap<String, Value>,
}

/// What the format readers hand to the shared extension parser.
pub(crate) struct RawApi {
    pub format: SpecFormat,
    pub title: Option<String>,
    pub root_extensions: IndexMap<String, Value>,
    pub root_pointer: String,
    pub operations: Vec<RawOperation>,
    pub schemes: Vec<RawScheme>,
    /// See [`ApiSpec::models`].
    pub models: Value,
    /// HTTP API `components.x-amazon-apigateway-integrations`.
    pub shared_integrations: IndexMap<String, Value>,
    pub shared_integrations_pointer: String,
    /// Extensions found at other sites (path items, tags, servers, components) to check by name.
    pub other_extensions: Vec<(String, ExtensionSite, String)>,
    /// Whether any server entry carried an endpoint configuration (OAS3).
    pub server_endpoint_configuration: Option<(String, Value)>,
}

/// Read an API document (OpenAPI 3.0 or Swagger 2.0) that has already been parsed to JSON.
///
/// `kind` forces REST or HTTP API; without it the kind is inferred from HTTP-API-only features
/// (`x-amazon-apigateway-importexport-version`, `x-amazon-apigateway-cors`, a `$default` route,
/// `payloadFormatVersion`).
pub fn load_api(
    file: &Path,
    pointer_base: &str,
    doc: &Value,
    kind: Option<ApiKind>,
) -> Result<ApiSpec, LoadErrors> {
    match load_api_partial(file, pointer_base, Cow::Borrowed(doc), kind) {
        (Some(spec), errors) => errors.into_result(spec),
        (None, errors) => Err(errors),
    }
}

/// Like [`load_api`], but keeps what did parse: operations whose extensions failed are left out,
/// so the resolve step can still check everything else and report all problems in one pass.
pub fn load_api_partial(
    file: &Path,
    pointer_base: &str,
    doc: Cow<'_, Value>,
    kind: Option<ApiKind>,
) -> (Option<ApiSpec>, LoadErrors) {
    let Some(obj) = doc.as_object() else {
        return (
            None,
            LoadError::new(file, pointer_base, "an API definition must be a mapping").into(),
        );
    };
    let version = obj.get("openapi").map(|v| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    let swagger = obj.contains_key("swagger");
    // An owned document is normalised in place; a borrowed one is copied once.
    let raw = if let Some(version) = version {
        if !version.starts_with("3.0") {
            return (
                None,
                LoadError::new(
                    file,
                    pointer_join(pointer_base, "openapi"),
                    format!("OpenAPI {version} is not supported: API Gateway imports OpenAPI 3.0.x and Swagger 2.0"),
                )
                .into(),
            );
        }
        let (doc, warnings) = lenient::normalise(file, pointer_base, doc);
        openapi3::read(file, pointer_base, doc, version).map(|raw| (raw, warnings))
    } else if swagger {
        let (doc, warnings) = lenient::normalise(file, pointer_base, doc);
        swagger2::read(file, pointer_base, &doc).map(|raw| (raw, warnings))
    } else {
        return (
            None,
            LoadError::new(
                file,
                pointer_base,
                "not an API definition: expected an `openapi: 3.0.x` or `swagger: \"2.0\"` field",
            )
            .into(),
        );
    };
    match raw {
        Ok((raw, warnings)) => {
            let (mut spec, errors) = type_extensions(file, pointer_base, raw, kind);
            spec.warnings.splice(0..0, warnings);
            (Some(spec), errors)
        }
        Err(e) => (None, e),
    }
}

fn parse_ext<T: serde::de::DeserializeOwned>(
    file: &Path,
    pointer: &str,
    value: &Value,
    errors: &mut LoadErrors,
) -> Option<T> {
    match deserialize_at::<T>(file, pointer, value) {
        Ok(v) => Some(v),
        Err(e) => {
            errors.push(e);
            None
        }
    }
}

fn type_extensions(
    file: &Path,
    pointer_base: &str,
    raw: RawApi,
    kind: Option<ApiKind>,
) -> (ApiSpec, LoadErrors) {
    let mut errors = LoadErrors::default();

    for (name, site, pointer) in &raw.other_extensions {
        if let Err(m) = check_extension_name(name, *site) {
            errors.push(LoadError::new(file, pointer.clone(), m));
        }
    }

    // Document root.
    let mut root = RootExtensions::default();
    for (name, value) in &raw.root_extensions {
        let p = pointer_join(&raw.root_pointer, name);
        if name == "x-tollgate-identity" {
            root.identity_injection = parse_ext(file, &p, value, &mut errors);
            continue;
        }
        if name == "x-tollgate-rate-limit" {
            root.rate_limit = parse_ext(file, &p, value, &mut errors);
            continue;
        }
        if name == "x-tollgate-upstreams" {
            root.upstreams = parse_ext(file, &p, value, &mut errors).unwrap_or_default();
            continue;
        }
        if name == "x-tollgate-policies" {
            root.policies = parse_ext(file, &p, value, &mut errors).unwrap_or_default();
            continue;
        }
        if let Err(m) = check_extension_name(name, ExtensionSite::Root) {
            errors.push(LoadError::new(file, p, m));
            continue;
        }
        match name.as_str() {
            "x-amazon-apigateway-api-key-source" => {
                root.api_key_source = parse_ext(file, &p, value, &mut errors)
            }
            "x-amazon-apigateway-request-validators" => {
                root.request_validators =
                    parse_ext(file, &p, value, &mut errors).unwrap_or_default()
            }
            "x-amazon-apigateway-request-validator" => {
                root.request_validator = parse_ext(file, &p, value, &mut errors)
            }
            "x-amazon-apigateway-gateway-responses" => {
                let map: IndexMap<String, GatewayResponseExt> =
                    parse_ext(file, &p, value, &mut errors).unwrap_or_default();
                for key in map.keys() {
                    if ResponseType::parse(key).is_none() {
                        errors.push(LoadError::new(
                            file,
                            pointer_join(&p, key),
                            format!(
                                "unknown gateway response type `{key}`: expected one of {}",
                                ResponseType::NAMES.join(", ")
                            ),
                        ));
                    }
                }
                root.gateway_responses = map;
            }
            "x-amazon-apigateway-binary-media-types" => {
                root.binary_media_types =
                    parse_ext(file, &p, value, &mut errors).unwrap_or_default()
            }
            "x-amazon-apigateway-cors" => root.cors = parse_ext(file, &p, value, &mut errors),
            "x-amazon-apigateway-policy" => root.policy = parse_ext(file, &p, value, &mut errors),
            "x-amazon-apigateway-endpoint-configuration" => {
                root.endpoint_configuration = parse_ext(file, &p, value, &mut errors)
            }
            "x-amazon-apigateway-minimum-compression-size" => {
                let v: Option<u64> = parse_ext(file, &p, value, &mut errors);
                match v {
                    Some(n) if n > 10_485_760 => errors.push(LoadError::new(
                        file,
                        p,
                        format!("{n} is out of range: expected 0 to 10485760"),
                    )),
                    other => root.minimum_compression_size = other,
                }
            }
            "x-amazon-apigateway-importexport-version" => {
                let v: Option<String> = parse_ext(file, &p, value, &mut errors);
                match v.as_deref() {
                    Some("1.0") | None => root.importexport_version = v,
                    Some(other) => errors.push(LoadError::new(
                        file,
                        p,
                        format!("`{other}` is not valid: expected 1.0"),
                    )),
                }
            }
            "x-amazon-apigateway-documentation" => {
                root.documentation = parse_ext(file, &p, value, &mut errors)
            }
            _ => {}
        }
    }
    if let Some((p, v)) = &raw.server_endpoint_configuration {
        root.endpoint_configuration = parse_ext(file, p, v, &mut errors);
    }

    // Shared integrations (HTTP API components).
    let mut shared: IndexMap<String, (String, IntegrationExt)> = IndexMap::new();
    for (name, value) in &raw.shared_integrations {
        let p = pointer_join(&raw.shared_integrations_pointer, name);
        if let Some(i) = parse_ext::<IntegrationExt>(file, &p, value, &mut errors) {
            shared.insert(name.clone(), (p, i));
        }
    }

    // Security schemes.
    let mut security_schemes = IndexMap::new();
    for s in raw.schemes {
        let mut authorizer = None;
        let mut authtype = None;
        for (name, value) in &s.extensions {
            let p = pointer_join(&s.pointer, name);
            if let Err(m) = check_extension_name(name, ExtensionSite::SecurityScheme) {
                errors.push(LoadError::new(file, p, m));
                continue;
            }
            match name.as_str() {
                "x-amazon-apigateway-authorizer" => {
                    authorizer = parse_ext(file, &p, value, &mut errors)
                }
                "x-amazon-apigateway-authtype" => {
                    authtype = parse_ext(file, &p, value, &mut errors)
                }
                _ => {}
            }
        }
        security_schemes.insert(
            s.name.clone(),
            SecuritySchemeSpec {
                name: s.name,
                pointer: s.pointer,
                kind: s.kind,
                authorizer,
                authtype,
            },
        );
    }

    // Operations.
    let mut operations = Vec::with_capacity(raw.operations.len());
    for op in raw.operations {
        let errors_before = errors.len();
        let mut integration = None;
        let mut integration_pointer = pointer_join(&op.pointer, "x-amazon-apigateway-integration");
        let mut auth = None;
        let mut request_validator = None;
        let mut identity_injection = None;
        let mut rate_limit = None;
        let mut aggregate = None;
        let mut policies = Vec::new();
        for (name, value) in &op.extensions {
            let p = pointer_join(&op.pointer, name);
            if name == "x-tollgate-policies" {
                policies = parse_ext(file, &p, value, &mut errors).unwrap_or_default();
                continue;
            }
            if name == "x-tollgate-aggregate" {
                aggregate = parse_ext(file, &p, value, &mut errors);
                continue;
            }
            if name == "x-tollgate-identity" {
                identity_injection = parse_ext(file, &p, value, &mut errors);
                continue;
            }
            if name == "x-tollgate-rate-limit" {
                rate_limit = parse_ext::<RateLimitExt>(file, &p, value, &mut errors);
                if let Some(r) = &rate_limit {
                    if let Err(m) = check_rate_limit(r) {
                        errors.push(LoadError::new(file, p.clone(), m));
                    }
                }
                continue;
            }
            if let Err(m) = check_extension_name(name, ExtensionSite::Operation) {
                errors.push(LoadError::new(file, p, m));
                continue;
            }
            match name.as_str() {
                "x-amazon-apigateway-integration" => {
                    if let Some(r) = value.get("$ref").and_then(Value::as_str) {
                        let target =
                            r.strip_prefix("#/components/x-amazon-apigateway-integrations/");
                        match target.and_then(|t| shared.get(t)) {
                            Some((sp, i)) => {
                                integration = Some(i.clone());
                                integration_pointer = sp.clone();
                            }
                            None => errors.push(LoadError::new(
                                file,
                                pointer_join(&p, "$ref"),
                                format!("`{r}` does not name an integration under components/x-amazon-apigateway-integrations"),
                            )),
                        }
                    } else {
                        integration = parse_ext(file, &p, value, &mut errors);
                    }
                }
                "x-amazon-apigateway-auth" => auth = parse_ext(file, &p, value, &mut errors),
                "x-amazon-apigateway-request-validator" => {
                    request_validator = parse_ext(file, &p, value, &mut errors)
                }
                _ => {}
            }
        }
        if errors.len() > errors_before {
            // Already reported; resolving it would only add follow-on errors.
            continue;
        }
        operations.push(OperationSpec {
            path: op.path,
            method: op.method,
            pointer: op.pointer,
            operation_id: op.operation_id,
            integration,
            integration_pointer,
            auth,
            request_validator,
            security: op.security,
            parameters: op.parameters,
            request_models: op.request_models,
            responses: op.responses,
            is_default_route: op.is_default_route,
            identity_injection: identity_injection.or_else(|| root.identity_injection.clone()),
            aggregate,
            policies,
            rate_limit: rate_limit.or_else(|| root.rate_limit.clone()),
        });
    }

    let kind = kind.unwrap_or_else(|| infer_kind(&root, &operations, !shared.is_empty()));
    let spec = ApiSpec {
        file: file.to_path_buf(),
        pointer_base: pointer_base.to_string(),
        format: raw.format,
        kind,
        title: raw.title,
        operations,
        root,
        security_schemes,
        models: raw.models,
        warnings: Vec::new(),
    };
    (spec, errors)
}

/// Each algorithm needs its own numbers.
pub fn check_rate_limit(r: &RateLimitExt) -> Result<(), String> {
    let need = |what: &str, ok: bool| {
        if ok {
            Ok(())
        } else {
            Err(format!("the {} algorithm needs {what}", r.algorithm))
        }
    };
    match r.algorithm {
        RateLimitAlgorithm::TokenBucket => need(
            "rate and burst",
            r.rate.is_some_and(|x| x > 0.0) && r.burst.is_some_and(|b| b > 0),
        ),
        RateLimitAlgorithm::LeakyBucket => need("rate", r.rate.is_some_and(|x| x > 0.0)),
        RateLimitAlgorithm::FixedWindow | RateLimitAlgorithm::SlidingWindow => need(
            "limit and window (seconds)",
            r.limit.is_some() && r.window.is_some_and(|w| w > 0),
        ),
    }
}

fn infer_kind(root: &RootExtensions, ops: &[OperationSpec], shared_integrations: bool) -> ApiKind {
    let http_only = root.importexport_version.is_some()
        || root.cors.is_some()
        || shared_integrations
        || ops.iter().any(|o| {
            o.is_default_route
                || o.path == "$default"
                || o.path == "/$default"
                || o.integration
                    .as_ref()
                    .is_some_and(|i| i.payload_format_version.is_some())
        });
    if http_only {
        ApiKind::Http
    } else {
        ApiKind::Rest
    }
}
