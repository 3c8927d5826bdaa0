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
