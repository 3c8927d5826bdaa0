//! Access logs: `$context` format strings rendered once per request, when its response body has
//! been sent (or dropped), so `$context.responseLength` and `$context.status` are final and
//! rejected requests are logged like any other.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};

use crate::body::{Body, BoxError};
use crate::context::RequestContext;
use crate::spec::ApiKind;

/// AWS's CLF preset for REST APIs.
pub const REST_CLF: &str = "$context.identity.sourceIp $context.identity.caller $context.identity.user [$context.requestTime] \"$context.httpMethod $context.resourcePath $context.protocol\" $context.status $context.responseLength $context.requestId $context.extendedRequestId";

/// AWS's CLF preset for HTTP APIs.
pub const HTTP_CLF: &str = "$context.identity.sourceIp - - [$context.requestTime] \"$context.httpMethod $context.routeKey $context.protocol\" $context.status $context.responseLength $context.requestId";

/// Called once per finished request.
pub type CompletionSink = Arc<dyn Fn(&RequestContext) + Send + Sync>;

/// Render a `$context.*` format string; a variable with no value renders as `-` [?] (the common
/// emulator convention; AWS's own rendering of empty values is not recorded).
pub fn render(format: &str, ctx: &RequestContext) -> String {
    let mut out = String::with_capacity(format.len() + 64);
    let mut rest = format;
    while let Some(pos) = rest.find("$context.") {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + "$context.".len()..];
        let len = after
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '.' || *c == '_'))
            .map(|(i, _)| i)
            .unwrap_or(after.len());
        let name = after[..len].trim_end_matches('.');
        out.push_str(&ctx.variable(name).unwrap_or_else(|| "-".to_string()));
        rest = &after[name.len()..];
    }
    out.push_str(rest);
    out
}

/// The preset for an API kind.
pub fn default_format(kind: Option<ApiKind>) -> &'static str {
    match kind {
        Some(ApiKind::Http) => HTTP_CLF,
        _ => REST_CLF,
    }
}

/// A response body that counts its bytes and calls the sink once, at end of stream or on drop.
pub struct CompletionBody {
    inner: Body,
    ctx: Option<RequestContext>,
    sink: CompletionSink,
    sent: u64,
}

impl CompletionBody {
    pub fn new(inner: Body, ctx: RequestContext, sink: CompletionSink) -> Self {
        Self {
            inner,
            ctx: Some(ctx),
            sink,
            sent: 0,
        }
    }

    fn finish(&mut self) {
        if let Some(mut ctx) = self.ctx.take() {
            ctx.response_length = self.sent;
            (self.sink)(&ctx);
        }
    }
}

impl HttpBody for CompletionBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(d) = frame.data_ref() {
                    this.sent += d.len() as u64;
                }
            }
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => this.finish(),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for CompletionBody {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::ConnInfo;

    #[test]
    fn clf_renders_missing_values_as_dash() {
        let conn = ConnInfo {
            remote: "10.1.2.3:1".parse().expect("addr"),
            local: "127.0.0.1:2".parse().expect("addr"),
            tls: false,
        };
        let mut c = RequestContext::new(
            &http::Method::POST,
            "/orders",
            &http::HeaderMap::new(),
            conn,
        );
        c.resource_path = Some("/orders".into());
        c.status = 201;
        c.response_length = 17;
        let line = render(REST_CLF, &c);
        let want = format!(
            "10.1.2.3 - - [{}] \"POST /orders HTTP/1.1\" 201 17 {} {}",
            c.request_time, c.request_id, c.extended_request_id
        );
        assert_eq!(line, want);
    }
}
