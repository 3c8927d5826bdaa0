//! What every phase runs with: the gateway's settings and services, the served usage plans, and
//! the API and route the request matched. One value, so every phase has the same shape and the
//! driver can run fakes in its tests.

use crate::config::GatewayConfig;
use crate::error::GatewayError;
use crate::model::{ResolvedApi, Route};
use crate::phase::Flow;
use crate::services::Services;
use crate::usage::UsageConfig;

/// What a phase decided, or the fault that stopped it.
pub(crate) type PhaseResult<T> = Result<Flow<T>, GatewayError>;

#[derive(Clone, Copy)]
pub(crate) struct Env<'a> {
    pub config: &'a GatewayConfig,
    pub services: &'a Services,
    /// The API keys and usage plans being served (they reload with the APIs).
    pub usage: &'a UsageConfig,
    pub api: &'a ResolvedApi,
    pub route: &'a Route,
}
