//! The floor under tollgate's load figures: the same hyper server set-up as `server.rs` (tokio's
//! multi-threaded runtime, hyper-util's HTTP/1 + HTTP/2 builder, `TCP_NODELAY`) doing nothing but
//! the least a route must. `scripts/load.sh` drives it beside nginx and tollgate, so the table
//! shows how much of the gap to nginx is the gateway's own work and how much is the HTTP stack
//! underneath it.
//!
//! With a port only, every request gets a fixed `200 {"ok":true}` (the floor under a MOCK route).
//! With an upstream URL too, every request is forwarded there, method, path and headers as they
//! came, through the same pooled client tollgate's HTTP integrations use (the floor under an
//! HTTP_PROXY route):
//!
//!   cargo run --release -p local-emulator --example hyper_floor -- 18085
//!   cargo run --release -p local-emulator --example hyper_floor -- 18087 http://127.0.0.1:18081

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use gateway::body::{self, Body};
use gateway::HttpClient;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(18085);
    let upstream = args.next();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve(port, upstream))
}

async fn serve(port: u16, upstream: Option<String>) -> std::io::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let builder = auto::Builder::new(TokioExecutor::new());
    let forward = upstream.map(|base| Arc::new((HttpClient::new(), base)));
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let builder = builder.clone();
        let forward = forward.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let forward = forward.clone();
                async move {
                    Ok::<_, Infallible>(match forward {
                        Some(f) => proxy(&f.0, &f.1, req).await,
                        None => fixed(),
                    })
                }
            });
            let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
        });
    }
}

fn fixed() -> hyper::Response<Body> {
    let resp = hyper::Response::builder()
        .header("content-type", "application/json")
        .body(body::boxed(Full::new(Bytes::from_static(
            br#"{"ok":true}"#,
        ))));
    resp.unwrap_or_else(|_| hyper::Response::new(body::empty()))
}

/// Forward one request and stream the answer back; 502 when the upstream cannot be reached.
async fn proxy(
    client: &HttpClient,
    base: &str,
    req: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Body> {
    let (mut parts, incoming) = req.into_parts();
    let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let Ok(uri) = format!("{base}{target}").parse() else {
        return bad_gateway();
    };
    parts.uri = uri;
    parts.headers.remove(hyper::header::HOST);
    match client
        .send(hyper::Request::from_parts(parts, body::boxed(incoming)))
        .await
    {
        Ok(resp) => resp.map(body::boxed),
        Err(_) => bad_gateway(),
    }
}

fn bad_gateway() -> hyper::Response<Body> {
    let mut resp = hyper::Response::new(body::empty());
    *resp.status_mut() = hyper::StatusCode::BAD_GATEWAY;
    resp
}
