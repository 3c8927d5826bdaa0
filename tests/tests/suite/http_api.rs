//! HTTP APIs end to end: their own error bodies, `$default` route and headers.

use tollgate_tests::{fixture, get, send, Emulator, Upstream};

fn http_api(file: &str, up: &Upstream, extra: &[&str]) -> Emulator {
    let var = format!("up={}", up.base());
    let path = fixture(file);
    let mut args = vec![
        "--openapi",
        path.to_str().expect("utf8"),
        "--stage-variable",
        var.as_str(),
    ];
    args.extend_from_slice(extra);
    Emulator::start(&args)
}

fn assert_http_api_headers(r: &tollgate_tests::Reply) {
    let id = r.header("apigw-requestid").expect("apigw-requestid");
    assert_eq!(id.len(), 16, "{id}");
    assert!(r.header("x-amzn-requestid").is_none());
    assert!(r.header("x-amzn-errortype").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_default_route_and_timeouts() {
    let up = Upstream::start().await;
    let emu = http_api("e2e/http_api.yaml", &up, &[]);

    let r = get(&emu.url("/items/5?a=1")).await;
    assert_eq!(r.status, 200);
    assert_eq!(up.last().target, "/items/5?a=1");
    assert_http_api_headers(&r);

    // $default catches everything else and forwards the full path.
    let r = send("DELETE", &emu.url("/some/other/path?z=9"), &[], "").await;
    assert_eq!(r.status, 200);
    assert_eq!(up.last().target, "/fallback/some/other/path?z=9");
    assert_eq!(up.last().method, "DELETE");

    // An integration timeout on an HTTP API is 503 Service Unavailable.
    let r = get(&emu.url("/slow")).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.text(), r#"{"message":"Service Unavailable"}"#);
    assert_http_api_headers(&r);

    let log = emu.wait_for_log(|l| l.len() >= 3);
    assert!(
        log[0].contains(r#""GET GET /items/{id} HTTP/1.1" 200"#),
        "HTTP API CLF uses routeKey: {}",
        log[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_route_is_404_not_found() {
    let up = Upstream::start().await;
    let emu = http_api("e2e/http_api_nodefault.yaml", &up, &[]);
    for (m, p) in [("GET", "/nope"), ("POST", "/items/5"), ("GET", "/")] {
        let r = send(m, &emu.url(p), &[], "").await;
        assert_eq!(r.status, 404, "{m} {p}");
        assert_eq!(r.text(), r#"{"message":"Not Found"}"#);
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_http_api_headers(&r);
    }
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let var = format!("up=http://{closed}");
    let path = fixture("e2e/http_api_nodefault.yaml");
    let down = Emulator::start(&[
        "--openapi",
        path.to_str().expect("utf8"),
        "--stage-variable",
        &var,
    ]);
    let r = get(&down.url("/items/1")).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.text(), r#"{"message":"Internal Server Error"}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_stage_in_path() {
    let up = Upstream::start().await;
    let emu = http_api(
        "e2e/http_api_nodefault.yaml",
        &up,
        &["--stage-name", "beta", "--stage-in-path"],
    );
    let r = get(&emu.url("/beta/items/3")).await;
    assert_eq!(r.status, 200);
    assert_eq!(up.last().target, "/items/3");
    let r = get(&emu.url("/items/3")).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), r#"{"message":"Not Found"}"#);
}
