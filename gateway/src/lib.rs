//! tollgate's pipeline library: API Gateway's stages, in AWS's order, over API definitions read
//! from OpenAPI files or SAM templates.
//!
//! - [`spec`]: the API as written (OpenAPI 3.0 / Swagger 2.0 with every `x-amazon-apigateway-*`
//!   extension typed), [`sam`]: SAM templates and their intrinsic functions;
//! - [`api`]: the resolved API (compiled [`router`], validated integrations);
//! - [`gateway`] and [`pipeline`]: request dispatch and the stage driver;
//! - one module per stage: [`method_request`], [`integration_request`], [`integration`],
//!   [`integration_response`], [`method_response`]; errors become responses in
//!   [`gateway_response`] only;
//! - [`access_log`]: `$context` format strings, rendered when a response completes.
//!
//! The library does no socket I/O beyond what its stages need (the HTTP integration client);
//! servers live in the `tollgate` binary.

pub mod access_log;
pub mod aggregate;
pub mod api;
pub mod authorizer;
pub mod aws_sdk;
pub mod body;
pub mod context;
pub mod cors;
pub mod filters;
pub mod gateway;
pub mod gateway_response;
pub mod integration;
pub mod integration_request;
pub mod integration_response;
pub mod invoke;
pub mod jwks;
pub mod jwt;
pub mod lambda_proxy;
pub mod load;
pub mod load_error;
pub mod mapping_template;
pub mod method_request;
pub mod method_response;
pub mod metrics;
pub mod pipeline;
pub mod policy;
pub mod router;
pub mod sam;
pub mod sigv4;
pub mod spec;
pub mod upstream;
pub mod usage;
pub mod usage_dynamodb;
pub mod usage_embedded;
pub mod usage_plan;
pub mod usage_redis;
pub mod vtl;

/// The account id SAM CLI uses for local pseudo-parameters.
pub const ACCOUNT_ID: &str = "123456789012";
/// The region SAM CLI uses for local pseudo-parameters.
pub const REGION: &str = "us-east-1";
/// API Gateway's payload limit: 10 MB.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

pub use gateway::{Gateway, GatewayOptions};
pub use load_error::{LoadError, LoadErrors};
