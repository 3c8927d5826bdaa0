//! Templates as users have them, served through real requests: what API Gateway's import and SAM
//! CLI tolerate, plain CloudFormation, CDK output and nested stacks. Each test copies its fixture
//! folder and starts `tollgate` there with relative paths, as a user does.

use tollgate_tests::{get, project, send, Emulator, Upstream};

fn warnings(e: &Emulator) -> Vec<String> {
    e.stderr()
        .into_iter()
        .filter(|l| l.starts_with("warning: "))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_openapi_file_with_what_the_import_tolerates_serves_every_route() {
    let dir = project("lenient");
    let e = Emulator::start_in(&dir, &["--openapi", "openapi.yaml", "--api-type", "rest"]);
    let w = warnings(&e);
    // The working route answers; each unservable one answers as AWS does when the integration
    // fails, and start-up said why, where.
    let ok = get(&e.url("/health")).await;
    assert_eq!(
        (ok.status.as_u16(), ok.text().as_str()),
        (200, r#"{"ok": true}"#)
    );
    for (method, path) in [("GET", "/pets"), ("POST", "/pets"), ("POST", "/orders")] {
        let r = send(method, &e.url(path), &[], "{}").await;
        assert_eq!(r.status.as_u16(), 500, "{method} {path}");
        assert_eq!(r.text(), r#"{"message": "Internal server error"}"#);
        assert_eq!(
            r.header("x-amzn-errortype"),
            Some("InternalServerErrorException")
        );
    }
    for expected in [
        "openapi.yaml:18:5: /paths/~1pets/get: No integration defined for method",
        "openapi.yaml:39:7: /paths/~1orders/post/x-amazon-apigateway-integration: POST /orders integrates with sqs",
        "openapi.yaml:20:9: /paths/~1pets/get/security: `undeclared` is not a security scheme",
        "openapi.yaml:7:5: /paths/~1health/get: no `responses`",
        "openapi.yaml: no info.title or info.version",
    ] {
        assert!(
            w.iter().any(|l| l.contains(expected)),
            "no warning {expected:?} in {w:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn mock_missing_answers_each_operations_documented_example() {
    let dir = project("lenient");
    let e = Emulator::start_in(
        &dir,
        &[
            "--openapi",
            "openapi.yaml",
            "--api-type",
            "rest",
            "--mock-missing",
        ],
    );
    // From the schema, through the $ref.
    let pets = get(&e.url("/pets")).await;
    assert_eq!(pets.status.as_u16(), 200);
    assert_eq!(pets.header("content-type"), Some("application/json"));
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&pets.body).expect("JSON"),
        serde_json::json!([{"id": 0, "name": "Rex"}])
    );
    // The written example, with its documented status.
    let created = send("POST", &e.url("/pets"), &[], "{}").await;
    assert_eq!(created.status.as_u16(), 201);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&created.body).expect("JSON"),
        serde_json::json!({"id": 7, "name": "Rex"})
    );
    // An integration that exists is still what answers.
    assert_eq!(get(&e.url("/health")).await.text(), r#"{"ok": true}"#);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sam_template_with_one_broken_route_serves_the_others() {
    let up = Upstream::start().await;
    let dir = project("lenient");
    let overrides = format!("Upstream={}", up.base());
    let e = Emulator::start_in(&dir, &["--parameter-overrides", &overrides]);
    let w = warnings(&e);
    let ok = get(&e.url("/up/hello")).await;
    assert_eq!(ok.status.as_u16(), 200, "{}", ok.text());
    assert_eq!(up.last().target, "/hello");
    for (method, path) in [("GET", "/gone"), ("POST", "/queue")] {
        let r = send(method, &e.url(path), &[], "{}").await;
        assert_eq!(
            (r.status.as_u16(), r.text().as_str()),
            (500, r#"{"message":"Internal Server Error"}"#),
            "{method} {path}"
        );
    }
    for expected in [
        "template.yaml:10:3: /Parameters/VpcId: parameter `VpcId` has no Default and no value (pass --parameter-overrides VpcId=VALUE); used at line 17 (/Resources/Security/Properties/VpcId/Ref)",
        "template.yaml:22:7: /Resources/Api/Properties/StageName: `StageName` is written twice (lines 21 and 22)",
        "/paths/~1gone/get/x-amazon-apigateway-integration/uri: uses `Removed.Arn`, which cannot be resolved: GET /gone answers 500",
        "POST /queue integrates with SQS-SendMessage",
        "/payloadFormatVersion: written as a number; read as the text \"1.0\"",
    ] {
        assert!(
            w.iter().any(|l| l.contains(expected)),
            "no warning {expected:?} in {w:#?}"
        );
    }
}
