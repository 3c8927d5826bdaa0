//! The declarative filter chain end to end (`x-tollgate-policies`, `--policies`): request ids,
//! W3C traceparent, header transforms both ways, path rewriting, a short-circuiting policy, and
//! a policy that applies to one consumer only.

use tollgate_tests::{fixture, send, Emulator, Upstream};

fn start(up: &Upstream) -> Emulator {
    let f = fixture("e2e/policies.yaml");
    let keys = fixture("e2e/policies-keys.json");
    let global = fixture("e2e/global-policies.yaml");
    let var = format!("up={}", up.addr);
    Emulator::start(&[
        "--openapi",
        f.to_str().expect("utf8"),
        "--stage-variable",
        &var,
        "--api-keys",
        keys.to_str().expect("utf8"),
        "--policies",
        global.to_str().expect("utf8"),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_transform_requests_and_responses_in_order() {
    let up = Upstream::start().await;
    let emu = start(&up);
    let r = send(
        "GET",
        &emu.url("/up/items"),
        &[
            ("x-internal-secret", "s3cr3t"),
            (
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
        ],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = up.last();
    // requestId: generated (no valid incoming one), sent upstream and back to the client.
    let id = seen.headers["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert_eq!(r.header("x-request-id"), Some(id.as_str()));
    assert_eq!(
        r.header("x-amzn-requestid"),
        Some(id.as_str()),
        "the gateway's request id"
    );
    // traceparent: the trace continues with a new parent id.
    let tp = seen.headers["traceparent"].to_str().expect("ascii");
    assert!(
        tp.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
        "{tp}"
    );
    assert!(!tp.contains("00f067aa0ba902b7"), "a new span id: {tp}");
    // removeHeaders: internal request headers never reach the upstream; Server and
    // x-upstream never reach the client.
    assert!(seen.headers.get("x-internal-secret").is_none());
    assert!(r.header("x-upstream").is_none());
    assert!(r.header("server").is_none() && r.header("x-amzn-remapped-server").is_some());
    // setHeaders, from the API and from the gateway-wide list.
    assert_eq!(r.header("cache-control"), Some("max-age=60"));
    assert_eq!(seen.headers["x-gateway"], "tollgate");
    assert_eq!(r.header("x-served-by"), Some("tollgate"));

    // A valid incoming X-Request-Id is kept.
    send(
        "GET",
        &emu.url("/up/again"),
        &[("x-request-id", "client-chosen-42")],
        "",
    )
    .await;
    assert_eq!(up.last().headers["x-request-id"], "client-chosen-42");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewrite_respond_and_per_consumer_policies() {
    let up = Upstream::start().await;
    let emu = start(&up);
    let r = send("GET", &emu.url("/legacy/v1/orders?page=2"), &[], "").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        up.last().target,
        "/v2/orders?page=2",
        "the path is rewritten, the query kept"
    );

    // respond short-circuits: the integration is never called, response policies still run.
    let before = up.count();
    let r = send("GET", &emu.url("/maintenance"), &[], "").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.text(), r#"{"message":"down for maintenance"}"#);
    assert_eq!(r.header("retry-after"), Some("120"));
    assert_eq!(r.header("cache-control"), Some("max-age=60"));
    assert_eq!(up.count(), before);

    // when: only the gold consumer gets the header.
    let r = send(
        "GET",
        &emu.url("/vip"),
        &[("x-api-key", "gold-key-0000000000000001")],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-tier"), Some("gold"));
    let r = send(
        "GET",
        &emu.url("/vip"),
        &[("x-api-key", "basic-key-000000000000001")],
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.header("x-tier").is_none());
}

#[test]
fn a_bad_policy_is_a_load_error_naming_its_entry() {
    let dir = std::env::temp_dir().join(format!("tollgate-bad-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let f = dir.join("api.yaml");
    std::fs::write(
        &f,
        "openapi: 3.0.1\ninfo: {title: t, version: '1'}\nx-tollgate-policies:\n  - rewritePath: {from: '(', to: x}\n  - {}\npaths: {}\n",
    )
    .expect("write");
    let out = std::process::Command::new(tollgate_tests::tollgate_bin())
        .args(["validate", "--openapi"])
        .arg(&f)
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("/x-tollgate-policies/0") && err.contains("not a regular expression"),
        "{err}"
    );
    assert!(
        err.contains("/x-tollgate-policies/1") && err.contains("names no policy"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
