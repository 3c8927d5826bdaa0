//! Events byte for byte against files, key order included.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderValue, Method};
use serde_json::{json, Map};

use super::*;
use crate::context::{AuthorizerOutput, ClientCert, ConnInfo, IamIdentity};
use crate::lambda::sample::{sample_api, sample_route};
use crate::model::ResolvedApi;
use crate::request::{parse_query, HeaderCase};
use crate::spec::{ApiKind, RouteMethod};

/// The API the events come from: `sample_api` named as a deployed API called "Shop" would be
/// (its id is the one tollgate derives from that name).
fn shop(kind: ApiKind, stage: &str) -> ResolvedApi {
    let mut api = sample_api(kind, stage);
    api.name = "Shop".into();
    api.api_id = "7sqb4mephj".into();
    api
}

struct Case {
    api: ResolvedApi,
    ctx: RequestContext,
    req: MethodRequest,
}

/// A request with everything an event can carry: repeated headers in two spellings, a
/// forwarded-for chain, repeated query parameters, path parameters, stage variables.
fn case(kind: ApiKind, stage: &str, extra_headers: &[(&'static str, &str)]) -> Case {
    let mut api = shop(kind, stage);
    api.binary_media_types = vec!["image/png".into()];
    let mut headers = HeaderMap::new();
    for (k, v) in [
        ("accept", "application/json"),
        ("x-multi", "one"),
        ("x-multi", "two"),
        ("x-forwarded-for", "203.0.113.9"),
        ("content-length", "12"),
        ("user-agent", "curl/8"),
        ("host", "shop.example.com:3000"),
    ]
    .iter()
    .chain(extra_headers)
    {
        headers.append(*k, HeaderValue::from_str(v).expect("value"));
    }
    let conn = ConnInfo {
        remote: std::net::SocketAddr::from(([10, 0, 0, 7], 5555)),
        local: std::net::SocketAddr::from(([127, 0, 0, 1], 3000)),
        tls: false,
    };
    let path = "/orders/42/items";
    let mut ctx = RequestContext::new(&Method::POST, path, &headers, conn);
    // Fixed where a request would have fresh ids and times, so events compare with files.
    ctx.request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef".into();
    ctx.extended_request_id = "EXTIDEXAMPLE=".into();
    ctx.trace_id = "Root=1-5f84c7a1-0123456789abcdef01234567".into();
    ctx.request_time = "09/Apr/2015:12:34:56 +0000".into();
    ctx.request_time_epoch = 1428582896000;
    ctx.api_id = Some(api.api_id.clone());
    ctx.stage = Some(stage.into());
    ctx.resource_path = Some("/orders/{id}/items".into());
    ctx.route_key = Some("POST /orders/{id}/items".into());
    ctx.path = format!("/{stage}{path}");
    ctx.stage_variables = Arc::new(
        [("env".to_string(), "test".to_string())]
            .into_iter()
            .collect(),
    );
    let raw_query = "q=a+b&q=c&tag=x&Tag=y";
    let req = MethodRequest {
        method: Method::POST,
        path_and_query: format!("{path}?{raw_query}"),
        path: path.into(),
        raw_query: Some(raw_query.into()),
        query: parse_query(Some(raw_query)),
        headers,
        header_case: HeaderCase::new(["Accept", "X-Multi", "x-multi", "User-Agent"]),
        path_params: vec![("id".into(), "42".into())],
        body: None,
    };
    Case { api, ctx, req }
}

fn lambda_authorizer() -> AuthorizerOutput {
    AuthorizerOutput {
        principal_id: Some("user-1".into()),
        context: json!({"tier": "gold", "n": 3, "ok": true})
            .as_object()
            .cloned()
            .unwrap_or_default(),
        usage_identifier_key: None,
        latency: Duration::from_millis(7),
        claims: None,
        scopes: Vec::new(),
    }
}

fn jwt_authorizer() -> AuthorizerOutput {
    AuthorizerOutput {
        principal_id: None,
        context: Map::new(),
        usage_identifier_key: None,
        latency: Duration::ZERO,
        claims:
            json!({"sub": "abc", "exp": 1700000000, "email_verified": true, "groups": ["a", "b"]})
                .as_object()
                .cloned()
                .map(Arc::new),
        scopes: vec!["read".into(), "write".into()],
    }
}

fn everything_else(ctx: &mut RequestContext) {
    ctx.iam = Some(IamIdentity {
        access_key: "AKIDEXAMPLE".into(),
        account_id: "123456789012".into(),
        user_arn: Some("arn:aws:iam::123456789012:user/ada".into()),
        user: Some("AIDAEXAMPLE".into()),
    });
    ctx.client_cert = Some(Arc::new(ClientCert {
        pem: "-----BEGIN CERTIFICATE-----".into(),
        subject_dn: "CN=client".into(),
        issuer_dn: "CN=ca".into(),
        serial_number: "01".into(),
        not_before: "May 28 12:30:02 2019 GMT".into(),
        not_after: "May 28 12:30:02 2029 GMT".into(),
    }));
    ctx.api_key = Some("key-value".into());
    ctx.api_key_id = Some("keyid".into());
    ctx.operation_name = Some("addItem".into());
}

fn text(event: &impl Event) -> String {
    String::from_utf8(to_bytes(event).expect("written").to_vec()).expect("utf8")
}

/// Compare with `gateway/src/lambda/golden/NAME`; `UPDATE_GOLDEN=1` rewrites it instead.
fn golden(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/lambda/golden")
        .join(name);
    let actual = format!("{actual}\n");
    if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
        std::fs::write(&path, &actual).expect("write golden");
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} missing (UPDATE_GOLDEN=1 writes it)", path.display()));
    assert_eq!(actual, want, "event differs from {}", path.display());
}

/// Events byte for byte, key order included, as the `serde_json::Value`-built events of
/// the build before were (the files were written by that code).
#[test]
fn events_match_their_files_byte_for_byte() {
    let route = sample_route(RouteMethod::Post, "/orders/{id}/items");
    let json_body = Bytes::from_static(br#"{"item":"book"}"#);
    let png = Bytes::from_static(&[0x89, b'P', b'N', b'G']);
    let not_utf8 = Bytes::from_static(&[0xff, 0xfe, 0x00]);
    let empty = Bytes::new();

    // REST: everything an identity can hold, a Lambda authorizer whose context names its
    // principal, a JSON body.
    let mut c = case(ApiKind::Rest, "Prod", &[]);
    everything_else(&mut c.ctx);
    let mut auth = lambda_authorizer();
    auth.context
        .insert("principalId".into(), json!("from-context"));
    c.ctx.authorizer = Some(auth);
    let e = rest_event(&c.api, &route, &c.ctx, &c.req, &json_body, None);
    golden("rest_rich.json", &text(&e));

    // REST: a JWT authorizer (claims as strings), a binary media type, the client's trace.
    let mut c = case(
        ApiKind::Rest,
        "Prod",
        &[
            ("content-type", "image/png"),
            ("x-amzn-trace-id", "Root=1-5-abc"),
        ],
    );
    c.ctx.authorizer = Some(jwt_authorizer());
    let e = rest_event(&c.api, &route, &c.ctx, &c.req, &png, None);
    golden("rest_jwt_binary.json", &text(&e));

    // HTTP API 1.0: lowercased names, cookies kept as a header, a body that is not UTF-8.
    let mut c = case(
        ApiKind::Http,
        "$default",
        &[
            ("content-type", "text/plain"),
            ("cookie", "a=1; b=2"),
            ("cookie", " ;c=3"),
        ],
    );
    c.ctx.authorizer = Some(lambda_authorizer());
    let e = rest_event(&c.api, &route, &c.ctx, &c.req, &not_utf8, Some("1.0"));
    golden("http_v1.json", &text(&e));

    // HTTP API 2.0 on a named stage: cookies, joined repeats, JWT claims with their types,
    // a client certificate, a text body.
    let mut c = case(
        ApiKind::Http,
        "Prod",
        &[
            ("content-type", "Application/JSON"),
            ("cookie", "a=1; b=2"),
            ("cookie", " ;c=3"),
        ],
    );
    everything_else(&mut c.ctx);
    c.ctx.authorizer = Some(jwt_authorizer());
    let e = http_v2_event(&c.api, &route, &c.ctx, &c.req, &json_body);
    golden("http_v2_jwt.json", &text(&e));

    // HTTP API 2.0 on `$default`: a Lambda authorizer, no body, no stage variables.
    let mut c = case(ApiKind::Http, "$default", &[]);
    c.ctx.stage_variables = Arc::default();
    c.ctx.authorizer = Some(lambda_authorizer());
    let e = http_v2_event(&c.api, &route, &c.ctx, &c.req, &empty);
    golden("http_v2_lambda.json", &text(&e));
}
