//! HTTP_PROXY: the client's request forwarded to the endpoint, less the headers API Gateway
//! drops, plus mapped parameters, trusted identity headers and `X-Forwarded-*`.

use http::HeaderMap;

use super::params::{
    port_text, query_values, set, source_value, X_AMZN_APIGATEWAY_API_ID, X_AMZN_TRACE_ID,
    X_FORWARDED_FOR, X_FORWARDED_PORT, X_FORWARDED_PROTO,
};
use super::uri::fill_uri;
use super::{upstream_for, UNMAPPABLE};
use crate::context::RequestContext;
use crate::error::GatewayError;
use crate::model::{HttpProxyIntegration, ParamTarget, ResolvedApi, Route};
use crate::phases::handoff::{HttpRequestPlan, IntegrationRequest};
use crate::request::{insert_header, MethodRequest};

/// Request headers API Gateway drops before an HTTP_PROXY integration (KI header table).
const DROPPED_HTTP_PROXY: &[&str] = &[
    "connection",
    "content-encoding",
    "content-md5",
    "expect",
    "host",
    "keep-alive",
    "max-forwards",
    "proxy-authenticate",
    "proxy-connection",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "via",
];

pub(super) fn request(
    api: &ResolvedApi,
    route: &Route,
    h: &HttpProxyIntegration,
    ctx: &mut RequestContext,
    req: &mut MethodRequest,
) -> Result<IntegrationRequest, GatewayError> {
    let mut path_overrides: Vec<(String, String)> = Vec::new();
    let mut query_additions: Vec<(String, String)> = Vec::new();
    let mut header_sets: Vec<(String, String)> = Vec::new();
    for p in &h.request_parameters {
        let Some(value) = source_value(&p.source, ctx, req, None) else {
            continue;
        };
        match p.target {
            ParamTarget::Path => path_overrides.push((p.name.clone(), value)),
            ParamTarget::Query => {
                for v in query_values(&p.source, req, value) {
                    query_additions.push((p.name.clone(), v));
                }
            }
            ParamTarget::Header => {
                if UNMAPPABLE.contains(&p.name.to_ascii_lowercase().as_str()) {
                    return Err(GatewayError::Configuration(format!(
                        "mapping sets header {}, which API Gateway does not allow",
                        p.name
                    )));
                }
                header_sets.push((p.name.clone(), value));
            }
        }
    }

    // `{name}` takes the mapped integration.request.path value; without a mapping, the route's own
    // path parameter of that name fills it, which is what users of `{proxy+}` expect. [?] AWS
    // requires the mapping to be declared; the console adds it for proxy resources.
    let path_value = |name: &str| -> Option<String> {
        path_overrides
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| req.path_param(name).map(str::to_string))
    };
    let mut target = fill_uri(&h.uri, ctx, &path_value);
    // An HTTP API's $default route sends the full request path on to the integration.
    if api.kind == crate::spec::ApiKind::Http && route.resource_path == "$default" {
        let (base, query) = match target.split_once('?') {
            Some((b, q)) => (b.to_string(), Some(q.to_string())),
            None => (target.clone(), None),
        };
        target = format!("{}{}", base.trim_end_matches('/'), req.path);
        if let Some(q) = query {
            target.push('?');
            target.push_str(&q);
        }
    }

    target = crate::filters::rewrite_uri(ctx, &target);
    // The client's query string passes through; mapped query parameters are added to it.
    let mut query_parts: Vec<String> = Vec::new();
    if let Some(q) = req.raw_query.as_deref().filter(|q| !q.is_empty()) {
        query_parts.push(q.to_string());
    }
    if !query_additions.is_empty() {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &query_additions {
            ser.append_pair(k, v);
        }
        query_parts.push(ser.finish());
    }
    if !query_parts.is_empty() {
        target.push(if target.contains('?') { '&' } else { '?' });
        target.push_str(&query_parts.join("&"));
    }
    let uri: http::Uri = target.parse().map_err(|e| {
        GatewayError::Configuration(format!("integration URI `{target}` is not valid: {e}"))
    })?;

    let mut headers = HeaderMap::with_capacity(req.headers.len() + 6);
    for (name, value) in req.headers.iter() {
        if !DROPPED_HTTP_PROXY.contains(&name.as_str()) {
            headers.append(name.clone(), value.clone());
        }
    }
    for (name, value) in header_sets {
        insert_header(&mut headers, &name, &value);
    }
    // tollgate's identity injection: the integration trusts the gateway, not the client.
    if let Some(inj) = &route.identity_injection {
        if inj.strip_authorization {
            headers.remove(http::header::AUTHORIZATION);
        }
        for (name, source) in &inj.headers {
            // Anything a client sent under a trusted name is dropped first, filled or not.
            headers.remove(name.as_str());
            if let Some(v) = identity_value(ctx, source) {
                insert_header(&mut headers, name, &v);
            }
        }
    }
    let forwarded_for = match req.header_value("x-forwarded-for") {
        Some(prev) => format!("{prev}, {}", ctx.source_ip),
        None => ctx.source_ip.clone(),
    };
    set(&mut headers, X_FORWARDED_FOR, &forwarded_for);
    set(
        &mut headers,
        X_FORWARDED_PROTO,
        if ctx.conn.tls { "https" } else { "http" },
    );
    set(
        &mut headers,
        X_FORWARDED_PORT,
        &port_text(ctx.conn.local.port()),
    );
    set(&mut headers, X_AMZN_TRACE_ID, &ctx.outgoing_trace_header());
    // Sent to HTTP_PROXY upstreams too, as to HTTP ones (aws-behaviour §7).
    if api.kind == crate::spec::ApiKind::Rest {
        set(&mut headers, X_AMZN_APIGATEWAY_API_ID, &api.api_id);
    }
    let method = h.method.clone().unwrap_or_else(|| req.method.clone());
    let body = req.body.take().unwrap_or_else(crate::body::empty);
    Ok(IntegrationRequest::Http(Box::new(HttpRequestPlan {
        method,
        headers,
        body,
        timeout: h.timeout,
        mapped: false,
        upstream: upstream_for(api, &uri, ctx, req),
        uri,
    })))
}

/// What `x-tollgate-identity` puts in a header: a claim, `principalId`, `context.KEY`, `scopes`,
/// or `iam.userArn` / `iam.accessKey`.
fn identity_value(ctx: &RequestContext, source: &str) -> Option<String> {
    if let Some(field) = source.strip_prefix("iam.") {
        let iam = ctx.iam.as_ref()?;
        return match field {
            "userArn" => iam.user_arn.clone(),
            "accessKey" => Some(iam.access_key.clone()),
            "accountId" => Some(iam.account_id.clone()),
            "user" => iam.user.clone(),
            _ => None,
        };
    }
    let a = ctx.authorizer.as_ref()?;
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match source {
        "principalId" => a.principal_id.clone(),
        "scopes" => (!a.scopes.is_empty()).then(|| a.scopes.join(" ")),
        s => match s.strip_prefix("context.") {
            Some(k) => a.context.get(k).map(text),
            None => a.claims.as_ref()?.get(s).map(text),
        },
    }
}
