//! The HTTP server: hyper 1.x over TCP, HTTP/1.1 and HTTP/2 (h2c, prior knowledge; over TLS by
//! ALPN) on one port, optional TLS and mTLS termination, connection limits and idle timeouts
//! ([`crate::connections`]), graceful shutdown that drains in-flight requests.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use gateway::body;
use gateway::{ClientCert, ConnInfo};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::TcpListener;

use crate::connections::{Activity, Registry, Tracked};
use crate::watched_io::WatchedIo;
use crate::wire::{Tap, MAX_HEADERS};

/// Request line plus headers: API Gateway allows 10240 bytes of header values; past hyper's read
/// buffer the client gets 431.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn serve(
    gateway: Arc<crate::reload::GatewaySlot>,
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
    connections: Arc<Registry>,
) -> anyhow::Result<()> {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(MAX_HEADERS);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_HEAD_BYTES as u32);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);

    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, remote) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                // At the cap with every connection busy, the new one is closed at once.
                let Some(tracked) = connections.admit() else { continue };
                let _ = stream.set_nodelay(true);
                let local = stream.local_addr().unwrap_or(remote);
                let stream = WatchedIo::new(stream, Arc::clone(&tracked.activity));
                let gw = Arc::clone(&gateway);
                let builder = builder.clone();
                let watcher = graceful.watcher();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Some(acceptor) = acceptor else {
                        let info = ConnInfo { remote, local, tls: false };
                        serve_until_closed(&builder, stream, info, None, gw, watcher, tracked).await;
                        return;
                    };
                    // A failed handshake (no or untrusted client certificate, bad TLS) closes
                    // the connection; no request reaches the gateway.
                    let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!("TLS handshake with {remote} failed: {e}");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!("TLS handshake with {remote} timed out");
                            return;
                        }
                    };
                    let cert = stream
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|c| c.first())
                        .and_then(crate::tls::client_cert)
                        .map(Arc::new);
                    let info = ConnInfo { remote, local, tls: true };
                    serve_until_closed(&builder, stream, info, cert, gw, watcher, tracked).await;
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!("shutting down: draining in-flight requests");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all connections closed"),
        () = tokio::time::sleep(grace) => tracing::warn!("grace period over; closing remaining connections"),
    }
    Ok(())
}

/// Serve one connection until it ends, is shed at the connection cap, or sits idle too long.
async fn serve_until_closed<I>(
    builder: &auto::Builder<TokioExecutor>,
    io: I,
    info: ConnInfo,
    cert: Option<Arc<ClientCert>>,
    gw: Arc<crate::reload::GatewaySlot>,
    watcher: Watcher,
    tracked: Tracked,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let remote = info.remote;
    let activity = Arc::clone(&tracked.activity);
    let tap = Tap::new();
    let io = WatchedIo::new(io, tap.clone());
    let conn = builder
        .serve_connection(TokioIo::new(io), service(gw, info, cert, activity, tap))
        .into_owned();
    tokio::select! {
        ended = watcher.watch(conn) => if let Err(e) = ended {
            tracing::debug!("connection from {remote} ended: {e}");
        },
        () = tracked.closing() => tracing::debug!("closed idle connection from {remote}"),
    }
}

/// The per-connection service: each request runs on the gateway current when it arrived (a
/// reload swaps the slot, never an in-flight request's gateway), carrying the connection's client
/// certificate and the header names as the client spelled them ([`crate::wire`]).
fn service(
    gw: Arc<crate::reload::GatewaySlot>,
    info: ConnInfo,
    cert: Option<Arc<ClientCert>>,
    activity: Arc<Activity>,
    tap: Tap,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = hyper::Response<body::Body>,
    Error = Infallible,
    Future = impl Future<Output = Result<hyper::Response<body::Body>, Infallible>> + Send,
> + Clone {
    service_fn(move |mut req: Request<Incoming>| {
        let gw = gw.get();
        if let Some(c) = &cert {
            req.extensions_mut().insert(Arc::clone(c));
        }
        if let Some(case) = tap.header_case(&req) {
            req.extensions_mut().insert(case);
        }
        let version = req.version();
        let tap = tap.clone();
        let in_flight = activity.request();
        async move {
            let resp = gw.handle(req.map(body::boxed), info).await;
            tap.answered(version);
            drop(in_flight);
            Ok::<_, Infallible>(resp)
        }
    })
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
