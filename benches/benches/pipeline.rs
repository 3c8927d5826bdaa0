//! The whole pipeline on the MOCK route of openapi/bench.yaml, in process (no sockets): routing,
//! the request and response templates, ids, the access-log hook. Regressions in per-request work
//! show here before any load test.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use gateway::load::{load, Source};
use gateway::{ConnInfo, Gateway, GatewayConfig, Served, Services};

fn gateway() -> Gateway {
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
    // An access-log line per request, as `start-api` writes one (to a sink here), from a
    // format parsed once, as `start-api` keeps it.
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

fn bench(c: &mut Criterion) {
    let gw = gateway();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let conn = ConnInfo {
        remote: "127.0.0.1:40000".parse().expect("addr"),
        local: "127.0.0.1:3000".parse().expect("addr"),
        tls: false,
    };
    c.bench_function("pipeline: GET /mock, whole response read", |b| {
        b.iter(|| {
            rt.block_on(async {
                let req = http::Request::builder()
                    .uri("/mock")
                    .header("host", "localhost")
                    .body(gateway::body::empty())
                    .expect("request");
                let resp = gw.handle(req, conn).await;
                assert_eq!(resp.status(), 200);
                let body = http_body_util::BodyExt::collect(resp.into_body())
                    .await
                    .expect("body");
                std::hint::black_box(body.to_bytes())
            })
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
