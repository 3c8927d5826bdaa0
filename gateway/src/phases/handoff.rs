//! What the phases hand each other: the integration request the integration request phase
//! builds, and the integration response the integration returns. Phases never import each
//! other; they meet here.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use serde_json::Value;

use crate::body::Body;
use crate::upstream::UpstreamPool;

/// A request ready for the integration.
pub(crate) enum IntegrationRequest {
    /// The status the MOCK request template selected (`None`: no template, use `default`).
    Mock {
        status_code: Option<i64>,
    },
    Http(Box<HttpRequestPlan>),
    Lambda(LambdaRequest),
    /// `x-tollgate-aggregate`: calls to run in parallel.
    Aggregate(Vec<PreparedCall>),
    /// `--mock-missing`: the operation's documented example, answered as is.
    Example(Arc<crate::model::ExampleResponse>),
}

/// Which proxy payload format a Lambda integration speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LambdaFormat {
    Rest,
    HttpV1,
    HttpV2,
}

pub(crate) struct LambdaRequest {
    pub function: String,
    /// `false` for a non-proxy (`AWS`) integration: function errors are then selected on by
    /// the integration responses instead of failing the request.
    pub proxy: bool,
    pub payload: Bytes,
    pub timeout: Duration,
    pub format: LambdaFormat,
    pub invocation: InvocationType,
}

/// How a Lambda integration invokes its function: `X-Amz-Invocation-Type` mapped onto a
/// non-proxy integration request picks `Event` (aws-behaviour §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InvocationType {
    RequestResponse,
    /// Asynchronous: the caller is answered at once, the function runs on.
    Event,
}

pub(crate) struct HttpRequestPlan {
    pub method: http::Method,
    pub uri: http::Uri,
    pub headers: HeaderMap,
    pub body: Body,
    pub timeout: Duration,
    /// `true` for a non-proxy HTTP integration (its response goes through the mapping).
    pub mapped: bool,
    /// The upstream pool the URI's host names, and the request's consistent-hashing key.
    pub upstream: Option<(Arc<UpstreamPool>, Option<String>)>,
}

/// One call, ready to send.
pub(crate) struct PreparedCall {
    pub name: String,
    pub call: CallRequest,
    pub timeout: Duration,
    pub required: bool,
    pub default: Option<Value>,
}

pub(crate) enum CallRequest {
    Lambda(LambdaRequest),
    Http(Box<HttpRequestPlan>),
}

/// What the integration answered.
pub(crate) struct IntegrationResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Body,
    /// The whole payload, for integrations that answer with one buffer (Lambda).
    pub payload: Option<bytes::Bytes>,
    /// The value integration responses are selected by: the status code for MOCK and HTTP, the
    /// `errorMessage` (or "") for Lambda.
    pub selection: String,
    pub kind: IntegrationKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntegrationKind {
    Mock,
    HttpProxy,
    LambdaProxy(LambdaFormat),
    /// Non-proxy Lambda (`AWS`): the payload goes through the integration responses.
    Lambda,
    /// Non-proxy HTTP.
    Http,
}
