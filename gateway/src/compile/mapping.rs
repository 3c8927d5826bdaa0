//! The mapping half of non-proxy integrations: templates, passthrough, request parameters and
//! integration responses.

use std::sync::Arc;

use indexmap::IndexMap;
use regex::Regex;

use crate::load_error::{pointer_join, LoadError, LoadErrors};
use crate::mapping::vtl::Template;
use crate::model::{
    IntegrationResponseRule, IntegrationResponses, Mapping, ParamSource, ParamTarget,
    RequestParameter,
};
use crate::spec::extensions::{IntegrationExt, IntegrationResponseExt, PassthroughBehavior};
use crate::spec::ApiSpec;

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
pub(super) fn mapping(
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

pub(super) fn request_parameters(
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
