//! Aggregation (`x-tollgate-aggregate`): one request fans out to several calls (Lambda functions
//! or HTTP upstreams) in parallel, each with its own timeout and fallback, merged into one JSON
//! document. Latency is the slowest call, not the sum; a slow or failing call leaves its field
//! out (or puts its `default` there) and is named in `_missing` and `x-tollgate-missing`,
//! unless it is `required`, when the whole request fails with 502.

use std::time::Duration;

use http::{HeaderMap, HeaderValue};
use serde_json::{Map, Value};

use crate::context::RequestContext;
use crate::error::GatewayError;
use crate::phases::handoff::{CallRequest, IntegrationKind, IntegrationResponse, PreparedCall};
use crate::services::Services;

/// What one call gave: its JSON document, or why not; and the calls it made, for traces.
async fn one(
    services: Services,
    mut ctx: RequestContext,
    call: CallRequest,
    timeout: Duration,
) -> (Result<Value, String>, Vec<crate::context::Call>) {
    ctx.calls.clear();
    let work = async {
        match call {
            CallRequest::Lambda(l) => {
                let resp = super::lambda::call(&services, &mut ctx, l)
                    .await
                    .map_err(|e| e.to_string())?;
                // The function answers as a proxy integration does; read it as API Gateway would.
                let answer = crate::lambda::parse_rest_response(
                    &resp.payload.unwrap_or_default(),
                    &[],
                    None,
                    false,
                )
                .map_err(|e| format!("the function's response: {e}"))?;
                let status = answer.status().as_u16();
                document("the function", status, answer.into_body()).await
            }
            CallRequest::Http(plan) => {
                let resp = super::http::call(&services.http, &mut ctx, plan)
                    .await
                    .map_err(|e| e.to_string())?;
                document("the upstream", resp.status, resp.body).await
            }
        }
    };
    let r = match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(format!("timed out after {} ms", timeout.as_millis())),
    };
    (r, ctx.calls)
}

/// A successful answer's body as JSON (or as a string when it is not JSON).
async fn document(who: &str, status: u16, body: crate::body::Body) -> Result<Value, String> {
    if !(200..300).contains(&status) {
        return Err(format!("{who} answered {status}"));
    }
    let bytes = crate::request::collect_answer(body)
        .await
        .map_err(|e| e.to_string())?;
    Ok(serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned())))
}

/// Run every call at once and merge the answers.
pub(super) async fn execute(
    services: &Services,
    ctx: &mut RequestContext,
    calls: Vec<PreparedCall>,
) -> Result<IntegrationResponse, GatewayError> {
    let started = std::time::Instant::now();
    let mut set = tokio::task::JoinSet::new();
    let mut meta = Vec::with_capacity(calls.len());
    for (k, c) in calls.into_iter().enumerate() {
        meta.push((c.name, c.required, c.default));
        let services = services.clone();
        let sub_ctx = ctx.fork();
        let timeout = c.timeout;
        let call = c.call;
        set.spawn(async move { (k, one(services, sub_ctx, call, timeout).await) });
    }
    let mut results: Vec<Option<Result<Value, String>>> = (0..meta.len()).map(|_| None).collect();
    while let Some(done) = set.join_next().await {
        match done {
            Ok((k, (r, calls))) => {
                results[k] = Some(r);
                ctx.calls.extend(calls);
            }
            Err(e) => tracing::warn!("an aggregate call panicked: {e}"),
        }
    }
    ctx.integration_latency = Some(started.elapsed());
    let mut doc = Map::new();
    let mut missing = Vec::new();
    for ((name, required, default), r) in meta.into_iter().zip(results) {
        match r.unwrap_or_else(|| Err("the call did not finish".into())) {
            Ok(v) => {
                doc.insert(name, v);
            }
            Err(why) => {
                tracing::warn!(request_id = %ctx.request_id, call = %name, "aggregate call failed: {why}");
                if required {
                    return Err(GatewayError::IntegrationFailure(format!(
                        "required aggregate call {name} failed: {why}"
                    )));
                }
                if let Some(d) = default {
                    doc.insert(name.clone(), d);
                }
                missing.push(name);
            }
        }
    }
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if !missing.is_empty() {
        doc.insert(
            "_missing".into(),
            Value::Array(missing.iter().cloned().map(Value::String).collect()),
        );
        if let Ok(v) = HeaderValue::from_str(&missing.join(",")) {
            headers.insert("x-tollgate-missing", v);
        }
    }
    ctx.integration_status = Some(200);
    Ok(IntegrationResponse {
        status: 200,
        headers,
        body: crate::body::full(Value::Object(doc).to_string()),
        payload: None,
        selection: "200".into(),
        kind: IntegrationKind::HttpProxy,
    })
}
