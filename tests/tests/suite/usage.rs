//! API keys and usage plans from a template: the key check (403), the key's token bucket with a
//! per-method override (429 Too Many Requests) and its daily quota (429 Limit Exceeded).

use tollgate_tests::{assert_rest_ids, dynamodb_url, fixture, send, Emulator, Reply};

fn emulator() -> Emulator {
    let t = fixture("e2e/usage.yaml");
    Emulator::start(&["-t", t.to_str().expect("utf8")])
}

async fn get(emu: &Emulator, path: &str, key: Option<&str>) -> Reply {
    let headers: Vec<(&str, &str)> = key.map(|k| vec![("x-api-key", k)]).unwrap_or_default();
    send("GET", &emu.url(path), &headers, "").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_checked() {
    let emu = emulator();
    for (key, why) in [
        (None, "missing"),
        (Some("nosuchkey0000000000000001"), "unknown"),
        (Some("disabledkey000000000000001"), "disabled"),
        (
            Some("lonelykey00000000000000001"),
            "in no plan for this stage",
        ),
    ] {
        let r = get(&emu, "/counted", key).await;
        assert_eq!(r.status, 403, "{why}");
        assert_eq!(r.text(), r#"{"message":"Forbidden"}"#, "{why}");
        assert_eq!(
            r.header("x-amzn-errortype"),
            Some("ForbiddenException"),
            "{why}"
        );
        assert_rest_ids(&r);
    }
    assert_eq!(
        get(&emu, "/free", None).await.status,
        200,
        "methods without api_key need none"
    );
    assert_eq!(
        get(&emu, "/counted", Some("countedkey0000000000000001"))
            .await
            .status,
        200
    );
    assert!(emu.stderr().iter().any(
        |l| l.contains("API key counted (CountedKey): countedkey0000000000000001, plans: Plan")
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttle_then_quota() {
    let emu = emulator();
    // The /limited/GET override: burst 2, practically no refill.
    let key = Some("throttledkey00000000000001");
    assert_eq!(get(&emu, "/limited", key).await.status, 200);
    assert_eq!(get(&emu, "/limited", key).await.status, 200);
    let r = get(&emu, "/limited", key).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.text(), r#"{"message":"Too Many Requests"}"#);
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("TooManyRequestsException")
    );
    assert!(
        r.header("retry-after").is_none(),
        "AWS sends no Retry-After"
    );
    // Other methods use the plan's own (generous) throttle.
    assert_eq!(get(&emu, "/counted", key).await.status, 200);

    // The daily quota of 5 counts every admitted call of a key, whatever the method.
    let key = Some("countedkey0000000000000001");
    for i in 0..5 {
        assert_eq!(get(&emu, "/counted", key).await.status, 200, "call {i}");
    }
    let r = get(&emu, "/counted", key).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.text(), r#"{"message":"Limit Exceeded"}"#);
    assert_eq!(r.header("x-amzn-errortype"), Some("LimitExceededException"));
}

/// The gold plan's daily quota of 5 across a restart on one state directory: 3 calls, `stop`
/// the first process, then 2 more pass and the answer to the sixth is returned.
async fn quota_across_a_restart(name: &str, extra: &[&str], stop: impl FnOnce(Emulator)) -> Reply {
    let t = fixture("e2e/usage.yaml");
    let state = std::env::temp_dir().join(format!("tollgate-usage-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&state);
    let key = Some("countedkey0000000000000001");
    let mut args = vec!["-t", t.to_str().expect("utf8")];
    args.extend_from_slice(extra);
    let first = Emulator::start_with_state(&args, &state);
    for _ in 0..3 {
        assert_eq!(get(&first, "/counted", key).await.status, 200);
    }
    stop(first);
    let second = Emulator::start_with_state(&args, &state);
    assert_eq!(get(&second, "/counted", key).await.status, 200);
    assert_eq!(get(&second, "/counted", key).await.status, 200);
    let sixth = get(&second, "/counted", key).await;
    drop(second);
    let _ = std::fs::remove_dir_all(&state);
    sixth
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_usage_survives_a_restart() {
    let r = quota_across_a_restart("restart", &[], |mut first| {
        assert!(first.terminate().success());
    })
    .await;
    assert_eq!(
        r.status, 429,
        "3 + 2 of the day's 5 were used before and after the restart"
    );
    assert_eq!(r.text(), r#"{"message":"Limit Exceeded"}"#);
}

/// With `--state-sync always`, counts survive `kill -9` too: each decision is on disk before the
/// request goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_state_sync_always_a_killed_process_loses_no_count() {
    // Dropping the emulator kills it with SIGKILL, at once after the last answer.
    let r = quota_across_a_restart("sync", &["--state-sync", "always"], drop).await;
    assert_eq!(
        r.status, 429,
        "3 + 2 of the day's 5, though the first process was killed"
    );
}

/// A name no other run uses: `PREFIX-PID-NANOS` (DynamoDB tables, Redis key prefixes).
fn unique_name(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{nanos}", std::process::id())
}

fn redis_url() -> String {
    std::env::var("TOLLGATE_TEST_REDIS").unwrap_or_else(|_| {
        panic!("TOLLGATE_TEST_REDIS is not set: run the suite with scripts/test.sh, which installs and starts redis-server")
    })
}

async fn hammer(emus: &[Emulator], calls: usize) -> (usize, usize) {
    let tasks: Vec<_> = (0..calls)
        .map(|i| {
            let url = emus[i % emus.len()].url("/shared");
            tokio::spawn(async move {
                send(
                    "GET",
                    &url,
                    &[("x-api-key", "sharedkey00000000000000001")],
                    "",
                )
                .await
            })
        })
        .collect();
    let (mut ok, mut limited) = (0, 0);
    for t in tasks {
        let r = t.await.expect("join");
        match r.status.as_u16() {
            200 => ok += 1,
            429 => {
                assert_eq!(r.text(), r#"{"message":"Limit Exceeded"}"#);
                limited += 1;
            }
            other => panic!("unexpected {other}: {}", r.text()),
        }
    }
    (ok, limited)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_sharing_redis_admit_exactly_the_quota() {
    let url = redis_url();
    let t = fixture("e2e/usage.yaml");
    let prefix = format!("{}:", unique_name("test"));
    let args = [
        "-t",
        t.to_str().expect("utf8"),
        "--usage-store",
        "redis",
        "--redis-url",
        &url,
        "--redis-prefix",
        &prefix,
    ];
    let replicas: Vec<Emulator> = (0..3).map(|_| Emulator::start(&args)).collect();
    let (ok, limited) = hammer(&replicas, 60).await;
    assert_eq!((ok, limited), (20, 40), "three replicas, one quota of 20");

    // Per-process counters, for contrast, let each replica admit its own 20.
    let local: Vec<Emulator> = (0..3)
        .map(|_| Emulator::start(&["-t", t.to_str().expect("utf8"), "--usage-store", "memory"]))
        .collect();
    let (ok, _) = hammer(&local, 90).await;
    assert_eq!(ok, 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_sharing_dynamodb_admit_exactly_the_quota() {
    let url = dynamodb_url();
    let t = fixture("e2e/usage.yaml");
    let table = unique_name("usage");
    let args = [
        "-t",
        t.to_str().expect("utf8"),
        "--usage-store",
        "dynamodb",
        "--dynamodb-endpoint",
        &url,
        "--dynamodb-table",
        &table,
    ];
    // The first replica creates the table; the others find it.
    let first = Emulator::start(&args);
    let mut replicas = vec![first];
    replicas.extend((0..2).map(|_| Emulator::start(&args)));
    let (ok, limited) = hammer(&replicas, 60).await;
    assert_eq!(
        (ok, limited),
        (20, 40),
        "three replicas, one quota of 20, one table"
    );

    // The token bucket: burst 2 on /limited/GET, shared as well.
    let key = Some("throttledkey00000000000001");
    let mut codes = Vec::new();
    for i in 0..4 {
        codes.push(get(&replicas[i % 3], "/limited", key).await.status.as_u16());
    }
    assert_eq!(codes, vec![200, 200, 429, 429]);
}

/// Calls to DynamoDB come out of order when it is busy: a request asked at an older time can
/// meet a bucket that a newer request has already reset. Judged at its own older time it was
/// throttled (the hardening issue's false throttling); it is judged no earlier than the newest
/// reset, and the bucket still refuses past its burst.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_buckets_judge_a_late_call_at_the_newest_reset() {
    use gateway::UsageStore;
    let table = unique_name("order");
    let store = gateway::DynamoDbStore::connect(Some(&dynamodb_url()), &table, "us-east-1", true)
        .await
        .expect("DynamoDB Local");
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    // 1 per second, burst 2: the newer request (t + 0.5) resets the bucket first.
    assert!(store.take_token("k", 1.0, 2, t + 0.5).await.expect("store"));
    // The older one (t) arrives second: at its own time the bucket's next slot (t + 1.5) is more
    // than one interval ahead and it would be refused; at t + 0.5 it is the burst's second token.
    assert!(store.take_token("k", 1.0, 2, t).await.expect("store"));
    // The burst is spent: a third request at the same moment is refused.
    assert!(!store.take_token("k", 1.0, 2, t + 0.5).await.expect("store"));
}

/// Leasing (the emulator's DynamoDB replicas, docs/usage-plans.md): three stores on one table
/// count a quota of 150 under 300 concurrent requests. Exactly 150 are admitted, with far fewer
/// calls than requests; a bucket with burst 10 admits exactly 10 at one instant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_leases_admit_exactly_the_limit_with_fewer_calls() {
    use gateway::UsageStore;
    let table = unique_name("lease");
    let mut stores = Vec::new();
    for _ in 0..3 {
        let store =
            gateway::DynamoDbStore::connect(Some(&dynamodb_url()), &table, "us-east-1", true)
                .await
                .expect("DynamoDB Local")
                .leasing();
        stores.push(std::sync::Arc::new(store));
    }
    let expires = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
            + 3600,
    )
    .expect("time");
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let store = std::sync::Arc::clone(&stores[i % 3]);
            tokio::spawn(async move { store.count("quota", 150, expires).await })
        })
        .collect();
    let mut admitted = 0;
    for t in tasks {
        admitted += usize::from(t.await.expect("join").expect("store"));
    }
    assert_eq!(admitted, 150, "three replicas, one quota of 150");
    assert_eq!(stores[0].used("quota").await.expect("used"), 150);
    let calls: u64 = stores.iter().map(|s| s.decision_calls()).sum();
    assert!(calls < 150, "{calls} calls for 300 decisions");

    // One replica's bucket, burst 10 at a rate of 1 a second: ten at one instant, then none.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let mut taken = 0;
    for _ in 0..20 {
        taken += usize::from(
            stores[1]
                .take_token("bucket", 1.0, 10, now)
                .await
                .expect("store"),
        );
    }
    assert_eq!(taken, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sam_api_key_required_and_per_api_usage_plan() {
    let t = fixture("e2e/sam_usage.yaml");
    let emu = Emulator::start(&["-t", t.to_str().expect("utf8")]);
    assert_eq!(
        get(&emu, "/thing", None).await.status,
        403,
        "ApiKeyRequired on every method"
    );
    let key = emu
        .stderr()
        .iter()
        .find_map(|l| {
            l.strip_prefix("API key KeyApiApiKey (KeyApiApiKey): ")
                .and_then(|r| r.split(',').next())
                .map(str::to_string)
        })
        .expect("the generated key is printed");
    assert_eq!(key.len(), 40);
    assert_eq!(get(&emu, "/thing", Some(&key)).await.status, 200);
    assert_eq!(get(&emu, "/thing", Some(&key)).await.status, 200);
    let r = get(&emu, "/thing", Some(&key)).await;
    assert_eq!(r.status, 429, "the PER_API plan's quota of 2");
    assert_eq!(r.text(), r#"{"message":"Limit Exceeded"}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stage_and_route_throttling_without_keys() {
    let t = fixture("e2e/stage_throttle.yaml");
    let emu = Emulator::start(&["-t", t.to_str().expect("utf8")]);
    // REST MethodSettings: /slow GET has burst 1; the stage default (100/100) covers /fast.
    assert_eq!(get(&emu, "/slow", None).await.status, 200);
    let r = get(&emu, "/slow", None).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.text(), r#"{"message":"Too Many Requests"}"#);
    for _ in 0..5 {
        assert_eq!(get(&emu, "/fast", None).await.status, 200);
    }
    // HTTP API RouteSettings: "GET /h" has burst 1 (its backend is down, so the first is a 500).
    let host = format!("httpapi.localhost:{}", emu.addr.port());
    let h = [("host", host.as_str())];
    assert_eq!(send("GET", &emu.url("/h"), &h, "").await.status, 500);
    let r = send("GET", &emu.url("/h"), &h, "").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.text(), r#"{"message":"Too Many Requests"}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_admission_limit_and_optional_retry_after() {
    let t = fixture("e2e/usage.yaml");
    let emu = Emulator::start(&[
        "-t",
        t.to_str().expect("utf8"),
        "--ip-rate-limit",
        "0.01/3",
        "--retry-after",
    ]);
    for _ in 0..3 {
        assert_eq!(get(&emu, "/free", None).await.status, 200);
    }
    // The fourth is refused at admission, before routing: even a route that does not exist.
    let r = get(&emu, "/no-such-route", None).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.text(), r#"{"message":"Too Many Requests"}"#);
    assert_eq!(r.header("retry-after"), Some("100"), "1 / 0.01 per second");

    let quota = Emulator::start(&["-t", t.to_str().expect("utf8"), "--retry-after"]);
    let key = Some("countedkey0000000000000001");
    for _ in 0..5 {
        assert_eq!(get(&quota, "/counted", key).await.status, 200);
    }
    let r = get(&quota, "/counted", key).await;
    assert_eq!(r.status, 429);
    let secs: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!(
        (1..=86_400).contains(&secs),
        "until the day's quota resets: {secs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_throttle_is_awss_by_default_and_can_be_set_or_lifted() {
    let t = fixture("e2e/usage.yaml");
    let tight = Emulator::start(&[
        "-t",
        t.to_str().expect("utf8"),
        "--account-throttle",
        "0.01/2",
    ]);
    for _ in 0..2 {
        assert_eq!(get(&tight, "/free", None).await.status, 200);
    }
    let r = get(&tight, "/free", None).await;
    assert_eq!(r.status, 429, "the account's bucket of two is empty");
    assert_eq!(r.text(), r#"{"message":"Too Many Requests"}"#);

    let off = Emulator::start(&["-t", t.to_str().expect("utf8"), "--account-throttle", "off"]);
    for _ in 0..20 {
        assert_eq!(get(&off, "/free", None).await.status, 200);
    }
    let bad = std::process::Command::new(tollgate_tests::tollgate_bin())
        .args([
            "start-api",
            "-t",
            t.to_str().expect("utf8"),
            "--account-throttle",
            "fast",
        ])
        .output()
        .expect("runs");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--account-throttle `fast`"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tollgate_rate_limit_algorithms() {
    let f = fixture("e2e/rate_limits.yaml");
    let emu = Emulator::start(&["--openapi", f.to_str().expect("utf8")]);
    for (path, admitted) in [("/tb", 2), ("/leaky", 1), ("/fixed", 3), ("/sliding", 2)] {
        for i in 0..admitted {
            assert_eq!(get(&emu, path, None).await.status, 200, "{path} call {i}");
        }
        let r = get(&emu, path, None).await;
        assert_eq!(r.status, 429, "{path} after {admitted}");
        assert_eq!(r.text(), r#"{"message":"Too Many Requests"}"#);
    }
    // Misconfigured limits are load errors naming the pointer.
    let dir = std::env::temp_dir().join(format!("tollgate-rl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let bad = dir.join("bad.yaml");
    std::fs::write(
        &bad,
        "openapi: 3.0.1\ninfo: {title: bad, version: \"1\"}\npaths:\n  /x:\n    get:\n      responses: {}\n      x-tollgate-rate-limit: {algorithm: fixed-window, window: 10}\n      x-amazon-apigateway-integration: {type: mock}\n",
    )
    .expect("write");
    let out = std::process::Command::new(tollgate_tests::tollgate_bin())
        .args(["validate", "--openapi", bad.to_str().expect("utf8")])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/paths/~1x/get/x-tollgate-rate-limit: the fixed-window algorithm needs limit and window (seconds)"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A Redis of a test's own on a free port, without persistence, once it accepts connections.
fn own_redis() -> (OwnRedis, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let redis = redis_server(port);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "redis-server did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (redis, port)
}

/// A redis-server of a test's own, stopped when dropped: also when the test fails, so that no
/// server outlives the suite holding its output open.
struct OwnRedis(std::process::Child);

impl OwnRedis {
    fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A Redis of a test's own on `port`, without persistence.
fn redis_server(port: u16) -> OwnRedis {
    let child = std::process::Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("redis-server (scripts/test.sh installs it)");
    OwnRedis(child)
}

/// One command to the Redis on `port` and its reply: a bulk string's text, or the line of any
/// other reply (`+OK`, `:3`, `-ERR ...`).
fn redis_command(port: u16, args: &[&str]) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("redis");
    s.set_read_timeout(Some(std::time::Duration::from_millis(500)))
        .expect("timeout");
    let mut command = format!("*{}\r\n", args.len());
    for a in args {
        command.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    s.write_all(command.as_bytes()).expect("write");
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = s.read(&mut buf).expect("Redis reply");
        assert!(n > 0, "Redis closed before its reply ended");
        out.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&out);
        let Some((head, body)) = text.split_once("\r\n") else {
            continue;
        };
        match head.strip_prefix('$') {
            // A bulk string: `$LENGTH\r\n` and LENGTH bytes (`$-1` for none).
            Some("-1") => return String::new(),
            Some(length) => {
                let length: usize = length.parse().expect("bulk length");
                if body.len() >= length {
                    return body[..length].to_string();
                }
            }
            None => return head.to_string(),
        }
    }
}

/// Lua scripts Redis ran to completion, from `INFO commandstats` (EVAL and EVALSHA calls less
/// the failed ones, such as EVALSHA before a script is loaded).
fn redis_scripts_run(port: u16) -> u64 {
    let text = redis_command(port, &["INFO", "commandstats"]);
    let field = |line: &str, name: &str| -> u64 {
        line.split([',', ':'])
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    text.lines()
        .filter(|l| l.starts_with("cmdstat_eval:") || l.starts_with("cmdstat_evalsha:"))
        .map(|l| field(l, "calls") - field(l, "failed_calls"))
        .sum()
}

/// The Redis store's scripts decide exactly: a bucket gives its burst, refills at its rate and
/// expires once it would be full again; a counter stops at its limit, stays there and expires at
/// the end of its period. A bucket an earlier version kept as a hash carries over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_buckets_and_counters_decide_exactly_and_old_buckets_carry_over() {
    use gateway::{PlanDecision, UsageStore};
    let (mut redis, port) = own_redis();
    let store = gateway::RedisStore::connect(&format!("redis://127.0.0.1:{port}"), "t:")
        .await
        .expect("redis");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);

    // Burst 2 at one token a second: two, then none, then one more 1.5 s later.
    let mut took = Vec::new();
    for at in [now, now, now, now + 1.5, now + 1.5] {
        took.push(store.take_token("b", 1.0, 2, at).await.expect("store"));
    }
    assert_eq!(took, [true, true, false, true, false]);
    let ttl: i64 = redis_command(port, &["TTL", "t:b"])[1..]
        .parse()
        .expect("ttl");
    assert!(
        (60..=62).contains(&ttl),
        "full again in 2 s, kept 60 s more: {ttl}"
    );

    // An empty bucket as an earlier version left it (a hash): still empty, now a string.
    let at = now.to_string();
    redis_command(port, &["HSET", "t:old", "tokens", "0", "at", &at]);
    assert!(!store.take_token("old", 0.001, 2, now).await.expect("store"));
    assert_eq!(redis_command(port, &["TYPE", "t:old"]), "+string");
    assert!(!store
        .take_token("old", 0.001, 2, now + 1.0)
        .await
        .expect("store"));

    // A quota of 3: three counted, the rest refused, the counter left at 3 until its period ends.
    let end = now as i64 + 3600;
    let mut counted = Vec::new();
    for _ in 0..5 {
        counted.push(store.count("q", 3, end).await.expect("store"));
    }
    assert_eq!(counted, [true, true, true, false, false]);
    assert_eq!(redis_command(port, &["GET", "t:q"]), "3");
    assert_eq!(
        redis_command(port, &["EXPIRETIME", "t:q"]),
        format!(":{end}")
    );
    assert_eq!(store.used("q").await.expect("store"), 3);

    // Both in one script: a throttled request is not counted.
    let mut decisions = Vec::new();
    for _ in 0..4 {
        let (token, count) = slow_bucket_and_quota(("tb", 3), ("tq", 2), end);
        decisions.push(
            store
                .take_and_count(token, count, now)
                .await
                .expect("store"),
        );
    }
    assert_eq!(
        decisions,
        [
            PlanDecision::Admitted,
            PlanDecision::Admitted,
            PlanDecision::OverQuota,
            PlanDecision::Throttled,
        ]
    );
    assert_eq!(redis_command(port, &["GET", "t:tq"]), "2");
    redis.stop();
}

/// Requests for one key that arrive while its script runs are decided together by the next run,
/// and still exactly: two stores (two replicas) on one Redis, hundreds of requests at once each,
/// admit exactly the burst and the quota between them, in far fewer scripts than requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_decides_concurrent_requests_together_and_exactly() {
    use gateway::{PlanDecision, UsageStore};
    use std::sync::Arc;
    let (mut redis, port) = own_redis();
    let url = format!("redis://127.0.0.1:{port}");
    let mut replicas: Vec<Arc<gateway::RedisStore>> = Vec::new();
    for _ in 0..2 {
        let store = gateway::RedisStore::connect(&url, "t:")
            .await
            .expect("redis");
        replicas.push(Arc::new(store));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let end = now as i64 + 3600;
    let before = redis_scripts_run(port);
    const EACH: usize = 400;

    // A burst of 100 (refilling one token in 1,000 s) and a quota of 60: 60 admitted, 40 with a
    // token but over the quota, the rest throttled and not counted.
    let mut tasks = Vec::new();
    for i in 0..2 * EACH {
        let store = Arc::clone(&replicas[i % 2]);
        tasks.push(tokio::spawn(async move {
            let (token, count) = slow_bucket_and_quota(("cb", 100), ("cq", 60), end);
            store.take_and_count(token, count, now).await
        }));
    }
    let mut tally = std::collections::HashMap::new();
    for t in tasks {
        *tally
            .entry(t.await.expect("task").expect("store"))
            .or_insert(0) += 1;
    }
    assert_eq!(tally.get(&PlanDecision::Admitted), Some(&60));
    assert_eq!(tally.get(&PlanDecision::OverQuota), Some(&40));
    assert_eq!(tally.get(&PlanDecision::Throttled), Some(&(2 * EACH - 100)));
    assert_eq!(redis_command(port, &["GET", "t:cq"]), "60");
    assert_eq!(
        redis_command(port, &["EXPIRETIME", "t:cq"]),
        format!(":{end}")
    );

    // A bucket alone (burst 50) and a counter alone (limit 70), all at once.
    let mut tasks = Vec::new();
    for i in 0..2 * EACH {
        let store = Arc::clone(&replicas[i % 2]);
        tasks.push(tokio::spawn(async move {
            let took = store.take_token("ob", 0.001, 50, now).await.expect("store");
            let counted = store.count("oq", 70, end).await.expect("store");
            (took, counted)
        }));
    }
    let (mut took, mut counted) = (0, 0);
    for t in tasks {
        let (t, c) = t.await.expect("task");
        took += usize::from(t);
        counted += usize::from(c);
    }
    assert_eq!((took, counted), (50, 70));
    assert_eq!(store_used(&replicas[0], "oq").await, 70);

    let scripts = redis_scripts_run(port) - before;
    assert!(
        scripts < 3 * 2 * EACH as u64 / 2,
        "{scripts} scripts for {} decisions: requests were not decided together",
        3 * 2 * EACH
    );
    redis.stop();
}

/// A bucket of `burst` that refills one token in 1,000 s, and a quota of `limit` ending at `end`.
fn slow_bucket_and_quota(
    (bucket, burst): (&'static str, u64),
    (counter, limit): (&'static str, u64),
    end: i64,
) -> (gateway::TokenAsk<'static>, gateway::CountAsk<'static>) {
    let token = gateway::TokenAsk {
        key: bucket,
        rate: 0.001,
        burst,
    };
    let count = gateway::CountAsk {
        key: counter,
        limit,
        expires_at: end,
    };
    (token, count)
}

async fn store_used(store: &gateway::RedisStore, key: &str) -> u64 {
    use gateway::UsageStore;
    store.used(key).await.expect("store")
}

/// The performance issue's goal for Redis: a key with a throttle and a quota costs one round
/// trip per request (one script for both), with the same answers as two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_decides_throttle_and_quota_in_one_script_per_request() {
    let (mut redis, port) = own_redis();
    let t = fixture("e2e/usage.yaml");
    let url = format!("redis://127.0.0.1:{port}");
    let emu = Emulator::start(&[
        "-t",
        t.to_str().expect("utf8"),
        "--usage-store",
        "redis",
        "--redis-url",
        &url,
    ]);
    let before = redis_scripts_run(port);
    // The gold plan: a generous throttle and a daily quota of 5.
    let key = Some("countedkey0000000000000001");
    let mut codes = Vec::new();
    for _ in 0..7 {
        let r = get(&emu, "/counted", key).await;
        codes.push((r.status.as_u16(), r.text()));
    }
    let ok = (200, r#"{"ok":true}"#.to_string());
    let over = (429, r#"{"message":"Limit Exceeded"}"#.to_string());
    assert_eq!(codes, [vec![ok; 5], vec![over; 2]].concat());
    // /limited/GET: burst 2, then throttled (and not counted against the quota).
    let key = Some("throttledkey00000000000001");
    let mut codes = Vec::new();
    for _ in 0..3 {
        codes.push(get(&emu, "/limited", key).await.status.as_u16());
    }
    assert_eq!(codes, [200, 200, 429]);
    assert_eq!(
        redis_scripts_run(port) - before,
        10,
        "one script per request"
    );
    redis.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_store_fails_open_or_closed() {
    // A Redis of this test's own, so it can be stopped mid-run.
    let (mut redis, port) = own_redis();
    let url = format!("redis://127.0.0.1:{port}");
    let t = fixture("e2e/usage.yaml");
    let base = [
        "-t",
        t.to_str().expect("utf8"),
        "--usage-store",
        "redis",
        "--redis-url",
        url.as_str(),
    ];
    let mut open_args = base.to_vec();
    open_args.extend(["--admin-port", "0"]);
    let open = Emulator::start(&open_args);
    let mut closed_args = base.to_vec();
    closed_args.push("--usage-store-fail-closed");
    let closed = Emulator::start(&closed_args);
    let key = Some("sharedkey00000000000000001");
    assert_eq!(get(&open, "/shared", key).await.status, 200);
    assert_eq!(get(&closed, "/shared", key).await.status, 200);

    redis.stop();
    assert_eq!(
        get(&open, "/shared", key).await.status,
        200,
        "fails open, as AWS does"
    );
    let r = get(&closed, "/shared", key).await;
    assert_eq!(r.status, 500, "--usage-store-fail-closed refuses");
    assert_eq!(r.text(), r#"{"message": "Internal server error"}"#);
    assert!(open
        .stderr()
        .iter()
        .any(|l| l.contains("Usage Plan check failed due to an internal error")));
    // The failures are counted in the metrics.
    let admin = open.admin_url();
    let text = send("GET", &format!("{admin}/metrics"), &[], "")
        .await
        .text();
    let failures: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("tollgate_usage_store_failures_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no store-failure counter in\n{text}"));
    assert!(failures >= 1.0, "{failures}");

    // Failing again and again opens the circuit breaker: logged once, shown as a gauge, and
    // requests stop waiting on the store.
    for _ in 0..20 {
        assert_eq!(get(&open, "/shared", key).await.status, 200);
    }
    let metric = |text: &str, name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
    };
    let text = send("GET", &format!("{admin}/metrics"), &[], "")
        .await
        .text();
    assert_eq!(metric(&text, "tollgate_usage_store_circuit_open "), 1.0);
    let opened = open
        .stderr()
        .iter()
        .filter(|l| l.contains("usage store failed 3 times in a row"))
        .count();
    assert_eq!(opened, 1, "{:#?}", open.stderr());
    // The store comes back on the same port: a probe finds it and counting resumes.
    let mut redis = redis_server(port);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        assert_eq!(get(&open, "/shared", key).await.status, 200);
        let text = send("GET", &format!("{admin}/metrics"), &[], "")
            .await
            .text();
        if metric(&text, "tollgate_usage_store_circuit_open ") == 0.0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the breaker never closed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // The line was written before the breaker closed; the reader of tollgate's stderr may not
    // have collected it yet.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !open
        .stderr()
        .iter()
        .any(|l| l.contains("usage store answers again: counting resumes"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no line saying counting resumes: {:#?}",
            open.stderr()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    redis.stop();
}

/// A plan may name another algorithm than AWS's token bucket (`rateLimit` in a keys file): a
/// fixed window of two requests per hour admits two, then answers AWS's throttle 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_with_its_own_algorithm() {
    let t = fixture("e2e/usage.yaml");
    let keys = fixture("e2e/plan-rate-limit-keys.json");
    let emu = Emulator::start(&[
        "-t",
        t.to_str().expect("utf8"),
        "--usage-store",
        "memory",
        "--api-keys",
        keys.to_str().expect("utf8"),
    ]);
    let key = Some("windowedkey000000000000001");
    assert_eq!(get(&emu, "/counted", key).await.status, 200);
    assert_eq!(
        get(&emu, "/shared", key).await.status,
        200,
        "one window for every route of the plan"
    );
    let r = get(&emu, "/counted", key).await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.text(), r#"{"message":"Too Many Requests"}"#);
}

/// A plan's algorithm without the numbers it needs is refused at start-up, naming file and plan.
#[test]
fn a_plan_algorithm_without_its_numbers_is_refused() {
    let t = fixture("e2e/usage.yaml");
    let keys = fixture("e2e/plan-rate-limit-bad-keys.json");
    let out = std::process::Command::new(tollgate_tests::tollgate_bin())
        .args(["start-api", "-t"])
        .arg(&t)
        .arg("--api-keys")
        .arg(&keys)
        .args(["--usage-store", "memory", "-p", "0"])
        .output()
        .expect("run tollgate");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("plan-rate-limit-bad-keys.json")
            && err.contains("plan `broken`")
            && err.contains("limit and window"),
        "{err}"
    );
}
