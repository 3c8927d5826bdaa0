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
    let t = fixture("e2e/traversal.yaml");
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
}
