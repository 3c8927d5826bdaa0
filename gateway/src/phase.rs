//! The steps a request goes through, named once. Every timing, short-circuit, metric label,
//! trace span and dashboard row refers to a [`Phase`], so a rename is a compile error rather
//! than a silently broken dashboard.
//!
//! "Phase" is a step of tollgate's pipeline; "stage" always means an API Gateway deployment
//! stage (`Prod`, `$default`).

use std::time::{Duration, Instant};

use http::Response;

use crate::body::Body;

/// A step of the request's way through the gateway, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    /// tollgate's per-client-IP limit, before anything is parsed.
    Admission,
    /// The edge's body-size check.
    Edge,
    /// Choosing the API stage (`--stage-in-path`).
    Stage,
    /// HTTP API CORS preflight, answered before routing.
    Cors,
    /// Resource and method matching.
    Route,
    Authorizer,
    UsagePlan,
    MethodRequest,
    /// tollgate's filter chain (`x-tollgate-policies`).
    Policies,
    IntegrationRequest,
    Integration,
    IntegrationResponse,
    MethodResponse,
}

impl Phase {
    /// Every phase, in order.
    pub const ALL: [Phase; 13] = [
        Phase::Admission,
        Phase::Edge,
        Phase::Stage,
        Phase::Cors,
        Phase::Route,
        Phase::Authorizer,
        Phase::UsagePlan,
        Phase::MethodRequest,
        Phase::Policies,
        Phase::IntegrationRequest,
        Phase::Integration,
        Phase::IntegrationResponse,
        Phase::MethodResponse,
    ];

    /// The name logs, metrics, traces and the dashboard show.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Admission => "admission",
            Phase::Edge => "edge",
            Phase::Stage => "stage",
            Phase::Cors => "cors",
            Phase::Route => "route",
            Phase::Authorizer => "authorizer",
            Phase::UsagePlan => "usage_plan",
            Phase::MethodRequest => "method_request",
            Phase::Policies => "policies",
            Phase::IntegrationRequest => "integration_request",
            Phase::Integration => "integration",
            Phase::IntegrationResponse => "integration_response",
            Phase::MethodResponse => "method_response",
        }
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a phase decided: go on with a value, or answer the request here.
pub(crate) enum Flow<T> {
    Continue(T),
    Respond(Response<Body>),
}

/// When one phase started and ended. The two clock readings are kept as they are: turning them
/// into durations costs more than the reading itself, and only the dashboard, metrics and traces
/// ask, when they are on.
#[derive(Debug, Clone, Copy)]
pub struct PhaseTiming {
    pub phase: Phase,
    started: Instant,
    ended: Instant,
}

impl PhaseTiming {
    pub fn new(phase: Phase, started: Instant, ended: Instant) -> PhaseTiming {
        PhaseTiming {
            phase,
            started,
            ended,
        }
    }

    /// How long after `request_start` the phase began.
    pub fn started_after(&self, request_start: Instant) -> Duration {
        self.started.saturating_duration_since(request_start)
    }

    /// How long the phase took.
    pub fn elapsed(&self) -> Duration {
        self.ended.saturating_duration_since(self.started)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_and_in_order() {
        let mut names: Vec<&str> = Phase::ALL.iter().map(|p| p.as_str()).collect();
        names.dedup();
        assert_eq!(names.len(), Phase::ALL.len());
        assert!(Phase::ALL.windows(2).all(|w| w[0] < w[1]));
    }
}
