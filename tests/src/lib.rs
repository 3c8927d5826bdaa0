//! Helpers shared by the integration tests: fixtures, the real `tollgate` binary on a free
//! loopback port, a real loopback upstream that records what it receives, and small HTTP clients.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};

/// A file under `tests/fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}

/// A copy of the fixture folder `rel` in a fresh temporary folder, to run commands in as a user
/// runs them in their project (relative paths, state written beside the template).
pub fn project(rel: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let name = rel.trim_end_matches('/').replace('/', "-");
    let dest = std::env::temp_dir().join(format!(
        "tollgate-project-{}-{n}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dest);
    copy_dir(&fixture(rel), &dest);
    dest
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the project folder");
    for entry in std::fs::read_dir(from).expect("read the fixture folder") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a fixture file");
        }
    }
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `tollgate` binary built next to this test binary (`scripts/test.sh` builds it first).
pub fn tollgate_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let bin = dir.join(format!("tollgate{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --workspace --bins` first (scripts/test.sh does)",
        bin.display()
    );
    bin
}

/// A running `tollgate start-api` on 127.0.0.1 and a free port; killed on drop.
pub struct Emulator {
    child: Child,
    pub addr: SocketAddr,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Emulator {
    /// Start `tollgate start-api -p 0 ARGS...` and wait until it is listening. Each emulator
    /// gets its own state directory.
    pub fn start(args: &[&str]) -> Emulator {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("tollgate-state-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Self::start_with_state(args, &dir)
    }

    /// Start with a given state directory (to see state survive a restart).
    pub fn start_with_state(args: &[&str], state_dir: &Path) -> Emulator {
        let mut command = Command::new(tollgate_bin());
        command
            .arg("start-api")
            .args(["-p", "0", "--host", "127.0.0.1"])
            .arg("--state-dir")
            .arg(state_dir)
            .args(args)
            .current_dir(repo_root());
        Self::spawn(command)
    }

    /// Start as a user does: from `dir`, with the paths in `args` relative to it and the
    /// default state directory.
    pub fn start_in(dir: &Path, args: &[&str]) -> Emulator {
        Self::spawn(in_dir("start-api", dir, args))
    }

    /// As [`Emulator::start_in`], leading a process group of its own, as a shell runs a
    /// foreground job: [`Emulator::interrupt_group`] is then the terminal's Ctrl-C.
    pub fn start_in_own_group(dir: &Path, args: &[&str]) -> Emulator {
        use std::os::unix::process::CommandExt;
        let mut command = in_dir("start-api", dir, args);
        command.process_group(0);
        Self::spawn(command)
    }

    /// Ctrl-C in the terminal: SIGINT to every process of tollgate's process group.
    pub fn interrupt_group(&self) {
        let status = Command::new("kill")
            .args(["-INT", "--", &format!("-{}", self.child.id())])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -INT failed");
    }

    /// Wait (bounded) for tollgate to exit.
    pub fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                return s;
            }
            assert!(Instant::now() < deadline, "tollgate did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `tollgate start-lambda`: the template's functions behind the Lambda Invoke API.
    pub fn start_lambda(args: &[&str]) -> Emulator {
        let mut command = Command::new(tollgate_bin());
        command
            .arg("start-lambda")
            .args(["-p", "0", "--host", "127.0.0.1"])
            .args(args)
            .current_dir(repo_root());
        Self::spawn(command)
    }

    /// `tollgate start-lambda` started in `dir`, as a user runs it from a project folder.
    pub fn start_lambda_in(dir: &Path, args: &[&str]) -> Emulator {
        Self::spawn(in_dir("start-lambda", dir, args))
    }

    fn spawn(mut command: Command) -> Emulator {
        let mut child = command
            .env("TOLLGATE_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tollgate");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let out = child.stdout.take().expect("stdout");
            let lines = Arc::clone(&stdout);
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    lines.lock().expect("lock").push(line);
                }
            });
        }
        {
            let err = child.stderr.take().expect("stderr");
            let lines = Arc::clone(&stderr);
            std::thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    if let Some(addr) = line
                        .strip_prefix("tollgate listening on http://")
                        .or_else(|| line.strip_prefix("tollgate listening on https://"))
                    {
                        let _ = tx.send(addr.trim().to_string());
                    }
                    lines.lock().expect("lock").push(line);
                }
            });
        }
        // Generous: a first start may install a function's dependencies from PyPI or npm.
        let addr = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(a) => a.parse().expect("listening address"),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "tollgate did not start; stderr:\n{}",
                    stderr.lock().expect("lock").join("\n")
                );
            }
        };
        Emulator {
            child,
            addr,
            stdout,
            stderr,
        }
    }

    /// Start a fixture template whose `Upstream` parameter points at `up`.
    pub fn with_upstream(template: &str, up: &Upstream) -> Emulator {
        let t = fixture(template);
        let overrides = format!("Upstream={}", up.base());
        Emulator::start(&[
            "-t",
            t.to_str().expect("utf8"),
            "--skip-build",
            "--parameter-overrides",
            &overrides,
        ])
    }

    /// The admin address (`--admin-port`) tollgate printed at start-up.
    pub fn admin_url(&self) -> String {
        self.stderr()
            .into_iter()
            .find_map(|l| l.strip_prefix("tollgate admin on ").map(str::to_string))
            .and_then(|l| l.split_whitespace().next().map(str::to_string))
            .expect("the admin address is printed at start-up")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Access-log lines printed so far.
    pub fn access_log(&self) -> Vec<String> {
        self.stdout.lock().expect("lock").clone()
    }

    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lock().expect("lock").clone()
    }

    /// Wait (bounded) until `pred` holds for the access log.
    pub fn wait_for_log(&self, pred: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.access_log();
            if pred(&log) || Instant::now() > deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Send SIGTERM and wait (bounded) for the process to exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "tollgate did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tollgate <command>` on a free loopback port, started in `dir` as a user starts it there.
fn in_dir(command: &str, dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(tollgate_bin());
    c.arg(command)
        .args(["-p", "0", "--host", "127.0.0.1"])
        .args(args)
        .current_dir(dir);
    c
}

/// The DynamoDB Local that `scripts/test.sh` starts; its absence is a failure, never a skip.
pub fn dynamodb_url() -> String {
    std::env::var("TOLLGATE_TEST_DYNAMODB").unwrap_or_else(|_| {
        panic!("TOLLGATE_TEST_DYNAMODB is not set: run the suite with scripts/test.sh, which installs and starts DynamoDB Local")
    })
}

/// One request the upstream received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    /// Path and query as received.
    pub target: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A loopback HTTP upstream. Paths starting `/slow` answer after 2 s, `/reset` drops the
/// connection without answering, `/status/NNN` answers NNN, `/raw` echoes the body bytes as
/// `text/plain`, `/health` answers 200 or 503 (see `healthy`); everything else echoes as JSON.
/// Health checks are not recorded.
pub struct Upstream {
    pub addr: SocketAddr,
    pub received: Arc<Mutex<Vec<Recorded>>>,
    /// What `/health` answers: 200 while true, 503 once false.
    pub healthy: Arc<std::sync::atomic::AtomicBool>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// Closes every open connection too (a killed process, not just a closed listener).
    kill: tokio::sync::watch::Sender<bool>,
}

impl Upstream {
    pub async fn start() -> Upstream {
        Self::start_on("127.0.0.1:0".parse().expect("addr")).await
    }

    /// Start on a given address (another loopback IP, a chosen port).
    pub async fn start_on(bind: SocketAddr) -> Upstream {
        let listener = tokio::net::TcpListener::bind(bind).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let received = Arc::new(Mutex::new(Vec::new()));
        let healthy = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let (kill, killed) = tokio::sync::watch::channel(false);
        let rec = Arc::clone(&received);
        let health = Arc::clone(&healthy);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let rec = Arc::clone(&rec);
                        let health = Arc::clone(&health);
                        let mut killed = killed.clone();
                        tokio::spawn(async move {
                            let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                                let rec = Arc::clone(&rec);
                                let health = Arc::clone(&health);
                                async move { upstream_answer(req, rec, health).await }
                            });
                            let conn = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), svc);
                            tokio::select! {
                                _ = conn => {}
                                _ = killed.changed() => {}
                            }
                        });
                    }
                    _ = &mut rx => break,
                }
            }
        });
        Upstream {
            addr,
            received,
            healthy,
            shutdown: Some(tx),
            kill,
        }
    }

    /// Stop as a crashed process would: the listener and every open connection close.
    pub fn kill(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = self.kill.send(true);
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn last(&self) -> Recorded {
        self.received
            .lock()
            .expect("lock")
            .last()
            .cloned()
            .expect("the upstream received a request")
    }

    pub fn count(&self) -> usize {
        self.received.lock().expect("lock").len()
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn upstream_answer(
    req: Request<Incoming>,
    rec: Arc<Mutex<Vec<Recorded>>>,
    healthy: Arc<std::sync::atomic::AtomicBool>,
) -> Result<http::Response<Full<Bytes>>, std::io::Error> {
    if req.uri().path() == "/health" {
        let up = healthy.load(std::sync::atomic::Ordering::SeqCst);
        return Ok(http::Response::builder()
            .status(if up { 200 } else { 503 })
            .body(Full::new(Bytes::from_static(b"{}")))
            .expect("response"));
    }
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    rec.lock().expect("lock").push(Recorded {
        method: parts.method.clone(),
        target: target.clone(),
        headers: parts.headers.clone(),
        body: body.clone(),
    });
    if target.starts_with("/slow") {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    if target.starts_with("/reset") {
        return Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "reset",
        ));
    }
    if target.starts_with("/raw") {
        return Ok(http::Response::builder()
            .header("content-type", "text/plain")
            .body(Full::new(body))
            .expect("response"));
    }
    let status = target
        .strip_prefix("/status/")
        .and_then(|s| s.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let echo = serde_json::json!({
        "method": parts.method.as_str(),
        "target": target,
        "body": String::from_utf8_lossy(&body),
    });
    Ok(http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("server", "upstream-test")
        .header("x-upstream", "yes")
        .header("www-authenticate", "Basic realm=\"up\"")
        .body(Full::new(Bytes::from(echo.to_string())))
        .expect("response"))
}

/// A response as the tests look at it.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Send one HTTP/1.1 request.
pub async fn send(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Reply {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut builder = Request::builder().method(method).uri(url);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let req = builder.body(Full::new(body.into())).expect("request");
    let resp = client.request(req).await.expect("response");
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

pub async fn get(url: &str) -> Reply {
    send("GET", url, &[], Bytes::new()).await
}

/// Write raw bytes to the server and read what comes back until it closes or 5 s pass.
pub fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(bytes).expect("write");
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                // One response is enough; servers may keep the connection open.
                if out.windows(4).any(|w| w == b"\r\n\r\n") {
                    let text = String::from_utf8_lossy(&out);
                    let length = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().to_string())
                        })
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    let head = text.find("\r\n\r\n").unwrap_or(0) + 4;
                    if out.len() >= head + length {
                        break;
                    }
                }
            }
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Write raw bytes (one request or several, pipelined) and read everything until the server
/// closes the connection or 5 s pass.
pub fn raw_until_closed(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(bytes).expect("write");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Split what [`raw_until_closed`] read into responses (head, body), by their Content-Length.
pub fn split_responses(mut text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    while let Some(end) = text.find("\r\n\r\n") {
        let head = &text[..end];
        let length = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .and_then(|v| v.trim().parse::<usize>().ok())
            })
            .unwrap_or(0);
        let body_end = (end + 4 + length).min(text.len());
        out.push((head.to_string(), text[end + 4..body_end].to_string()));
        text = &text[body_end..];
    }
    out
}

/// Assert the headers API Gateway puts on REST responses: a UUID request id and a 16-character
/// `x-amz-apigw-id` ending in `=`.
pub fn assert_rest_ids(r: &Reply) {
    let id = r.header("x-amzn-requestid").expect("x-amzn-RequestId");
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(id.matches('-').count(), 4, "{id}");
    let ext = r.header("x-amz-apigw-id").expect("x-amz-apigw-id");
    assert_eq!(ext.len(), 16, "{ext}");
    assert!(ext.ends_with('='), "{ext}");
}

/// Signing test tokens with the fixture keys.
pub mod jwt {
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
    use serde_json::Value;

    /// Sign `claims` (RS256) with `tests/fixtures/jwt/{kid}.pem`, adding `exp` an hour ahead
    /// unless the claims set one.
    pub fn sign(kid: &str, claims: &Value) -> String {
        sign_with(kid, kid, claims)
    }

    /// Sign with key file `key` but name `kid` in the header (for wrong-key cases).
    pub fn sign_with(key: &str, kid: &str, claims: &Value) -> String {
        let pem = std::fs::read(super::fixture(&format!("jwt/{key}.pem"))).expect("fixture key");
        let mut claims = claims.clone();
        if claims.get("exp").is_none() {
            claims["exp"] = Value::from(now() + 3600);
        }
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_string());
        encode(
            &header,
            &claims,
            &EncodingKey::from_rsa_pem(&pem).expect("rsa pem"),
        )
        .expect("sign")
    }

    pub fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

/// A loopback OpenID provider: `/.well-known/openid-configuration` and `/jwks.json`, whose key
/// set a test can swap, counting how often the keys are fetched.
pub struct JwksServer {
    pub addr: SocketAddr,
    pub jwks: Arc<Mutex<String>>,
    pub fetches: Arc<std::sync::atomic::AtomicUsize>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl JwksServer {
    pub async fn start(initial_jwks_fixture: &str) -> JwksServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let jwks = Arc::new(Mutex::new(
            std::fs::read_to_string(fixture(initial_jwks_fixture)).expect("jwks fixture"),
        ));
        let fetches = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let (j, f) = (Arc::clone(&jwks), Arc::clone(&fetches));
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let (j, f) = (Arc::clone(&j), Arc::clone(&f));
                        tokio::spawn(async move {
                            let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                                let (j, f) = (Arc::clone(&j), Arc::clone(&f));
                                async move {
                                    let body = match req.uri().path() {
                                        "/.well-known/openid-configuration" => serde_json::json!({
                                            "issuer": format!("http://{addr}"),
                                            "jwks_uri": format!("http://{addr}/jwks.json"),
                                        })
                                        .to_string(),
                                        "/jwks.json" => {
                                            f.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                                            j.lock().expect("lock").clone()
                                        }
                                        _ => String::from("{}"),
                                    };
                                    Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from(body))))
                                }
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), svc)
                                .await;
                        });
                    }
                    _ = &mut rx => break,
                }
            }
        });
        JwksServer {
            addr,
            jwks,
            fetches,
            shutdown: Some(tx),
        }
    }

    pub fn issuer(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn publish(&self, jwks_fixture: &str) {
        *self.jwks.lock().expect("lock") =
            std::fs::read_to_string(fixture(jwks_fixture)).expect("jwks fixture");
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A one-name DNS server on loopback UDP for discovery tests: every A query is answered with
/// the current address and a 1-second TTL; other queries get an empty answer.
pub struct DnsServer {
    pub addr: SocketAddr,
    pub answer: Arc<Mutex<std::net::Ipv4Addr>>,
}

impl DnsServer {
    pub async fn start(initial: std::net::Ipv4Addr) -> DnsServer {
        let sock = tokio::net::UdpSocket::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = sock.local_addr().expect("addr");
        let answer = Arc::new(Mutex::new(initial));
        let current = Arc::clone(&answer);
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            loop {
                let Ok((n, peer)) = sock.recv_from(&mut buf).await else {
                    return;
                };
                let ip = *current.lock().expect("lock");
                if let Some(reply) = dns_reply(&buf[..n], ip) {
                    let _ = sock.send_to(&reply, peer).await;
                }
            }
        });
        DnsServer { addr, answer }
    }

    pub fn set(&self, ip: std::net::Ipv4Addr) {
        *self.answer.lock().expect("lock") = ip;
    }
}

fn dns_reply(q: &[u8], ip: std::net::Ipv4Addr) -> Option<Vec<u8>> {
    if q.len() < 12 {
        return None;
    }
    // The question: labels up to a zero byte, then type and class.
    let mut i = 12;
    while i < q.len() && q[i] != 0 {
        i += 1 + q[i] as usize;
    }
    let end = i + 5;
    if end > q.len() {
        return None;
    }
    let qtype = u16::from_be_bytes([q[i + 1], q[i + 2]]);
    let is_a = qtype == 1;
    let mut r = Vec::with_capacity(end + 16);
    r.extend_from_slice(&q[0..2]); // id
    r.extend_from_slice(&[0x81, 0x80]); // response, recursion desired and available, no error
    r.extend_from_slice(&[0, 1, 0, u8::from(is_a), 0, 0, 0, 0]);
    r.extend_from_slice(&q[12..end]);
    if is_a {
        r.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1]); // the question's name, A, IN
        r.extend_from_slice(&1u32.to_be_bytes()); // TTL: 1 s
        r.extend_from_slice(&[0, 4]);
        r.extend_from_slice(&ip.octets());
    }
    Some(r)
}
