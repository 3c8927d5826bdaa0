//! tollgate's pipeline library: API Gateway's phases, in AWS's order, over API definitions read
//! from OpenAPI files or SAM templates.
//!
//! The modules follow a request and a load (see `docs/architecture.md` for what each owns and
//! may import; a test keeps the imports pointing one way):
//!
//! - loading: [`spec`] (the API as written) and `sam` (templates) → `compile` → `model` (the
//!   API as served), orchestrated by [`load`];
//! - serving: [`Gateway`] runs the front door (`front`: admission, edge, stage, CORS, route),
//!   then the driver (`pipeline`) walks the phases (`phases`); errors become responses in one
//!   place (`responses`); `observability` writes access logs and metrics;
//! - building blocks below them: `auth`, `usage`, `upstream`, `lambda`, `mapping`, `filters`,
//!   `context`, and the base types (`error`, `phase`, `ids`, `body`, `request`).
//!
//! This file is the library's surface: the binaries and tests use what it re-exports, and
//! everything else stays inside the crate.

#![warn(unreachable_pub)]

mod auth;
mod aws_sdk;
pub mod body;
mod compile;
mod config;
mod context;
mod digits;
mod error;
mod filters;
mod front;
mod gateway;
mod ids;
mod lambda;
pub mod load;
mod load_error;
mod mapping;
mod model;
mod observability;
mod phase;
mod phases;
mod pipeline;
mod request;
mod responses;
pub mod sam;
mod services;
pub mod spec;
mod upstream;
mod usage;

/// The account id SAM CLI uses for local pseudo-parameters.
pub const ACCOUNT_ID: &str = "123456789012";
/// The region SAM CLI uses for local pseudo-parameters.
pub const REGION: &str = "us-east-1";
/// API Gateway's payload limit: 10 MB.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

// Serving.
pub use config::GatewayConfig;
pub use gateway::{Gateway, Served, ShadowedRoute};
pub use services::Services;

// What a request carries, for servers and completion hooks.
pub use context::{
    AuthorizerOutput, Call, CallKind, ClientCert, ConnInfo, ContextFormat, RequestContext,
};
pub use ids::{new_request_id, TraceIds};
pub use phase::{Phase, PhaseTiming};
pub use request::HeaderCase;

// The served API, for route tables and dashboards.
pub use model::{ExampleResponse, Integration, ResolvedApi, Route, RouteAuth, Router, Unavailable};

// Loading.
pub use load_error::{LoadError, LoadErrors};

// Observability.
pub use observability::{access_log, CompletionSink, Metrics};

// Lambda.
pub use lambda::{
    error_message, sample_event, InvokeError, InvokeFuture, InvokeOutcome, InvokeRequest, Invoker,
    SampleFormat,
};

// Authentication, for the deployable authorizer and the CLI's token tools.
pub use auth::{
    verify_jwt, Discovery, IamCredential, IdentitySource, JwksRegistry, JwtAuthorizer, JwtError,
    JwtKind, Verified,
};

// API keys, usage plans and their stores.
pub use spec::check_rate_limit;
pub use usage::store::{
    Breaker, CountAsk, DynamoDbStore, EmbeddedStore, MemoryStore, PlanDecision, RedisStore,
    StateSync, TokenAsk,
};
pub use usage::{
    period_bounds, ApiKey, ApiStage, Period, Quota, Throttle, UsageConfig, UsagePlan, UsageStore,
};

// The filter chain's entries, for `--policies FILE`.
pub use filters::{Attached, PolicyEntry};

// HTTP, for the OTLP exporter and the AWS SDK clients.
pub use aws_sdk::{environment_credentials, http_client as aws_http_client};
pub use upstream::HttpClient;

// The VTL engine and mapping templates, for the conformance suite against Apache Velocity.
pub mod vtl {
    pub use crate::mapping::vtl::{RenderOptions, Template, Value, Vars, VtlError};
    pub use crate::mapping::{render as render_mapping, MappingInput};
}
