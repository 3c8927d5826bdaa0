//! Hot reload: definition edits swap the API (a broken edit keeps the last good one), code edits
//! swap a function's processes without failing in-flight calls.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tollgate_tests::{get, send, Emulator};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tollgate-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Replace a file atomically, as editors do.
fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp-write");
    std::fs::write(&tmp, text).expect("write");
    if let Ok(meta) = std::fs::metadata(path) {
        std::fs::set_permissions(&tmp, meta.permissions()).expect("perms");
    }
    std::fs::rename(&tmp, path).expect("rename");
}

fn mock_api(routes: &[(&str, &str)]) -> String {
    let mut s = String::from("openapi: 3.0.1\ninfo: {title: reload, version: \"1\"}\npaths:\n");
    for (path, body) in routes {
        s.push_str(&format!(
            "  {path}:\n    get:\n      responses: {{}}\n      x-amazon-apigateway-integration:\n        type: mock\n        requestTemplates: {{application/json: '{{\"statusCode\": 200}}'}}\n        responses: {{default: {{statusCode: \"200\", responseTemplates: {{application/json: '{body}'}}}}}}\n"
        ));
    }
    s
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A template with one key-protected MOCK route and one API key on a plan.
fn keyed_template(key_value: &str) -> String {
    format!(
        r#"Transform: AWS::Serverless-2016-10-31
Resources:
  KeyedApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1
      DefinitionBody:
        openapi: 3.0.1
        info: {{title: keyed, version: "1"}}
        components:
          securitySchemes:
            api_key: {{type: apiKey, name: x-api-key, in: header}}
        paths:
          /report:
            get:
              security: [{{api_key: []}}]
              responses: {{}}
              x-amazon-apigateway-integration:
                type: mock
                requestTemplates: {{application/json: '{{"statusCode": 200}}'}}
                responses: {{default: {{statusCode: "200"}}}}
  Plan:
    Type: AWS::ApiGateway::UsagePlan
    Properties:
      ApiStages: [{{ApiId: !Ref KeyedApi, Stage: v1}}]
  Key:
    Type: AWS::ApiGateway::ApiKey
    Properties: {{Name: reporter, Enabled: true, Value: {key_value}}}
  PlanKey:
    Type: AWS::ApiGateway::UsagePlanKey
    Properties: {{KeyId: !Ref Key, KeyType: API_KEY, UsagePlanId: !Ref Plan}}
"#
    )
}

// Regression (architecture issue): hot reload used to swap only the APIs, so a key the
// template declares kept its old value until a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloading_a_template_refreshes_its_api_keys_and_plans() {
    let dir = temp_dir("reload-keys");
    let file = dir.join("template.yaml");
    let (old, new) = ("oldkeyvalue000000000000001", "newkeyvalue000000000000002");
    std::fs::write(&file, keyed_template(old)).expect("write");
    let emu = Emulator::start(&[
        "-t",
        file.to_str().expect("utf8"),
        "--usage-store",
        "memory",
    ]);
    let url = emu.url("/report");
    let with_key = |k: &'static str| {
        let url = url.clone();
        async move { send("GET", &url, &[("x-api-key", k)], "").await.status }
    };
    assert_eq!(with_key(old).await, 200);
    assert_eq!(with_key(new).await, 403);

    replace(&file, &keyed_template(new));
    eventually("the new key", async || with_key(new).await == 200).await;
    assert_eq!(
        with_key(old).await,
        403,
        "the old value is gone with the edit"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn definition_edits_swap_the_api_and_broken_edits_keep_the_last_good_one() {
    let dir = temp_dir("reload-api");
    let file = dir.join("api.yaml");
    std::fs::write(&file, mock_api(&[("/a", "{\"v\":1}")])).expect("write");
    let emu = Emulator::start(&["--openapi", file.to_str().expect("utf8")]);
    assert_eq!(get(&emu.url("/a")).await.text(), r#"{"v":1}"#);
    assert_eq!(get(&emu.url("/b")).await.status, 403);

    replace(
        &file,
        &mock_api(&[("/a", "{\"v\":2}"), ("/b", "{\"b\":true}")]),
    );
    let url_b = emu.url("/b");
    eventually("the new route", async || get(&url_b).await.status == 200).await;
    assert_eq!(get(&emu.url("/a")).await.text(), r#"{"v":2}"#);

    replace(&file, "openapi: 3.0.1\ninfo: {title: broken\npaths: {}\n");
    eventually("the error report", async || {
        emu.stderr()
            .iter()
            .any(|l| l.contains("still serving the last good version"))
    })
    .await;
    assert!(emu
        .stderr()
        .iter()
        .any(|l| l.starts_with("error: ") && l.contains("api.yaml: invalid YAML")));
    assert_eq!(
        get(&emu.url("/b")).await.text(),
        r#"{"b":true}"#,
        "the last good API still answers"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

const BOOTSTRAP: &str = r#"#!/bin/sh
# A custom runtime in shell: the Runtime API contract with nothing but curl.
set -eu
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
  HEADERS="$(mktemp)"
  curl -sS -D "$HEADERS" -o /dev/null "$API/invocation/next"
  ID=$(grep -i '^lambda-runtime-aws-request-id:' "$HEADERS" | cut -d' ' -f2 | tr -d '\r\n')
  rm -f "$HEADERS"
  sleep 0.5
  curl -sS -o /dev/null -X POST "$API/invocation/$ID/response" -d '{"statusCode":200,"body":"VERSION"}'
done
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_edits_swap_processes_without_failing_in_flight_calls() {
    let dir = temp_dir("reload-fn");
    std::fs::create_dir_all(dir.join("fn")).expect("fn dir");
    let bootstrap = dir.join("fn/bootstrap");
    std::fs::write(&bootstrap, BOOTSTRAP.replace("VERSION", "v1")).expect("write");
    std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let template = dir.join("template.yaml");
    std::fs::write(
        &template,
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: fn\n      Runtime: provided.al2023\n      Handler: bootstrap\n      Timeout: 10\n      Events:\n        Get:\n          Type: Api\n          Properties: {Path: /f, Method: get}\n",
    )
    .expect("template");
    let emu = Emulator::start(&["-t", template.to_str().expect("utf8")]);
    assert_eq!(get(&emu.url("/f")).await.text(), "v1");

    // A call in flight when the code changes finishes on the old code...
    let url = emu.url("/f");
    let in_flight = tokio::spawn(async move { get(&url).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    replace(&bootstrap, &BOOTSTRAP.replace("VERSION", "v2"));
    let first = in_flight.await.expect("join");
    assert_eq!(first.status, 200, "not dropped: {}", first.text());
    assert_eq!(first.text(), "v1");

    // ...and later calls run the new code.
    let url = emu.url("/f");
    eventually("the new code", async || get(&url).await.text() == "v2").await;
    assert!(emu
        .stderr()
        .iter()
        .any(|l| l.contains("tollgate: Fn reloaded")));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sam_build_output_is_used_as_is() {
    let dir = temp_dir("sam-build");
    let built = dir.join(".aws-sam/build/Fn");
    std::fs::create_dir_all(&built).expect("dir");
    let bootstrap = built.join("bootstrap");
    std::fs::write(&bootstrap, BOOTSTRAP.replace("VERSION", "from-sam-build")).expect("write");
    std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let template = dir.join("template.yaml");
    std::fs::write(
        &template,
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: src\n      Runtime: provided.al2023\n      Handler: bootstrap\n      Events:\n        Get:\n          Type: Api\n          Properties: {Path: /f, Method: get}\n",
    )
    .expect("template");
    // Started from the project folder with the default (relative) template, as users do.
    let emu = Emulator::start_in(&dir, &[]);
    assert_eq!(get(&emu.url("/f")).await.text(), "from-sam-build");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A Python function whose template sets its handler, environment and timeout.
fn function_template(handler: &str, greeting: &str, timeout: u32) -> String {
    format!(
        r#"Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src
      Runtime: python3.12
      Handler: {handler}
      Timeout: {timeout}
      Environment:
        Variables:
          GREETING: {greeting}
      Events:
        Get:
          Type: Api
          Properties: {{Path: /f, Method: get}}
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_edit_to_a_function_restarts_it_with_the_new_configuration() {
    let dir = temp_dir("fn-config");
    std::fs::create_dir_all(dir.join("src")).expect("dir");
    std::fs::write(
        dir.join("src/app.py"),
        "import os, time\n\
         def plain(event, context):\n    return {'statusCode': 200, 'body': 'plain ' + os.environ['GREETING']}\n\
         def loud(event, context):\n    return {'statusCode': 200, 'body': 'LOUD ' + os.environ['GREETING']}\n\
         def slow(event, context):\n    time.sleep(2)\n    return {'statusCode': 200, 'body': 'slow'}\n",
    )
    .expect("code");
    let template = dir.join("template.yaml");
    std::fs::write(&template, function_template("app.plain", "hello", 5)).expect("template");
    let emu = Emulator::start_in(&dir, &[]);
    assert_eq!(get(&emu.url("/f")).await.text(), "plain hello");

    // Handler and Environment.
    replace(&template, &function_template("app.loud", "bonjour", 5));
    let url = emu.url("/f");
    eventually("the new handler and environment", async || {
        get(&url).await.text() == "LOUD bonjour"
    })
    .await;
    assert!(emu
        .stderr()
        .iter()
        .any(|l| l.contains("tollgate: Fn restarted with its new configuration")));

    // Timeout: a handler that takes 2 s now times out at 1 s.
    replace(&template, &function_template("app.slow", "x", 1));
    eventually("the new timeout", async || {
        let r = get(&url).await;
        r.status == 502
    })
    .await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_that_drops_routes_is_served_only_after_a_quiet_second() {
    let dir = temp_dir("reload-shrink");
    let file = dir.join("api.yaml");
    let all = [
        ("/a", "{\"v\":1}"),
        ("/b", "{\"v\":2}"),
        ("/c", "{\"v\":3}"),
    ];
    std::fs::write(&file, mock_api(&all[..2])).expect("write");
    let emu = Emulator::start(&["--openapi", file.to_str().expect("utf8")]);
    let status = |p: &str| {
        let url = emu.url(p);
        async move { get(&url).await.status }
    };
    assert_eq!(status("/b").await, 200);
    // A save caught half-way parses with fewer routes; the rest lands moments later.
    replace(&file, &mock_api(&all[..1]));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        status("/b").await,
        200,
        "the half-written file is not served"
    );
    replace(&file, &mock_api(&all));
    eventually("the finished save", async || status("/c").await == 200).await;
    assert_eq!(status("/b").await, 200);
    assert!(
        !emu.stderr().iter().any(|l| l.contains("fewer than")),
        "{:#?}",
        emu.stderr()
    );
    // A real removal is served once the file stays as it is, with a warning.
    replace(&file, &mock_api(&all[..1]));
    eventually("the smaller API", async || status("/b").await == 403).await;
    assert!(
        emu.stderr()
            .iter()
            .any(|l| l.contains("1 routes, 2 fewer than the 3 served until now")),
        "{:#?}",
        emu.stderr()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
