//! Trace export (`--otlp-endpoint`): spans reach an OTLP/HTTP receiver on loopback as OTLP JSON,
//! one server span per request continuing the caller's trace (W3C `traceparent` or X-Ray),
//! a child per stage, and a client span per function or upstream call under `integration`.

use std::time::{Duration, Instant};

use serde_json::Value;
use tollgate_tests::{send, Emulator, Upstream};

/// Every span the receiver has been sent, flattened out of the OTLP JSON envelopes.
fn spans(collector: &Upstream) -> Vec<Value> {
    let mut out = Vec::new();
    for r in collector.received.lock().expect("lock").iter() {
        assert_eq!(
            r.target, "/v1/traces",
            "the exporter posts to the OTLP traces path"
        );
        let doc: Value = serde_json::from_slice(&r.body).expect("OTLP JSON");
        for rs in doc["resourceSpans"].as_array().into_iter().flatten() {
            let service = rs["resource"]["attributes"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|a| a["key"] == "service.name")
                .map(|a| a["value"]["stringValue"].clone());
            assert_eq!(service, Some(Value::from("tollgate")), "{rs}");
            for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                out.extend(ss["spans"].as_array().into_iter().flatten().cloned());
            }
        }
    }
    out
}

fn wait_for_trace(collector: &Upstream, trace_id: &str, min_spans: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let found: Vec<Value> = spans(collector)
            .into_iter()
            .filter(|s| s["traceId"] == trace_id)
            .collect();
        if found.len() >= min_spans || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn named<'a>(spans: &'a [Value], name: &str) -> &'a Value {
    spans
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no span named {name} among {spans:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_export_spans_per_stage_and_call_over_otlp() {
    let collector = Upstream::start().await;
    let orders = Upstream::start().await;
    let overrides = format!("OrdersServiceUrl={}", orders.base());
    let emu = Emulator::start(&[
        "-t",
        "template.yaml",
        "--skip-build",
        "--parameter-overrides",
        &overrides,
        "--policies",
        "tests/fixtures/e2e/trace-policies.yaml",
        "--otlp-endpoint",
        &collector.base(),
    ]);

    // A W3C caller: its trace continues, the gateway's server span is the child of its span.
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller = "00f067aa0ba902b7";
    let r = send(
        "GET",
        &emu.url("/orders/7"),
        &[("traceparent", &format!("00-{trace}-{caller}-01"))],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let found = wait_for_trace(&collector, trace, 9);
    let root = named(&found, "GET /orders/{orderId}");
    assert_eq!(root["parentSpanId"], caller, "{root}");
    let root_id = root["spanId"].as_str().expect("span id").to_string();
    for stage in [
        "method_request",
        "integration_request",
        "integration",
        "integration_response",
        "method_response",
    ] {
        assert_eq!(
            named(&found, stage)["parentSpanId"],
            root_id.as_str(),
            "{stage}"
        );
    }
    let upstream_call = format!("GET {}/orders/7", orders.base());
    let call = named(&found, &upstream_call);
    assert_eq!(
        call["parentSpanId"],
        named(&found, "integration")["spanId"],
        "calls hang under the integration stage"
    );
    let start = |s: &Value| {
        s["startTimeUnixNano"]
            .as_str()
            .map(|v| v.parse::<u128>().expect("nanos"))
            .or_else(|| s["startTimeUnixNano"].as_u64().map(u128::from))
            .expect("start time")
    };
    assert!(
        start(call) >= start(root),
        "the call starts within the request"
    );
    // The upstream saw the gateway's span as its parent: its own spans join the same trace.
    let sent = orders.last().headers["traceparent"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert_eq!(sent, format!("00-{trace}-{root_id}-01"));

    // An X-Ray caller: Root=1-{8}-{24} is the same 128-bit trace id, Parent= the parent span.
    let r = send(
        "GET",
        &emu.url("/hello/ada"),
        &[(
            "x-amzn-trace-id",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        )],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let found = wait_for_trace(&collector, "5759e988bd862e3fe1be46a994272793", 8);
    let root = named(&found, "GET /hello/{name}");
    assert_eq!(root["parentSpanId"], "53995c3f42cd8ad8");
    let invoke = named(&found, "invoke HelloFunction");
    assert_eq!(
        invoke["parentSpanId"],
        named(&found, "integration")["spanId"]
    );
    let attrs = invoke["attributes"].to_string();
    assert!(attrs.contains("faas.invoked_name"), "{attrs}");

    // A request nobody traced starts a trace of its own; the upstream is told of it.
    let r = send("GET", &emu.url("/orders/8"), &[], "").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let sent = orders.last().headers["traceparent"]
        .to_str()
        .expect("ascii")
        .to_string();
    let parts: Vec<&str> = sent.split('-').collect();
    let found = wait_for_trace(&collector, parts[1], 7);
    let root = named(&found, "GET /orders/{orderId}");
    assert_eq!(root["spanId"], parts[2], "{sent}");
    assert!(
        root.get("parentSpanId").is_none_or(|p| p == ""),
        "a new trace has no parent: {root}"
    );
}

/// `--otlp-sample-ratio 0`: requests nobody sampled are not exported; a caller's decision is
/// followed either way (a sampled `traceparent` is, one with the flag clear is not).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sampling_follows_the_caller_then_the_ratio() {
    let collector = Upstream::start().await;
    let emu = Emulator::start(&[
        "-t",
        "template.yaml",
        "--skip-build",
        "--otlp-endpoint",
        &collector.base(),
        "--otlp-sample-ratio",
        "0",
    ]);
    let r = send("GET", &emu.url("/orders"), &[], "").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let unsampled = "0af7651916cd43dd8448eb211c80319c";
    let r = send(
        "GET",
        &emu.url("/orders"),
        &[(
            "traceparent",
            &format!("00-{unsampled}-b7ad6b7169203331-00"),
        )],
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    let sampled = "4bf92f3577b34da6a3ce929d0e0e4736";
    let r = send(
        "GET",
        &emu.url("/orders"),
        &[("traceparent", &format!("00-{sampled}-00f067aa0ba902b7-01"))],
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    // Export is in order: once the sampled trace has arrived, the earlier ones would have too.
    let found = wait_for_trace(&collector, sampled, 7);
    assert!(!found.is_empty(), "the sampled caller's trace is exported");
    let all = spans(&collector);
    assert!(
        all.iter().all(|s| s["traceId"] == sampled),
        "only the sampled trace: {:?}",
        all.iter().map(|s| s["traceId"].clone()).collect::<Vec<_>>()
    );
}
