//! Templates as users have them, served through real requests: what API Gateway's import and SAM
//! CLI tolerate, plain CloudFormation, CDK output and nested stacks. Each test copies its fixture
//! folder and starts `tollgate` there with relative paths, as a user does.

use tollgate_tests::jwt::sign;
use tollgate_tests::{get, project, send, Emulator, JwksServer, Upstream};

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
    // The COGNITO_USER_POOLS authorizer's pool publishes its keys here (as a local file).
    let issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_cfn";
    let jwks = format!(
        "{issuer}={}",
        tollgate_tests::fixture("jwt/jwks1.json").display()
    );
    let e = Emulator::start_in(&dir, &["-t", "template.yaml", "--jwks", &jwks]);
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
    // The Stage's MethodSettings throttle this method alone (burst 1, `/~1pets~1{id}`).
    let throttled = get(&e.url("/pets/8")).await;
    assert_eq!(
        (throttled.status.as_u16(), throttled.text().as_str()),
        (429, r#"{"message":"Too Many Requests"}"#)
    );

    // A non-proxy GET with no body and no template: the function receives `{}`.
    let plain = get(&e.url("/plain")).await;
    assert_eq!(
        json(&plain),
        serde_json::json!({"pet": null, "stage": null, "via": "non-proxy"})
    );

    // A Lambda integration that maps a header it may not be given answers 500 on every call.
    let forbidden = get(&e.url("/forbidden")).await;
    assert_eq!(
        (forbidden.status.as_u16(), forbidden.text().as_str()),
        (500, r#"{"message": "Internal server error"}"#)
    );

    // Code.ZipFile in Node.js, and a URI naming an AWS::Lambda::Alias.
    assert_eq!(get(&e.url("/node")).await.text(), "node zipfile /node");
    assert_eq!(json(&get(&e.url("/alias")).await)["resource"], "/alias");

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

    // A COGNITO_USER_POOLS authorizer from its ProviderARNs, and a Lambda REQUEST authorizer.
    assert_eq!(get(&e.url("/pool")).await.status.as_u16(), 401);
    let token = sign(
        "key1",
        &serde_json::json!({"sub": "pool-user", "iss": issuer, "token_use": "id"}),
    );
    let pool = send("GET", &e.url("/pool"), &[("authorization", &token)], "").await;
    assert_eq!(pool.status.as_u16(), 200, "{}", pool.text());
    let team = |t: Option<&'static str>| {
        let url = e.url("/team");
        async move {
            let headers: Vec<(&str, &str)> = t.map(|t| ("x-team", t)).into_iter().collect();
            send("GET", &url, &headers, "").await
        }
    };
    assert_eq!(json(&team(Some("blue")).await)["principal"], "team-blue");
    assert_eq!(team(Some("red")).await.status.as_u16(), 403);
    // With caching off (TTL 0) identity sources are optional: the authorizer still runs, and
    // denies.
    assert_eq!(team(None).await.status.as_u16(), 403);

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

#[tokio::test(flavor = "multi_thread")]
async fn plain_cloudformation_http_apis_are_served_from_routes_a_body_and_quick_create() {
    let dir = project("templates/cfn-http");
    let e = Emulator::start_in(&dir, &["-t", "template.yaml"]);

    // A Route whose Target names an Integration; the Stage's variables reach the event, and its
    // RouteSettings throttle this route alone (burst 1).
    let item = get(&e.url("/items/1")).await;
    assert_eq!(
        json(&item),
        serde_json::json!({"route": "GET /items/{id}", "stage": "$default", "colour": "blue", "who": null})
    );
    let throttled = get(&e.url("/items/2")).await;
    assert_eq!(
        (throttled.status.as_u16(), throttled.text().as_str()),
        (429, r#"{"message":"Too Many Requests"}"#)
    );

    // A Lambda REQUEST authorizer with simple responses, from AWS::ApiGatewayV2::Authorizer.
    let private = |token: Option<&'static str>| {
        let url = e.url("/private");
        async move {
            let headers: Vec<(&str, &str)> = token.map(|t| ("x-token", t)).into_iter().collect();
            send("POST", &url, &headers, "").await
        }
    };
    let allowed = private(Some("open-sesame")).await;
    assert_eq!(json(&allowed)["who"], "cfn-http");
    assert_eq!(private(Some("wrong")).await.status.as_u16(), 403);
    assert_eq!(private(None).await.status.as_u16(), 401);

    // The Body API's declared route is found though another API on the port has $default, and
    // its uri is the function's own ARN, as HTTP APIs allow.
    let body = get(&e.url("/from-body")).await;
    assert_eq!(json(&body)["route"], "GET /from-body");
    assert_eq!(json(&get(&e.url("/elsewhere")).await)["route"], "$default");

    // Quick create: Target makes a $default route and stage; CorsConfiguration applies.
    let quick = send(
        "GET",
        &e.url("/anything"),
        &[
            ("host", "quickapi.localhost"),
            ("origin", "https://example.com"),
        ],
        "",
    )
    .await;
    assert_eq!(json(&quick)["colour"], serde_json::Value::Null);
    assert_eq!(
        quick.header("access-control-allow-origin"),
        Some("https://example.com")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cdk_rest_stack_output_is_served_with_its_asset_code() {
    let dir = project("cdk");
    let e = Emulator::start_in(&dir, &["-t", "cdk.out/RestStack.template.json"]);
    const KEY: (&str, &str) = ("x-api-key", "cdk-key-value-0123456789");
    // RestApi + LambdaIntegration, the function's code from its aws:asset:path folder, behind
    // the usage plan's key.
    assert_eq!(get(&e.url("/pets")).await.status.as_u16(), 403);
    let pets = send("GET", &e.url("/pets"), &[KEY], "").await;
    assert_eq!(
        json(&pets),
        serde_json::json!({"table": "pets-table", "version": "1.0", "route": "/pets",
                           "stage": "dev", "principal": null, "subject": null})
    );
    assert_eq!(json(&get(&e.url("/pets/3")).await)["route"], "/pets/{id}");
    // The TokenAuthorizer.
    let secure = send(
        "GET",
        &e.url("/secure"),
        &[("authorization", "Bearer cdk-token")],
        "",
    )
    .await;
    assert_eq!(json(&secure)["principal"], "cdk-user");
    let denied = send(
        "GET",
        &e.url("/secure"),
        &[("authorization", "Bearer other")],
        "",
    )
    .await;
    assert_eq!(denied.status.as_u16(), 403);
    // SpecRestApi with an inline OpenAPI body, its uri written with Fn::Sub.
    assert_eq!(json(&get(&e.url("/spec")).await)["stage"], "spec");
    // A NestedStack: its template found through the asset metadata, a parameter passed down.
    let nested = get(&e.url("/nested")).await;
    assert_eq!(
        (
            json(&nested)["table"].as_str(),
            json(&nested)["stage"].as_str()
        ),
        (Some("nested-table"), Some("nested")),
        "{}",
        nested.text()
    );
    // Nothing about CDK's own resources and parameters is worth a warning.
    assert!(
        warnings(&e).iter().all(|w| w.contains("no `responses`")),
        "{:#?}",
        warnings(&e)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn cdk_http_stack_output_is_served_with_its_jwt_authorizer() {
    let idp = JwksServer::start("jwt/jwks1.json").await;
    let issuer = idp.issuer();
    let dir = project("cdk");
    let overrides = format!("JwtIssuer={issuer}");
    // The legacy synthesizer's asset parameters have no Default and need none.
    let e = Emulator::start_in(
        &dir,
        &[
            "-t",
            "cdk.out/HttpStack.template.json",
            "--parameter-overrides",
            &overrides,
        ],
    );
    assert_eq!(warnings(&e), Vec::<String>::new());
    let open = get(&e.url("/open")).await;
    assert_eq!(json(&open)["route"], "GET /open");
    assert_eq!(json(&open)["version"], "2.0");
    let anonymous = get(&e.url("/notes/1")).await;
    assert_eq!(
        (anonymous.status.as_u16(), anonymous.text().as_str()),
        (401, r#"{"message":"Unauthorized"}"#)
    );
    let token = sign(
        "key1",
        &serde_json::json!({"iss": issuer, "aud": "tollgate-tests", "sub": "cdk-subject"}),
    );
    let bearer = format!("Bearer {token}");
    let notes = send("GET", &e.url("/notes/1"), &[("authorization", &bearer)], "").await;
    assert_eq!(json(&notes)["subject"], "cdk-subject", "{}", notes.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn nested_stacks_serve_every_api_with_parameters_and_outputs_passed_between_them() {
    let dir = project("templates/nested");
    // Default flags: template.yaml in the folder it is started from.
    let e = Emulator::start_in(&dir, &[]);
    // The root's own API; its stage variable is a child's output.
    let root = get(&e.url("/root")).await;
    let backend_api = json(&root)["backend"]["backendApi"].clone();
    assert!(
        backend_api.as_str().is_some_and(|s| s.len() == 10),
        "{}",
        root.text()
    );
    // The SAM application's API, its function run from the child's own folder with the
    // parameters the root passed (a list arrives comma-separated, as CloudFormation passes it).
    let hello = get(&e.url("/hello")).await;
    assert_eq!(
        json(&hello),
        serde_json::json!({"greeting": "hello", "colour": "green", "resource": "/hello"})
    );
    // The plain CloudFormation stack's API calls the application's function through the
    // output the root passed down as a parameter.
    let front = get(&e.url("/front")).await;
    assert_eq!(json(&front)["resource"], "/front", "{}", front.text());
    // A child's API is also reachable by its own Host label.
    let by_host = send(
        "GET",
        &e.url("/hello"),
        &[("host", "backend-serverlessrestapi.localhost")],
        "",
    )
    .await;
    assert_eq!(by_host.status.as_u16(), 200);
    let w = warnings(&e);
    assert!(
        w.iter().any(|l| l.contains(
            "/Resources/FromRepository/Properties/Location: names an application in the Serverless Application Repository"
        )),
        "{w:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn slips_that_would_change_behaviour_silently_are_named_and_fail_only_themselves() {
    let dir = project("templates/diagnostics");
    let e = Emulator::start_in(&dir, &[]);
    let w = warnings(&e);
    for expected in [
        "template.yaml:13:16: /Resources/Good/Properties/Events/Typo/Type: `HttpAPI` is not an event type (did you mean `HttpApi`?): the event is ignored",
        "template.yaml:31:5: /Resources/Misspelt/Type: `AWS::Serverless::Functon` is not a type tollgate knows (did you mean `AWS::Serverless::Function`?)",
        "template.yaml:19:7: /Resources/Java/Properties/Runtime: `java21` is not supported locally; supported: python3.x, nodejs18.x and later, provided.al2 and provided.al2023",
        "/Resources/Missing/Properties/CodeUri: its code folder `nowhere/` does not exist (looked for ",
        "/Resources/Undeclared/Condition: condition `NotDeclared` is not declared under Conditions",
    ] {
        assert!(
            w.iter().any(|l| l.contains(expected)),
            "no warning {expected:?} in {w:#?}"
        );
    }
    assert_eq!(get(&e.url("/good")).await.text(), "ok");
    for path in ["/java", "/missing"] {
        let r = get(&e.url(path)).await;
        assert_eq!(
            (r.status.as_u16(), r.text().as_str()),
            (500, r#"{"message": "Internal server error"}"#),
            "{path}"
        );
    }
    // The misspelt event made no route.
    assert_eq!(get(&e.url("/typo")).await.status.as_u16(), 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stage_variable_the_stage_lacks_fails_only_the_route_that_uses_it() {
    let dir = project("lenient");
    let e = Emulator::start_in(
        &dir,
        &["--openapi", "stage-variables.yaml", "--api-type", "rest"],
    );
    let broken = get(&e.url("/x")).await;
    assert_eq!(
        (broken.status.as_u16(), broken.text().as_str()),
        (500, r#"{"message": "Internal server error"}"#)
    );
    assert_eq!(get(&e.url("/ok")).await.status, 200);
    assert!(
        warnings(&e).iter().any(|w| w.contains(
            "stage-variables.yaml:12:9: /paths/~1x/get/x-amazon-apigateway-integration/uri: uses ${stageVariables.backend}, which stage `Prod` does not define"
        )),
        "{:#?}",
        warnings(&e)
    );
}
