//! Criterion benchmarks of the gateway library live under `benches/`; this crate exists so that
//! criterion stays out of the test build (`scripts/test.sh` excludes it). Run them with
//! `cargo bench -p tollgate-benches`. What the benches and examples share is here.

use std::sync::Arc;

use gateway::load::{load, Source};
use gateway::{ConnInfo, Gateway, GatewayConfig, Served, Services};

/// A gateway serving openapi/bench.yaml without the account throttle, writing an access-log
/// line per request (to a sink) from a format parsed once, as `start-api` does.
pub fn bench_gateway() -> Gateway {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let source = Source::OpenApi {
        paths: vec![root.join("openapi/bench.yaml")],
        kind: None,
        stage_name: None,
        stage_variables: [("upstream".to_string(), "http://127.0.0.1:9".to_string())]
            .into_iter()
            .collect(),
    };
    let loaded = load(&source).expect("openapi/bench.yaml loads");
    let config = GatewayConfig {
        account_throttle: None,
        ..GatewayConfig::default()
    };
    let clf = gateway::ContextFormat::parse(gateway::access_log::REST_CLF);
    let sink: gateway::CompletionSink = Arc::new(move |ctx| {
        std::hint::black_box(clf.render(ctx));
    });
    Gateway::new(
        config,
        Services::default(),
        Served::new(loaded.apis, loaded.usage),
        Some(sink),
    )
}

/// A one-thread runtime to drive requests in process.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// `GET /mock` through the whole pipeline, its body read to the end.
pub async fn get_mock(gw: &Gateway) -> bytes::Bytes {
    let conn = ConnInfo {
        remote: "127.0.0.1:40000".parse().expect("addr"),
        local: "127.0.0.1:3000".parse().expect("addr"),
        tls: false,
    };
    let req = http::Request::builder()
        .uri("/mock")
        .header("host", "localhost")
        .body(gateway::body::empty())
        .expect("request");
    let resp = gw.handle(req, conn).await;
    assert_eq!(resp.status(), 200);
    http_body_util::BodyExt::collect(resp.into_body())
        .await
        .expect("body")
        .to_bytes()
}
