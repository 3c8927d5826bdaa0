//! Integrations: their type, URI, timeout, method and mappings; aggregates.

use std::sync::Arc;
use std::time::Duration;

use crate::lambda::function_from_uri;
use crate::load_error::{pointer_join, LoadError, LoadErrors};
use crate::model::{
    Aggregate, AggregateCall, AggregateTarget, HttpIntegration, HttpProxyIntegration, Integration,
    LambdaIntegration, Stage, Unavailable,
};
use crate::spec::extensions::{IntegrationExt, IntegrationType};
use crate::spec::{ApiKind, ApiSpec};

use super::mapping::{mapping, request_parameters};
use super::{ResolveOptions, HTTP_API_TIMEOUT_MS, REST_TIMEOUT_MS};

pub(super) fn resolve_integration(
    spec: &ApiSpec,
    ptr: &str,
    ext: &IntegrationExt,
    op: &crate::spec::OperationSpec,
    opts: &ResolveOptions,
    warnings: &mut Vec<LoadError>,
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
    if let Some(unavailable) = unavailable(spec, ptr, ext, kind, op, opts, warnings) {
        return Ok(Integration::Unavailable(unavailable));
    }
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
                    warnings.push(LoadError::new(
                        file,
                        pointer_join(ptr, "requestParameters"),
                        "HTTP API parameter mapping is parsed but not applied by this version of tollgate",
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
            // HTTP APIs also take the function's own ARN as the uri (§12).
            let function_arn = spec.kind == ApiKind::Http
                && uri.starts_with("arn:")
                && uri.contains(":lambda:")
                && uri.contains(":function:");
            if uri.contains(":lambda:path/") || function_arn {
                match function_from_uri(&uri) {
                    Some(name) => {
                        let function = match &opts.functions {
                            Some(map) => match map.get(&name) {
                                Some(id) => id.clone(),
                                None if uri.contains("${stageVariables.") => name,
                                None => {
                                    let why = format!("names Lambda function `{name}`, which the template does not define");
                                    warnings.push(LoadError::new(
                                        file,
                                        pointer_join(ptr, "uri"),
                                        format!("{why}: {} answers 500, as AWS does when the function cannot be invoked", route_name(op)),
                                    ));
                                    return Ok(Integration::Unavailable(Unavailable::Broken(why)));
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
                        Integration::Unavailable(Unavailable::Broken(uri))
                    }
                }
            } else {
                if !uri.is_empty() {
                    errors.push(LoadError::new(
                        file,
                        pointer_join(ptr, "uri"),
                        format!("`{uri}` is not a Lambda invocation URI; aws_proxy integrations must invoke a Lambda function"),
                    ));
                }
                Integration::Unavailable(Unavailable::Broken(uri))
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

/// Headers no mapping may give a Lambda integration (AWS or AWS_PROXY): those no integration may
/// be given, and the connection's own.
const LAMBDA_UNMAPPABLE: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "x-amzn-trace-id",
    "x-amzn-apigateway-api-id",
    "authorization",
    "connection",
    "expect",
    "proxy-authenticate",
    "te",
    "host",
    "upgrade",
];

/// A route that imports but cannot be served here: an AWS service integration, or an
/// integration that uses a value the template could not resolve. Warned once, naming the route.
fn unavailable(
    spec: &ApiSpec,
    ptr: &str,
    ext: &IntegrationExt,
    kind: IntegrationType,
    op: &crate::spec::OperationSpec,
    opts: &ResolveOptions,
    warnings: &mut Vec<LoadError>,
) -> Option<Unavailable> {
    let file = spec.file.as_path();
    let uri = ext.uri.as_deref().unwrap_or_default();
    // A stage variable may carry the unresolved value (`Variables: {backend: !Ref NoDefault}`).
    let filled = with_stage_variables(uri, opts.stage.as_ref());
    if let Some(name) = crate::load_error::unresolved_in(&filled) {
        warnings.push(LoadError::new(
            file,
            pointer_join(ptr, "uri"),
            format!(
                "uses `{name}`, which cannot be resolved: {} answers 500",
                route_name(op)
            ),
        ));
        return Some(Unavailable::Broken(format!(
            "its integration uses `{name}`, which cannot be resolved"
        )));
    }
    // Headers a Lambda integration's request may not be given: AWS imports the mapping and
    // answers every call 500 (aws-behaviour §7).
    if matches!(kind, IntegrationType::Aws | IntegrationType::AwsProxy) && uri.contains(":lambda:")
    {
        let forbidden = ext.request_parameters.keys().find_map(|k| {
            let name = k.strip_prefix("integration.request.header.")?;
            LAMBDA_UNMAPPABLE
                .contains(&name.to_ascii_lowercase().as_str())
                .then(|| name.to_string())
        });
        if let Some(name) = forbidden {
            warnings.push(LoadError::new(
                file,
                pointer_join(&pointer_join(ptr, "requestParameters"), &format!("integration.request.header.{name}")),
                format!(
                    "maps header {name}, which a Lambda integration may not be given: {} answers 500 on every call, as on AWS",
                    route_name(op)
                ),
            ));
            return Some(Unavailable::Broken(format!(
                "its Lambda integration maps the forbidden header {name}"
            )));
        }
    }
    // An HTTP endpoint naming a stage variable the stage does not define: AWS loads the API and
    // the route fails when called (aws-behaviour §12).
    if matches!(kind, IntegrationType::Http | IntegrationType::HttpProxy) {
        if let Some(name) = filled
            .split("${stageVariables.")
            .nth(1)
            .and_then(|rest| rest.split('}').next())
        {
            let stage_name = opts.stage.as_ref().map(|s| s.name.as_str()).unwrap_or("?");
            warnings.push(LoadError::new(
                file,
                pointer_join(ptr, "uri"),
                format!(
                    "uses ${{stageVariables.{name}}}, which stage `{stage_name}` does not define (set it in the API's Variables, or pass --stage-variable {name}=VALUE): {} answers 500",
                    route_name(op)
                ),
            ));
            return Some(Unavailable::Broken(format!(
                "its endpoint uses ${{stageVariables.{name}}}, which stage `{stage_name}` does not define"
            )));
        }
    }
    let service = match kind {
        IntegrationType::AwsProxy | IntegrationType::Aws => aws_service(ext, uri)?,
        _ => return None,
    };
    warnings.push(LoadError::new(
        file,
        ptr.to_string(),
        format!(
            "{} integrates with {service}, an AWS service tollgate cannot reach: it answers 500 as AWS does when the integration fails",
            route_name(op)
        ),
    ));
    Some(Unavailable::AwsService { service })
}

/// `uri` with the stage's variables written in (those it does not define are left as they are).
fn with_stage_variables(uri: &str, stage: Option<&Stage>) -> String {
    let mut out = uri.to_string();
    for (name, value) in stage.iter().flat_map(|s| s.variables.iter()) {
        out = out.replace(&format!("${{stageVariables.{name}}}"), value);
    }
    out
}

/// The AWS service (and action) an integration calls, unless it is Lambda: an HTTP API's
/// `integrationSubtype` (`SQS-SendMessage`), or a REST `AWS` URI
/// (`arn:aws:apigateway:{region}:{service}:action/{Action}` or `:path/...`).
fn aws_service(ext: &IntegrationExt, uri: &str) -> Option<String> {
    if let Some(subtype) = &ext.integration_subtype {
        return Some(subtype.clone());
    }
    let rest = uri.strip_prefix("arn:")?;
    let parts: Vec<&str> = rest.splitn(5, ':').collect();
    let [_, "apigateway", _, service, what] = parts.as_slice() else {
        return None;
    };
    if *service == "lambda" && what.starts_with("path/") {
        return None;
    }
    let service = service.split('.').next().unwrap_or(service);
    Some(match what.strip_prefix("action/") {
        Some(action) => format!(
            "{service} {}",
            action.split(['&', '?']).next().unwrap_or(action)
        ),
        None => service.to_string(),
    })
}

/// How a warning names a route: `GET /pets`.
pub(super) fn route_name(op: &crate::spec::OperationSpec) -> String {
    format!("{} {}", op.method, op.path)
}

pub(super) fn resolve_aggregate(
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
