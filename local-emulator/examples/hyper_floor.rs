//! The floor under tollgate's load figures: the same hyper server set-up as `server.rs` (tokio's
//! multi-threaded runtime, hyper-util's HTTP/1 + HTTP/2 builder, `TCP_NODELAY`) answering every
//! request with a fixed `200 {"ok":true}` and doing nothing else. `scripts/load.sh` drives it
//! beside nginx and tollgate's MOCK route, so the table shows how much of the gap to nginx is
//! the gateway's own work and how much is the HTTP stack underneath it.
//!
//!   cargo run --release -p local-emulator --example hyper_floor -- 18085

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(18085);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve(port))
}

async fn serve(port: u16) -> std::io::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let builder = auto::Builder::new(TokioExecutor::new());
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let builder = builder.clone();
        tokio::spawn(async move {
            let svc = service_fn(|_req| async {
                let resp = hyper::Response::builder()
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from_static(br#"{"ok":true}"#)));
                Ok::<_, Infallible>(resp.unwrap_or_default())
            });
            let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
        });
    }
}
