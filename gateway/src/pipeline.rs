//! The driver: a plain async function that walks the phases after routing in AWS's order
//! (aws-behaviour §1): authorizer → usage plan → method request (validation) → policies →
//! integration request → integration → integration response → method response.
//!
//! Each phase continues, answers early (`Flow::Respond`), or fails with a typed
//! [`GatewayError`]; the driver stops at the first answer or error, notes which phase gave it,
//! and records every phase's time. It renders nothing: the caller turns an error into a
//! response in one place ([`crate::responses`]).
//!
//! Validation runs after the authorizer and the usage plan: AWS's execution log starts the
//! method ("Starting execution for request") only then.

use std::time::Instant;

use http::Response;

use crate::body::Body;
use crate::context::RequestContext;
use crate::error::GatewayError;
use crate::phase::{Flow, Phase};
use crate::phases::{Env, PhaseResult, Phases};
use crate::request::MethodRequest;

/// Note the phase's time (it began at `clock`, which moves on to now); on an answer or an error,
/// note that this phase gave it.
fn settle<T>(
    ctx: &mut RequestContext,
    phase: Phase,
    clock: &mut Instant,
    out: PhaseResult<T>,
) -> Result<Flow<T>, GatewayError> {
    *clock = ctx.record(phase, *clock);
    if !matches!(out, Ok(Flow::Continue(_))) {
        ctx.answered_by = Some(phase);
    }
    out
}

/// Run one phase and return early from the driver on `Respond` or `Err`.
macro_rules! phase {
    ($ctx:expr, $clock:expr, $phase:expr, $call:expr) => {{
        let out = $call;
        match settle($ctx, $phase, &mut $clock, out)? {
            Flow::Continue(v) => v,
            Flow::Respond(r) => return Ok(r),
        }
    }};
}

/// Run one routed request through the phases.
pub(crate) async fn run<P: Phases>(
    phases: &P,
    env: &Env<'_>,
    ctx: &mut RequestContext,
    req: &mut MethodRequest,
) -> Result<Response<Body>, GatewayError> {
    let mut clock = Instant::now();
    phase!(
        ctx,
        clock,
        Phase::Authorizer,
        phases.authorizer(env, ctx, req).await
    );
    phase!(
        ctx,
        clock,
        Phase::UsagePlan,
        phases.usage_plan(env, ctx, req).await
    );
    phase!(
        ctx,
        clock,
        Phase::MethodRequest,
        phases.method_request(env, ctx, req).await
    );

    let ran = phase!(ctx, clock, Phase::Policies, phases.policies(env, ctx, req));

    let request = phase!(
        ctx,
        clock,
        Phase::IntegrationRequest,
        phases.integration_request(env, ctx, req).await
    );
    let response = phase!(
        ctx,
        clock,
        Phase::Integration,
        phases
            .integration(env, ctx, request)
            .await
            .map(Flow::Continue)
    );
    let mut response = phase!(
        ctx,
        clock,
        Phase::IntegrationResponse,
        phases
            .integration_response(env, ctx, req, response)
            .await
            .map(Flow::Continue)
    );
    phases.policies_response(env, ran, ctx, &mut response);
    let started = Instant::now();
    phases.method_response(env, ctx, &mut response);
    ctx.record(Phase::MethodResponse, started);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::body;
    use crate::config::GatewayConfig;
    use crate::context::ConnInfo;
    use crate::phases::handoff::{IntegrationKind, IntegrationRequest, IntegrationResponse};
    use crate::phases::policies::Ran;
    use crate::services::Services;
    use crate::usage::UsageConfig;

    /// What a fake phase does.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    enum Act {
        /// Answer here with this status.
        Answer(u16),
        /// Fail with a configuration error.
        Fail,
    }

    /// Phases that do what they are told and note that they ran.
    struct Fake {
        acts: Vec<(Phase, Act)>,
        ran: Mutex<Vec<&'static str>>,
    }

    impl Fake {
        fn new(acts: &[(Phase, Act)]) -> Self {
            Fake {
                acts: acts.to_vec(),
                ran: Mutex::new(Vec::new()),
            }
        }

        fn act<T>(&self, phase: Phase, name: &'static str, value: T) -> PhaseResult<T> {
            self.ran.lock().expect("lock").push(name);
            match self.acts.iter().find(|(p, _)| *p == phase).map(|(_, a)| *a) {
                None => Ok(Flow::Continue(value)),
                Some(Act::Answer(status)) => Ok(Flow::Respond(answer(status))),
                Some(Act::Fail) => Err(GatewayError::Configuration(format!("{name} failed"))),
            }
        }

        fn ran(&self) -> Vec<&'static str> {
            self.ran.lock().expect("lock").clone()
        }
    }

    fn answer(status: u16) -> Response<Body> {
        let mut r = Response::new(body::empty());
        *r.status_mut() = http::StatusCode::from_u16(status).expect("status");
        r
    }

    impl Phases for Fake {
        async fn authorizer(
            &self,
            _: &Env<'_>,
            _: &mut RequestContext,
            _: &mut MethodRequest,
        ) -> PhaseResult<()> {
            self.act(Phase::Authorizer, "authorizer", ())
        }
        async fn usage_plan(
            &self,
            _: &Env<'_>,
            _: &mut RequestContext,
            _: &mut MethodRequest,
        ) -> PhaseResult<()> {
            self.act(Phase::UsagePlan, "usage_plan", ())
        }
        async fn method_request(
            &self,
            _: &Env<'_>,
            _: &mut RequestContext,
            _: &mut MethodRequest,
        ) -> PhaseResult<()> {
            self.act(Phase::MethodRequest, "method_request", ())
        }
        fn policies(
            &self,
            _: &Env<'_>,
            _: &mut RequestContext,
            _: &mut MethodRequest,
        ) -> PhaseResult<Ran> {
            self.act(Phase::Policies, "policies", Ran::default())
        }
        fn policies_response(
            &self,
            _: &Env<'_>,
            _: Ran,
            _: &RequestContext,
            resp: &mut Response<Body>,
        ) {
            self.ran.lock().expect("lock").push("policies_response");
            resp.headers_mut()
                .insert("x-policies", http::HeaderValue::from_static("out"));
        }
        async fn integration_request(
            &self,
            _: &Env<'_>,
            _: &mut RequestContext,
            _: &mut MethodRequest,
        ) -> PhaseResult<IntegrationRequest> {
            self.act(
                Phase::IntegrationRequest,
                "integration_request",
                IntegrationRequest::Mock {
                    status_code: Some(200),
                },
            )
        }
        async fn integration(
            &self,
            _: &Env<'_>,
            _: &mut RequestContext,
            request: IntegrationRequest,
        ) -> Result<IntegrationResponse, GatewayError> {
            assert!(matches!(request, IntegrationRequest::Mock { .. }));
            let r = IntegrationResponse {
                status: 201,
                headers: http::HeaderMap::new(),
                body: body::empty(),
                payload: None,
                selection: "201".into(),
                kind: IntegrationKind::Mock,
            };
            self.act(Phase::Integration, "integration", r)
                .and_then(|f| match f {
                    Flow::Continue(r) => Ok(r),
                    Flow::Respond(_) => Err(GatewayError::Configuration("no".into())),
                })
        }
        async fn integration_response(
            &self,
            _: &Env<'_>,
            _: &mut RequestContext,
            _: &MethodRequest,
            response: IntegrationResponse,
        ) -> Result<Response<Body>, GatewayError> {
            self.act(
                Phase::IntegrationResponse,
                "integration_response",
                answer(response.status),
            )
            .and_then(|f| match f {
                Flow::Continue(r) => Ok(r),
                Flow::Respond(_) => Err(GatewayError::Configuration("no".into())),
            })
        }
        fn method_response(&self, _: &Env<'_>, _: &RequestContext, resp: &mut Response<Body>) {
            self.ran.lock().expect("lock").push("method_response");
            resp.headers_mut()
                .insert("x-method-response", http::HeaderValue::from_static("1"));
        }
    }

    const API: &str = r#"
openapi: 3.0.1
info: {title: t, version: "1"}
paths:
  /things:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: mock
        requestTemplates: {application/json: '{"statusCode": 200}'}
        responses: {default: {statusCode: "200"}}
"#;

    /// Drive a request through `phases` and report what came back.
    async fn drive(phases: &Fake) -> (Result<Response<Body>, GatewayError>, RequestContext) {
        let api = crate::compile::testing::api("Things", API);
        let (config, services, usage) = (
            GatewayConfig::default(),
            Services::default(),
            UsageConfig::default(),
        );
        let env = Env {
            config: &config,
            services: &services,
            usage: &usage,
            api: &api,
            route: &api.routes[0],
        };
        let conn = ConnInfo {
            remote: "127.0.0.1:1".parse().expect("addr"),
            local: "127.0.0.1:2".parse().expect("addr"),
            tls: false,
        };
        let mut ctx =
            RequestContext::new(&http::Method::GET, "/things", &http::HeaderMap::new(), conn);
        let mut req = MethodRequest {
            method: http::Method::GET,
            path_and_query: "/things".into(),
            path: "/things".into(),
            raw_query: None,
            query: Vec::new(),
            headers: http::HeaderMap::new(),
            header_case: Default::default(),
            path_params: Vec::new(),
            body: None,
        };
        let out = run(phases, &env, &mut ctx, &mut req).await;
        (out, ctx)
    }

    const ORDER: [&str; 9] = [
        "authorizer",
        "usage_plan",
        "method_request",
        "policies",
        "integration_request",
        "integration",
        "integration_response",
        "policies_response",
        "method_response",
    ];

    #[tokio::test]
    async fn every_phase_runs_in_aws_order_when_none_answers() {
        let fake = Fake::new(&[]);
        let (out, ctx) = drive(&fake).await;
        let resp = out.expect("a response");
        assert_eq!(resp.status(), 201, "the integration's status comes through");
        assert_eq!(resp.headers()["x-policies"], "out");
        assert_eq!(resp.headers()["x-method-response"], "1");
        assert_eq!(fake.ran(), ORDER);
        assert_eq!(ctx.answered_by, None);
        let timed: Vec<Phase> = ctx.timings.iter().map(|t| t.phase).collect();
        assert_eq!(
            timed,
            [
                Phase::Authorizer,
                Phase::UsagePlan,
                Phase::MethodRequest,
                Phase::Policies,
                Phase::IntegrationRequest,
                Phase::Integration,
                Phase::IntegrationResponse,
                Phase::MethodResponse
            ]
        );
    }

    /// The phases that may answer early, and where each stands in `ORDER`.
    const ANSWERING: [(Phase, usize); 5] = [
        (Phase::Authorizer, 0),
        (Phase::UsagePlan, 1),
        (Phase::MethodRequest, 2),
        (Phase::Policies, 3),
        (Phase::IntegrationRequest, 4),
    ];

    #[tokio::test]
    async fn an_answer_stops_the_pipeline_at_its_phase() {
        for (phase, at) in ANSWERING {
            let fake = Fake::new(&[(phase, Act::Answer(299))]);
            let (out, ctx) = drive(&fake).await;
            let resp = out.expect("the phase's answer");
            assert_eq!(resp.status(), 299, "{phase}");
            assert_eq!(ctx.answered_by, Some(phase));
            assert_eq!(fake.ran(), ORDER[..=at].to_vec(), "{phase}");
            assert_eq!(
                ctx.timings.last().map(|t| t.phase),
                Some(phase),
                "the answering phase is timed"
            );
            assert!(
                resp.headers().get("x-method-response").is_none(),
                "an early answer skips the method response phase"
            );
        }
    }

    #[tokio::test]
    async fn a_fault_stops_the_pipeline_and_names_its_phase() {
        let failing = [
            (Phase::Authorizer, 0),
            (Phase::UsagePlan, 1),
            (Phase::MethodRequest, 2),
            (Phase::Policies, 3),
            (Phase::IntegrationRequest, 4),
            (Phase::Integration, 5),
            (Phase::IntegrationResponse, 6),
        ];
        for (phase, at) in failing {
            let fake = Fake::new(&[(phase, Act::Fail)]);
            let (out, ctx) = drive(&fake).await;
            let err = out.err().unwrap_or_else(|| panic!("{phase} should fail"));
            assert!(
                matches!(err, GatewayError::Configuration(ref m) if m.starts_with(phase.as_str())),
                "{phase}: {err}"
            );
            assert_eq!(ctx.answered_by, Some(phase));
            assert_eq!(fake.ran(), ORDER[..=at].to_vec(), "{phase}");
        }
    }
}
