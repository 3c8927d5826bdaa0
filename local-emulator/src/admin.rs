//! The admin listener (`--admin-port`): Prometheus metrics at `/metrics`, on its own address,
//! never on the API's paths.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

/// Bind the admin address; the server runs until the process ends.
pub async fn serve(
    addr: SocketAddr,
    slot: Arc<crate::reload::GatewaySlot>,
    metrics: Arc<gateway::metrics::Metrics>,
) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        anyhow::anyhow!("--admin-port: cannot listen on {addr} ({e}); pick another port")
    })?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let slot = Arc::clone(&slot);
            let metrics = Arc::clone(&metrics);
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let slot = Arc::clone(&slot);
                    let metrics = Arc::clone(&metrics);
                    async move { Ok::<_, Infallible>(answer(&req, &slot, &metrics)) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Ok(bound)
}

fn answer(
    req: &Request<Incoming>,
    slot: &crate::reload::GatewaySlot,
    metrics: &gateway::metrics::Metrics,
) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match req.uri().path() {
        "/metrics" => (
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics.render(&slot.get()),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "not found: the admin address serves /metrics\n".to_string(),
        ),
    };
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    r
}
