//! Lambda authorizers end to end: real TOKEN and REQUEST authorizer functions
//! (`functions/test-authorizers`) in front of the conformance function, with AWS's exact statuses and
//! bodies for every outcome, caching shown by the authorizer's per-invocation nonce.

use serde_json::Value;
use tollgate_tests::{assert_rest_ids, fixture, send, Emulator, Reply};

fn emulator() -> Emulator {
    let t = fixture("e2e/auth.yaml");
    Emulator::start(&["-t", t.to_str().expect("utf8"), "--skip-build"])
}

async fn call(emu: &Emulator, path: &str, token: Option<&str>) -> Reply {
    let headers: Vec<(&str, &str)> = token
        .map(|t| vec![("authorization", t)])
        .unwrap_or_default();
    send("GET", &emu.url(path), &headers, "").await
}

/// The authorizer context the backend saw (the conformance function echoes its event).
fn authorizer_context(r: &Reply) -> Value {
    let event: Value = serde_json::from_slice(&r.body).expect("echoed event");
    event["requestContext"]["authorizer"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_authorizer_outcomes() {
    let emu = emulator();

    let r = call(&emu, "/secure/echo", None).await;
    assert_eq!(r.status, 401, "no token: 401 without invoking");
    assert_eq!(r.text(), r#"{"message":"Unauthorized"}"#);
    assert_eq!(r.header("x-amzn-errortype"), Some("UnauthorizedException"));
    assert_rest_ids(&r);

    let r = call(&emu, "/secure/echo", Some("allow")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let a = authorizer_context(&r);
    assert_eq!(a["principalId"], "alice");
    assert_eq!(
        a["admin"], true,
        "context keeps its JSON types in the Lambda event"
    );
    assert_eq!(a["level"], 3);
    assert!(a["integrationLatency"].is_u64());

    let r = call(&emu, "/secure/echo", Some("deny")).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.text(),
        r#"{"Message":"User is not authorized to access this resource with an explicit deny"}"#
    );
    assert_eq!(r.header("x-amzn-errortype"), Some("AccessDeniedException"));

    let r = call(&emu, "/secure/echo", Some("unauthorized")).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.text(), r#"{"message":"Unauthorized"}"#);

    for bad in ["error", "garbage", "badcontext"] {
        let r = call(&emu, "/secure/echo", Some(bad)).await;
        assert_eq!(r.status, 500, "{bad}");
        assert_eq!(r.text(), r#"{"message":null}"#, "{bad}");
        assert_eq!(
            r.header("x-amzn-errortype"),
            Some("AuthorizerConfigurationException")
        );
    }

    let r = call(&emu, "/public/echo", None).await;
    assert_eq!(r.status, 200, "Authorizer: NONE opts out of the default");
    assert!(authorizer_context(&r).is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_are_cached_per_token_and_reused_across_methods() {
    let emu = emulator();
    let first =
        authorizer_context(&call(&emu, "/secure/echo", Some("allow")).await)["nonce"].clone();
    let second =
        authorizer_context(&call(&emu, "/secure/other/echo", Some("allow")).await)["nonce"].clone();
    assert_eq!(first, second, "the second call reused the cached result");

    let a = authorizer_context(&call(&emu, "/nocache/echo", Some("allow")).await)["nonce"].clone();
    let b = authorizer_context(&call(&emu, "/nocache/echo", Some("allow")).await)["nonce"].clone();
    assert_ne!(a, b, "TTL 0 invokes the authorizer every time");

    // A cached policy that allows only the first method denies the next one, as on AWS.
    let r = call(&emu, "/secure/one/echo", Some("narrow")).await;
    assert_eq!(r.status, 200);
    let r = call(&emu, "/secure/two/echo", Some("narrow")).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.text(),
        r#"{"Message":"User is not authorized to access this resource"}"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_expression_and_request_authorizers() {
    let emu = emulator();
    let r = call(&emu, "/validated/echo", Some("allow")).await;
    assert_eq!(
        r.status, 401,
        "a token failing identityValidationExpression is 401 without invoking"
    );
    let r = call(&emu, "/validated/echo", Some("Bearer allow")).await;
    assert_eq!(r.status, 200, "{}", r.text());

    let tenant = |q: &'static str, h: Option<&'static str>| {
        let url = emu.url(&format!("/tenant/echo{q}"));
        async move {
            let headers: Vec<(&str, &str)> = h.map(|v| vec![("x-tenant", v)]).unwrap_or_default();
            send("GET", &url, &headers, "").await
        }
    };
    let r = tenant("?key=k1", Some("acme")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(authorizer_context(&r)["tenant"], "acme");
    let r = tenant("?key=wrong", Some("acme")).await;
    assert_eq!(r.status, 403, "the function denies explicitly");
    // Without caching a missing source still reaches the function (which denies)...
    let r = tenant("", Some("acme")).await;
    assert_eq!(r.status, 403);
    // ...with caching every source is required: 401 without invoking.
    let url = emu.url("/cached-tenant/echo");
    let r = send("GET", &url, &[("x-tenant", "acme")], "").await;
    assert_eq!(r.status, 401);
    let r = send("GET", &format!("{url}?key=k1"), &[("x-tenant", "acme")], "").await;
    assert_eq!(r.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cognito_user_pool_authorizer() {
    let issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_example";
    let t = fixture("e2e/auth.yaml");
    let jwks = format!("{issuer}={}", fixture("jwt/jwks1.json").display());
    let emu = Emulator::start(&[
        "-t",
        t.to_str().expect("utf8"),
        "--skip-build",
        "--jwks",
        &jwks,
    ]);
    let token = tollgate_tests::jwt::sign(
        "key1",
        &serde_json::json!({"sub": "pool-user", "iss": issuer, "token_use": "id", "email": "a@example.com"}),
    );
    let r = call(&emu, "/pool/echo", Some(&token)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let a = authorizer_context(&r);
    assert_eq!(a["claims"]["sub"], "pool-user");
    assert_eq!(a["claims"]["email"], "a@example.com");
    let wrong_issuer = tollgate_tests::jwt::sign(
        "key1",
        &serde_json::json!({"sub": "x", "iss": "https://elsewhere"}),
    );
    let r = call(&emu, "/pool/echo", Some(&wrong_issuer)).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.text(), r#"{"message":"Unauthorized"}"#);
    assert!(
        r.header("www-authenticate").is_none(),
        "REST answers without the JWT header"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_api_lambda_authorizers() {
    let t = fixture("e2e/http_auth.yaml");
    let emu = Emulator::start(&["-t", t.to_str().expect("utf8"), "--skip-build"]);
    let tenant = |path: &'static str, h: Option<&'static str>| {
        let url = emu.url(path);
        async move {
            let headers: Vec<(&str, &str)> = h.map(|v| vec![("x-tenant", v)]).unwrap_or_default();
            send("GET", &url, &headers, "").await
        }
    };
    // Payload 2.0 with simple responses.
    let r = tenant("/simple/echo?key=k1", Some("acme")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let event: Value = serde_json::from_slice(&r.body).expect("event");
    assert_eq!(
        event["requestContext"]["authorizer"]["lambda"]["tenant"],
        "acme"
    );
    let r = tenant("/simple/echo?key=nope", Some("acme")).await;
    assert_eq!(r.status, 403, "isAuthorized: false");
    assert_eq!(r.text(), r#"{"message":"Forbidden"}"#);
    let r = tenant("/simple/echo?key=k1", None).await;
    assert_eq!(r.status, 401, "a configured identity source is missing");
    assert_eq!(r.text(), r#"{"message":"Unauthorized"}"#);
    // Payload 1.0 with an IAM policy.
    assert_eq!(
        tenant("/policy/echo?key=k1", Some("acme")).await.status,
        200
    );
    let r = tenant("/policy/echo?key=nope", Some("acme")).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.text(), r#"{"message":"Forbidden"}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_policies() {
    let p = fixture("e2e/policy.yaml");
    let emu = Emulator::start(&["--openapi", p.to_str().expect("utf8")]);
    assert_eq!(
        call(&emu, "/open", None).await.status,
        200,
        "allowed by the policy"
    );
    assert_eq!(
        call(&emu, "/vpn-only", None).await.status,
        200,
        "the caller is inside 127.0.0.0/8"
    );

    let r = call(&emu, "/admin", None).await;
    assert_eq!(r.status, 403);
    let body: Value = serde_json::from_slice(&r.body).expect("json");
    let m = body["Message"].as_str().expect("Message");
    assert!(
        m.starts_with("User: anonymous is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:123456789012:")
            && m.ends_with("/Prod/GET/admin with an explicit deny"),
        "{m}"
    );
    assert_eq!(r.header("x-amzn-errortype"), Some("AccessDeniedException"));

    let r = call(&emu, "/office", None).await;
    assert_eq!(r.status, 403, "denied outside 10.0.0.0/8");

    // No statement allows POST: with no authorizer the policy must allow explicitly.
    let r = send("POST", &emu.url("/open"), &[], "").await;
    assert_eq!(r.status, 403);
    let body: Value = serde_json::from_slice(&r.body).expect("json");
    assert!(
        body["Message"]
            .as_str()
            .is_some_and(|m| m.ends_with("/Prod/POST/open")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sam_resource_policy_ip_ranges() {
    let t = fixture("e2e/sam_policy.yaml");
    let emu = Emulator::start(&["-t", t.to_str().expect("utf8")]);
    let r = call(&emu, "/x", None).await;
    assert_eq!(r.status, 403, "loopback is blacklisted");
    assert!(r.text().contains("with an explicit deny"), "{}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_mint_makes_tokens_the_authorizers_accept() {
    let issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_example";
    let key = fixture("jwt/key1.pem");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(tollgate_tests::tollgate_bin())
            .args(args)
            .output()
            .expect("run tollgate");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let jwks: Value = serde_json::from_str(&run(&[
        "token",
        "jwks",
        "--key",
        key.to_str().expect("utf8"),
        "--kid",
        "key1",
    ]))
    .expect("jwks");
    let fixture_jwks: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("jwt/jwks1.json")).expect("read"))
            .expect("json");
    assert_eq!(
        jwks["keys"][0]["n"], fixture_jwks["keys"][0]["n"],
        "the JWKS publishes the key's modulus"
    );

    let token = run(&[
        "token",
        "mint",
        "--key",
        key.to_str().expect("utf8"),
        "--kid",
        "key1",
        "--iss",
        issuer,
        "--sub",
        "minted",
        "--claim",
        "email=m@example.com",
    ]);
    let t = fixture("e2e/auth.yaml");
    let jwks_arg = format!("{issuer}={}", fixture("jwt/jwks1.json").display());
    let emu = Emulator::start(&[
        "-t",
        t.to_str().expect("utf8"),
        "--skip-build",
        "--jwks",
        &jwks_arg,
    ]);
    let r = call(&emu, "/pool/echo", Some(&token)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(authorizer_context(&r)["claims"]["email"], "m@example.com");
    drop(emu);

    // The emulator can publish the minting key itself (`--jwks ISSUER=KEY.pem`, kid = file stem),
    // and tolerate clock skew when told to.
    let pem_arg = format!("{issuer}={}", key.display());
    let emu = Emulator::start(&[
        "-t",
        t.to_str().expect("utf8"),
        "--skip-build",
        "--jwks",
        &pem_arg,
        "--jwt-leeway",
        "120",
    ]);
    let fresh = run(&[
        "token",
        "mint",
        "--key",
        key.to_str().expect("utf8"),
        "--iss",
        issuer,
    ]);
    assert_eq!(call(&emu, "/pool/echo", Some(&fresh)).await.status, 200);
    let skewed = tollgate_tests::jwt::sign(
        "key1",
        &serde_json::json!({"sub": "late", "iss": issuer, "exp": tollgate_tests::jwt::now() - 60}),
    );
    assert_eq!(
        call(&emu, "/pool/echo", Some(&skewed)).await.status,
        200,
        "within --jwt-leeway"
    );
}

/// Sign like an AWS SDK client: SigV4 with the `aws-sigv4` crate, service `execute-api`.
fn sigv4_headers(
    method: &str,
    url: &str,
    body: &[u8],
    secret: &str,
    at: std::time::SystemTime,
) -> Vec<(String, String)> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    let uri: http::Uri = url.parse().expect("url");
    let host = uri.authority().expect("authority").to_string();
    let identity =
        aws_credential_types::Credentials::new("AKIDTOLLGATETEST0001", secret, None, None, "test")
            .into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("execute-api")
        .time(at)
        .settings(SigningSettings::default())
        .build()
        .expect("params")
        .into();
    let headers = [
        ("host", host.as_str()),
        ("content-type", "application/json"),
    ];
    let signable = SignableRequest::new(
        method,
        url,
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .expect("signable");
    let (instructions, _) = sign(signable, &params).expect("sign").into_parts();
    let (signed, _) = instructions.into_parts();
    let mut out: Vec<(String, String)> = vec![("content-type".into(), "application/json".into())];
    out.extend(
        signed
            .into_iter()
            .map(|h| (h.name().to_string(), h.value().to_string())),
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_iam_sigv4() {
    let t = fixture("e2e/auth.yaml");
    let creds = fixture("iam/credentials.json");
    let emu = Emulator::start(&[
        "-t",
        t.to_str().expect("utf8"),
        "--skip-build",
        "--iam-credentials",
        creds.to_str().expect("utf8"),
    ]);
    let secret = "tollgate-test-secret-not-a-real-key-000000";
    let url = emu.url("/iam/echo?x=1");
    let body = br#"{"signed":true}"#;
    let post = |headers: Vec<(String, String)>, body: &'static [u8]| {
        let url = url.clone();
        async move {
            let h: Vec<(&str, &str)> = headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            send("POST", &url, &h, body).await
        }
    };
    let now = std::time::SystemTime::now();

    let r = post(sigv4_headers("POST", &url, body, secret, now), body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let event: Value = serde_json::from_slice(&r.body).expect("event");
    let id = &event["requestContext"]["identity"];
    assert_eq!(id["accessKey"], "AKIDTOLLGATETEST0001");
    assert_eq!(id["userArn"], "arn:aws:iam::123456789012:user/alice");
    assert_eq!(
        event["body"], r#"{"signed":true}"#,
        "the body still reaches the integration"
    );

    let r = post(vec![], body).await;
    assert_eq!(r.status, 403, "unsigned");
    assert_eq!(r.text(), r#"{"message":"Missing Authentication Token"}"#);

    let r = post(
        sigv4_headers("POST", &url, body, secret, now),
        br#"{"signed":false}"#,
    )
    .await;
    assert_eq!(r.status, 403, "the body was changed after signing");
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("InvalidSignatureException")
    );
    assert!(
        r.text()
            .starts_with(r#"{"message":"The request signature we calculated does not match"#),
        "{}",
        r.text()
    );

    let r = post(sigv4_headers("POST", &url, body, "wrong-secret", now), body).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("InvalidSignatureException")
    );

    let old = now - std::time::Duration::from_secs(900);
    let r = post(sigv4_headers("POST", &url, body, secret, old), body).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("Signature expired"), "{}", r.text());

    let mut unknown = sigv4_headers("POST", &url, body, secret, now);
    for (k, v) in unknown.iter_mut() {
        if k == "authorization" {
            *v = v.replace("AKIDTOLLGATETEST0001", "AKIDUNKNOWNUNKNOWN00");
        }
    }
    let r = post(unknown, body).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.text(),
        r#"{"message":"The security token included in the request is invalid."}"#
    );
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("UnrecognizedClientException")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_from_the_authorizer() {
    // AuthApi's key source is AUTHORIZER: the TOKEN authorizer's usageIdentifierKey ("key-alice")
    // is the API key.
    let without = emulator();
    assert_eq!(
        call(&without, "/keyed/echo", Some("allow")).await.status,
        403,
        "key-alice is in no plan"
    );
    let t = fixture("e2e/auth.yaml");
    let keys = fixture("e2e/auth-keys.json");
    let emu = Emulator::start(&[
        "-t",
        t.to_str().expect("utf8"),
        "--skip-build",
        "--api-keys",
        keys.to_str().expect("utf8"),
    ]);
    let r = call(&emu, "/keyed/echo", Some("allow")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let event: Value = serde_json::from_slice(&r.body).expect("event");
    assert_eq!(event["requestContext"]["identity"]["apiKey"], "key-alice");
    assert_eq!(event["requestContext"]["identity"]["apiKeyId"], "alice");
    // The X-API-Key header does not count when the source is AUTHORIZER.
    let r = send(
        "GET",
        &emu.url("/keyed/echo"),
        &[("x-api-key", "key-alice")],
        "",
    )
    .await;
    assert_eq!(r.status, 401, "no token: the authorizer answers first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_authorizer_serves_every_route_as_if_it_had_none() {
    let t = fixture("e2e/auth.yaml");
    let emu = Emulator::start(&[
        "-t",
        t.to_str().expect("utf8"),
        "--skip-build",
        "--disable-authorizer",
    ]);
    // Without a token, and with one the authorizer would deny: the function answers both.
    for token in [None, Some("deny")] {
        let r = call(&emu, "/secure/echo", token).await;
        assert_eq!(r.status, 200, "{token:?}: {}", r.text());
        assert!(
            authorizer_context(&r).is_null(),
            "no authorizer ran: {}",
            r.text()
        );
    }
}
