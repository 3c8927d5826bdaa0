//! Lambda proxy integrations end to end: real function processes (`functions/conformance`,
//! `functions/hello`) behind the embedded Runtime API host.

use std::collections::HashSet;

use serde_json::Value;
use tollgate_tests::{
    assert_rest_ids, fixture, get, raw_until_closed, send, split_responses, Emulator,
};

fn emulator(extra: &[&str]) -> Emulator {
    let t = fixture("e2e/lambda.yaml");
    let mut args = vec!["-t", t.to_str().expect("utf8"), "--skip-build"];
    args.extend_from_slice(extra);
    Emulator::start(&args)
}

/// Replace the values that change per run (ids, times, ports) so events compare byte for byte.
fn mask(mut v: Value) -> Value {
    const VOLATILE_CONTEXT: &[&str] = &[
        "requestId",
        "extendedRequestId",
        "requestTime",
        "requestTimeEpoch",
        "time",
        "timeEpoch",
        "domainName",
    ];
    const VOLATILE_HEADERS: &[&str] = &["host", "x-forwarded-port", "x-amzn-trace-id"];
    if let Some(rc) = v.get_mut("requestContext").and_then(Value::as_object_mut) {
        for k in VOLATILE_CONTEXT {
            if rc.contains_key(*k) {
                rc.insert((*k).into(), Value::from("<masked>"));
            }
        }
    }
    for key in ["headers", "multiValueHeaders"] {
        if let Some(h) = v.get_mut(key).and_then(Value::as_object_mut) {
            for (name, value) in h.iter_mut() {
                if VOLATILE_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                    *value = if value.is_array() {
                        serde_json::json!(["<masked>"])
                    } else {
                        Value::from("<masked>")
                    };
                }
            }
        }
    }
    v
}

/// Compare with `tests/fixtures/golden/NAME`; `UPDATE_GOLDEN=1` rewrites it instead.
fn golden(name: &str, actual: &Value) {
    let path = fixture(&format!("golden/{name}"));
    let pretty = serde_json::to_string_pretty(actual).expect("json") + "\n";
    if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        std::fs::write(&path, &pretty).expect("write golden");
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} missing (UPDATE_GOLDEN=1 writes it)", path.display()));
    assert_eq!(pretty, want, "event differs from {}", path.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_event_matches_aws_and_lambda_http_reads_it() {
    let emu = emulator(&[]);
    let r = send(
        "POST",
        &emu.url("/c/orders/42/echo?price=10&price=20&q=a+b&enc=test%2Balias"),
        &[
            ("content-type", "application/json"),
            ("x-multi", "one"),
            ("x-multi", "two"),
            ("user-agent", "tollgate-test"),
        ],
        r#"{"item":"book"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_rest_ids(&r);
    assert!(
        r.header("x-amzn-trace-id")
            .is_some_and(|t| t.starts_with("Root=1-")),
        "REST Lambda responses carry the trace id"
    );
    let event: Value = serde_json::from_slice(&r.body).expect("echoed event");
    // The function library's own types accept the event.
    let typed: aws_lambda_events::apigw::ApiGatewayProxyRequest =
        serde_json::from_value(event.clone()).expect("aws_lambda_events reads the REST event");
    assert_eq!(typed.path.as_deref(), Some("/c/orders/42/echo"));
    assert_eq!(typed.body.as_deref(), Some(r#"{"item":"book"}"#));
    // Facts §3a: last value wins in the single map, all values in the multi map; query values
    // are decoded; path values are not.
    assert_eq!(event["queryStringParameters"]["price"], "20");
    assert_eq!(
        event["multiValueQueryStringParameters"]["price"],
        serde_json::json!(["10", "20"])
    );
    assert_eq!(event["queryStringParameters"]["q"], "a b");
    assert_eq!(event["queryStringParameters"]["enc"], "test+alias");
    assert_eq!(event["requestContext"]["path"], "/Prod/c/orders/42/echo");
    golden("rest_event.json", &mask(event));
}

/// aws-behaviour §3a: REST events name headers as the client spelled them; HTTP API 1.0 events
/// lowercase them. Three requests on one connection, the first with a body, so each head is
/// found after the one before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_events_keep_the_clients_header_names() {
    let emu = emulator(&[]);
    let requests = "POST /c/echo HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
        Content-Length: 2\r\n\r\n{}\
        GET /c/echo HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/8\r\naUThorization: token\r\n\
        X-Multi: one\r\nx-multi: two\r\n\r\n\
        GET /v1/echo HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/8\r\nConnection: close\r\n\r\n";
    let answers = split_responses(&raw_until_closed(emu.addr, requests.as_bytes()));
    assert_eq!(answers.len(), 3, "{answers:?}");
    let events: Vec<Value> = answers
        .iter()
        .map(|(head, body)| {
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            serde_json::from_str(body).expect("echoed event")
        })
        .collect();
    assert_eq!(events[0]["headers"]["Content-Type"], "application/json");
    assert_eq!(events[0]["headers"]["Host"], "localhost");
    assert!(events[0]["headers"].get("content-type").is_none());
    assert_eq!(events[0]["body"], "{}");
    let second = &events[1];
    assert_eq!(second["headers"]["User-Agent"], "curl/8");
    assert_eq!(second["headers"]["aUThorization"], "token");
    // One name, two spellings: the first spelling names both values.
    assert_eq!(second["headers"]["X-Multi"], "two");
    assert_eq!(
        second["multiValueHeaders"]["X-Multi"],
        serde_json::json!(["one", "two"])
    );
    // Headers the gateway adds keep their own names.
    assert!(second["headers"].get("X-Forwarded-Proto").is_some());
    // HTTP API payload 1.0: lowercase.
    assert_eq!(events[2]["version"], "1.0");
    assert_eq!(events[2]["headers"]["user-agent"], "curl/8");
    assert!(events[2]["headers"].get("User-Agent").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_api_events_v2_and_v1() {
    let emu = emulator(&[]);
    let r = send(
        "PUT",
        &emu.url("/v2/items/7/echo?a=1&a=2"),
        &[
            ("content-type", "text/plain"),
            ("cookie", "s=1; t=2"),
            ("x-multi", "one"),
            ("x-multi", "two"),
            ("user-agent", "tollgate-test"),
        ],
        "plain body",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.header("apigw-requestid").is_some());
    let event: Value = serde_json::from_slice(&r.body).expect("event");
    let typed: aws_lambda_events::apigw::ApiGatewayV2httpRequest =
        serde_json::from_value(event.clone()).expect("aws_lambda_events reads the v2 event");
    assert_eq!(typed.raw_path.as_deref(), Some("/v2/items/7/echo"));
    assert_eq!(event["cookies"], serde_json::json!(["s=1", "t=2"]));
    assert!(
        event["headers"].get("cookie").is_none(),
        "cookies leave the headers"
    );
    assert_eq!(event["headers"]["x-multi"], "one,two");
    assert_eq!(event["queryStringParameters"]["a"], "1,2");
    golden("http_v2_event.json", &mask(event));

    // A binary (non-text) content type arrives base64-encoded in 2.0 events.
    let r = send(
        "POST",
        &emu.url("/v2/bin/echo"),
        &[("content-type", "application/octet-stream")],
        &b"\x00\x01ab"[..],
    )
    .await;
    let event: Value = serde_json::from_slice(&r.body).expect("event");
    assert_eq!(event["isBase64Encoded"], true);
    assert_eq!(event["body"], "AAFhYg==");

    let r = send(
        "GET",
        &emu.url("/v1/x/echo?a=1&a=2"),
        &[("user-agent", "tollgate-test")],
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    let event: Value = serde_json::from_slice(&r.body).expect("event");
    assert_eq!(event["version"], "1.0");
    assert_eq!(
        event["multiValueQueryStringParameters"]["a"],
        serde_json::json!(["1", "2"])
    );
    assert!(event["headers"]
        .as_object()
        .expect("headers")
        .keys()
        .all(|k| *k == k.to_ascii_lowercase()));
    serde_json::from_value::<aws_lambda_events::apigw::ApiGatewayProxyRequest>(event)
        .expect("v1 reads as REST shape");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_rest_responses_are_502() {
    let emu = emulator(&[]);
    let raw = |body: &'static str| {
        let url = emu.url("/c/raw");
        async move { send("POST", &url, &[("content-type", "application/json")], body).await }
    };
    for bad in [
        r#"{"statusCode":200,"wrongValue":"x"}"#,
        r#""justAString""#,
        r#"{"statusCode":"test"}"#,
        r#"{"statusCode":200,"multiValueHeaders":{"a":"not-a-list"}}"#,
    ] {
        let r = raw(bad).await;
        assert_eq!(r.status, 502, "{bad}");
        assert_eq!(r.text(), r#"{"message": "Internal server error"}"#);
        assert_eq!(
            r.header("x-amzn-errortype"),
            Some("InternalServerErrorException")
        );
        assert_rest_ids(&r);
    }
    let r = raw(r#"{"statusCode":"201","headers":{"x-b":true},"multiValueHeaders":{"tesT-Multi":["a"]},"body":"made"}"#).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.text(), "made");
    assert_eq!(r.header("x-b"), Some("true"));
    let r = raw(r#"{"headers":{"test-multi":"b"},"multiValueHeaders":{"tesT-Multi":["a"]}}"#).await;
    assert_eq!(r.status, 200, "no statusCode means 200");
    assert_eq!(r.header("test-multi"), Some("a, b"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let r = raw(r#"{"statusCode":200,"body":"dGVzdC1kYXRh","isBase64Encoded":true}"#).await;
    assert_eq!(
        r.text(),
        "dGVzdC1kYXRh",
        "no binary media types: base64 is returned as is"
    );
    let r = raw(r#"{"statusCode":200,"headers":{"Server":"fn","Date":"then"}}"#).await;
    assert_eq!(r.header("x-amzn-remapped-server"), Some("fn"));
    assert_eq!(r.header("x-amzn-remapped-date"), Some("then"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_api_responses() {
    let emu = emulator(&[]);
    let r = send(
        "POST",
        &emu.url("/v2/raw"),
        &[("content-type", "application/json")],
        r#"{"just":"data"}"#,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.text(),
        r#"{"just":"data"}"#,
        "2.0 shorthand: a bare value is the body"
    );
    let r = send(
        "POST",
        &emu.url("/v2/raw"),
        &[("content-type", "application/json")],
        r#"{"statusCode":202,"cookies":["a=1"],"body":"x","extra":1}"#,
    )
    .await;
    assert_eq!(r.status, 202);
    assert_eq!(r.header("set-cookie"), Some("a=1"));
    for path in ["/v2/fail", "/v2/crash"] {
        let r = get(&emu.url(path)).await;
        assert_eq!(r.status, 500, "{path}");
        assert_eq!(r.text(), r#"{"message":"Internal Server Error"}"#);
    }
    let r = get(&emu.url("/short/sleep/1500")).await;
    assert_eq!(r.status, 503, "integration timeoutInMillis on an HTTP API");
    assert_eq!(r.text(), r#"{"message":"Service Unavailable"}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_errors_crashes_timeouts_and_init_failures() {
    let emu = emulator(&[]);
    let pid = |r: &tollgate_tests::Reply| -> u64 {
        serde_json::from_slice::<Value>(&r.body).expect("json")["pid"]
            .as_u64()
            .expect("pid")
    };
    let before = get(&emu.url("/c/pid")).await;
    assert_eq!(before.status, 200);
    let first = pid(&before);

    let r = get(&emu.url("/c/fail")).await;
    assert_eq!(r.status, 502);
    assert_eq!(r.text(), r#"{"message": "Internal server error"}"#);
    assert_eq!(
        pid(&get(&emu.url("/c/pid")).await),
        first,
        "an unhandled error keeps the process warm"
    );

    let r = get(&emu.url("/c/crash")).await;
    assert_eq!(r.status, 502);
    let after_crash = get(&emu.url("/c/pid")).await;
    assert_eq!(after_crash.status, 200, "the pool heals");
    assert_ne!(
        pid(&after_crash),
        first,
        "a fresh process replaced the crashed one"
    );

    // Timeout: 2 s in the template; the process is killed and replaced.
    let r = get(&emu.url("/c/sleep/4000")).await;
    assert_eq!(r.status, 502);
    let healed = get(&emu.url("/c/pid")).await;
    assert_eq!(healed.status, 200);
    assert_ne!(pid(&healed), pid(&after_crash));
    assert!(
        emu.stderr()
            .iter()
            .any(|l| l.contains("Task timed out after 2.00 seconds")),
        "timeout logged like Lambda"
    );

    let r = get(&emu.url("/broken")).await;
    assert_eq!(r.status, 502);
    assert!(
        emu.stderr()
            .iter()
            .any(|l| l.contains("[BrokenInit] conformance: INIT_FAIL=1")),
        "init stderr in the log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invocations_run_in_distinct_processes() {
    let emu = emulator(&[]);
    let url = emu.url("/c/sleep/700");
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { get(&url).await })
        })
        .collect();
    let mut pids = HashSet::new();
    for c in calls {
        let r = c.await.expect("join");
        assert_eq!(r.status, 200, "{}", r.text());
        let body: Value = serde_json::from_slice(&r.body).expect("json");
        pids.insert(body["pid"].as_u64().expect("pid"));
    }
    assert_eq!(
        pids.len(),
        4,
        "four overlapping invocations, four processes: {pids:?}"
    );
    // Warm: the next call reuses one of them.
    let r = get(&emu.url("/c/pid")).await;
    let body: Value = serde_json::from_slice(&r.body).expect("json");
    assert!(pids.contains(&body["pid"].as_u64().expect("pid")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_is_throttled() {
    // `Single` has ReservedConcurrentExecutions: 1; with a queue of one, a third overlapping
    // call is throttled.
    let emu = emulator(&["--queue-limit", "1", "--warm-containers", "EAGER"]);
    let url = emu.url("/single/sleep/900");
    let first = {
        let u = url.clone();
        tokio::spawn(async move { get(&u).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let second = {
        let u = url.clone();
        tokio::spawn(async move { get(&u).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let third = get(&url).await;
    assert_eq!(third.status, 429);
    assert_eq!(third.text(), r#"{"message":"Too Many Requests"}"#);
    assert_eq!(
        third.header("x-amzn-errortype"),
        Some("TooManyRequestsException")
    );
    assert_eq!(first.await.expect("join").status, 200);
    assert_eq!(
        second.await.expect("join").status,
        200,
        "the queued call ran after the first"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_http_functions_answer() {
    let emu = emulator(&[]);
    let r = get(&emu.url("/hello/ada")).await;
    assert_eq!(r.status, 200);
    let body: Value = serde_json::from_slice(&r.body).expect("json");
    assert_eq!(body["message"], "hello, ada");
    let r = get(&emu.url("/hi/bob")).await;
    let body: Value = serde_json::from_slice(&r.body).expect("json");
    assert_eq!(body["message"], "hello, bob");
    assert_eq!(body["path"], "/hi/bob");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_template_runs_its_function() {
    let emu = Emulator::start(&["-t", "template.yaml", "--skip-build"]);
    let r = get(&emu.url("/hello/ada")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body: Value = serde_json::from_slice(&r.body).expect("json");
    assert_eq!(body["message"], "hello, ada");
    assert_rest_ids(&r);
    let json = |r: &tollgate_tests::Reply| serde_json::from_slice::<Value>(&r.body).expect("json");
    let profile = get(&emu.url("/users/u-42/profile")).await;
    assert_eq!(json(&profile)["plan"], "pro");
    let orders = get(&emu.url("/users/u-42/orders?status=pending")).await;
    assert_eq!(json(&orders)["orders"][0]["id"], "u-42-ord-2");
    let notes = get(&emu.url("/users/u-42/notifications")).await;
    assert_eq!(json(&notes)["unread"], 5);

    // The dashboard aggregates the three functions into one document.
    let dash = get(&emu.url("/dashboard/u-42")).await;
    assert_eq!(dash.status, 200, "{}", dash.text());
    let d = json(&dash);
    assert_eq!(d["profile"], json(&profile));
    assert_eq!(
        d["orders"],
        json(&get(&emu.url("/users/u-42/orders")).await)
    );
    assert_eq!(d["notifications"], json(&notes));
    assert!(d.get("_missing").is_none(), "{d}");
    assert!(dash.header("x-tollgate-missing").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_handlers_run_through_awslambdaric() {
    let emu = emulator(&[]);
    let r = get(&emu.url("/py")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body: Value = serde_json::from_slice(&r.body).expect("json");
    assert_eq!(body["message"], "hello from python");
    assert_eq!(body["path"], "/py");
    assert_eq!(body["function"], "PyHello");
    assert_eq!(
        body["greeting"], "hi",
        "Globals environment reaches the process"
    );
    assert!(body["requestId"].as_str().is_some_and(|id| id.len() == 36));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_vars_file_overrides_declared_variables() {
    let env = fixture("e2e/env.json");
    let emu = emulator(&["--env-vars", env.to_str().expect("utf8")]);
    let r = get(&emu.url("/py")).await;
    let body: Value = serde_json::from_slice(&r.body).expect("json");
    assert_eq!(
        body["greeting"], "hola",
        "the function's own section beats Parameters"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_invoke_api_like_sam_start_lambda() {
    let port = free_port();
    let emu = emulator(&["--lambda-port", &port.to_string()]);
    let base = format!("http://127.0.0.1:{port}/2015-03-31/functions");
    let event = r#"{"path":"/x/pid","httpMethod":"GET"}"#;
    let r = send(
        "POST",
        &format!("{base}/Conformance/invocations"),
        &[],
        event,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-amz-executed-version"), Some("$LATEST"));
    let out: Value = serde_json::from_slice(&r.body).expect("json");
    assert_eq!(out["statusCode"], 200);

    // By ARN, URL-encoded as SDKs send it.
    let arn = "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3AConformance";
    let r = send("POST", &format!("{base}/{arn}/invocations"), &[], event).await;
    assert_eq!(r.status, 200);

    let r = send(
        "POST",
        &format!("{base}/Conformance/invocations"),
        &[],
        r#"{"path":"/fail"}"#,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-amz-function-error"), Some("Unhandled"));
    assert!(
        r.text().contains("\"errorMessage\":\"boom\""),
        "{}",
        r.text()
    );

    let r = send("POST", &format!("{base}/Nope/invocations"), &[], "{}").await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("ResourceNotFoundException")
    );
    assert!(r
        .text()
        .contains("Function not found: arn:aws:lambda:us-east-1:123456789012:function:Nope"));

    let r = send(
        "POST",
        &format!("{base}/Conformance/invocations"),
        &[("x-amz-invocation-type", "DryRun")],
        "{}",
    )
    .await;
    assert_eq!(r.status, 204);
    let r = send(
        "POST",
        &format!("{base}/Conformance/invocations"),
        &[("x-amz-invocation-type", "Event")],
        event,
    )
    .await;
    assert_eq!(r.status, 202);
    drop(emu);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_edge_cases_timeouts_binary_and_integration_method() {
    let emu = emulator(&[]);
    // timeoutInMillis on a REST Lambda integration: 504 with AWS's spaced body.
    let r = get(&emu.url("/slow/sleep/1500")).await;
    assert_eq!(r.status, 504);
    assert_eq!(r.text(), r#"{"message": "Endpoint request timed out"}"#);

    // A request whose Content-Type is a binary media type arrives base64-encoded.
    let r = send(
        "POST",
        &emu.url("/bin/echo"),
        &[("content-type", "image/png")],
        &b"\x89PNG"[..],
    )
    .await;
    let event: Value = serde_json::from_slice(&r.body).expect("event");
    assert_eq!(event["isBase64Encoded"], true);
    assert_eq!(event["body"], "iVBORw==");

    // A base64 response is decoded when the request's first Accept type is a binary media type;
    // the function's own Content-Type does not count.
    let payload = r#"{"statusCode":200,"headers":{"content-type":"image/png"},"body":"iVBORw==","isBase64Encoded":true}"#;
    let r = send(
        "POST",
        &emu.url("/bin/raw"),
        &[("content-type", "image/png"), ("accept", "image/png")],
        payload,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(&r.body[..], b"\x89PNG");
    let r = send(
        "POST",
        &emu.url("/bin/raw"),
        &[
            ("content-type", "image/png"),
            ("accept", "application/json"),
        ],
        payload,
    )
    .await;
    assert_eq!(r.text(), "iVBORw==");
    // Decoding a body that is not base64 is a 500, not a 502.
    let bad = r#"{"statusCode":200,"body":"not base64!","isBase64Encoded":true}"#;
    let r = send(
        "POST",
        &emu.url("/bin/raw"),
        &[("content-type", "image/png"), ("accept", "image/png")],
        bad,
    )
    .await;
    assert_eq!(
        (r.status.as_u16(), r.text().as_str()),
        (500, r#"{"message": "Internal server error"}"#)
    );

    // AWS_PROXY must use POST to call Lambda: anything else is a 500.
    let r = get(&emu.url("/get-method/pid")).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.text(), r#"{"message": "Internal server error"}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_api_is_host_and_port_and_refuses_bad_calls_with_4xx() {
    let emu = emulator(&[]);
    let r = get(&emu.url("/c/pid")).await;
    assert_eq!(r.status, 200);
    let body: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON");
    // `host:port`, as Lambda defines the address: no scheme, no path.
    let api = body["runtime_api"].as_str().expect("address").to_string();
    let addr: std::net::SocketAddr = api.parse().expect("host:port");
    assert!(addr.ip().is_loopback());
    let base = format!("http://{api}");
    let r = send(
        "POST",
        &format!("{base}/2018-06-01/runtime/invocation/not-a-request/response"),
        &[],
        "{}",
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("InvalidRequestID"), "{}", r.text());
    let r = get(&format!("{base}/2018-06-01/runtime/elsewhere")).await;
    assert_eq!(r.status, 404);
    let r = get(&format!("{base}/2015-01-01/functions")).await;
    assert_eq!(r.status, 404);
    // The function still works afterwards.
    assert_eq!(get(&emu.url("/c/pid")).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incoming_trace_id_reaches_the_function() {
    let emu = emulator(&[]);
    let root = "Root=1-5759e988-bd862e3fe1be46a994272793";
    let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let r = tollgate_tests::send(
        "GET",
        &emu.url("/c/echo"),
        &[
            ("x-amzn-trace-id", &format!("{root};Sampled=1")),
            ("traceparent", tp),
        ],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let event: Value = serde_json::from_slice(&r.body).expect("json");
    let seen = event["headers"]["x-amzn-trace-id"]
        .as_str()
        .or_else(|| event["headers"]["X-Amzn-Trace-Id"].as_str())
        .unwrap_or_default()
        .to_string();
    assert!(seen.starts_with(root), "{event}");
    assert!(r
        .header("x-amzn-trace-id")
        .is_some_and(|t| t.starts_with(root)));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_invocation_type_answers_at_once_while_the_function_runs_on() {
    let t = fixture("e2e/async_event.yaml");
    let e = Emulator::start(&["-t", t.to_str().expect("utf8"), "--skip-build"]);
    let folder = std::env::temp_dir().join(format!("tollgate-async-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).expect("mkdir");
    let event = serde_json::json!({"dir": folder, "job": "j-1"}).to_string();
    // The function waits for `go`, which is written only once the answer is here: a synchronous
    // call could not have answered yet.
    let r = send("POST", &e.url("/jobs"), &[], event.clone()).await;
    assert_eq!((r.status.as_u16(), r.text().as_str()), (200, ""));
    assert!(!folder.join("done").exists());
    std::fs::write(folder.join("go"), "").expect("go");
    let start = std::time::Instant::now();
    while !folder.join("done").exists() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "the function never ran"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        std::fs::read_to_string(folder.join("done")).expect("done"),
        "j-1"
    );
    // Without the header, the same integration waits for the function's answer.
    let r = send(
        "POST",
        &e.url("/jobs/sync"),
        &[],
        event.replace("j-1", "j-2"),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), r#"{"finished": "j-2"}"#);
    let _ = std::fs::remove_dir_all(&folder);
}
