//! Request validation end to end (aws-behaviour §8): required parameters first (present and not
//! blank, listed in AWS's order), then the body against its JSON Schema model with `$ref`s
//! between models; the BAD_REQUEST_BODY gateway response sees the details. SAM's
//! RequestModel/RequestParameters produce the same checks.

use tollgate_tests::{fixture, send, Emulator};

fn emulator() -> Emulator {
    let f = fixture("e2e/validation.yaml");
    Emulator::start(&["--openapi", f.to_str().expect("utf8")])
}

const GOOD: &str = r#"{"name": "rex", "price": 10, "tag": {"name": "dog"}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_parameters_are_listed_in_aws_order() {
    let emu = emulator();
    let r = send(
        "POST",
        &emu.url("/pets/7?qs1="),
        &[("content-type", "application/json")],
        GOOD,
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        r#"{"message":"Missing required request parameters: [x-header-param, qs1]"}"#,
        "a blank value counts as missing; header sorts before querystring"
    );
    assert_eq!(r.header("x-amzn-errortype"), Some("BadRequestException"));

    // Parameters are checked before the body: a bad body does not change the answer.
    let r = send(
        "POST",
        &emu.url("/pets/7"),
        &[("x-header-param", "h")],
        "not json",
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        r#"{"message":"Missing required request parameters: [qs1]"}"#
    );

    let r = send(
        "POST",
        &emu.url("/pets/7?qs1=a"),
        &[
            ("x-header-param", "h"),
            ("content-type", "application/json"),
        ],
        GOOD,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), r#"{"stored": true}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_are_checked_against_their_models() {
    let emu = emulator();
    let post = |body: &'static str| {
        let url = emu.url("/pets/7?qs1=a");
        async move {
            send(
                "POST",
                &url,
                &[
                    ("x-header-param", "h"),
                    ("content-type", "application/json"),
                ],
                body,
            )
            .await
        }
    };
    // The API overrides BAD_REQUEST_BODY: status 422 and the validation details.
    let r = post(r#"{"name": "rex"}"#).await;
    assert_eq!(r.status, 422);
    // The details are substituted as text (gateway-response templates are not VTL), so
    // quotes inside them are not escaped, as on AWS.
    let text = r.text();
    assert!(
        text.starts_with(r#"{"message": "Invalid request body", "details": "["#),
        "{text}"
    );
    assert!(text.contains("price"), "details name the problem: {text}");
    // A model referenced from another model is enforced too.
    let r = post(r#"{"name": "rex", "price": 1, "tag": {"name": ""}}"#).await;
    assert_eq!(r.status, 422, "{}", r.text());
    let r = post(r#"{"name": "rex", "price": -1}"#).await;
    assert_eq!(r.status, 422);
    let r = post("{not json").await;
    assert_eq!(r.status, 422);
    // An empty body is validated as {} and misses the required properties.
    let r = post("").await;
    assert_eq!(r.status, 422);
    let r = post(GOOD).await;
    assert_eq!(r.status, 200);
    // minItems/maxItems are not enforced by API Gateway's basic validation (aws-behaviour §8); the
    // items themselves are.
    let r = post(r#"{"name": "rex", "price": 1, "tags": []}"#).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = post(r#"{"name": "rex", "price": 1, "tags": [{}]}"#).await;
    assert_eq!(r.status, 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_method_validator_overrides_the_default() {
    let emu = emulator();
    // params-only: the body is not checked, the parameters are.
    let r = send("POST", &emu.url("/lenient?q=1"), &[], "{}").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send("POST", &emu.url("/lenient"), &[], "{}").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        r#"{"message":"Missing required request parameters: [q]"}"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sam_request_model_and_parameters_validate() {
    let t = fixture("e2e/sam_validation.yaml");
    let emu = Emulator::start(&["-t", t.to_str().expect("utf8"), "--skip-build"]);
    let url = emu.url("/orders/echo");
    let r = send(
        "POST",
        &url,
        &[("content-type", "application/json")],
        r#"{"item": "a", "quantity": 1}"#,
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        r#"{"message":"Missing required request parameters: [x-customer]"}"#
    );
    let r = send(
        "POST",
        &url,
        &[("content-type", "application/json"), ("x-customer", "c1")],
        r#"{"item": "a", "quantity": 0}"#,
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.text(), r#"{"message":"Invalid request body"}"#);
    let r = send(
        "POST",
        &url,
        &[("content-type", "application/json"), ("x-customer", "c1")],
        r#"{"item": "a", "quantity": 2}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let event: serde_json::Value = serde_json::from_str(&r.text()).expect("echoed event");
    assert_eq!(
        event["body"], r#"{"item": "a", "quantity": 2}"#,
        "the function saw the body"
    );
}
