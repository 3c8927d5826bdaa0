//! The dashboard in a real headless Chromium (Debian's `chromium`, driven by `playwright-core`
//! from npm; `scripts/test.sh` installs both): page load, live requests, filtering, a stage
//! timeline. The screenshot is kept at `target/test-artifacts/dashboard.png`.

use tollgate_tests::{get, repo_root, Emulator, Upstream};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_routes_live_requests_and_timelines() {
    let chromium = std::env::var("TOLLGATE_TEST_CHROMIUM").unwrap_or_else(|_| {
        panic!("TOLLGATE_TEST_CHROMIUM is not set: run the suite with scripts/test.sh, which installs Debian's chromium and playwright-core")
    });
    let playwright = std::env::var("TOLLGATE_TEST_PLAYWRIGHT").unwrap_or_else(|_| {
        panic!("TOLLGATE_TEST_PLAYWRIGHT is not set: run the suite with scripts/test.sh")
    });
    let orders = Upstream::start().await;
    let orders_service = format!("ordersService={}", orders.base());
    let emu = Emulator::start(&[
        "--openapi",
        "openapi/orders.yaml",
        "--stage-variable",
        &orders_service,
        "--stage-variable",
        "inventoryService=http://127.0.0.1:9",
        "--admin-port",
        "0",
        "--api-keys",
        "tests/fixtures/e2e/dashboard-keys.json",
    ]);
    let admin = emu.admin_url();
    let artifacts = repo_root().join("target/test-artifacts");
    std::fs::create_dir_all(&artifacts).expect("artifacts dir");
    let shot = artifacts.join("dashboard.png");
    let _ = std::fs::remove_file(&shot);
    let out = tokio::process::Command::new("node")
        .arg(repo_root().join("tests/browser/dashboard.mjs"))
        .env("TOLLGATE_CHROMIUM", chromium)
        .env("TOLLGATE_PLAYWRIGHT", playwright)
        .env("DASHBOARD_URL", format!("{admin}/"))
        .env("API_URL", emu.url(""))
        .env("SCREENSHOT", &shot)
        .output()
        .await
        .expect("node runs");
    assert!(
        out.status.success(),
        "the browser test failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("the script prints its findings");
    assert!(
        summary["routes"].as_u64().is_some_and(|n| n >= 5),
        "{summary}"
    );
    assert!(
        std::fs::metadata(&shot).is_ok_and(|m| m.len() > 1000),
        "a screenshot is kept"
    );
}

/// A Lambda request's event and the function's response are kept for the dashboard, in full.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_keeps_a_requests_lambda_event_and_response() {
    let emu = Emulator::start(&["-t", "template.yaml", "--skip-build", "--admin-port", "0"]);
    let r = get(&emu.url("/hello/ada")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let id = r
        .header("x-amzn-requestid")
        .expect("request id")
        .to_string();
    let admin = emu.admin_url();
    let record: serde_json::Value =
        serde_json::from_slice(&get(&format!("{admin}/api/requests/{id}")).await.body)
            .expect("json");
    let calls = record["calls"].as_array().expect("calls");
    assert_eq!(calls.len(), 1, "{record}");
    assert_eq!(calls[0]["kind"], "lambda");
    assert_eq!(calls[0]["target"], "HelloFunction");
    assert_eq!(calls[0]["status"], 200);
    let event: serde_json::Value =
        serde_json::from_str(calls[0]["request"].as_str().expect("event")).expect("event JSON");
    assert_eq!(event["pathParameters"]["name"], "ada");
    assert_eq!(event["requestContext"]["requestId"], id.as_str());
    let response: serde_json::Value =
        serde_json::from_str(calls[0]["response"].as_str().expect("response"))
            .expect("response JSON");
    assert_eq!(response["statusCode"], 200);
    assert!(response["body"]
        .as_str()
        .is_some_and(|b| b.contains("hello, ada")));
    // The path as the client sent it (no stage prefix the URL did not have), for a route and
    // for a request no route matched.
    assert_eq!(record["path"], "/hello/ada");
    let missing = get(&emu.url("/nope")).await;
    let id = missing.header("x-amzn-requestid").expect("id").to_string();
    let record: serde_json::Value =
        serde_json::from_slice(&get(&format!("{admin}/api/requests/{id}")).await.body)
            .expect("json");
    assert_eq!(record["path"], "/nope");
}

/// An upstream exchange is kept as sent and received: the request with its body, the answer's
/// head and the body that streamed to the client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_keeps_a_requests_upstream_exchange() {
    let up = Upstream::start().await;
    let var = format!("up={}", up.base());
    let api = tollgate_tests::fixture("e2e/http_api.yaml");
    let emu = Emulator::start(&[
        "--openapi",
        api.to_str().expect("utf8"),
        "--stage-variable",
        &var,
        "--admin-port",
        "0",
    ]);
    let r = tollgate_tests::send("POST", &emu.url("/anything"), &[], "{\"order\":42}").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let admin = emu.admin_url();
    let list: serde_json::Value =
        serde_json::from_slice(&get(&format!("{admin}/api/requests")).await.body).expect("json");
    let record = list
        .as_array()
        .and_then(|l| l.iter().find(|r| r["method"] == "POST"))
        .expect("the POST is listed");
    let call = &record["calls"][0];
    assert_eq!(call["kind"], "http");
    let sent = call["request"].as_str().expect("request");
    assert!(
        sent.starts_with(&format!("POST {}/fallback", up.base())),
        "{sent}"
    );
    assert!(sent.ends_with("\n\n{\"order\":42}"), "{sent}");
    let received = call["response"].as_str().expect("response");
    assert!(received.starts_with("HTTP/1.1 200 OK"), "{received}");
    assert!(received.contains("\nx-upstream: yes"), "{received}");
    // The body the client got, as it streamed through.
    let (_, body) = received
        .split_once("\n\n")
        .expect("a body follows the head");
    assert_eq!(body, r.text());
}
