//! Prometheus metrics on the admin address, scraped after known traffic.

use tollgate_tests::{fixture, send, Emulator};

/// The value of the sample whose line starts with `series` (name and labels).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_stages_and_usage_rejections() {
    let t = fixture("e2e/usage.yaml");
    let emu = Emulator::start(&["-t", t.to_str().expect("utf8"), "--admin-port", "0"]);
    let admin = emu.admin_url();
    for _ in 0..3 {
        assert_eq!(send("GET", &emu.url("/free"), &[], "").await.status, 200);
    }
    assert_eq!(send("GET", &emu.url("/nope"), &[], "").await.status, 403);
    let throttled = [("x-api-key", "throttledkey00000000000001")];
    let statuses: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(
                send("GET", &emu.url("/limited"), &throttled, "")
                    .await
                    .status
                    .as_u16(),
            );
        }
        v
    };
    assert_eq!(statuses, vec![200, 200, 429]);
    let counted = [("x-api-key", "countedkey0000000000000001")];
    for _ in 0..5 {
        assert_eq!(
            send("GET", &emu.url("/counted"), &counted, "").await.status,
            200
        );
    }
    assert_eq!(
        send("GET", &emu.url("/counted"), &counted, "").await.status,
        429
    );

    // Records land when responses complete; scrape until the last one is in.
    let mut text = String::new();
    for _ in 0..50 {
        let r = send("GET", &format!("{admin}/metrics"), &[], "").await;
        assert_eq!(r.status, 200);
        assert!(r
            .header("content-type")
            .is_some_and(|c| c.contains("openmetrics")));
        text = r.text();
        if sample(
            &text,
            r#"tollgate_requests_total{api="UsageApi",route="/counted",method="GET",status="429"}"#,
        )
        .is_some()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let get =
        |series: &str| sample(&text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"));
    assert_eq!(
        get(r#"tollgate_requests_total{api="UsageApi",route="/free",method="GET",status="200"}"#),
        3.0
    );
    assert_eq!(
        get(r#"tollgate_requests_total{api="UsageApi",route="-",method="GET",status="403"}"#),
        1.0
    );
    assert_eq!(
        get(
            r#"tollgate_requests_total{api="UsageApi",route="/limited",method="GET",status="429"}"#
        ),
        1.0
    );
    assert_eq!(
        get(
            r#"tollgate_usage_plan_rejections_total{api="UsageApi",key="ThrottledKey",reason="throttled"}"#
        ),
        1.0
    );
    assert_eq!(
        get(
            r#"tollgate_usage_plan_rejections_total{api="UsageApi",key="CountedKey",reason="quota"}"#
        ),
        1.0
    );
    assert_eq!(
        get(r#"tollgate_short_circuits_total{stage="usage_plan"}"#),
        2.0
    );
    assert!(get(r#"tollgate_stage_duration_seconds_count{stage="integration"}"#) >= 10.0);
    assert_eq!(get("tollgate_usage_store_failures_total"), 0.0);

    // The admin address serves nothing else; the API's own paths are untouched.
    assert_eq!(
        send("GET", &format!("{admin}/other"), &[], "").await.status,
        404
    );
    assert_eq!(send("GET", &emu.url("/metrics"), &[], "").await.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_authorizer_cache_and_function_pools() {
    let t = fixture("e2e/auth.yaml");
    let emu = Emulator::start(&[
        "-t",
        t.to_str().expect("utf8"),
        "--skip-build",
        "--admin-port",
        "0",
    ]);
    let admin = emu.admin_url();
    for _ in 0..3 {
        let r = send(
            "GET",
            &emu.url("/secure/echo"),
            &[("authorization", "allow")],
            "",
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let text = send("GET", &format!("{admin}/metrics"), &[], "")
        .await
        .text();
    let get =
        |series: &str| sample(&text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"));
    // One call to the authorizer, then two answers from its cache.
    assert_eq!(
        get(
            r#"tollgate_authorizer_cache_lookups{api="AuthApi",authorizer="TokenAuth",result="miss"}"#
        ),
        1.0
    );
    assert_eq!(
        get(
            r#"tollgate_authorizer_cache_lookups{api="AuthApi",authorizer="TokenAuth",result="hit"}"#
        ),
        2.0
    );
    // The backend and the authorizer each started a process; none is busy now.
    assert!(get(r#"tollgate_function_cold_starts{function="Backend"}"#) >= 1.0);
    assert!(get(r#"tollgate_function_cold_starts{function="TokenAuthFn"}"#) >= 1.0);
    assert!(get(r#"tollgate_function_instances{function="Backend",state="idle"}"#) >= 1.0);
    assert_eq!(
        get(r#"tollgate_function_instances{function="Backend",state="busy"}"#),
        0.0
    );
}
