//! Upstream pools (`x-tollgate-upstreams`) end to end: several real loopback upstreams behind
//! one logical service, each balancing algorithm's distribution, an instance killed mid-run
//! (ejected, retried requests succeed), a registry file edited while serving, and active health
//! checks taking an instance out and back.

use std::path::PathBuf;
use std::time::Duration;

use tollgate_tests::{get, send, Emulator, Upstream};

/// An API whose `/svc/{proxy+}` goes to the pool `backend`, written for this run's ports.
fn api(pool: &str) -> (PathBuf, Emulator) {
    let dir = std::env::temp_dir().join(format!(
        "tollgate-upstreams-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("api.yaml");
    std::fs::write(
        &file,
        format!(
            r#"openapi: 3.0.1
info: {{title: pools, version: "1"}}
x-tollgate-upstreams:
  backend:
{pool}
paths:
  /svc/{{proxy+}}:
    x-amazon-apigateway-any-method:
      parameters:
        - {{name: proxy, in: path, required: true, schema: {{type: string}}}}
      responses: {{}}
      x-amazon-apigateway-integration:
        type: http_proxy
        httpMethod: ANY
        uri: http://backend/{{proxy}}
"#
        ),
    )
    .expect("write");
    let emu = Emulator::start(&["--openapi", file.to_str().expect("utf8")]);
    (dir, emu)
}

fn counts(ups: &[Upstream]) -> Vec<usize> {
    ups.iter().map(Upstream::count).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weighted_round_robin_spreads_by_weight() {
    let ups = vec![
        Upstream::start().await,
        Upstream::start().await,
        Upstream::start().await,
    ];
    let pool = format!(
        "    balance: round_robin\n    instances:\n      - {{url: \"{}\", weight: 1}}\n      - {{url: \"{}\", weight: 1}}\n      - {{url: \"{}\", weight: 2}}\n",
        ups[0].addr, ups[1].addr, ups[2].addr
    );
    let (_dir, emu) = api(&pool);
    for i in 0..40 {
        let r = get(&emu.url(&format!("/svc/item/{i}"))).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    assert_eq!(counts(&ups), vec![10, 10, 20]);
    assert_eq!(
        ups[2].last().target,
        "/item/39",
        "the proxy path reaches the instance"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consistent_hashing_pins_each_key_to_one_instance() {
    let ups = vec![
        Upstream::start().await,
        Upstream::start().await,
        Upstream::start().await,
    ];
    let pool = format!(
        "    balance: consistent_hash\n    hashOn: header:x-user\n    instances: [\"{}\", \"{}\", \"{}\"]\n",
        ups[0].addr, ups[1].addr, ups[2].addr
    );
    let (_dir, emu) = api(&pool);
    for round in 0..2 {
        for u in 0..30 {
            let user = format!("user-{u}");
            let r = send(
                "GET",
                &emu.url(&format!("/svc/r{round}")),
                &[("x-user", &user)],
                "",
            )
            .await;
            assert_eq!(r.status, 200);
        }
    }
    // Every user's two requests landed on the same instance, and every instance got users.
    for u in 0..30 {
        let user = format!("user-{u}");
        let holders: Vec<usize> = ups
            .iter()
            .enumerate()
            .filter(|(_, up)| {
                up.received
                    .lock()
                    .expect("lock")
                    .iter()
                    .any(|r| r.headers.get("x-user").is_some_and(|v| v == user.as_str()))
            })
            .map(|(i, _)| i)
            .collect();
        assert_eq!(holders.len(), 1, "{user} reached instances {holders:?}");
    }
    assert!(counts(&ups).iter().all(|c| *c > 0), "{:?}", counts(&ups));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn least_connections_routes_around_a_busy_instance() {
    let ups = vec![Upstream::start().await, Upstream::start().await];
    let pool = format!(
        "    balance: least_connections\n    instances: [\"{}\", \"{}\"]\n",
        ups[0].addr, ups[1].addr
    );
    let (_dir, emu) = api(&pool);
    // One slow request (2 s) holds an instance busy...
    let slow_url = emu.url("/svc/slow");
    let slow = tokio::spawn(async move { get(&slow_url).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let busy: Vec<usize> = counts(&ups);
    // ... so quick requests meanwhile all go to the other one.
    for _ in 0..6 {
        assert_eq!(get(&emu.url("/svc/quick")).await.status, 200);
    }
    let after = counts(&ups);
    let slow_instance = busy
        .iter()
        .position(|c| *c == 1)
        .expect("one instance has the slow call");
    assert_eq!(after[slow_instance], 1, "{after:?}");
    assert_eq!(after[1 - slow_instance], 6, "{after:?}");
    assert_eq!(slow.await.expect("join").status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instance_is_ejected_and_requests_retry_elsewhere() {
    let mut ups = vec![
        Upstream::start().await,
        Upstream::start().await,
        Upstream::start().await,
    ];
    let pool = format!(
        "    instances: [\"{}\", \"{}\", \"{}\"]\n    outlier: {{consecutiveFailures: 1, cooldownMs: 60000}}\n    retries: 2\n",
        ups[0].addr, ups[1].addr, ups[2].addr
    );
    let (_dir, emu) = api(&pool);
    for _ in 0..6 {
        assert_eq!(get(&emu.url("/svc/warm")).await.status, 200);
    }
    ups[1].kill();
    let before = counts(&ups);
    // Every request succeeds: the one that meets the dead instance is retried on another.
    for i in 0..30 {
        let r = get(&emu.url(&format!("/svc/after/{i}"))).await;
        assert_eq!(r.status, 200, "request {i}: {}", r.text());
    }
    let after = counts(&ups);
    assert_eq!(after[1], before[1], "the dead instance received nothing");
    assert_eq!(after[0] + after[2] - before[0] - before[2], 30);
    // POST is not idempotent: it is never retried, but the dead instance is out of the pool by
    // now, so it reaches a live one.
    let r = send("POST", &emu.url("/svc/orders"), &[], "{}").await;
    assert_eq!(r.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_file_edit_changes_the_pool_while_serving() {
    let a = Upstream::start().await;
    let b = Upstream::start().await;
    let dir = std::env::temp_dir().join(format!("tollgate-registry-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let registry = dir.join("registry.json");
    std::fs::write(&registry, format!(r#"{{"instances": ["{}"]}}"#, a.addr)).expect("write");
    let pool = format!("    registryFile: {}\n", registry.display());
    let (_api_dir, emu) = api(&pool);
    for _ in 0..3 {
        assert_eq!(get(&emu.url("/svc/x")).await.status, 200);
    }
    assert_eq!((a.count(), b.count()), (3, 0));
    // Register b and remove a: within a second the pool follows.
    std::fs::write(&registry, format!(r#"{{"instances": ["{}"]}}"#, b.addr)).expect("write");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while b.count() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the registry change was not picked up"
        );
        get(&emu.url("/svc/x")).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let a_before = a.count();
    for _ in 0..5 {
        assert_eq!(get(&emu.url("/svc/x")).await.status, 200);
    }
    assert_eq!(a.count(), a_before, "the removed instance gets nothing");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_checks_take_an_instance_out_and_bring_it_back() {
    let ups = vec![Upstream::start().await, Upstream::start().await];
    let pool = format!(
        "    instances: [\"{}\", \"{}\"]\n    healthCheck: {{path: /health, intervalMs: 100, timeoutMs: 200, healthyThreshold: 1, unhealthyThreshold: 1}}\n",
        ups[0].addr, ups[1].addr
    );
    let (_dir, emu) = api(&pool);
    assert_eq!(get(&emu.url("/svc/start")).await.status, 200);
    ups[0]
        .healthy
        .store(false, std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let before = counts(&ups);
    for _ in 0..8 {
        assert_eq!(get(&emu.url("/svc/y")).await.status, 200);
    }
    let after = counts(&ups);
    assert_eq!(
        after[0], before[0],
        "the unhealthy instance is out of the pool"
    );
    assert_eq!(after[1], before[1] + 8);
    ups[0]
        .healthy
        .store(true, std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(600)).await;
    for _ in 0..8 {
        assert_eq!(get(&emu.url("/svc/z")).await.status, 200);
    }
    assert!(
        counts(&ups)[0] > after[0],
        "healthy again, it is back in the pool"
    );
}

fn etcd_url() -> String {
    std::env::var("TOLLGATE_TEST_ETCD").unwrap_or_else(|_| {
        panic!("TOLLGATE_TEST_ETCD is not set: run the suite with scripts/test.sh, which installs and starts Debian's etcd-server")
    })
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

async fn etcd(op: &str, body: serde_json::Value) {
    let r = send(
        "POST",
        &format!("{}/v3/kv/{op}", etcd_url()),
        &[],
        body.to_string(),
    )
    .await;
    assert_eq!(r.status, 200, "etcd {op}: {}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_registered_and_removed_in_etcd_follow_within_a_second() {
    let a = Upstream::start().await;
    let b = Upstream::start().await;
    let prefix = format!("/tollgate-test/{}/{}/", std::process::id(), a.addr.port());
    etcd(
        "put",
        serde_json::json!({"key": b64(&format!("{prefix}a")), "value": b64(&a.addr.to_string())}),
    )
    .await;
    let pool = format!(
        "    etcd: {{endpoint: \"{}\", prefix: \"{prefix}\"}}\n",
        etcd_url()
    );
    let (_dir, emu) = api(&pool);
    for _ in 0..3 {
        let r = get(&emu.url("/svc/e")).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    assert_eq!((a.count(), b.count()), (3, 0));

    // Register b (as JSON with a weight) and remove a.
    let b_value = serde_json::json!({"url": format!("http://{}", b.addr), "weight": 2}).to_string();
    etcd(
        "put",
        serde_json::json!({"key": b64(&format!("{prefix}b")), "value": b64(&b_value)}),
    )
    .await;
    etcd(
        "deleterange",
        serde_json::json!({"key": b64(&format!("{prefix}a"))}),
    )
    .await;
    let changed = std::time::Instant::now();
    let mut moved = false;
    while changed.elapsed() < Duration::from_secs(5) {
        let a_before = a.count();
        get(&emu.url("/svc/e")).await;
        if a.count() == a_before && b.count() > 0 {
            moved = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(moved, "the pool did not follow etcd");
    let a_before = a.count();
    for _ in 0..5 {
        assert_eq!(get(&emu.url("/svc/e")).await.status, 200);
    }
    assert_eq!(a.count(), a_before, "the removed instance gets nothing");
    etcd("deleterange", serde_json::json!({"key": b64(&prefix), "range_end": b64(&format!("{}0", prefix.trim_end_matches('/')))})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_discovery_resolves_the_name_to_instances() {
    let up = Upstream::start().await;
    // `localhost` resolves (from /etc/hosts) to 127.0.0.1 and perhaps ::1; the upstream listens
    // on 127.0.0.1 only, so an IPv6 instance fails to connect, is retried and ejected.
    let pool = format!(
        "    dns: {{name: localhost, port: {}}}\n    outlier: {{consecutiveFailures: 1, cooldownMs: 60000}}\n    retries: 1\n",
        up.addr.port()
    );
    let (_dir, emu) = api(&pool);
    for i in 0..6 {
        let r = get(&emu.url(&format!("/svc/dns/{i}"))).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    assert_eq!(up.count(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_request_timeout_caps_the_integration_timeout() {
    let up = Upstream::start().await;
    let pool = format!(
        "    instances: [\"{}\"]\n    requestTimeoutMs: 200\n    connectTimeoutMs: 500\n",
        up.addr
    );
    let (_dir, emu) = api(&pool);
    // The upstream takes 2 s on /slow; the pool allows 200 ms (the integration allows 29 s).
    let r = get(&emu.url("/svc/slow")).await;
    assert_eq!(r.status, 504);
    assert_eq!(r.text(), r#"{"message": "Endpoint request timed out"}"#);
    assert_eq!(get(&emu.url("/svc/fast")).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_answers_are_followed_when_their_ttl_runs_out() {
    // Two instances on one port of two loopback addresses; the name moves from one to the other.
    let a = Upstream::start_on("127.0.0.1:0".parse().expect("addr")).await;
    let port = a.addr.port();
    let b = Upstream::start_on(format!("127.0.0.2:{port}").parse().expect("addr")).await;
    let dns = tollgate_tests::DnsServer::start("127.0.0.1".parse().expect("ip")).await;
    let pool = format!(
        "    dns: {{name: orders.test, port: {port}, server: \"{}\"}}\n",
        dns.addr
    );
    let (_dir, emu) = api(&pool);
    for _ in 0..3 {
        let r = get(&emu.url("/svc/d")).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    assert_eq!((a.count(), b.count()), (3, 0));
    // The record changes; its 1-second TTL runs out and the pool follows.
    dns.set("127.0.0.2".parse().expect("ip"));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while b.count() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the new DNS answer was not followed"
        );
        get(&emu.url("/svc/d")).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let a_before = a.count();
    for _ in 0..5 {
        assert_eq!(get(&emu.url("/svc/d")).await.status, 200);
    }
    assert_eq!(a.count(), a_before);
}
