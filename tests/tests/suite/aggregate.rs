//! Aggregation end to end (`x-tollgate-aggregate`): a real function (fast and slow calls) and a
//! real loopback upstream (a good and a failing call) fanned out in parallel and merged.

use std::time::{Duration, Instant};

use tollgate_tests::{get, Emulator, Upstream};

fn emulator(up: &Upstream) -> Emulator {
    Emulator::with_upstream("e2e/aggregate.yaml", up)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_failing_calls_degrade_the_document() {
    let up = Upstream::start().await;
    let emu = emulator(&up);
    // Warm the function so its start-up is not measured.
    get(&emu.url("/page/warm")).await;

    let started = Instant::now();
    let r = get(&emu.url("/page/p7")).await;
    let took = started.elapsed();
    assert_eq!(r.status, 200, "{}", r.text());
    let d: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    // The function saw its own resource with the caller's path parameter.
    let echo = &d["echo"];
    assert_eq!(echo["resource"], "/items/{id}/echo", "{d}");
    assert_eq!(echo["path"], "/items/p7/echo");
    assert_eq!(echo["pathParameters"]["id"], "p7");
    assert_eq!(echo["requestContext"]["resourcePath"], "/items/{id}/echo");
    assert_eq!(d["upstream"]["target"], "/things/p7", "{d}");
    assert_eq!(
        d["broken"],
        serde_json::json!({"state": "unknown"}),
        "the default stands in"
    );
    assert!(d.get("slow").is_none(), "the slow call is left out: {d}");
    assert_eq!(d["_missing"], serde_json::json!(["slow", "broken"]));
    assert_eq!(r.header("x-tollgate-missing"), Some("slow,broken"));
    // The slow call's own timeout (400 ms) bounds the answer, not its 3 s of work (a
    // behavioural check with a wide margin, not a performance figure).
    assert!(took < Duration::from_millis(2500), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_required_call_fails_the_request() {
    let up = Upstream::start().await;
    let emu = emulator(&up);
    let r = get(&emu.url("/strict")).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.text(), r#"{"message": "Internal server error"}"#);
}
