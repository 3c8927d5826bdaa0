//! The tollgate pipeline as a Lambda function. A Function URL (or an HTTP API `$default` route)
//! hands it every request; it routes, authorizes, enforces usage plans in DynamoDB and calls the
//! integrations (Lambda functions through the Invoke API, HTTP upstreams) exactly as the local
//! emulator does, because it is the same `gateway` library.

mod config;
mod invoker;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use gateway::load::Source;
use gateway::{ConnInfo, Gateway, GatewayConfig, Served, Services};
use http_body_util::BodyExt;
use lambda_http::request::RequestContext;
use lambda_http::{service_fn, Body, Error, Request, RequestExt, Response};

use config::Config;

async fn build(cfg: &Config) -> Result<Gateway, Error> {
    let path = match &cfg.api_file {
        Some(p) => p.clone(),
        None => {
            // The API is named after its file, as usage plans' apiStages name it: `orders`.
            let dir = std::env::temp_dir().join("tollgate-bundled");
            std::fs::create_dir_all(&dir)?;
            let p = dir.join("orders.yaml");
            std::fs::write(&p, config::BUNDLED_API)?;
            p
        }
    };
    let loaded = gateway::load::load(&Source::OpenApi {
        paths: vec![path],
        kind: None,
        stage_name: Some(cfg.stage.clone()),
        stage_variables: cfg.stage_variables.clone(),
    })
    .map_err(|e| e.to_string())?;
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    let mut usage = loaded.usage.clone();
    usage.merge(cfg.usage.clone());
    let invoker = invoker::LambdaInvoker::new(
        &cfg.region,
        cfg.lambda_endpoint.as_deref(),
        cfg.functions.clone(),
    );
    let mut services = Services {
        invoker: Some(Arc::new(invoker)),
        ..Services::default()
    };
    if !usage.plans.is_empty() {
        let table = cfg
            .usage_table
            .as_deref()
            .ok_or(config::ConfigError::NoUsageTable)?;
        // Against a local endpoint (DynamoDB Local) a missing table is created; in AWS the
        // stack owns it.
        let store = gateway::DynamoDbStore::connect(
            cfg.dynamodb_endpoint.as_deref(),
            table,
            &cfg.region,
            cfg.dynamodb_endpoint.is_some(),
        )
        .await?;
        services.usage_store = Arc::new(store);
    }
    Ok(Gateway::new(
        GatewayConfig::default(),
        services,
        Served::new(loaded.apis, usage),
        None,
    ))
}

/// The caller's address as the Function URL or HTTP API saw it.
fn conn(req: &Request) -> ConnInfo {
    let ip = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(c)) => c
            .http
            .source_ip
            .as_deref()
            .and_then(|s| s.parse::<IpAddr>().ok()),
        _ => None,
    }
    .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    ConnInfo {
        remote: SocketAddr::new(ip, 0),
        local: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 443),
        tls: true,
    }
}

/// The path the API's routes match: an HTTP API stage other than `$default` puts its name in
/// front of every path (and `lambda_http` makes sure it is there); a Function URL has none.
fn without_stage<'a>(path: &'a str, stage: Option<&str>) -> &'a str {
    match stage {
        Some(s) if s != "$default" && !s.is_empty() => path
            .strip_prefix('/')
            .and_then(|p| p.strip_prefix(s))
            .filter(|rest| rest.is_empty() || rest.starts_with('/'))
            .map(|rest| if rest.is_empty() { "/" } else { rest })
            .unwrap_or(path),
        _ => path,
    }
}

async fn handle(gw: &Gateway, req: Request) -> Result<Response<Body>, Error> {
    let info = conn(&req);
    let stage = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(c)) => c.stage.clone(),
        _ => None,
    };
    let (mut parts, body) = req.into_parts();
    let path = without_stage(parts.uri.path(), stage.as_deref());
    if path.len() != parts.uri.path().len() {
        let target = match parts.uri.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.to_string(),
        };
        let mut uri = http::uri::Builder::new().path_and_query(target);
        if let (Some(scheme), Some(authority)) = (parts.uri.scheme(), parts.uri.authority()) {
            uri = uri.scheme(scheme.clone()).authority(authority.clone());
        }
        parts.uri = uri.build()?;
    }
    // The Function URL's front end has read the client's HTTP already; the request it passes on
    // names its host in the URI, which the gateway's HTTP/1.1 Host check reads as the Host.
    if !parts.headers.contains_key(http::header::HOST) {
        if let Some(a) = parts.uri.authority().and_then(|a| a.as_str().parse().ok()) {
            parts.headers.insert(http::header::HOST, a);
        }
    }
    let bytes: Vec<u8> = match body {
        Body::Empty => Vec::new(),
        Body::Text(t) => t.into_bytes(),
        Body::Binary(b) => b,
        _ => Vec::new(),
    };
    let req = http::Request::from_parts(parts, gateway::body::full(bytes));
    let resp = gw.handle(req, info).await;
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await?.to_bytes();
    // Text stays text; anything else goes back base64-encoded, as the URL's contract requires.
    let body = match String::from_utf8(bytes.to_vec()) {
        Ok(s) if s.is_empty() => Body::Empty,
        Ok(s) => Body::Text(s),
        Err(_) => Body::Binary(bytes.to_vec()),
    };
    Ok(Response::from_parts(parts, body))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TOLLGATE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .without_time()
        .init();
    let cfg = Config::read(&config::Environment)?;
    let gw = Arc::new(build(&cfg).await?);
    lambda_http::run(service_fn(move |req: Request| {
        let gw = Arc::clone(&gw);
        async move { handle(&gw, req).await }
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::without_stage;

    #[test]
    fn a_named_stage_leaves_the_path_and_default_keeps_it() {
        assert_eq!(without_stage("/prod/orders/7", Some("prod")), "/orders/7");
        assert_eq!(without_stage("/prod", Some("prod")), "/");
        assert_eq!(
            without_stage("/production/x", Some("prod")),
            "/production/x"
        );
        assert_eq!(without_stage("/orders", Some("$default")), "/orders");
        assert_eq!(without_stage("/orders", None), "/orders");
    }
}
