//! What the gateway tells people about the requests it served: access-log lines in API
//! Gateway's formats, and Prometheus metrics. Both read a finished request's context.

pub mod access_log;
pub(crate) mod metrics;

pub(crate) use access_log::CompletionBody;
pub use access_log::CompletionSink;
pub use metrics::Metrics;
