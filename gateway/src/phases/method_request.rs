//! The method request phase: request validation (aws-behaviour §8), required parameters first
//! (present and not blank), then the body against its model (JSON Schema draft 4).

use crate::context::RequestContext;
use crate::error::GatewayError;
use crate::phase::Flow;
use crate::request::{collect, request_media_type, MethodRequest};
use crate::spec::ParamLocation;

use crate::phases::env::{Env, PhaseResult};

pub(crate) async fn run(
    env: &Env<'_>,
    ctx: &mut RequestContext,
    req: &mut MethodRequest,
) -> PhaseResult<()> {
    let Some(v) = &env.route.validation else {
        return Ok(Flow::Continue(()));
    };
    let blank = |s: Option<&str>| s.is_none_or(|s| s.trim().is_empty());
    let missing: Vec<String> = v
        .required
        .iter()
        .filter(|(loc, name)| match loc {
            ParamLocation::Header => blank(req.header_value(name)),
            ParamLocation::Path => blank(req.path_param(name)),
            _ => blank(req.query_value(name)),
        })
        .map(|(_, name)| name.clone())
        .collect();
    if !missing.is_empty() {
        return Err(GatewayError::MissingParameters(missing));
    }
    let media = request_media_type(&req.headers);
    let Some(model) = v.models.get(&media).or_else(|| v.models.get("$default")) else {
        return Ok(Flow::Continue(()));
    };
    let bytes = match req.body.take() {
        Some(b) => collect(b).await?,
        None => bytes::Bytes::new(),
    };
    // Later phases read the body again.
    req.body = Some(crate::body::full(bytes.clone()));
    // An empty body is validated as `{}` [emu].
    let doc: serde_json::Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        serde_json::json!({})
    } else {
        match serde_json::from_slice(&bytes) {
            Ok(d) => d,
            Err(e) => {
                ctx.validation_error = Some(format!("[Invalid JSON: {e}]"));
                return Err(GatewayError::InvalidBody);
            }
        }
    };
    let problems: Vec<String> = model.iter_errors(&doc).map(|e| e.to_string()).collect();
    if !problems.is_empty() {
        // [?] AWS's wording comes from its own validator; the list shape is what it shows.
        ctx.validation_error = Some(format!("[{}]", problems.join(", ")));
        return Err(GatewayError::InvalidBody);
    }
    Ok(Flow::Continue(()))
}
