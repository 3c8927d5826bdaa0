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
    host: Option<Arc<crate::lambda::LambdaHost>>,
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
            let host = host.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let slot = Arc::clone(&slot);
                    let metrics = Arc::clone(&metrics);
                    let host = host.clone();
                    async move { Ok::<_, Infallible>(answer(&req, &slot, &metrics, host.as_deref())) }
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
    host: Option<&crate::lambda::LambdaHost>,
) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match req.uri().path() {
        "/metrics" => {
            // Function pools are the process host's; read them at scrape time.
            for pool in host.into_iter().flat_map(|h| h.pools()) {
                let (live, busy) = pool.counts();
                metrics.set_function(
                    &pool.cfg.logical_id,
                    live.saturating_sub(busy),
                    busy,
                    pool.cold_starts(),
                );
            }
            (
                StatusCode::OK,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                metrics.render(&slot.get()),
            )
        }
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
