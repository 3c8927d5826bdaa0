//! The REST data path end to end (`tests/fixtures/e2e/mapping.yaml`): MOCK, AWS (non-proxy
//! Lambda, the real conformance function) and HTTP (a real loopback upstream) integrations with
//! VTL request and response templates, selection patterns, parameter mapping, overrides,
//! passthrough behaviour and a binary round trip through contentHandling.

use tollgate_tests::{raw_until_closed, send, split_responses, Emulator, Upstream};

fn emulator(up: &Upstream) -> Emulator {
    Emulator::with_upstream("e2e/mapping.yaml", up)
}

fn json(r: &tollgate_tests::Reply) -> serde_json::Value {
    serde_json::from_str(&r.text()).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", r.text()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_templates_select_and_render() {
    let up = Upstream::start().await;
    let emu = emulator(&up);

    let r = send("GET", &emu.url("/mock/ab1?q=a%20b"), &[], "").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        json(&r),
        serde_json::json!({"id": "ab1", "upper": "AB1", "stage": "v1", "tier": "gold", "q": "a+b"})
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("x-tier"), Some("gold"));
    assert_eq!(r.header("x-static"), Some("fixed"));
    assert!(
        r.header("x-amzn-trace-id").is_none(),
        "MOCK responses carry no trace id"
    );

    // The response template is chosen by Accept.
    let r = send(
        "GET",
        &emu.url("/mock/ab1"),
        &[("accept", "text/plain")],
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "id=ab1");
    assert_eq!(r.header("content-type"), Some("text/plain"));

    // The request template picks statusCode 503, which selects the 5\d{2} response.
    let r = send("GET", &emu.url("/mock/x?fail=yes"), &[], "").await;
    assert_eq!(r.status, 503);
    let id = r
        .header("x-amzn-requestid")
        .expect("request id")
        .to_string();
    assert_eq!(
        r.text(),
        format!(r#"{{"error": "unavailable", "requestId": "{id}"}}"#)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_overrides_and_passthrough_never() {
    let up = Upstream::start().await;
    let emu = emulator(&up);
    let r = send("GET", &emu.url("/override"), &[], "").await;
    assert_eq!(r.status, 418);
    assert_eq!(r.header("x-teapot"), Some("short and stout"));
    assert_eq!(r.text().trim(), r#"{"teapot": true}"#);

    // Overrides set in the request template: the response template reads requestOverride, and
    // the responseOverride status and header take effect, with or without a response template.
    for path in ["/override-from-request", "/override-from-request-only"] {
        let r = send("GET", &emu.url(path), &[], "").await;
        assert_eq!(r.status, 444, "{path}");
        assert_eq!(r.header("x-from-request"), Some("yes"), "{path}");
        if path == "/override-from-request" {
            assert_eq!(r.text(), r#"{"seen": "req"}"#);
        }
    }

    // NEVER: a content type without a template is refused with 415.
    let r = send(
        "POST",
        &emu.url("/strict"),
        &[("content-type", "text/csv")],
        "a,b",
    )
    .await;
    assert_eq!(r.status, 415);
    assert_eq!(r.text(), r#"{"message":"Unsupported Media Type"}"#);
    let r = send(
        "POST",
        &emu.url("/strict"),
        &[("content-type", "application/json; charset=utf-8")],
        "{}",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), r#"{"accepted": true}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_proxy_lambda_maps_results_and_errors() {
    let up = Upstream::start().await;
    let emu = emulator(&up);
    let r = send(
        "POST",
        &emu.url("/calc/echo"),
        &[("content-type", "application/json")],
        r#"{"numbers": [1, 2, 39]}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(json(&r), serde_json::json!({"sum": 42, "count": 3}));
    assert!(
        r.header("x-amzn-trace-id").is_some(),
        "Lambda responses carry the trace id"
    );

    // A function error is selected on its errorMessage ("boom").
    let r = send(
        "POST",
        &emu.url("/calc/fail"),
        &[("content-type", "application/json")],
        r#"{"numbers": []}"#,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(json(&r), serde_json::json!({"error": "boom"}));
    assert!(
        r.header("x-error-type").is_some_and(|t| !t.is_empty()),
        "errorType mapped from the error payload"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_integration_maps_parameters_and_status() {
    let up = Upstream::start().await;
    let emu = emulator(&up);
    let r = send(
        "GET",
        &emu.url("/items/i-9?ignored=1"),
        &[("x-tenant", "acme"), ("x-private", "secret")],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = up.last();
    assert_eq!(
        seen.method,
        http::Method::POST,
        "the integration's httpMethod"
    );
    assert_eq!(
        seen.target, "/things/i-9?tenant=acme",
        "only mapped parameters reach a non-proxy backend"
    );
    assert_eq!(seen.headers["x-source"], "tollgate");
    assert!(seen.headers.get("x-private").is_none());
    assert!(seen.headers["user-agent"]
        .to_str()
        .expect("ua")
        .starts_with("AmazonAPIGateway_"));
    assert_eq!(
        String::from_utf8_lossy(&seen.body),
        r#"{"item": "i-9", "tier": "gold"}"#
    );
    assert_eq!(
        json(&r),
        serde_json::json!({
            "upstreamSaw": "/things/i-9?tenant=acme",
            "method": "POST",
            "sent": r#"{"item": "i-9", "tier": "gold"}"#
        })
    );
    assert_eq!(r.header("x-upstream"), Some("yes"));

    // The backend's status selects the response.
    let r = send("GET", &emu.url("/gone"), &[], "").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), r#"{"message": "no such item"}"#);

    // Nothing matches 500 and there is no default: API Gateway's 500.
    let r = send("GET", &emu.url("/unmatched"), &[], "").await;
    assert_eq!(r.status, 500);
    assert_eq!(r.text(), r#"{"message": "Internal server error"}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserved_headers_are_remapped_dropped_or_hidden_as_on_aws() {
    let up = Upstream::start().await;
    let emu = emulator(&up);
    let r = send(
        "GET",
        &emu.url("/reserved"),
        &[
            ("max-forwards", "3"),
            ("content-md5", "x"),
            ("x-other", "seen"),
        ],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Mapped onto reserved response headers: renamed, and Transfer-Encoding dropped; the real
    // Content-Length is the body's.
    assert_eq!(
        r.header("x-amzn-remapped-content-length"),
        Some("not a number")
    );
    assert_eq!(r.header("x-amzn-remapped-server"), Some("mine"));
    assert_eq!(r.header("x-amzn-remapped-www-authenticate"), Some("Basic"));
    assert_eq!(r.header("www-authenticate"), None);
    assert_eq!(r.header("x-kept"), Some("yes"));
    assert_eq!(
        r.header("content-length"),
        Some(r.body.len().to_string().as_str())
    );
    // Templates read "" for the request headers API Gateway withholds.
    assert_eq!(
        json(&r),
        serde_json::json!({"maxForwards": "", "md5": "", "other": "seen"})
    );
}

/// aws-behaviour §3a, §9: `$input.params().header` is keyed by the names as the client spelled
/// them (`$input.params('name')` finds any spelling), and an HTTP/1.0 client gets an `HTTP/1.1`
/// status line. Two requests pipelined on one connection, the second HTTP/1.0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_see_header_names_as_sent_and_http10_gets_an_http11_status_line() {
    let up = Upstream::start().await;
    let emu = emulator(&up);
    let requests = b"GET /spelled HTTP/1.1\r\nHost: x\r\nX-Spelled: yes\r\n\r\n\
        GET /spelled HTTP/1.0\r\nx-SPELLED: other\r\n\r\n";
    let answers = split_responses(&raw_until_closed(emu.addr, requests));
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert!(
        answers[0].0.starts_with("HTTP/1.1 200 OK\r\n"),
        "{}",
        answers[0].0
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&answers[0].1).expect("json"),
        serde_json::json!({"asSent": "yes", "lowercase": "", "param": "yes"})
    );
    assert!(
        answers[1].0.starts_with("HTTP/1.1 200 OK\r\n"),
        "{}",
        answers[1].0
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&answers[1].1).expect("json"),
        serde_json::json!({"asSent": "", "lowercase": "", "param": "other"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_parameters_from_body_multivalue_context_and_stage() {
    let up = Upstream::start().await;
    let emu = emulator(&up);
    let body = r#"{"item": {"sku": "A-1", "qty": 2}}"#;
    let r = send(
        "POST",
        &emu.url("/items?color=red&color=blue"),
        &[("content-type", "text/csv")],
        body,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = up.last();
    assert_eq!(seen.method, http::Method::PUT);
    assert_eq!(
        seen.headers["x-sku"], "A-1",
        "a string from the body's JSONPath"
    );
    assert_eq!(
        seen.headers["x-item"], r#"{"sku":"A-1","qty":2}"#,
        "an object from the body's JSONPath, as JSON"
    );
    assert_eq!(
        seen.target, "/stock?colors=red&colors=blue&stage=v1&tier=gold",
        "each value of a multi-value query string stays a parameter of its own"
    );
    // WHEN_NO_TEMPLATES with no templates: any content type passes through unchanged.
    assert_eq!(String::from_utf8_lossy(&seen.body), body);

    // WHEN_NO_TEMPLATES with templates: an unmatched content type is refused.
    let r = send(
        "POST",
        &emu.url("/strict-templates"),
        &[("content-type", "text/csv")],
        "a,b",
    )
    .await;
    assert_eq!(r.status, 415);
    assert_eq!(r.text(), r#"{"message":"Unsupported Media Type"}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_round_trip_through_content_handling() {
    let up = Upstream::start().await;
    let emu = emulator(&up);
    // A PNG signature and some bytes that are not UTF-8.
    let image: Vec<u8> = vec![
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0x00, 0xfe,
    ];
    let r = send(
        "POST",
        &emu.url("/image"),
        &[("content-type", "image/png"), ("accept", "image/png")],
        image.clone(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // CONVERT_TO_TEXT sent the upstream base64 text ...
    use base64::Engine;
    assert_eq!(
        up.last().body.as_ref(),
        base64::engine::general_purpose::STANDARD
            .encode(&image)
            .as_bytes()
    );
    // ... and CONVERT_TO_BINARY turned its echo back into the original bytes.
    assert_eq!(r.body.as_ref(), image.as_slice());
    assert_eq!(r.header("content-type"), Some("image/png"));

    // CONVERT_TO_BINARY on text that is not base64: API Gateway's 500.
    let r = send(
        "POST",
        &emu.url("/image"),
        &[("content-type", "text/plain")],
        "not base64!",
    )
    .await;
    assert_eq!(r.status, 500);
    assert_eq!(r.text(), r#"{"message": "Internal server error"}"#);

    // Text that is not base64 asked for with a binary Accept: 500 as well.
    let r = send(
        "POST",
        &emu.url("/text"),
        &[("content-type", "text/plain"), ("accept", "image/png")],
        "not base64!",
    )
    .await;
    assert_eq!(r.status, 500);
    assert_eq!(r.text(), r#"{"message": "Internal server error"}"#);

    // A text answer that is not UTF-8: each invalid sequence becomes U+FFFD.
    let r = send(
        "POST",
        &emu.url("/text"),
        &[("content-type", "text/plain")],
        vec![b'a', 0xff, b'b', 0xc3, b'c'],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.as_ref(), "a\u{fffd}b\u{fffd}c".as_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incoming_trace_id_reaches_the_upstream_and_comes_back() {
    let up = Upstream::start().await;
    let emu = emulator(&up);
    let root = "Root=1-5759e988-bd862e3fe1be46a994272793";
    let r = send(
        "GET",
        &emu.url("/items/t-1"),
        &[(
            "x-amzn-trace-id",
            &format!("{root};Parent=53995c3f42cd8ad8;Sampled=1"),
        )],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let sent = up.last().headers["x-amzn-trace-id"]
        .to_str()
        .expect("ascii")
        .to_string();
    // The caller's Parent and sampling decision travel on (AWS keeps them).
    assert_eq!(sent, format!("{root};Parent=53995c3f42cd8ad8;Sampled=1"));
    assert!(r
        .header("x-amzn-trace-id")
        .is_some_and(|t| t.starts_with(root)));
    // A Root-only header gains a Parent: the gateway's own segment.
    let r = send(
        "GET",
        &emu.url("/items/t-2"),
        &[("x-amzn-trace-id", root)],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let sent = up.last().headers["x-amzn-trace-id"]
        .to_str()
        .expect("ascii")
        .to_string();
    let parent = sent
        .strip_prefix(&format!("{root};Parent="))
        .unwrap_or_else(|| panic!("no Parent in {sent}"));
    assert!(
        parent.len() == 16 && parent.bytes().all(|b| b.is_ascii_hexdigit()),
        "{sent}"
    );
}
