//! The resolved API: what a written definition becomes once [`crate::compile`] has validated and
//! compiled it. Requests only ever see these types, never the written form; the data here is
//! read-only while requests run, except for the caches and pools it owns.

mod auth;
mod integration;
mod parameters;
mod router;
mod validation;

pub use auth::RouteAuth;
pub(crate) use auth::{LambdaAuthorizer, LambdaAuthorizerKind};
pub(crate) use integration::{
    Aggregate, AggregateCall, AggregateTarget, HttpIntegration, HttpProxyIntegration,
    LambdaIntegration, Mapping,
};
pub use integration::{ExampleResponse, Integration, Unavailable};
pub(crate) use parameters::{
    IntegrationResponseRule, IntegrationResponses, ParamSource, ParamTarget, RequestParameter,
};
pub(crate) use router::RouteMatch;
pub use router::Router;
pub(crate) use validation::Validation;

pub(crate) use crate::spec::Stage;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use indexmap::IndexMap;

use crate::spec::extensions::{GatewayResponseExt, ResponseType};
use crate::spec::{ApiKind, MethodResponseSpec, RouteMethod};

/// One servable route.
#[derive(Debug, Clone)]
pub struct Route {
    pub method: RouteMethod,
    /// Resource path as defined (`/orders/{id}`), or `$default`.
    pub resource_path: String,
    /// HTTP API route key (`GET /orders/{id}` or `$default`).
    pub route_key: String,
    pub operation_name: Option<String>,
    pub integration: Integration,
    pub method_responses: IndexMap<String, MethodResponseSpec>,
    /// Pointer of the operation in its file, for diagnostics.
    pub pointer: String,
    pub auth: RouteAuth,
    /// The method requires an API key (`security: [{api_key: []}]`).
    pub api_key_required: bool,
    /// `x-tollgate-identity`: trusted identity headers for HTTP integrations.
    pub identity_injection: Option<crate::spec::extensions::IdentityInjectionExt>,
    /// `x-tollgate-rate-limit`: tollgate's own limit for every caller.
    pub rate_limit: Option<crate::spec::extensions::RateLimitExt>,
    /// REST request validation, when the method's validator asks for any.
    pub validation: Option<Arc<Validation>>,
    /// The API's then the route's `x-tollgate-policies`, in order.
    pub filters: Vec<crate::filters::Attached>,
}

/// An API ready to serve.
#[derive(Debug, Clone)]
pub struct ResolvedApi {
    /// The API's name: its logical id in a template, or the file stem of a bare OpenAPI file.
    pub name: String,
    /// A stable 10-character id in API Gateway's style, derived from the name.
    pub api_id: String,
    pub kind: ApiKind,
    pub source: PathBuf,
    pub stage: Stage,
    pub routes: Vec<Route>,
    pub router: Router,
    pub gateway_responses: HashMap<ResponseType, GatewayResponseExt>,
    pub binary_media_types: Vec<String>,
    /// HTTP API CORS, answered by the gateway itself.
    pub cors: Option<crate::spec::extensions::CorsExt>,
    /// The stage's access-log format, when the template sets one.
    pub access_log_format: Option<Arc<crate::context::ContextFormat>>,
    /// `x-tollgate-upstreams`: pools HTTP integrations reach as `http://NAME/...`.
    pub upstreams: HashMap<String, Arc<crate::upstream::UpstreamPool>>,
    /// Stage-level throttling (every caller).
    pub stage_throttle: crate::usage::StageThrottle,
    /// Where API keys come from (`x-amazon-apigateway-api-key-source`, default HEADER).
    pub api_key_source: crate::spec::extensions::ApiKeySource,
    /// `x-amazon-apigateway-policy`, with `execute-api:/` resources expanded to this API's ARN.
    pub resource_policy: Option<crate::auth::Policy>,
    /// Things that load but that this version does not act on yet, or that AWS would warn about.
    pub warnings: Vec<crate::load_error::LoadError>,
}

impl ResolvedApi {
    /// The label that picks this API by `Host: <label>.localhost`: its name in lower case, each
    /// character a host name cannot hold (the `/` of a nested stack's `Child/Api`) as `-`.
    pub fn host_label(&self) -> String {
        self.name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect()
    }

    /// The functions (logical ids, or names in a bare OpenAPI file) the API's routes call: their
    /// integrations, Lambda authorizers and aggregate calls.
    pub fn functions(&self) -> std::collections::BTreeSet<String> {
        let mut out = std::collections::BTreeSet::new();
        for route in &self.routes {
            match &route.integration {
                Integration::Lambda(l) => {
                    out.insert(l.function.clone());
                }
                Integration::Aggregate(a) => {
                    for c in &a.calls {
                        if let AggregateTarget::Function { function, .. } = &c.target {
                            out.insert(function.clone());
                        }
                    }
                }
                _ => {}
            }
            if let RouteAuth::Lambda(a) = &route.auth {
                out.insert(a.function.clone());
            }
        }
        out
    }

    /// `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{VERB}/{path}`, with the request's
    /// actual path (the root is `.../GET/`; aws-behaviour §4a).
    pub fn method_arn(&self, method: &str, path: &str) -> String {
        format!(
            "arn:aws:execute-api:{}:{}:{}/{}/{}/{}",
            crate::REGION,
            crate::ACCOUNT_ID,
            self.api_id,
            self.stage.name,
            method,
            path.trim_start_matches('/')
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_api_knows_the_functions_its_routes_call() {
        let api = crate::compile::testing::api(
            "Fns",
            r#"
openapi: 3.0.1
info: {title: t, version: "1"}
components:
  securitySchemes:
    gate:
      type: apiKey
      name: Authorization
      in: header
      x-amazon-apigateway-authtype: custom
      x-amazon-apigateway-authorizer:
        type: token
        authorizerUri: arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:Gate/invocations
paths:
  /a:
    get:
      security: [{gate: []}]
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration:
        type: aws_proxy
        httpMethod: POST
        uri: arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:Hello/invocations
  /m:
    get:
      responses: {"200": {description: ok}}
      x-amazon-apigateway-integration: {type: mock, responses: {default: {statusCode: "200"}}}
"#,
        );
        let names: Vec<String> = api.functions().into_iter().collect();
        assert_eq!(names, ["Gate", "Hello"]);
    }
}
