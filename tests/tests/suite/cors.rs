//! CORS end to end (aws-behaviour §10): SAM's `Cors` on a REST API generates MOCK OPTIONS methods as
//! SAM does; an HTTP API's CorsConfiguration is answered by the gateway itself.

use tollgate_tests::{fixture, send, Emulator};

fn start(name: &str) -> Emulator {
    let t = fixture(name);
    Emulator::start(&["-t", t.to_str().expect("utf8"), "--skip-build"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sam_cors_generates_rest_preflight_methods() {
    let emu = start("e2e/cors_rest.yaml");
    let r = send(
        "OPTIONS",
        &emu.url("/items"),
        &[("origin", "https://app.test")],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.test")
    );
    // Default AllowMethods: the path's methods plus OPTIONS, sorted.
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("GET,OPTIONS,POST")
    );
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("Content-Type,X-Api-Key")
    );
    assert_eq!(r.header("access-control-max-age"), Some("600"));
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(r.text(), "{}\n", "SAM's response template");
    assert_eq!(r.header("content-type"), Some("application/json"));

    let r = send("OPTIONS", &emu.url("/things"), &[], "").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT"),
        "ANY expands to every method"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_api_cors_is_answered_by_the_gateway() {
    let emu = start("e2e/cors_http.yaml");
    let preflight = |path: &str, origin: &'static str| {
        let url = emu.url(path);
        async move {
            send(
                "OPTIONS",
                &url,
                &[
                    ("origin", origin),
                    ("access-control-request-method", "POST"),
                ],
                "",
            )
            .await
        }
    };
    // Answered even though no OPTIONS route exists, on any path.
    for path in ["/items", "/not-a-route"] {
        let r = preflight(path, "https://app.test").await;
        assert_eq!(r.status, 204, "{path}: {}", r.text());
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some("https://app.test")
        );
        assert_eq!(r.header("access-control-allow-methods"), Some("GET,POST"));
        assert_eq!(
            r.header("access-control-allow-headers"),
            Some("content-type,x-api-key")
        );
        assert_eq!(r.header("access-control-max-age"), Some("300"));
        assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
        assert!(r.header("apigw-requestid").is_some());
    }
    // A wildcard scheme entry matches any origin of that scheme; others get no CORS headers.
    let r = preflight("/items", "http://other.test").await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://other.test")
    );
    let r = preflight("/items", "https://evil.test").await;
    assert_eq!(r.status, 204);
    assert!(r.header("access-control-allow-origin").is_none());

    // Without Origin, OPTIONS is an ordinary request: no route, 404.
    let r = send("OPTIONS", &emu.url("/items"), &[], "").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), r#"{"message":"Not Found"}"#);

    // Real responses get the headers only when the request has Origin.
    let r = send(
        "GET",
        &emu.url("/items"),
        &[("origin", "https://app.test")],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.test")
    );
    assert_eq!(r.header("access-control-expose-headers"), Some("x-total"));
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    let r = send("GET", &emu.url("/items"), &[], "").await;
    assert_eq!(r.status, 200);
    assert!(r.header("access-control-allow-origin").is_none());
}
