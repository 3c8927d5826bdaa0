//! Hostile input and exhausted resources: what a gateway in front of real backends must hold.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tollgate_tests::{fixture, raw, Emulator};

/// Python's http.server over a folder: it percent-decodes and normalises every path it is
/// given, as many backends do.
struct NormalisingBackend {
    child: Child,
    addr: SocketAddr,
    root: std::path::PathBuf,
}

impl NormalisingBackend {
    fn start() -> NormalisingBackend {
        let root = std::env::temp_dir().join(format!("tollgate-backend-{}", std::process::id()));
        for (file, text) in [("public/hello.txt", "hello"), ("admin/secret", "SECRET")] {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new("python3")
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
            ])
            .current_dir(&root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m http.server");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let start = Instant::now();
        while TcpStream::connect(addr).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "http.server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        NormalisingBackend { child, addr, root }
    }
}

impl Drop for NormalisingBackend {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn get_raw(e: &Emulator, target: &str) -> String {
    let addr: SocketAddr = e
        .url("")
        .trim_start_matches("http://")
        .parse()
        .expect("addr");
    raw(
        addr,
        format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn no_path_variant_climbs_from_a_public_route_to_a_protected_one() {
    let backend = NormalisingBackend::start();
    let t = fixture("e2e/hardening.yaml");
    let upstream = format!("Upstream=http://{}", backend.addr);
    let e = Emulator::start(&[
        "-t",
        t.to_str().expect("utf8"),
        "--skip-build",
        "--parameter-overrides",
        &upstream,
    ]);
    // The backend serves both files; the public route reaches its own.
    let direct = raw(
        backend.addr,
        b"GET /public/../admin/secret HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(
        direct.ends_with("SECRET"),
        "the backend normalises: {direct}"
    );
    let public = get_raw(&e, "/public/hello.txt");
    assert!(
        public.starts_with("HTTP/1.1 200") && public.ends_with("hello"),
        "{public}"
    );
    // Without a key the admin route is refused.
    assert!(get_raw(&e, "/admin/secret").starts_with("HTTP/1.1 403"));

    // Plain dot segments are resolved before routing, so they reach /admin and its key check.
    for target in [
        "/public/../admin/secret",
        "/public/a/../../admin/secret",
        "/public/./../admin/secret",
    ] {
        let r = get_raw(&e, target);
        assert!(r.starts_with("HTTP/1.1 403"), "{target}: {r}");
    }
    // Encoded ones would be decoded by the backend: refused.
    for target in [
        "/public/%2e%2e/admin/secret",
        "/public/%2E%2E/admin/secret",
        "/public/.%2e/admin/secret",
        "/public/%2e./admin/secret",
        "/public/..%2Fadmin/secret",
        "/public/..%2fadmin%2fsecret",
        "/public/%2e%2e%2fadmin/secret",
        "/public/x/..%2F..%2Fadmin/secret",
        "/public/%2e%2e%5cadmin/secret",
    ] {
        let r = get_raw(&e, target);
        assert!(r.starts_with("HTTP/1.1 400"), "{target}: {r}");
        assert!(r.ends_with(r#"{"message":"Bad Request"}"#), "{target}: {r}");
    }
    // Doubled leading slashes route as single ones (aws-behaviour §2), before and after a
    // stage in the path.
    let r = get_raw(&e, "//public/hello.txt");
    assert!(r.starts_with("HTTP/1.1 200") && r.ends_with("hello"), "{r}");
    let staged = Emulator::start(&[
        "-t",
        t.to_str().expect("utf8"),
        "--skip-build",
        "--stage-in-path",
        "--parameter-overrides",
        &upstream,
    ]);
    for target in ["//v1/public/hello.txt", "/v1//public/hello.txt"] {
        let r = get_raw(&staged, target);
        assert!(
            r.starts_with("HTTP/1.1 200") && r.ends_with("hello"),
            "{target}: {r}"
        );
    }
    // `/stage//hardcoded` reaches the `/hardcoded` resource, not `{proxy+}`; `/stage//x` has the
    // proxy value `x`.
    assert!(get_raw(&staged, "/v1//hardcoded").ends_with("hardcoded"));
    assert!(get_raw(&staged, "/v1//proxy-value").ends_with("proxy proxy-value"));
}

fn start(extra: &[&str]) -> Emulator {
    let t = fixture("e2e/hardening.yaml");
    let mut args = vec!["-t", t.to_str().expect("utf8"), "--skip-build"];
    args.extend_from_slice(extra);
    Emulator::start(&args)
}

fn addr_of(e: &Emulator) -> SocketAddr {
    e.url("")
        .trim_start_matches("http://")
        .parse()
        .expect("addr")
}

/// Read until the server closes the connection, at most `within`; `None` if it never did.
fn closed_within(s: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    use std::io::Read;
    s.set_read_timeout(Some(within)).expect("timeout");
    let started = Instant::now();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Some(seen),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Some(seen),
            Err(_) => return None,
        }
        if started.elapsed() > within {
            return None;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_silent_and_slow_connections_are_closed() {
    use std::io::Write;
    let e = start(&["--connection-idle-timeout", "1", "--body-timeout", "2"]);
    let addr = addr_of(&e);
    // Nothing sent at all.
    let mut silent = TcpStream::connect(addr).expect("connect");
    assert!(closed_within(&mut silent, Duration::from_secs(10)).is_some());
    // HTTP/2 (h2c) after its preface and SETTINGS, with no stream.
    let mut h2 = TcpStream::connect(addr).expect("connect");
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .expect("preface");
    assert!(closed_within(&mut h2, Duration::from_secs(10)).is_some());
    // Kept alive after an answer, then quiet.
    let mut kept = TcpStream::connect(addr).expect("connect");
    kept.write_all(b"POST /mock HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        .expect("request");
    let answer = closed_within(&mut kept, Duration::from_secs(10)).expect("closed when idle");
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
    // A body sent a byte at a time: 408 once --body-timeout has passed.
    let mut slow = TcpStream::connect(addr).expect("connect");
    slow.write_all(b"POST /mock HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
        .expect("head");
    let dripping = std::thread::spawn(move || {
        for _ in 0..20 {
            if slow.write_all(b"a").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        slow
    });
    let mut slow = dripping.join().expect("drip");
    let answer = closed_within(&mut slow, Duration::from_secs(10)).unwrap_or_default();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.ends_with(r#"{"message":"Request Timeout"}"#),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_without_one_host_or_with_broken_chunks_are_400() {
    let e = start(&[]);
    let addr = addr_of(&e);
    for request in [
        &b"POST /mock HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"[..],
        b"POST /mock HTTP/1.1\r\nHost: a\r\nHost: b\r\nContent-Length: 2\r\n\r\n{}",
        b"POST /mock HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    ] {
        let r = raw(addr, request);
        assert!(r.starts_with("HTTP/1.1 400"), "{r}");
    }
    // HTTP/1.0 needs no Host.
    let r = raw(addr, b"POST /mock HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}");
    assert!(r.contains(" 200 "), "{r}");
}

#[tokio::test(flavor = "multi_thread")]
async fn silent_connections_at_the_cap_do_not_stop_service() {
    let e = start(&["--max-connections", "50"]);
    let addr = addr_of(&e);
    // The open-file limit was raised to its hard limit at start-up.
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", e.pid())).expect("limits");
    let files: Vec<&str> = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("Max open files")
        .split_whitespace()
        .collect();
    assert_eq!(
        files[3], files[4],
        "soft limit raised to the hard one: {limits}"
    );
    // Fill every slot with sockets that never send a byte...
    let silent: Vec<TcpStream> = (0..50)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // ... and normal requests still get through, each shedding the oldest idle socket.
    for _ in 0..20 {
        let r = raw(
            addr,
            b"POST /mock HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
        );
        assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    }
    assert!(
        e.stderr()
            .iter()
            .any(|l| l.contains("at --max-connections 50")),
        "shedding is logged: {:#?}",
        e.stderr()
    );
    drop(silent);
}
