//! Integration request: turn the method request into what the integration is sent.
//!
//! Non-proxy integrations (MOCK, AWS, HTTP): choose the request template by Content-Type,
//! honour `passthroughBehavior` (415), convert binary payloads per `contentHandling`, render the
//! template, apply `requestParameters` and the template's `$context.requestOverride.*`. MOCK then
//! reads the `statusCode` the template asks for. HTTP_PROXY: fill the endpoint URI (`{param}`
//! from `requestParameters` or the route's path parameters, `${stageVariables.x}`), apply header
//! and query-string mappings, drop the headers API Gateway drops, and add `X-Forwarded-*`.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use http_body_util::BodyExt;

use crate::api::{
    HttpIntegration, HttpProxyIntegration, Integration, Mapping, ParamSource, ParamTarget,
    ResolvedApi, Route,
};
use crate::body::Body;
use crate::context::RequestContext;
use crate::gateway_response::GatewayError;
use crate::mapping_template::{MappingInput, Overrides};
use crate::method_request::MethodRequest;
use crate::pipeline::Flow;
use crate::spec::extensions::{ContentHandling, PassthroughBehavior};

/// A request ready for the integration.
pub enum IntegrationRequest {
    /// The status the MOCK request template selected (`None`: no template, use `default`).
    Mock {
        status_code: Option<i64>,
    },
    Http(Box<HttpRequestPlan>),
    Lambda(LambdaRequest),
    /// `x-tollgate-aggregate`: calls to run in parallel.
    Aggregate(Vec<crate::aggregate::PreparedCall>),
}

/// Which proxy payload format a Lambda integration speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LambdaFormat {
    Rest,
    HttpV1,
    HttpV2,
}

pub struct LambdaRequest {
    pub function: String,
    /// `false` for a non-proxy (`AWS`) integration: function errors are then selected on by
    /// the integration responses instead of failing the request.
    pub proxy: bool,
    pub payload: Bytes,
    pub timeout: std::time::Duration,
    pub format: LambdaFormat,
}

pub struct HttpRequestPlan {
    pub method: http::Method,
    pub uri: http::Uri,
    pub headers: HeaderMap,
    pub body: Body,
    pub timeout: std::time::Duration,
    /// `true` for a non-proxy HTTP integration (its response goes through the mapping).
    pub mapped: bool,
    /// The upstream pool the URI's host names, and the request's consistent-hashing key.
    pub upstream: Option<(Arc<crate::upstream::Pool>, Option<String>)>,
}

/// The pool an integration URI's host names (`http://orders/...`), if any.
pub fn upstream_for(
    api: &ResolvedApi,
    uri: &http::Uri,
    ctx: &RequestContext,
    req: &MethodRequest,
) -> Option<(Arc<crate::upstream::Pool>, Option<String>)> {
    if uri.port().is_some() {
        return None;
    }
    let pool = api.upstreams.get(&uri.host()?.to_ascii_lowercase())?;
    use crate::upstream::HashKey;
    let key = pool.hash_on.as_ref().and_then(|k| match k {
        HashKey::Ip => Some(ctx.source_ip.clone()),
        HashKey::ApiKey => ctx.api_key.clone(),
        HashKey::Principal => ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.principal_id.clone())
            .or_else(|| ctx.iam.as_ref().map(|i| i.access_key.clone())),
        HashKey::Header(h) => req.header_value(h).map(str::to_string),
    });
    Some((Arc::clone(pool), key))
}

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

/// Headers no mapping may set: doing so is a 500 on AWS (facts §7).
const UNMAPPABLE: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "x-amzn-trace-id",
    "x-amzn-apigateway-api-id",
];

pub async fn run(
    api: &ResolvedApi,
    route: &Route,
    ctx: &mut RequestContext,
    req: &mut MethodRequest,
) -> Result<Flow<IntegrationRequest>, GatewayError> {
    match &route.integration {
        Integration::Mock(m) => {
            let prepared = prepare(api, m, ctx, req).await?;
            mock_status(&prepared.body)
                .map(|status_code| Flow::Continue(IntegrationRequest::Mock { status_code }))
        }
        Integration::Http(h) => {
            let prepared = prepare(api, &h.mapping, ctx, req).await?;
            http_mapped(api, h, prepared, ctx, req).map(Flow::Continue)
        }
        Integration::HttpProxy(h) => http_proxy(api, route, h, ctx, req).map(Flow::Continue),
        Integration::Lambda(l) if l.proxy => {
            // AWS_PROXY must invoke with POST; anything else is a 500 on AWS (facts §2).
            if !l.http_method.eq_ignore_ascii_case("POST") {
                return Err(GatewayError::Configuration(format!(
                    "Lambda proxy integration of {} uses httpMethod {}; Lambda is invoked with POST",
                    route.route_key, l.http_method
                )));
            }
            let body = match req.body.take() {
                Some(b) => collect(b).await?,
                None => Bytes::new(),
            };
            let (event, format) = match (api.kind, l.payload_format_version.as_str()) {
                (crate::spec::ApiKind::Rest, _) => (
                    crate::lambda_proxy::rest_event(api, route, ctx, req, &body, None),
                    LambdaFormat::Rest,
                ),
                (crate::spec::ApiKind::Http, "1.0") => (
                    crate::lambda_proxy::rest_event(api, route, ctx, req, &body, Some("1.0")),
                    LambdaFormat::HttpV1,
                ),
                (crate::spec::ApiKind::Http, _) => (
                    crate::lambda_proxy::http_v2_event(api, route, ctx, req, &body),
                    LambdaFormat::HttpV2,
                ),
            };
            Ok(Flow::Continue(IntegrationRequest::Lambda(LambdaRequest {
                function: l.function.clone(),
                proxy: true,
                payload: Bytes::from(event.to_string()),
                timeout: l.timeout,
                format,
            })))
        }
        Integration::Lambda(l) => {
            let Some(mapping) = &l.mapping else {
                return Err(GatewayError::Configuration(format!(
                    "route {} has a non-proxy Lambda integration without a mapping",
                    route.route_key
                )));
            };
            let prepared = prepare(api, mapping, ctx, req).await?;
            Ok(Flow::Continue(IntegrationRequest::Lambda(LambdaRequest {
                function: l.function.clone(),
                proxy: false,
                payload: prepared.body,
                timeout: l.timeout,
                format: LambdaFormat::Rest,
            })))
        }
        Integration::Aggregate(agg) => Ok(Flow::Continue(IntegrationRequest::Aggregate(
            crate::aggregate::prepare(api, route, agg, ctx, req)?,
        ))),
        Integration::AwsService { .. } => Err(GatewayError::Configuration(format!(
            "route {} uses a {} integration, which this build of tollgate does not run yet",
            route.route_key,
            route.integration.label()
        ))),
    }
}

/// The Content-Type that picks a request template: the media type without parameters; a request
/// without one counts as `application/json` (facts §7).
pub fn request_media_type(headers: &HeaderMap) -> String {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "application/json".to_string())
}

/// A non-proxy request after the mapping: the payload to send and what the template overrode.
pub struct Prepared {
    pub body: Bytes,
    pub overrides: Overrides,
    /// The method request's payload as it arrived (for `method.request.body` mappings).
    pub raw: Bytes,
}

/// Choose and render the request template (or pass the body through), as facts §7 orders it.
async fn prepare(
    api: &ResolvedApi,
    m: &Mapping,
    ctx: &mut RequestContext,
    req: &mut MethodRequest,
) -> Result<Prepared, GatewayError> {
    let raw = match req.body.take() {
        Some(b) => collect(b).await?,
        None => Bytes::new(),
    };
    let media = request_media_type(&req.headers);
    let binary = crate::lambda_proxy::is_binary(&api.binary_media_types, Some(&media));
    let payload = convert_request(raw.clone(), binary, m.content_handling)?;
    let Some(template) = m.request_templates.get(&media) else {
        let allowed = match m.passthrough {
            PassthroughBehavior::WhenNoMatch => true,
            PassthroughBehavior::WhenNoTemplates => m.request_templates.is_empty(),
            PassthroughBehavior::Never => false,
        };
        if !allowed {
            return Err(GatewayError::UnsupportedMediaType);
        }
        return Ok(Prepared {
            body: payload,
            overrides: Overrides::default(),
            raw,
        });
    };
    let input = MappingInput {
        body: &payload,
        path: &req.path_params,
        query: &req.query,
        headers: header_pairs(&req.headers),
    };
    let (text, overrides) =
        crate::mapping_template::render(template, ctx, &input).map_err(|e| {
            GatewayError::Configuration(format!("request mapping template failed: {e}"))
        })?;
    Ok(Prepared {
        body: Bytes::from(text),
        overrides,
        raw,
    })
}

/// Header names and values in order (values that are not text are skipped).
pub fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect()
}

/// `contentHandling` on the request: CONVERT_TO_TEXT base64-encodes a binary payload,
/// CONVERT_TO_BINARY base64-decodes a text one (a failure is a 500, facts §7).
fn convert_request(
    payload: Bytes,
    binary: bool,
    handling: Option<ContentHandling>,
) -> Result<Bytes, GatewayError> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    match handling {
        Some(ContentHandling::ConvertToText) if binary => Ok(Bytes::from(b64.encode(&payload))),
        Some(ContentHandling::ConvertToBinary) if !binary => b64
            .decode(payload.trim_ascii())
            .map(Bytes::from)
            .map_err(|e| {
                GatewayError::Configuration(format!(
                    "CONVERT_TO_BINARY: the request body is not base64: {e}"
                ))
            }),
        _ => Ok(payload),
    }
}

/// The status a MOCK's rendered request asks for: `{"statusCode": 200}`; `None` (the default
/// response) when there is nothing to read.
fn mock_status(rendered: &[u8]) -> Result<Option<i64>, GatewayError> {
    let text = String::from_utf8_lossy(rendered);
    if text.trim().is_empty() {
        return Ok(None);
    }
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        GatewayError::Configuration(format!(
            "MOCK request template output is not JSON with a statusCode: {e}"
        ))
    })?;
    match v.get("statusCode") {
        None => Ok(None),
        Some(s) => s.as_i64().map(Some).ok_or_else(|| {
            GatewayError::Configuration(format!("MOCK statusCode {s} is not an integer"))
        }),
    }
}

/// A non-proxy HTTP request: only mapped parameters reach the backend (the client's own query
/// string and headers do not), plus the headers API Gateway adds (facts §7).
fn http_mapped(
    api: &ResolvedApi,
    h: &HttpIntegration,
    prepared: Prepared,
    ctx: &mut RequestContext,
    req: &mut MethodRequest,
) -> Result<IntegrationRequest, GatewayError> {
    let mut path_values: Vec<(String, String)> = Vec::new();
    let mut query: Vec<(String, String)> = Vec::new();
    let mut header_sets: Vec<(String, String)> = Vec::new();
    for p in &h.mapping.request_parameters {
        let Some(value) = source_value(&p.source, ctx, req, Some(&prepared.raw)) else {
            continue;
        };
        match p.target {
            ParamTarget::Path => path_values.push((p.name.clone(), value)),
            ParamTarget::Query => {
                for v in query_values(&p.source, req, value) {
                    query.push((p.name.clone(), v));
                }
            }
            ParamTarget::Header => header_sets.push((p.name.clone(), value)),
        }
    }
    // Overrides apply after the normal mappings.
    let o = &prepared.overrides;
    path_values.extend(o.request_path.iter().cloned());
    override_pairs(&mut query, &o.request_query);
    override_pairs(&mut header_sets, &o.request_headers);
    for (name, _) in &header_sets {
        if UNMAPPABLE.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(GatewayError::Configuration(format!(
                "mapping sets header {name}, which API Gateway does not allow"
            )));
        }
    }
    let path_value = |name: &str| -> Option<String> {
        path_values
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| req.path_param(name).map(str::to_string))
    };
    let mut target = crate::filters::rewrite_uri(ctx, &fill_uri(&h.uri, ctx, &path_value));
    if !query.is_empty() {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &query {
            ser.append_pair(k, v);
        }
        target.push(if target.contains('?') { '&' } else { '?' });
        target.push_str(&ser.finish());
    }
    let uri: http::Uri = target.parse().map_err(|e| {
        GatewayError::Configuration(format!("integration URI `{target}` is not valid: {e}"))
    })?;
    let mut headers = HeaderMap::new();
    for (name, value) in header_sets {
        insert_header(&mut headers, &name, &value);
    }
    if !headers.contains_key(http::header::CONTENT_TYPE) && !prepared.body.is_empty() {
        let ct = req
            .header_value("content-type")
            .unwrap_or("application/json")
            .to_string();
        set(&mut headers, "content-type", &ct);
    }
    if !headers.contains_key(http::header::ACCEPT) {
        set(&mut headers, "accept", "application/json");
    }
    if !headers.contains_key(http::header::USER_AGENT) {
        set(
            &mut headers,
            "user-agent",
            &format!("AmazonAPIGateway_{}", api.api_id),
        );
    }
    set(&mut headers, "x-amzn-apigateway-api-id", &api.api_id);
    set(&mut headers, "x-amzn-trace-id", &ctx.trace_id);
    let method = h.method.clone().unwrap_or_else(|| req.method.clone());
    Ok(IntegrationRequest::Http(Box::new(HttpRequestPlan {
        method,
        headers,
        body: crate::body::full(prepared.body),
        timeout: h.timeout,
        mapped: true,
        upstream: upstream_for(api, &uri, ctx, req),
        uri,
    })))
}

/// Replace or add each `(name, value)` (case-insensitively, as header and override names are).
fn override_pairs(list: &mut Vec<(String, String)>, overrides: &[(String, String)]) {
    for (k, v) in overrides {
        list.retain(|(n, _)| !n.eq_ignore_ascii_case(k));
        list.push((k.clone(), v.clone()));
    }
}

/// Read a whole request body, mapping the 10 MB limit to 413.
pub async fn collect(body: Body) -> Result<Bytes, GatewayError> {
    body.collect().await.map(|c| c.to_bytes()).map_err(|e| {
        if crate::integration::is_length_limit(e.as_ref()) {
            GatewayError::RequestTooLarge
        } else {
            GatewayError::IntegrationFailure(format!("reading the request body failed: {e}"))
        }
    })
}

/// A multi-value query string mapped to a query string keeps each value as its own parameter;
/// everything else is the one value.
fn query_values(source: &ParamSource, req: &MethodRequest, joined: String) -> Vec<String> {
    match source {
        ParamSource::MultiQuery(n) => req
            .query
            .iter()
            .filter(|(k, _)| k == n)
            .map(|(_, v)| v.clone())
            .collect(),
        _ => vec![joined],
    }
}

fn source_value(
    source: &ParamSource,
    ctx: &RequestContext,
    req: &MethodRequest,
    body: Option<&[u8]>,
) -> Option<String> {
    match source {
        ParamSource::Static(s) => Some(s.clone()),
        ParamSource::Path(n) => req.path_param(n).map(str::to_string),
        ParamSource::Query(n) => req.query_value(n).map(str::to_string),
        ParamSource::MultiQuery(n) => {
            let v: Vec<&str> = req
                .query
                .iter()
                .filter(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
                .collect();
            (!v.is_empty()).then(|| v.join(","))
        }
        ParamSource::Header(n) => req.header_value(n).map(str::to_string),
        ParamSource::MultiHeader(n) => crate::method_request::joined_header(&req.headers, n),
        ParamSource::StageVariable(n) => ctx.stage_variables.get(n).cloned(),
        ParamSource::Context(n) => ctx.variable(n),
        ParamSource::Body(path) => crate::mapping_template::body_value(body?, path.as_deref()),
        ParamSource::IntegrationResponseHeader(_)
        | ParamSource::IntegrationResponseMultiHeader(_) => None,
    }
}

/// Fill `{name}` and `${stageVariables.name}` placeholders.
pub fn fill_uri(
    template: &str,
    ctx: &RequestContext,
    path_value: &dyn Fn(&str) -> Option<String>,
) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find(['{', '$']) {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        if let Some(after) = tail.strip_prefix("${stageVariables.") {
            if let Some(end) = after.find('}') {
                out.push_str(
                    ctx.stage_variables
                        .get(&after[..end])
                        .map(String::as_str)
                        .unwrap_or(""),
                );
                rest = &after[end + 1..];
                continue;
            }
        } else if let Some(after) = tail.strip_prefix('{') {
            if let Some(end) = after.find('}') {
                let name = after[..end].trim_end_matches('+');
                out.push_str(&path_value(name).unwrap_or_default());
                rest = &after[end + 1..];
                continue;
            }
        }
        out.push_str(&tail[..1]);
        rest = &tail[1..];
    }
    out.push_str(rest);
    out
}

fn http_proxy(
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
    set(&mut headers, "x-forwarded-for", &forwarded_for);
    set(
        &mut headers,
        "x-forwarded-proto",
        if ctx.conn.tls { "https" } else { "http" },
    );
    set(
        &mut headers,
        "x-forwarded-port",
        &ctx.conn.local.port().to_string(),
    );
    if !headers.contains_key("x-amzn-trace-id") {
        set(&mut headers, "x-amzn-trace-id", &ctx.trace_id);
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

fn set(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), v);
    }
}

/// Set a header from mapped text, skipping a name or value HTTP cannot carry.
pub fn insert_header(headers: &mut HeaderMap, name: &str, value: &str) {
    if let (Ok(n), Ok(v)) = (
        HeaderName::from_bytes(name.as_bytes()),
        HeaderValue::from_str(value),
    ) {
        headers.insert(n, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::ConnInfo;

    #[test]
    fn uri_placeholders() {
        let conn = ConnInfo {
            remote: "127.0.0.1:1".parse().expect("addr"),
            local: "127.0.0.1:2".parse().expect("addr"),
            tls: false,
        };
        let mut ctx = RequestContext::new(&http::Method::GET, "/", &HeaderMap::new(), conn);
        ctx.stage_variables
            .insert("host".into(), "127.0.0.1:9000".into());
        let pv = |n: &str| (n == "proxy").then(|| "a//b".to_string());
        assert_eq!(
            fill_uri(
                "http://${stageVariables.host}/x/{proxy}?k={none}",
                &ctx,
                &pv
            ),
            "http://127.0.0.1:9000/x/a//b?k="
        );
        assert_eq!(fill_uri("http://h/$x{", &ctx, &pv), "http://h/$x{");
    }

    #[test]
    fn media_type_defaults_to_json() {
        let mut h = HeaderMap::new();
        assert_eq!(request_media_type(&h), "application/json");
        h.insert(
            "content-type",
            HeaderValue::from_static("Text/Plain; charset=UTF-8"),
        );
        assert_eq!(request_media_type(&h), "text/plain");
    }
}
