//! The `tollgate` commands' output and exit codes.

use std::process::Command;

use tollgate_tests::{fixture, repo_root, tollgate_bin};

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(tollgate_bin())
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("run tollgate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn validate_the_example() {
    let (code, out, _) = run(&["validate"]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), "ok: 1 API, 14 routes");
}

#[test]
fn validate_reports_every_error_and_fails() {
    let bad = fixture("broken/bad_paths.yaml");
    let (code, out, err) = run(&["validate", "--openapi", bad.to_str().expect("utf8")]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 3, "{err}");
    // Each names the file, line and column, then the operation.
    for (line, col) in [(5, 5), (9, 5), (17, 5)] {
        assert!(
            errors
                .iter()
                .any(|l| l.contains(&format!("bad_paths.yaml:{line}:{col}: /paths/"))),
            "{err}"
        );
    }
    assert!(err.trim_end().ends_with("3 errors found"), "{err}");
}

#[test]
fn validate_lists_warnings_and_strict_fails_on_them() {
    let lenient = fixture("lenient/openapi.yaml");
    let file = lenient.to_str().expect("utf8");
    let (code, out, err) = run(&["validate", "--openapi", file]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("ok: 1 API"), "{out}");
    let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("warning: ")).collect();
    assert!(
        warnings.iter().any(|l| l.contains("openapi.yaml:")
            && l.contains("No integration defined for method")),
        "{err}"
    );
    let (strict, out, err) = run(&["validate", "--strict", "--openapi", file]);
    assert_eq!(strict, 1, "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.trim_end().ends_with(&format!(
            "{} warnings found; --strict fails on warnings",
            warnings.len()
        )),
        "{err}"
    );
}

#[test]
fn routes_prints_the_table() {
    let (code, out, _) = run(&["routes"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("API") && lines[0].contains("INTEGRATION"),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == [
                    "OrdersApi",
                    "REST",
                    "Prod",
                    "ANY",
                    "/inventory/{proxy+}",
                    "HTTP_PROXY",
                    "${stageVariables.inventoryService}/{proxy}"
                ]),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == [
                    "OrdersApi",
                    "REST",
                    "Prod",
                    "GET",
                    "/dashboard/{userId}",
                    "AGGREGATE",
                    "profile,orders,notifications"
                ]),
        "{out}"
    );
    assert_eq!(lines.len(), 15, "{out}");
}

#[test]
fn bad_flags_name_the_problem() {
    let (code, _, err) = run(&["start-api", "-t", "no/such/template.yaml"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no/such/template.yaml: no such template. Pass -t/--template FILE, or serve an OpenAPI file with --openapi FILE"),
        "{err}"
    );
    let (code, _, err) = run(&[
        "validate",
        "--openapi",
        "openapi/orders.yaml",
        "--parameter-overrides",
        "A=b",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("--parameter-overrides applies to templates"),
        "{err}"
    );
    let (code, _, err) = run(&["validate", "--parameter-overrides", "Broken"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("--parameter-overrides: `Broken`: expected KEY=VALUE"),
        "{err}"
    );
}

#[test]
fn a_stage_variable_the_stage_lacks_fails_only_its_routes() {
    // AWS loads such an API and answers 500 on the routes that use the variable: a warning,
    // which --strict turns into a failure.
    let (code, out, err) = run(&["validate", "--openapi", "openapi/orders.yaml"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ok: 1 API"), "{out}");
    assert!(
        err.contains("uses ${stageVariables.ordersService}, which stage `Prod` does not define")
            && err.contains("answers 500"),
        "{err}"
    );
    let (code, _, _) = run(&["validate", "--strict", "--openapi", "openapi/orders.yaml"]);
    assert_eq!(code, 1);
    let (code, out, _) = run(&[
        "validate",
        "--openapi",
        "openapi/orders.yaml",
        "--stage-variable",
        "ordersService=http://127.0.0.1:1",
        "--stage-variable",
        "inventoryService=http://127.0.0.1:2",
    ]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), "ok: 1 API, 14 routes");
}

#[test]
fn generate_event_builds_events_functions_can_read() {
    let (code, out, _) = run(&[
        "generate-event",
        "apigateway",
        "aws-proxy",
        "--method",
        "GET",
        "--path",
        "/orders/42?x=1",
        "--resource",
        "/orders/{id}",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["pathParameters"]["id"], "42");
    assert_eq!(v["queryStringParameters"]["x"], "1");
    assert_eq!(v["requestContext"]["path"], "/prod/orders/42");
    serde_json::from_value::<aws_lambda_events::apigw::ApiGatewayProxyRequest>(v)
        .expect("REST shape");

    let (code, out, _) = run(&["generate-event", "apigateway", "http-api"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["version"], "2.0");
    assert_eq!(v["body"], r#"{"test":"body"}"#);
    serde_json::from_value::<aws_lambda_events::apigw::ApiGatewayV2httpRequest>(v)
        .expect("v2 shape");

    let (code, _, err) = run(&[
        "generate-event",
        "apigateway",
        "aws-proxy",
        "--path",
        "/a",
        "--resource",
        "/b",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("--path /a does not match --resource /b"),
        "{err}"
    );
}

#[test]
fn invoke_runs_a_function_once() {
    let t = fixture("e2e/lambda.yaml");
    let t = t.to_str().expect("utf8");
    let dir = std::env::temp_dir().join(format!("tollgate-invoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let ok = dir.join("ok.json");
    std::fs::write(&ok, r#"{"path":"/x/pid","httpMethod":"GET"}"#).expect("write");
    let (code, out, _) = run(&[
        "invoke",
        "Conformance",
        "-t",
        t,
        "--skip-build",
        "-e",
        ok.to_str().expect("utf8"),
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("json");
    assert_eq!(v["statusCode"], 200);

    let fail = dir.join("fail.json");
    std::fs::write(&fail, r#"{"path":"/fail"}"#).expect("write");
    let (code, out, _) = run(&[
        "invoke",
        "Conformance",
        "-t",
        t,
        "--skip-build",
        "-e",
        fail.to_str().expect("utf8"),
    ]);
    assert_eq!(code, 1, "a function error exits 1");
    assert!(out.contains("\"errorMessage\":\"boom\""), "{out}");

    let (code, _, err) = run(&["invoke", "Missing", "-t", t, "--skip-build"]);
    assert_eq!(code, 1);
    assert!(
        err.contains(
            "has no function `Missing` (it has: Conformance, Single, BrokenInit, Hello, PyHello)"
        ),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_official_runtime_client_names_the_package_and_stops_only_its_function() {
    let dir = std::env::temp_dir().join(format!("tollgate-node-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("fn")).expect("dir");
    std::fs::write(
        dir.join("fn/index.js"),
        "exports.handler = async () => ({statusCode: 200, body: 'node'});\n",
    )
    .expect("code");
    let template = dir.join("template.yaml");
    std::fs::write(
        &template,
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  NodeFn:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: fn\n      Runtime: nodejs20.x\n      Handler: index.handler\n      Events:\n        Get:\n          Type: Api\n          Properties: {Path: /n, Method: get}\n  Mock:\n    Type: AWS::Serverless::Api\n    Properties:\n      StageName: Prod\n      DefinitionBody:\n        openapi: 3.0.1\n        info: {title: m, version: '1'}\n        paths:\n          /m:\n            get:\n              responses: {}\n              x-amazon-apigateway-integration:\n                type: mock\n                requestTemplates: {application/json: '{\"statusCode\": 200}'}\n                responses: {default: {statusCode: '200'}}\n",
    )
    .expect("write");
    let t = template.to_str().expect("utf8");
    let e = tollgate_tests::Emulator::start(&["-t", t, "--runtime-client", "official"]);
    let err = e.stderr();
    assert!(
        err.iter().any(|l| l.contains("warning: function NodeFn: --runtime-client official: runtime nodejs20.x needs the aws-lambda-ric package: run `npm install aws-lambda-ric`")),
        "{err:#?}"
    );
    assert_eq!(tollgate_tests::get(&e.url("/n")).await.status, 500);
    assert_eq!(tollgate_tests::get(&e.url("/m")).await.status, 200);
    // The built-in client (the default) needs nothing installed.
    let builtin = tollgate_tests::Emulator::start(&["-t", t]);
    assert_eq!(tollgate_tests::get(&builtin.url("/n")).await.text(), "node");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn keys_create_list_and_usage() {
    let dir = std::env::temp_dir().join(format!("tollgate-keys-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let file = dir.join("keys.json");
    let f = file.to_str().expect("utf8");
    let (code, out, err) = run(&[
        "keys", "create", "--name", "dev", "--plan", "Plan", "--file", f,
    ]);
    assert_eq!(code, 0, "{err}");
    let value = out.trim().to_string();
    assert_eq!(value.len(), 40);
    assert!(value.chars().all(|c| c.is_ascii_alphanumeric()));
    let (code, _, err) = run(&["keys", "create", "--name", "dev", "--file", f]);
    assert_eq!(code, 1);
    assert!(err.contains("a key named dev already exists"), "{err}");

    let t = fixture("e2e/usage.yaml");
    let (code, out, _) = run(&["keys", "list", "--file", f, "-t", t.to_str().expect("utf8")]);
    assert_eq!(code, 0);
    assert!(
        out.lines()
            .any(|l| l == format!("dev\tenabled\tPlan\t{value}")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("DisabledKey\tdisabled\tPlan\t")),
        "{out}"
    );

    let state = dir.join("state");
    let (code, out, err) = run(&[
        "keys",
        "usage",
        "--file",
        f,
        "-t",
        t.to_str().expect("utf8"),
        "--state-dir",
        state.to_str().expect("utf8"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().any(|l| l == "dev\tPlan\t0/5 this Day"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A template with one function behind a route and one that no route calls (its crate does not
/// exist, so preparing it would fail the start).
fn one_used_function(dir: &std::path::Path) -> std::path::PathBuf {
    let conformance = repo_root().join("functions/conformance");
    let file = dir.join("template.yaml");
    std::fs::write(
        &file,
        format!(
            r#"Transform: AWS::Serverless-2016-10-31
Resources:
  Used:
    Type: AWS::Serverless::Function
    Metadata: {{BuildMethod: rust-cargolambda}}
    Properties:
      CodeUri: {}
      Runtime: provided.al2023
      Handler: bootstrap
      Events:
        Get: {{Type: Api, Properties: {{Path: /used, Method: get}}}}
  Unused:
    Type: AWS::Serverless::Function
    Metadata: {{BuildMethod: rust-cargolambda}}
    Properties:
      CodeUri: no-such-crate/
      Runtime: provided.al2023
      Handler: bootstrap
  Key:
    Type: AWS::ApiGateway::ApiKey
    Properties: {{Name: demo, Enabled: true, Value: demokey0000000000000000001}}
"#,
            conformance.display()
        ),
    )
    .expect("template");
    file
}

#[test]
fn start_api_runs_only_the_functions_routes_call_and_ends_with_what_to_use() {
    let dir = std::env::temp_dir().join(format!("tollgate-start-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let t = one_used_function(&dir);
    let t = t.to_str().expect("utf8");

    let emu = tollgate_tests::Emulator::start(&["-t", t, "--skip-build"]);
    // The reader thread reports the address before it stores the line: wait for the line.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let err = loop {
        let err = emu.stderr();
        if err.iter().any(|l| l.starts_with("tollgate listening on")) {
            break err;
        }
        assert!(std::time::Instant::now() < deadline, "{err:?}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let last = err.last().expect("output");
    assert!(
        last.starts_with("tollgate listening on http://127.0.0.1:"),
        "the listening address comes last: {err:?}"
    );
    // The banner's tail: the API's URL, then the keys, then where it listens.
    let url = err
        .iter()
        .position(|l| l.starts_with("REST API ServerlessRestApi (stage Prod): http://"))
        .expect("the API's URL");
    let key = err
        .iter()
        .position(|l| l == "API key demo (Key): demokey0000000000000000001, plans: none")
        .expect("the key");
    assert!(url < key && key < err.len() - 1, "{err:?}");
    assert!(
        !err.iter().any(|l| l.contains("Runtime API")),
        "internal addresses only with -v: {err:?}"
    );
    drop(emu);

    let verbose = tollgate_tests::Emulator::start(&["-t", t, "--skip-build", "-v"]);
    let err = verbose.stderr();
    assert!(
        err.iter().any(|l| l.contains("not built or started")
            && l.contains("Unused")
            && !l.contains("Used,")),
        "{err:?}"
    );
    assert!(
        err.iter()
            .any(|l| l.contains("Lambda Runtime API for 1 function: one loopback port per process")),
        "{err:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    // `tollgate generate-event ... | head -0`: the reader is gone before anything is written.
    let mut child = std::process::Command::new(tollgate_tests::tollgate_bin())
        .args(["generate-event", "apigateway", "aws-proxy"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}
