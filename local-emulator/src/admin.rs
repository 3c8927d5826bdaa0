//! The admin listener (`--admin-port`), on its own address, never on the API's paths:
//! Prometheus metrics at `/metrics`, and the dashboard at `/` with its JSON API (`/api/routes`,
//! `/api/requests`, `/api/requests/{id}`, `/api/functions`, `/api/usage`) and live feed
//! (`/api/events`, server-sent events).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use gateway::body::{full, Body};
use http_body::Frame;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;

use crate::dashboard::RequestLog;

/// What the admin endpoints read.
#[derive(Clone)]
pub struct Admin {
    pub slot: Arc<crate::reload::GatewaySlot>,
    pub metrics: Arc<gateway::Metrics>,
    pub host: Option<Arc<crate::lambda::LambdaHost>>,
    pub log: Arc<RequestLog>,
}

/// Bind the admin address; the server runs until the process ends.
pub async fn serve(addr: SocketAddr, admin: Admin) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        anyhow::anyhow!("--admin-port: cannot listen on {addr} ({e}); pick another port")
    })?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let admin = admin.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let admin = admin.clone();
                    async move {
                        if req.uri().path() == "/api/usage" {
                            let report = admin.slot.get().usage_report().await;
                            return Ok::<_, Infallible>(json(&report));
                        }
                        Ok::<_, Infallible>(answer(&req, &admin))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Ok(bound)
}

fn respond(status: StatusCode, content_type: &str, body: Body) -> Response<Body> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    r
}

fn json(v: &impl serde::Serialize) -> Response<Body> {
    respond(
        StatusCode::OK,
        "application/json",
        full(serde_json::to_string(v).unwrap_or_else(|_| "null".into())),
    )
}

fn answer(req: &Request<Incoming>, admin: &Admin) -> Response<Body> {
    let path = req.uri().path();
    match path {
        "/metrics" => {
            refresh_functions(admin);
            respond(
                StatusCode::OK,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                {
                    let gw = admin.slot.get();
                    full(admin.metrics.render(
                        gw.apis(),
                        gw.usage_store_failures(),
                        gw.usage_store_circuit_open(),
                    ))
                },
            )
        }
        "/" => respond(
            StatusCode::OK,
            "text/html; charset=utf-8",
            full(crate::dashboard::PAGE),
        ),
        "/api/routes" => json(&crate::dashboard::routes(&admin.slot.get())),
        "/api/requests" => json(&admin.log.recent()),
        "/api/functions" => json(&functions(admin)),
        "/api/events" => events(admin),
        _ => match path.strip_prefix("/api/requests/") {
            Some(id) => match admin.log.get(id) {
                Some(r) => json(&r),
                None => respond(
                    StatusCode::NOT_FOUND,
                    "application/json",
                    full(r#"{"message":"no such request among the recent ones"}"#),
                ),
            },
            None => respond(
                StatusCode::NOT_FOUND,
                "text/plain; charset=utf-8",
                full("not found: the admin address serves /, /metrics and /api/*\n"),
            ),
        },
    }
}

/// Function pools are the process host's; read them at scrape time.
fn refresh_functions(admin: &Admin) {
    for pool in admin.host.iter().flat_map(|h| h.pools()) {
        let (live, busy) = pool.counts();
        admin.metrics.set_function(
            &pool.cfg().logical_id,
            live.saturating_sub(busy),
            busy,
            pool.cold_starts(),
        );
    }
}

fn functions(admin: &Admin) -> serde_json::Value {
    let list: Vec<serde_json::Value> = admin
        .host
        .iter()
        .flat_map(|h| h.pools())
        .map(|p| {
            let (live, busy) = p.counts();
            serde_json::json!({
                "function": p.cfg().logical_id,
                "warm": live,
                "busy": busy,
                "coldStarts": p.cold_starts(),
            })
        })
        .collect();
    serde_json::Value::Array(list)
}

/// Server-sent events: one `data:` line per finished request, from now on.
fn events(admin: &Admin) -> Response<Body> {
    let mut live = admin.log.subscribe();
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    tokio::spawn(async move {
        // A comment first, so the client sees the stream open at once.
        if tx
            .send(Bytes::from_static(b": tollgate\n\n"))
            .await
            .is_err()
        {
            return;
        }
        loop {
            match live.recv().await {
                Ok(r) => {
                    let line = format!(
                        "data: {}\n\n",
                        serde_json::to_string(&*r).unwrap_or_default()
                    );
                    if tx.send(Bytes::from(line)).await.is_err() {
                        return;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return,
            }
        }
    });
    let mut r = respond(
        StatusCode::OK,
        "text/event-stream",
        gateway::body::boxed(SseBody { rx }),
    );
    r.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-cache"),
    );
    r
}

struct SseBody {
    rx: mpsc::Receiver<Bytes>,
}

impl http_body::Body for SseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b))))
    }
}
