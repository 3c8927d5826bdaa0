//! The integrations a route can have, as compiled.

use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;

use crate::mapping::vtl::Template;
use crate::spec::extensions::{ContentHandling, PassthroughBehavior};

use super::{IntegrationResponses, RequestParameter};

/// The mapping half of a non-proxy integration (MOCK, AWS, HTTP): what turns the method request
/// into the integration request, and the integration response into the method response.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// Request templates by media type, compiled at load.
    pub request_templates: IndexMap<String, Arc<Template>>,
    pub passthrough: PassthroughBehavior,
    pub request_parameters: Vec<RequestParameter>,
    pub content_handling: Option<ContentHandling>,
    pub responses: IntegrationResponses,
}

pub(super) type MockIntegration = Mapping;

/// A non-proxy HTTP integration.
#[derive(Debug, Clone)]
pub struct HttpIntegration {
    /// The endpoint with `{param}` and `${stageVariables.x}` placeholders still in it.
    pub uri: String,
    /// `None` means `ANY`: use the client's method.
    pub method: Option<http::Method>,
    pub timeout: Duration,
    pub mapping: Mapping,
}

#[derive(Debug, Clone)]
pub struct HttpProxyIntegration {
    /// The endpoint with `{param}` and `${stageVariables.x}` placeholders still in it.
    pub uri: String,
    /// `None` means `ANY`: use the client's method.
    pub method: Option<http::Method>,
    pub timeout: Duration,
    pub request_parameters: Vec<RequestParameter>,
}

#[derive(Debug, Clone)]
pub struct LambdaIntegration {
    /// The function's logical id (or name, for a bare OpenAPI file).
    pub function: String,
    pub proxy: bool,
    pub payload_format_version: String,
    pub timeout: Duration,
    pub http_method: String,
    /// Non-proxy (`AWS`) integrations map the request and response.
    pub mapping: Option<Mapping>,
}

#[derive(Debug, Clone)]
pub enum Integration {
    Mock(MockIntegration),
    HttpProxy(HttpProxyIntegration),
    Lambda(LambdaIntegration),
    /// HTTP (non-proxy).
    Http(HttpIntegration),
    /// A method API Gateway imports but cannot run: it answers as AWS does when an integration
    /// fails (aws-behaviour §12).
    Unavailable(Unavailable),
    /// `--mock-missing`: a method without an integration answers its own documented example.
    Example(Arc<ExampleResponse>),
    /// `x-tollgate-aggregate`: several calls in parallel, merged into one document.
    Aggregate(Arc<Aggregate>),
}

/// Why a route cannot call anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    /// No integration: AWS refuses to deploy it ("No integration defined for method").
    NoIntegration,
    /// An AWS service integration (SQS, Step Functions, EventBridge, ...) tollgate cannot reach.
    AwsService { service: String },
    /// The integration names what the template cannot provide (an unresolved reference, a
    /// function it does not define): the reason, as warned at load.
    Broken(String),
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unavailable::NoIntegration => f.write_str("No integration defined for method"),
            Unavailable::AwsService { service } => {
                write!(
                    f,
                    "an AWS service integration ({service}) tollgate cannot reach"
                )
            }
            Unavailable::Broken(why) => f.write_str(why),
        }
    }
}

/// The answer a contract mock gives: the operation's documented example (or one made from its
/// schema).
#[derive(Debug, Clone)]
pub struct ExampleResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: bytes::Bytes,
}

/// A resolved `x-tollgate-aggregate`.
#[derive(Debug)]
pub struct Aggregate {
    pub calls: Vec<AggregateCall>,
}

#[derive(Debug)]
pub struct AggregateCall {
    pub name: String,
    pub target: AggregateTarget,
    pub timeout: Duration,
    pub required: bool,
    pub default: Option<serde_json::Value>,
}

#[derive(Debug)]
pub enum AggregateTarget {
    /// A Lambda function, sent a REST proxy event for `resource` (placeholders filled from the
    /// request's path parameters).
    Function { function: String, resource: String },
    /// An HTTP GET; `{param}` and `{context.x}` placeholders are filled per request.
    Http { url: String },
}

impl Integration {
    pub fn label(&self) -> String {
        match self {
            Integration::Mock(_) => "MOCK".into(),
            Integration::HttpProxy(h) => format!("HTTP_PROXY {}", h.uri),
            Integration::Lambda(l) if l.proxy => format!("AWS_PROXY {}", l.function),
            Integration::Lambda(l) => format!("AWS {}", l.function),
            Integration::Http(h) => format!("HTTP {}", h.uri),
            Integration::Unavailable(Unavailable::NoIntegration) => "NONE".into(),
            Integration::Unavailable(Unavailable::AwsService { service }) => {
                format!("AWS {service} (not served)")
            }
            Integration::Unavailable(Unavailable::Broken(_)) => "BROKEN".into(),
            Integration::Example(e) => format!("EXAMPLE {}", e.status),
            Integration::Aggregate(a) => format!(
                "AGGREGATE {}",
                a.calls
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }
}
