//! REST APIs end to end: the real `tollgate` binary serving the example template, against a real
//! loopback upstream. Status, body bytes and headers are asserted for every outcome.

use tollgate_tests::{assert_rest_ids, fixture, get, send, Emulator, Upstream};

fn orders(up: &Upstream, inventory: &str, extra: &[&str]) -> Emulator {
    let overrides = format!(
        "OrdersServiceUrl={} InventoryServiceUrl={inventory}",
        up.base()
    );
    let mut args = vec![
        "-t",
        "template.yaml",
        "--skip-build",
        "--parameter-overrides",
        overrides.as_str(),
    ];
    args.extend_from_slice(extra);
    Emulator::start(&args)
}

const ORDERS_BODY: &str = r#"{"orders":[{"id":"ord-1001","status":"SHIPPED","total":42.5},{"id":"ord-1002","status":"PENDING","total":17.0}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_quote_is_validated_and_rendered() {
    let up = Upstream::start().await;
    let emu = orders(&up, &up.base(), &[]);
    let url = emu.url("/orders/quote?currency=eur");
    let r = send(
        "POST",
        &url,
        &[],
        r#"{"lines":[{"sku":"A1","qty":2,"price":9.5}]}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let id = r.header("x-amzn-requestid").expect("id").to_string();
    assert_eq!(
        r.text().trim(),
        format!(r#"{{"quoteId": "{id}", "status": "ACCEPTED", "currency": "EUR"}}"#)
    );
    let r = send("POST", &url, &[], r#"{"lines":[{"sku":"A1","qty":0}]}"#).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.text(), r#"{"message":"Invalid request body"}"#);
    let r = send(
        "POST",
        &emu.url("/orders/quote"),
        &[],
        r#"{"lines":[{"sku":"A1","qty":2,"price":9.5}]}"#,
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        r#"{"message":"Missing required request parameters: [currency]"}"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_routes_answer_from_their_templates() {
    let up = Upstream::start().await;
    let emu = orders(&up, &up.base(), &[]);

    let r = get(&emu.url("/orders")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), ORDERS_BODY);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("cache-control"), Some("max-age=30"));
    assert!(r.header("x-amzn-errortype").is_none());
    // MOCK responses carry no X-Amzn-Trace-Id on AWS.
    assert!(r.header("x-amzn-trace-id").is_none());
    assert_rest_ids(&r);

    // Trailing slash is ignored for matching.
    assert_eq!(get(&emu.url("/orders/")).await.text(), ORDERS_BODY);

    let r = send(
        "POST",
        &emu.url("/orders"),
        &[("content-type", "application/json; charset=utf-8")],
        "{}",
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.text(), r#"{"id":"ord-1003","status":"PENDING"}"#);
    assert_eq!(r.header("location"), Some("/orders/ord-1003"));

    let r = send("OPTIONS", &emu.url("/orders"), &[], "").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "{}");
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("GET,OPTIONS,POST")
    );

    assert_eq!(get(&emu.url("/health")).await.text(), r#"{"status":"ok"}"#);
    assert_eq!(up.count(), 0, "MOCK never calls a backend");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passthrough_never_rejects_unmatched_content_types() {
    let up = Upstream::start().await;
    let emu = orders(&up, &up.base(), &[]);
    let r = send(
        "POST",
        &emu.url("/orders"),
        &[("content-type", "text/plain")],
        "hi",
    )
    .await;
    assert_eq!(r.status, 415);
    assert_eq!(r.text(), r#"{"message":"Unsupported Media Type"}"#);
    assert_eq!(r.header("x-amzn-errortype"), Some("BadRequestException"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_rest_ids(&r);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_route_is_missing_authentication_token() {
    let up = Upstream::start().await;
    let emu = orders(&up, &up.base(), &[]);
    for (method, path) in [
        ("GET", "/nope"),
        ("DELETE", "/orders"),
        ("HEAD", "/health"),
        ("GET", "/"),
        ("PATCH", "/orders/1"),
    ] {
        let r = send(method, &emu.url(path), &[], "").await;
        assert_eq!(r.status, 403, "{method} {path}");
        if method != "HEAD" {
            assert_eq!(
                r.text(),
                r#"{"message":"Missing Authentication Token"}"#,
                "{method} {path}"
            );
        }
        assert_eq!(
            r.header("x-amzn-errortype"),
            Some("MissingAuthenticationTokenException")
        );
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_rest_ids(&r);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_proxy_forwards_and_remaps_like_api_gateway() {
    let up = Upstream::start().await;
    let emu = orders(&up, &up.base(), &[]);
    let r = send(
        "GET",
        &emu.url("/orders/42?expand=items&x=a%20b"),
        &[
            ("x-forwarded-for", "203.0.113.9"),
            ("via", "1.1 proxy"),
            ("max-forwards", "3"),
            ("x-custom", "kept"),
        ],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let sent = up.last();
    assert_eq!(sent.method, "GET");
    assert_eq!(sent.target, "/orders/42?expand=items&x=a%20b");
    let h = |n: &str| {
        sent.headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    assert_eq!(
        h("x-forwarded-for").as_deref(),
        Some("203.0.113.9, 127.0.0.1")
    );
    assert_eq!(h("x-forwarded-proto").as_deref(), Some("http"));
    assert_eq!(h("x-forwarded-port"), Some(emu.addr.port().to_string()));
    assert!(
        h("x-amzn-trace-id").is_some_and(|t| t.starts_with("Root=1-") && t.contains(";Parent="))
    );
    // The API's id goes to HTTP_PROXY upstreams as to HTTP ones.
    assert!(
        h("x-amzn-apigateway-api-id").is_some_and(|id| id.len() == 10),
        "{:?}",
        h("x-amzn-apigateway-api-id")
    );
    assert_eq!(
        h("x-gateway-stage").as_deref(),
        Some("Prod"),
        "context.stage mapped to a header"
    );
    assert_eq!(
        h("host"),
        Some(up.addr.to_string()),
        "Host is the integration endpoint"
    );
    assert_eq!(h("x-custom").as_deref(), Some("kept"));
    assert!(
        h("via").is_none() && h("max-forwards").is_none(),
        "dropped per the header table"
    );

    assert!(r
        .text()
        .contains(r#""target":"/orders/42?expand=items&x=a%20b""#));
    assert_eq!(r.header("x-upstream"), Some("yes"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("x-amzn-remapped-server"), Some("upstream-test"));
    assert_eq!(
        r.header("x-amzn-remapped-www-authenticate"),
        Some("Basic realm=\"up\"")
    );
    assert!(r.header("server").is_none());
    assert!(r.header("www-authenticate").is_none());
    assert!(r.header("x-amzn-remapped-date").is_some());
    assert_rest_ids(&r);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn greedy_proxy_passes_method_path_query_and_body() {
    let up = Upstream::start().await;
    let emu = orders(&up, &up.base(), &[]);
    let r = send(
        "PUT",
        &emu.url("/inventory/items/sku-1//bins/?q=a+b&q=2"),
        &[("content-type", "application/json")],
        r#"{"count":3}"#,
    )
    .await;
    assert_eq!(r.status, 200);
    let sent = up.last();
    assert_eq!(sent.method, "PUT");
    // {proxy+} keeps double slashes and drops the trailing one; the query passes through as sent.
    assert_eq!(sent.target, "/items/sku-1//bins?q=a+b&q=2");
    assert_eq!(&sent.body[..], br#"{"count":3}"#);

    let r = get(&emu.url("/inventory/status/404")).await;
    assert_eq!(r.status, 404, "the upstream's status passes through");
    assert!(r.header("x-amzn-errortype").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integration_timeout_is_504() {
    let up = Upstream::start().await;
    let emu = orders(&up, &up.base(), &[]);
    let r = get(&emu.url("/orders/7/slow-report")).await;
    assert_eq!(r.status, 504);
    assert_eq!(r.text(), r#"{"message": "Endpoint request timed out"}"#);
    assert_eq!(r.header("content-type"), Some("application/json"));
    // The example's DEFAULT_5XX override adds a header and keeps the type's own body.
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_rest_ids(&r);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_or_resetting_upstream_is_500() {
    let up = Upstream::start().await;
    // A port nothing listens on: bind, note it, close.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let refused = orders(&up, &format!("http://{closed}"), &[]);
    let live = orders(&up, &up.base(), &[]);
    for url in [
        refused.url("/inventory/anything"),
        live.url("/inventory/reset/now"),
    ] {
        let r = get(&url).await;
        assert_eq!(r.status, 500, "{url}");
        assert_eq!(r.text(), r#"{"message": "Internal server error"}"#);
        assert_eq!(
            r.header("x-amzn-errortype"),
            Some("InternalServerErrorException")
        );
        assert_rest_ids(&r);
    }
    // The log names the URL that could not be reached, and why.
    let expected = format!("integration failed: http://{closed}/");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut log = refused.stderr();
    while !log.iter().any(|l| l.contains(&expected)) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
        log = refused.stderr();
    }
    assert!(log.iter().any(|l| l.contains(&expected)), "{log:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stage_in_path_urls() {
    let up = Upstream::start().await;
    let emu = orders(&up, &up.base(), &["--stage-in-path"]);
    let r = get(&emu.url("/Prod/orders")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), ORDERS_BODY);
    // Stage names are case-sensitive; an unknown stage is 403 Forbidden.
    for path in ["/prod/orders", "/orders", "/"] {
        let r = get(&emu.url(path)).await;
        assert_eq!(r.status, 403, "{path}");
        assert_eq!(r.text(), r#"{"message":"Forbidden"}"#, "{path}");
        assert!(r.header("x-amzn-errortype").is_none());
        assert_rest_ids(&r);
    }
    let r = get(&emu.url("/Prod/nope")).await;
    assert_eq!(r.text(), r#"{"message":"Missing Authentication Token"}"#);
    let r = get(&emu.url("/Prod/orders/9")).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        up.last().target,
        "/orders/9",
        "the stage prefix is not sent upstream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_response_overrides() {
    let emu = Emulator::start(&[
        "--openapi",
        fixture("e2e/overrides.yaml").to_str().expect("utf8"),
        "--stage-variable",
        "env=test",
    ]);
    let r = send("GET", &emu.url("/missing"), &[("x-trace", "abc")], "").await;
    assert_eq!(r.status, 404);
    let id = r.header("x-amzn-requestid").expect("id").to_string();
    assert_eq!(
        r.text(),
        format!(
            r#"{{"error":"Missing Authentication Token","type":"MISSING_AUTHENTICATION_TOKEN","id":"{id}","env":"test"}}"#
        )
    );
    assert_eq!(r.header("x-request-echo"), Some("abc"));
    assert_eq!(r.header("x-stage"), Some("fixed"));
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("MissingAuthenticationTokenException")
    );
    assert!(
        r.header("x-default-4xx").is_none(),
        "the specific type wins over DEFAULT_4XX"
    );

    // 415 has no override of its own: DEFAULT_4XX applies, status and body stay the type's.
    let r = send(
        "POST",
        &emu.url("/upload"),
        &[("content-type", "text/csv")],
        "a,b",
    )
    .await;
    assert_eq!(r.status, 415);
    assert_eq!(r.text(), r#"{"message":"Unsupported Media Type"}"#);
    assert_eq!(r.header("x-default-4xx"), Some("yes"));

    // A MOCK status no integration response matches, with no default: 500.
    let r = get(&emu.url("/unmatched")).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.text(), r#"{"message": "Internal server error"}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_log_has_one_clf_line_per_request() {
    let up = Upstream::start().await;
    let emu = orders(&up, &up.base(), &[]);
    let ok = get(&emu.url("/orders")).await;
    let denied = get(&emu.url("/nope")).await;
    let ok_id = ok.header("x-amzn-requestid").expect("id").to_string();
    let denied_id = denied.header("x-amzn-requestid").expect("id").to_string();
    let log = emu.wait_for_log(|l| l.len() >= 2);
    assert_eq!(log.len(), 2, "{log:#?}");
    let ext = ok.header("x-amz-apigw-id").expect("ext");
    assert!(log[0].starts_with("127.0.0.1 - - ["), "{}", log[0]);
    assert!(
        log[0].ends_with(&format!(
            r#"] "GET /orders HTTP/1.1" 200 112 {ok_id} {ext}"#
        )),
        "{}",
        log[0]
    );
    assert!(
        log[1].contains(r#""GET - HTTP/1.1" 403 42 "#) && log[1].contains(&denied_id),
        "{}",
        log[1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_apis_in_one_template_are_each_reachable() {
    let emu = Emulator::start(&["-t", fixture("e2e/multi.yaml").to_str().expect("utf8")]);
    // Root-path style: the first API answers a route both define...
    assert_eq!(get(&emu.url("/ping")).await.text(), r#"{"api":"first"}"#);
    // ...routes only the second defines are reached directly...
    assert_eq!(get(&emu.url("/only-second")).await.status, 202);
    // ...and Host: <api>.localhost picks one API.
    let host = format!("secondapi.localhost:{}", emu.addr.port());
    let r = send("GET", &emu.url("/ping"), &[("host", host.as_str())], "").await;
    assert_eq!(r.text(), r#"{"api":"second"}"#);
    let r = send(
        "GET",
        &emu.url("/only-second"),
        &[("host", "firstapi.localhost")],
        "",
    )
    .await;
    assert_eq!(r.status, 403, "the first API has no /only-second");
    assert!(
        emu.stderr()
            .iter()
            .any(|l| l.contains("GET /ping of SecondApi is also defined by FirstApi")),
        "{:#?}",
        emu.stderr()
    );

    let staged = Emulator::start(&[
        "-t",
        fixture("e2e/multi.yaml").to_str().expect("utf8"),
        "--stage-in-path",
    ]);
    assert_eq!(
        get(&staged.url("/one/ping")).await.text(),
        r#"{"api":"first"}"#
    );
    assert_eq!(
        get(&staged.url("/two/ping")).await.text(),
        r#"{"api":"second"}"#
    );
    assert_eq!(
        get(&staged.url("/three/ping")).await.text(),
        r#"{"message":"Forbidden"}"#
    );
}

/// A W3C `traceparent` is accepted and passed on unchanged to an HTTP_PROXY upstream (the
/// `traceparent` policy starts or continues traces instead, see policies.rs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traceparent_passes_through_to_the_upstream() {
    let up = Upstream::start().await;
    let emu = orders(&up, &up.base(), &[]);
    let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let r = send("GET", &emu.url("/orders/7"), &[("traceparent", tp)], "").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(up.last().headers["traceparent"], tp);
}
