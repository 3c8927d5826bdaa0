//! The deployed shape, run here: `functions/gateway` (the pipeline as a Lambda function) executed
//! by tollgate's own Runtime API host and fed Function URL events, with usage plans in DynamoDB
//! Local and the example functions invoked through the emulator's Lambda Invoke API. One request
//! suite runs against `tollgate start-api` and against the gateway Lambda; the answers must match.

use serde_json::{json, Value};
use tollgate_tests::{dynamodb_url, repo_root, send, Emulator, Reply, Upstream};

const KEY: &str = "deploykey00000000000000000001";

/// One key on a plan allowing three calls a day, for the API as each mode names it.
fn keys(api: &str) -> Value {
    json!({
        "keys": [{"id": "deploy-key", "name": "deploy", "value": KEY, "plans": ["deploy-plan"]}],
        "plans": [{
            "id": "deploy-plan",
            "apiStages": [{"api": api, "stage": "Prod"}],
            "throttle": {"rateLimit": 100, "burstLimit": 50},
            "quota": {"limit": 3, "period": "DAY"}
        }]
    })
}

/// What a client sees, reduced to what both modes must agree on.
#[derive(Debug, PartialEq)]
struct Seen {
    status: u16,
    content_type: Option<String>,
    cache_control: Option<String>,
    body: Value,
}

/// The body as JSON, with per-request ids (UUIDs) masked.
fn body_of(bytes: &[u8]) -> Value {
    let mut v: Value = serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()));
    if let Some(o) = v.as_object_mut() {
        for (_, field) in o.iter_mut() {
            let is_uuid = field
                .as_str()
                .is_some_and(|s| s.len() == 36 && s.split('-').map(str::len).eq([8, 4, 4, 4, 12]));
            if is_uuid {
                *field = Value::from("<request id>");
            }
        }
    }
    v
}

fn seen_direct(r: &Reply) -> Seen {
    Seen {
        status: r.status.as_u16(),
        content_type: r.header("content-type").map(str::to_string),
        cache_control: r.header("cache-control").map(str::to_string),
        body: body_of(&r.body),
    }
}

/// A Function URL event (payload format 2.0), as Lambda's URL front end builds it.
fn function_url_event(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Value {
    let (raw_path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut h = serde_json::Map::new();
    h.insert("host".into(), "abcdefgh.lambda-url.us-east-1.on.aws".into());
    h.insert("user-agent".into(), "deploy-suite".into());
    for (k, v) in headers {
        h.insert(k.to_ascii_lowercase(), Value::from(*v));
    }
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": h,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdefgh",
            "domainName": "abcdefgh.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abcdefgh",
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "deploy-suite"},
            "requestId": uuid_like(),
            "routeKey": "$default",
            "stage": "$default",
            "time": "28/Nov/2026:12:00:00 +0000",
            "timeEpoch": 1795867200000u64
        },
        "body": body,
        "isBase64Encoded": false
    })
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    format!(
        "00000000-0000-4000-8000-{:012x}",
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// Send a request through the gateway Lambda: invoke it with a Function URL event, read the
/// URL's response format back.
async fn through_lambda(
    invoke: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Seen {
    let event = function_url_event(method, path, headers, body);
    let r = send("POST", invoke, &[], event.to_string()).await;
    assert_eq!(r.status, 200, "the invoke itself: {}", r.text());
    assert!(
        r.header("x-amz-function-error").is_none(),
        "the gateway function failed: {}",
        r.text()
    );
    let out: Value = serde_json::from_slice(&r.body).expect("a Function URL response");
    let header = |name: &str| {
        out["headers"]
            .as_object()
            .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
            .and_then(|(_, v)| v.as_str())
            .map(str::to_string)
    };
    let text = out["body"].as_str().unwrap_or_default();
    assert_ne!(
        out["isBase64Encoded"], true,
        "text answers stay text: {out}"
    );
    Seen {
        status: out["statusCode"].as_u64().expect("statusCode") as u16,
        content_type: header("content-type"),
        cache_control: header("cache-control"),
        body: body_of(text.as_bytes()),
    }
}

/// Method, path, headers, body.
type Case<'a> = (
    &'static str,
    &'static str,
    &'a [(&'static str, &'static str)],
    &'static str,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_lambda_answers_as_start_api_does() {
    let ddb = dynamodb_url();
    let orders = Upstream::start().await;
    let dir = std::env::temp_dir().join(format!("tollgate-deploy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);

    // The emulator: the example API (start-api) and its functions' Invoke API.
    let keys_file = dir.join("keys.json");
    std::fs::write(&keys_file, keys("OrdersApi").to_string()).expect("keys");
    let invoke_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let overrides = format!("OrdersServiceUrl={}", orders.base());
    let table_api = format!("deploy-api-{run}");
    let emu = Emulator::start(&[
        "-t",
        "template.yaml",
        "--skip-build",
        "--parameter-overrides",
        &overrides,
        "--api-keys",
        keys_file.to_str().expect("utf8"),
        "--usage-store",
        "dynamodb",
        "--dynamodb-endpoint",
        &ddb,
        "--dynamodb-table",
        &table_api,
        "--lambda-port",
        &invoke_port.to_string(),
    ]);

    // The deployed gateway, hosted by tollgate's Runtime API as Lambda would run it. Its
    // environment is what template.yaml gives it in AWS, pointed at local endpoints.
    let env = json!({
        "TOLLGATE_STAGE": "Prod",
        "TOLLGATE_STAGE_VARIABLES": json!({"ordersService": orders.base(), "inventoryService": "http://127.0.0.1:9"}).to_string(),
        "TOLLGATE_API_KEYS": keys("orders").to_string(),
        "TOLLGATE_USAGE_TABLE": format!("deploy-lambda-{run}"),
        "TOLLGATE_DYNAMODB_ENDPOINT": ddb,
        "TOLLGATE_LAMBDA_ENDPOINT": format!("http://127.0.0.1:{invoke_port}"),
        "TOLLGATE_FUNCTIONS": json!({"HelloFunction": "HelloFunction"}).to_string(),
    });
    let host_template = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {"GatewayFunction": {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "CodeUri": repo_root().join("functions/gateway"),
                "Runtime": "provided.al2023",
                "Handler": "bootstrap",
                "Timeout": 30,
                "Environment": {"Variables": env}
            }
        }}
    });
    let host_file = dir.join("gateway-host.yaml");
    std::fs::write(&host_file, host_template.to_string()).expect("template");
    let host = Emulator::start_lambda(&["-t", host_file.to_str().expect("utf8"), "--skip-build"]);
    let invoke = format!(
        "{}/2015-03-31/functions/GatewayFunction/invocations",
        host.url("")
    );

    let json_type = [("content-type", "application/json")];
    let with_key = [("x-api-key", KEY)];
    let suite: Vec<Case> = vec![
        ("GET", "/health", &[], ""),
        ("GET", "/orders", &[], ""),
        (
            "POST",
            "/orders/quote?currency=EUR",
            &json_type,
            r#"{"lines":[{"sku":"a","qty":2,"price":1.5}]}"#,
        ),
        ("POST", "/orders/quote", &json_type, r#"{"lines":[]}"#),
        ("GET", "/orders/ord-9", &[], ""),
        ("GET", "/hello/ada", &[], ""),
        ("GET", "/users/u-42/profile", &[], ""),
        // Three functions in parallel, merged into one document.
        ("GET", "/dashboard/u-42", &[], ""),
        ("GET", "/nowhere", &[], ""),
        ("GET", "/reports/daily", &[], ""),
        ("GET", "/reports/daily", &with_key, ""),
        ("GET", "/reports/daily", &with_key, ""),
        ("GET", "/reports/daily", &with_key, ""),
        // The plan allows three a day: the fourth is refused, in both, from DynamoDB's count.
        ("GET", "/reports/daily", &with_key, ""),
    ];
    let mut statuses = Vec::new();
    for (method, path, headers, body) in suite {
        let direct = seen_direct(&send(method, &emu.url(path), headers, body).await);
        let lambda = through_lambda(&invoke, method, path, headers, body).await;
        assert_eq!(
            direct, lambda,
            "{method} {path} differs between start-api and the gateway Lambda"
        );
        statuses.push(direct.status);
    }
    // Through an HTTP API `$default` route on a named stage, the path carries the stage first.
    let mut event = function_url_event("GET", "/prod/orders", &[], "");
    event["requestContext"]["stage"] = Value::from("prod");
    let r = send("POST", &invoke, &[], event.to_string()).await;
    let out: Value = serde_json::from_slice(&r.body).expect("a response");
    let direct = seen_direct(&send("GET", &emu.url("/orders"), &[], "").await);
    assert_eq!(out["statusCode"], 200, "{out}");
    assert_eq!(
        body_of(out["body"].as_str().unwrap_or_default().as_bytes()),
        direct.body
    );
    // The suite is not vacuous: it saw successes, a Lambda answer, errors and the quota.
    assert_eq!(
        statuses,
        [200, 200, 200, 400, 200, 200, 200, 200, 403, 403, 200, 200, 200, 429],
        "{statuses:?}"
    );
}

/// functions/authorizer, the deployable Lambda authorizer, guarding a local REST API: TOKEN
/// checks the JWT alone; REQUEST also counts the caller's API key against a daily quota in
/// DynamoDB Local.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deployable_authorizer_guards_a_rest_api() {
    use tollgate_tests::jwt::{now, sign};
    let ddb = dynamodb_url();
    let idp = tollgate_tests::JwksServer::start("jwt/jwks1.json").await;
    let issuer = idp.issuer();
    let run = now();
    let overrides =
        format!("Issuer={issuer} DynamoDbEndpoint={ddb} QuotaTable=authorizer-quota-{run}");
    let emu = Emulator::start(&[
        "-t",
        "tests/fixtures/deploy/authorizer.yaml",
        "--skip-build",
        "--parameter-overrides",
        &overrides,
    ]);
    let token = sign(
        "key1",
        &json!({"sub": "alice", "iss": issuer, "aud": "reports-api", "scope": "reports.read", "iat": run - 5}),
    );
    let bearer = format!("Bearer {token}");

    // TOKEN: a valid token passes with its subject as the principal and context.
    let r = send(
        "GET",
        &emu.url("/token/echo"),
        &[("authorization", &bearer)],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let event: Value = serde_json::from_slice(&r.body).expect("event");
    let authorizer = &event["requestContext"]["authorizer"];
    assert_eq!(authorizer["principalId"], "alice", "{authorizer}");
    assert_eq!(authorizer["sub"], "alice");
    assert_eq!(authorizer["scopes"], "reports.read");
    // No token, or one signed by another key: 401, as the function's "Unauthorized" means.
    let r = send("GET", &emu.url("/token/echo"), &[], "").await;
    assert_eq!(r.status, 401, "{}", r.text());
    let forged =
        tollgate_tests::jwt::sign_with("key2", "key1", &json!({"sub": "mallory", "iss": issuer}));
    let r = send(
        "GET",
        &emu.url("/token/echo"),
        &[("authorization", &format!("Bearer {forged}"))],
        "",
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.text());
    let elsewhere = sign(
        "key1",
        &json!({"sub": "alice", "iss": issuer, "aud": "another-api"}),
    );
    let r = send(
        "GET",
        &emu.url("/token/echo"),
        &[("authorization", &format!("Bearer {elsewhere}"))],
        "",
    )
    .await;
    assert_eq!(r.status, 401, "another audience: {}", r.text());

    // REQUEST: the API key's quota of two a day, counted in DynamoDB.
    let key = [("authorization", bearer.as_str()), ("x-api-key", "k-123")];
    for n in 0..2 {
        let r = send("GET", &emu.url("/metered/echo"), &key, "").await;
        assert_eq!(r.status, 200, "call {n}: {}", r.text());
        let event: Value = serde_json::from_slice(&r.body).expect("event");
        assert_eq!(event["requestContext"]["authorizer"]["apiKey"], "k-123");
    }
    let r = send("GET", &emu.url("/metered/echo"), &key, "").await;
    assert_eq!(r.status, 403, "over quota: {}", r.text());
    // Another key has its own count; a call with no key is denied.
    let other = [("authorization", bearer.as_str()), ("x-api-key", "k-456")];
    assert_eq!(
        send("GET", &emu.url("/metered/echo"), &other, "")
            .await
            .status,
        200
    );
    let r = send(
        "GET",
        &emu.url("/metered/echo"),
        &[("authorization", &bearer)],
        "",
    )
    .await;
    // With caching off, API Gateway calls the authorizer even without every identity source;
    // the function denies the keyless call.
    assert_eq!(r.status, 403, "no API key: {}", r.text());
    assert!(r.text().contains("explicit deny"), "{}", r.text());
}

/// The test command packages every function with cargo-lambda from its own build, leaving a
/// `bootstrap` per function where `scripts/package.sh` leaves the release ones; the hello one
/// answers through the emulator exactly as `sam build` output would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packaged_artefacts_exist_and_run() {
    let root = repo_root();
    for f in [
        "hello",
        "profile",
        "orders",
        "notifications",
        "gateway-function",
        "jwt-authorizer",
    ] {
        let bootstrap = root.join("target/lambda").join(f).join("bootstrap");
        let head = std::fs::read(&bootstrap).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run `cargo lambda build` (the test command does) or scripts/package.sh",
                bootstrap.display()
            )
        });
        assert_eq!(
            &head[..4],
            b"\x7fELF",
            "{} is an executable",
            bootstrap.display()
        );
    }
    let dir = std::env::temp_dir().join(format!("tollgate-artefacts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let template = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {"HelloFunction": {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "CodeUri": root.join("target/lambda/hello"),
                "Runtime": "provided.al2023",
                "Handler": "bootstrap",
                "Events": {"Hello": {"Type": "Api", "Properties": {"Path": "/hello/{name}", "Method": "get"}}}
            }
        }}
    });
    let file = dir.join("artefacts.yaml");
    std::fs::write(&file, template.to_string()).expect("template");
    let emu = Emulator::start(&["-t", file.to_str().expect("utf8"), "--skip-build"]);
    let r = send("GET", &emu.url("/hello/ada"), &[], "").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(body_of(&r.body)["message"], "hello, ada");
}
