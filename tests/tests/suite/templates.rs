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

fn json(r: &tollgate_tests::Reply) -> serde_json::Value {
    serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", r.text()))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_cloudformation_rest_api_is_served_from_its_resources_and_methods() {
    let dir = project("templates/cfn-rest");
    let e = Emulator::start_in(&dir, &["-t", "template.yaml"]);
    const KEY: (&str, &str) = ("x-api-key", "cfn-key-value-0123456789");

    // AWS_PROXY through !Sub, behind an API key whose plan (from AWS::ApiGateway::UsagePlan)
    // allows two calls a day; the stage is the AWS::ApiGateway::Stage's.
    let no_key = get(&e.url("/pets")).await;
    assert_eq!(
        (no_key.status.as_u16(), no_key.text().as_str()),
        (403, r#"{"message":"Forbidden"}"#)
    );
    let pets = send("GET", &e.url("/pets"), &[KEY], "").await;
    assert_eq!(
        json(&pets),
        serde_json::json!({"greeting": "hello", "path": "/pets", "resource": "/pets",
                           "stage": "v1", "principal": null})
    );
    assert_eq!(send("GET", &e.url("/pets"), &[KEY], "").await.status, 200);
    let over = send("GET", &e.url("/pets"), &[KEY], "").await;
    assert_eq!(
        (over.status.as_u16(), over.text().as_str()),
        (429, r#"{"message":"Limit Exceeded"}"#)
    );

    // A MOCK method whose body is checked against an AWS::ApiGateway::Model by the
    // AWS::ApiGateway::RequestValidator it names.
    let invalid = send(
        "POST",
        &e.url("/pets"),
        &[("content-type", "application/json")],
        "{}",
    )
    .await;
    assert_eq!(
        (invalid.status.as_u16(), invalid.text().as_str()),
        (400, r#"{"message":"Invalid request body"}"#)
    );
    let created = send(
        "POST",
        &e.url("/pets"),
        &[("content-type", "application/json")],
        r#"{"name": "Rex"}"#,
    )
    .await;
    assert_eq!(created.status.as_u16(), 201);
    assert_eq!(created.text(), r#"{"created": true, "stage": "v1"}"#);

    // Non-proxy Lambda through !Join, a local Code folder, a request template reading a path
    // parameter and a stage variable, a response header mapped from a constant.
    let pet = get(&e.url("/pets/7")).await;
    assert_eq!(pet.status.as_u16(), 200, "{}", pet.text());
    assert_eq!(pet.header("x-pet"), Some("yes"));
    assert_eq!(
        json(&pet),
        serde_json::json!({"pet": "7", "stage": "cfn", "via": "non-proxy"})
    );

    // A TOKEN authorizer from AWS::ApiGateway::Authorizer, its function written inline.
    let secure = |token: &'static str| {
        let url = e.url("/secure");
        async move { send("GET", &url, &[("authorization", token)], "").await }
    };
    assert_eq!(secure("wrong").await.status.as_u16(), 403);
    let allowed = secure("let-me-in").await;
    assert_eq!(json(&allowed)["principal"], "cfn-user");
    let anonymous = get(&e.url("/secure")).await;
    assert_eq!(
        (anonymous.status.as_u16(), anonymous.text().as_str()),
        (401, r#"{"message":"Unauthorized"}"#)
    );

    // The AWS::ApiGateway::GatewayResponse replaces the missing-route answer.
    let missing = get(&e.url("/nowhere")).await;
    assert_eq!(
        (missing.status.as_u16(), missing.text().as_str()),
        (404, r#"{"error": "not here"}"#)
    );
    assert_eq!(missing.header("x-why"), Some("no-such-route"));

    // Two more APIs: one with an inline Body (stage from its Deployment), one whose
    // BodyS3Location is a file beside the template.
    let inline = get(&e.url("/inline")).await;
    assert_eq!(json(&inline)["stage"], "live");
    let file = get(&e.url("/file")).await;
    assert_eq!(file.text(), r#"{"from": "BodyS3Location"}"#);
}
