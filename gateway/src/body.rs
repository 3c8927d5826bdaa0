//! The body type every stage passes around: a boxed stream of bytes, so a proxied upstream body
//! can stream through while a mock or error body is one buffer.

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Empty, Full};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Request and response bodies inside the pipeline.
pub type Body = BoxBody<Bytes, BoxError>;

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

pub fn empty() -> Body {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed()
}

/// Wrap any compatible body.
pub fn boxed<B>(b: B) -> Body
where
    B: http_body::Body<Data = Bytes> + Send + Sync + 'static,
    B::Error: Into<BoxError>,
{
    b.map_err(Into::into).boxed()
}

/// A copy of what streamed through a [`tee`] body, up to its limit, and how much passed in all.
#[derive(Debug, Default)]
pub struct Copied {
    pub bytes: Vec<u8>,
    pub total: usize,
}

/// Pass `b` through unchanged while keeping its first `limit` bytes in `copy` (the dashboard's
/// view of an upstream answer that streams to the client).
pub fn tee(b: Body, copy: std::sync::Arc<std::sync::Mutex<Copied>>, limit: usize) -> Body {
    b.map_frame(move |frame| {
        if let (Some(data), Ok(mut c)) = (frame.data_ref(), copy.lock()) {
            let room = limit.saturating_sub(c.bytes.len());
            c.bytes.extend_from_slice(&data[..data.len().min(room)]);
            c.total += data.len();
        }
        frame
    })
    .boxed()
}

/// A client's request body that took longer than its deadline to arrive.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
pub struct BodyTimeout(pub std::time::Duration);

/// `b`, failing with [`BodyTimeout`] once `within` has passed since now: a client that sends its
/// body a byte at a time cannot hold a request (and its connection) for ever.
pub fn deadline(b: Body, within: std::time::Duration) -> Body {
    Deadline {
        inner: b,
        within,
        sleep: Box::pin(tokio::time::sleep(within)),
    }
    .boxed()
}

struct Deadline {
    inner: Body,
    within: std::time::Duration,
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl http_body::Body for Deadline {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        use std::future::Future;
        if let std::task::Poll::Ready(frame) = std::pin::Pin::new(&mut self.inner).poll_frame(cx) {
            return std::task::Poll::Ready(frame);
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            return std::task::Poll::Ready(Some(Err(Box::new(BodyTimeout(self.within)))));
        }
        std::task::Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
