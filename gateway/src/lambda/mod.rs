//! Lambda: how the pipeline calls functions ([`Invoker`], implemented by the emulator's Runtime
//! API host and by the deployed gateway's Invoke API client), the proxy events it sends and the
//! proxy responses it accepts, binary-media matching, and function names in integration URIs.

mod binary;
mod events;
mod fields;
mod invoke;
mod responses;
mod sample;
mod uri;

pub(crate) use binary::is_binary;
pub(crate) use events::{
    http_v2_event, rest_event, to_bytes as event_bytes, to_value as event_value,
};
pub use invoke::{error_message, InvokeError, InvokeFuture, InvokeOutcome, InvokeRequest, Invoker};
pub(crate) use responses::{parse_http_v2_response, parse_rest_response, ResponseError};
pub use sample::{sample_event, SampleFormat};
pub(crate) use uri::function_from_uri;
