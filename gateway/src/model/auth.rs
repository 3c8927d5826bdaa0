//! How a route authorizes its callers, as compiled.

use std::sync::Arc;
use std::time::Duration;

use regex::Regex;

use crate::auth::{IdentitySource, JwtAuthorizer};

/// Which Lambda authorizer event and response a [`LambdaAuthorizer`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LambdaAuthorizerKind {
    Token,
    Request,
}

/// A Lambda authorizer, shared by every route that uses it (and so is its result cache).
#[derive(Debug)]
pub struct LambdaAuthorizer {
    pub name: String,
    /// The authorizer function's logical id (or name, for a bare OpenAPI file).
    pub function: String,
    pub kind: LambdaAuthorizerKind,
    pub identity_sources: Vec<IdentitySource>,
    pub validation: Option<Regex>,
    /// `authorizerResultTtlInSeconds`; zero turns caching off.
    pub ttl: Duration,
    pub cache: crate::auth::ResultCache,
    /// HTTP APIs: `authorizerPayloadFormatVersion` (`None` on REST APIs).
    pub payload_version: Option<String>,
    /// HTTP APIs with payload 2.0: `{"isAuthorized": bool}` answers.
    pub simple_responses: bool,
}

/// How a route authorizes requests.
#[derive(Debug, Clone)]
pub enum RouteAuth {
    None,
    Lambda(Arc<LambdaAuthorizer>),
    /// A JWT (HTTP API) or Cognito user pool (REST) authorizer, with the route's required scopes.
    Jwt(Arc<JwtAuthorizer>, Vec<String>),
    /// `AWS_IAM`: SigV4 signatures checked against the configured credentials.
    Iam,
    /// An authorizer type this build cannot check yet: requests fail closed (500), never pass
    /// unauthenticated.
    Unsupported(String),
}
