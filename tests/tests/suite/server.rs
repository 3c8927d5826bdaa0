//! The server's own behaviour: limits, malformed input, HTTP/2, request ids, graceful shutdown.

use std::io::Write;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tollgate_tests::{get, raw, send, Emulator, Upstream};

fn orders(up: &Upstream) -> Emulator {
    let overrides = format!("OrdersServiceUrl={0} InventoryServiceUrl={0}", up.base());
    Emulator::start(&[
        "-t",
        "template.yaml",
        "--skip-build",
        "--parameter-overrides",
        overrides.as_str(),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_body_over_10mb_is_413() {
    let up = Upstream::start().await;
    let emu = orders(&up);
    let addr = emu.addr;
    let out = tokio::task::spawn_blocking(move || {
        raw(
            addr,
            b"POST /inventory/upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10485761\r\n\r\n",
        )
    })
    .await
    .expect("join");
    assert!(out.starts_with("HTTP/1.1 413 "), "{out}");
    assert!(
        out.to_ascii_lowercase()
            .contains("content-type: text; charset=utf-8"),
        "{out}"
    );
    assert!(
        out.ends_with("HTTP content length exceeded 10485760 bytes."),
        "{out}"
    );
    assert_eq!(up.count(), 0, "rejected before the integration");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunked_body_over_10mb_is_413() {
    let up = Upstream::start().await;
    let emu = orders(&up);
    let addr = emu.addr;
    let out = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let _ = s.write_all(
            b"POST /inventory/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..11 {
            if s.write_all(b"100000\r\n").is_err()
                || s.write_all(&chunk).is_err()
                || s.write_all(b"\r\n").is_err()
            {
                break;
            }
        }
        let _ = s.write_all(b"0\r\n\r\n");
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = std::io::Read::read(&mut s, &mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&out).contains("bytes.") {
                break;
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    })
    .await
    .expect("join");
    assert!(out.starts_with("HTTP/1.1 413 "), "{out}");
    assert!(
        out.ends_with("HTTP content length exceeded 10485760 bytes."),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_headers_are_431_and_garbage_is_400() {
    let up = Upstream::start().await;
    let emu = orders(&up);
    let addr = emu.addr;
    let (big, garbage) = tokio::task::spawn_blocking(move || {
        let header = "a".repeat(20 * 1024);
        let big = raw(
            addr,
            format!("GET /orders HTTP/1.1\r\nHost: x\r\nX-Big: {header}\r\n\r\n").as_bytes(),
        );
        let garbage = raw(addr, b"THIS IS NOT HTTP\r\n\r\n");
        (big, garbage)
    })
    .await
    .expect("join");
    assert!(big.starts_with("HTTP/1.1 431 "), "{big}");
    assert!(garbage.starts_with("HTTP/1.1 400 "), "{garbage}");
    // The server is still healthy afterwards.
    assert_eq!(get(&emu.url("/health")).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_prior_knowledge() {
    let up = Upstream::start().await;
    let emu = orders(&up);
    let stream = tokio::net::TcpStream::connect(emu.addr)
        .await
        .expect("connect");
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("h2 handshake");
    tokio::spawn(conn);
    for path in ["/orders", "/orders/77"] {
        let req = http::Request::builder()
            .uri(emu.url(path))
            .body(Full::new(Bytes::new()))
            .expect("req");
        let resp = sender.send_request(req).await.expect("h2 response");
        assert_eq!(resp.version(), http::Version::HTTP_2);
        assert_eq!(resp.status(), 200, "{path}");
        assert!(resp.headers().contains_key("x-amzn-requestid"));
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        assert!(!body.is_empty());
    }
    assert_eq!(up.last().target, "/orders/77");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_chosen_request_id_is_kept() {
    let up = Upstream::start().await;
    let emu = orders(&up);
    let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    let r = send("GET", &emu.url("/orders"), &[("x-amzn-requestid", id)], "").await;
    assert_eq!(r.header("x-amzn-requestid"), Some(id));
    let r = send(
        "GET",
        &emu.url("/orders"),
        &[("x-amzn-requestid", "not-a-uuid")],
        "",
    )
    .await;
    assert_ne!(r.header("x-amzn-requestid"), Some("not-a-uuid"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_drains_in_flight_requests() {
    let up = Upstream::start().await;
    let mut emu = orders(&up);
    let url = emu.url("/inventory/slow/drain");
    let in_flight = tokio::spawn(async move { get(&url).await });
    // Wait until the slow request reached the upstream, then ask the server to stop.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while up.count() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "request never reached the upstream"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = tokio::task::spawn_blocking(move || {
        let s = emu.terminate();
        (s, emu)
    });
    let reply = in_flight.await.expect("join");
    assert_eq!(
        reply.status,
        200,
        "the in-flight request completed: {}",
        reply.text()
    );
    let (exit, emu) = status.await.expect("join");
    assert!(exit.success(), "clean exit: {exit:?}");
    assert!(
        std::net::TcpStream::connect(emu.addr).is_err(),
        "no longer accepting"
    );
}
