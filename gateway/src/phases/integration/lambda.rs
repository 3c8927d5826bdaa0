//! Lambda integrations: one invocation through the configured [`crate::lambda::Invoker`],
//! bounded by the integration's timeout.

use std::time::Instant;

use http::HeaderMap;

use crate::body;
use crate::context::{exchange_text, Call, CallKind, RequestContext};
use crate::error::GatewayError;
use crate::lambda::{error_message, InvokeError, InvokeOutcome, InvokeRequest};
use crate::phases::handoff::{IntegrationKind, IntegrationResponse, InvocationType, LambdaRequest};
use crate::services::Services;

/// Invoke a Lambda function (proxy or not) within the integration's timeout.
pub(super) async fn call(
    services: &Services,
    ctx: &mut RequestContext,
    l: LambdaRequest,
) -> Result<IntegrationResponse, GatewayError> {
    let Some(invoker) = &services.invoker else {
        return Err(GatewayError::Configuration(format!(
            "Lambda function {} cannot run: no Lambda runtime host is configured",
            l.function
        )));
    };
    let started = Instant::now();
    let sent = ctx.capture_exchanges.then(|| exchange_text(&l.payload));
    let request = InvokeRequest {
        function: l.function.clone(),
        payload: l.payload,
        trace_id: ctx.outgoing_trace_header(),
    };
    if l.invocation == InvocationType::Event {
        // Lambda accepts the event (202) and runs it on; API Gateway answers from an empty
        // payload at once (aws-behaviour §7). A failure is the function's own log's business.
        let invoker = std::sync::Arc::clone(invoker);
        let function = l.function.clone();
        tokio::spawn(async move {
            if let Err(e) = invoker.invoke(request).await {
                tracing::warn!(function, error = %e, "asynchronous invocation failed");
            }
        });
        ctx.integration_latency = Some(started.elapsed());
        ctx.integration_status = Some(202);
        record_call(ctx, l.function, started, (Some(202), None, None), sent);
        return Ok(IntegrationResponse {
            status: 200,
            headers: HeaderMap::new(),
            body: body::empty(),
            payload: Some(bytes::Bytes::new()),
            selection: String::new(),
            kind: IntegrationKind::Lambda,
        });
    }
    let call = invoker.invoke(request);
    let result = tokio::time::timeout(l.timeout, call).await;
    ctx.integration_latency = Some(started.elapsed());
    let (status, error, answer) = match &result {
        Err(_) => (None, Some(format!("timed out after {:?}", l.timeout)), None),
        Ok(Err(e)) => (None, Some(e.to_string()), None),
        Ok(Ok(InvokeOutcome::FunctionError(p))) => {
            (Some(200), Some("function error".to_string()), Some(p))
        }
        Ok(Ok(InvokeOutcome::Success(p))) => (Some(200), None, Some(p)),
    };
    record_call(
        ctx,
        l.function.clone(),
        started,
        (status, error, answer),
        sent,
    );
    match result {
        Err(_) => Err(GatewayError::IntegrationTimeout(l.timeout)),
        Ok(Err(InvokeError::Throttled(f))) => Err(GatewayError::LambdaThrottled(f)),
        Ok(Err(e)) => Err(GatewayError::IntegrationFailure(e.to_string())),
        Ok(Ok(InvokeOutcome::FunctionError(payload))) if !l.proxy => {
            // Non-proxy: the error is a response like any other, selected on its
            // errorMessage (aws-behaviour §7).
            ctx.integration_status = Some(200);
            Ok(IntegrationResponse {
                status: 200,
                headers: HeaderMap::new(),
                body: body::empty(),
                selection: error_message(&payload),
                payload: Some(payload),
                kind: IntegrationKind::Lambda,
            })
        }
        Ok(Ok(InvokeOutcome::FunctionError(payload))) => {
            ctx.integration_status = Some(200);
            Err(GatewayError::LambdaFunctionError(
                String::from_utf8_lossy(&payload).into_owned(),
            ))
        }
        Ok(Ok(InvokeOutcome::Success(payload))) => {
            ctx.integration_status = Some(200);
            Ok(IntegrationResponse {
                status: 200,
                headers: HeaderMap::new(),
                body: body::empty(),
                payload: Some(payload),
                selection: String::new(),
                kind: if l.proxy {
                    IntegrationKind::LambdaProxy(l.format)
                } else {
                    IntegrationKind::Lambda
                },
            })
        }
    }
}

/// Note the invocation on the request context (the dashboard's and the traces' view): its
/// status, error and answer, and what was sent.
fn record_call(
    ctx: &mut RequestContext,
    function: String,
    started: Instant,
    (status, error, answer): (Option<u16>, Option<String>, Option<&bytes::Bytes>),
    sent: Option<String>,
) {
    let response = answer
        .filter(|_| ctx.capture_exchanges)
        .map(|p| exchange_text(p));
    ctx.calls.push(Call {
        kind: CallKind::Lambda,
        target: function,
        started: ctx.offset(started),
        elapsed: started.elapsed(),
        status,
        error,
        request: sent,
        response,
        response_body: None,
    });
}
