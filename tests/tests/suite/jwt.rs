//! HTTP API JWT authorizers against a real loopback OpenID provider: AWS's 401/403 answers with
//! `www-authenticate`, the attack matrix (every bad token is refused and never reaches the
//! integration), scopes, claims in the event, and key rotation without a restart.

use std::path::PathBuf;

use base64::Engine;
use serde_json::{json, Value};
use tollgate_tests::jwt::{now, sign, sign_with};
use tollgate_tests::{repo_root, send, Emulator, JwksServer, Reply};

const AUDIENCE: &str = "tollgate-tests";

fn template(issuer: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tollgate-jwt-{}-{}",
        std::process::id(),
        issuer.rsplit(':').next().unwrap_or("0")
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    let conformance = repo_root().join("functions/conformance");
    let t = format!(
        r#"Transform: AWS::Serverless-2016-10-31
Resources:
  NotesApi:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: Jwt
        Authorizers:
          Jwt:
            IdentitySource: "$request.header.Authorization"
            JwtConfiguration:
              issuer: "{issuer}"
              audience: ["{AUDIENCE}"]
  Notes:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {code}
      Runtime: provided.al2023
      Handler: bootstrap
      Events:
        Read:
          Type: HttpApi
          Properties:
            ApiId: !Ref NotesApi
            Path: /notes/{{proxy+}}
            Method: get
            Auth:
              AuthorizationScopes: [notes.read, notes.admin]
        Any:
          Type: HttpApi
          Properties:
            ApiId: !Ref NotesApi
            Path: /me/{{proxy+}}
            Method: get
        Open:
          Type: HttpApi
          Properties:
            ApiId: !Ref NotesApi
            Path: /open/{{proxy+}}
            Method: get
            Auth:
              Authorizer: NONE
"#,
        code = conformance.display()
    );
    let path = dir.join("template.yaml");
    std::fs::write(&path, t).expect("template");
    path
}

/// A loopback OpenID provider with key set 1, and tollgate serving the template against it.
async fn start() -> (JwksServer, String, Emulator) {
    let idp = JwksServer::start("jwt/jwks1.json").await;
    let (issuer, emu) = serve(&idp);
    (idp, issuer, emu)
}

/// tollgate serving the template against `idp`, and the issuer it trusts.
fn serve(idp: &JwksServer) -> (String, Emulator) {
    let issuer = idp.issuer();
    let t = template(&issuer);
    let emu = Emulator::start(&["-t", t.to_str().expect("utf8"), "--skip-build"]);
    (issuer, emu)
}

fn claims(issuer: &str) -> Value {
    json!({"sub": "user-1", "iss": issuer, "aud": AUDIENCE, "scope": "notes.read profile", "iat": now() - 10})
}

async fn get(emu: &Emulator, path: &str, token: Option<&str>) -> Reply {
    let headers: Vec<(&str, &str)> = token
        .map(|t| vec![("authorization", t)])
        .unwrap_or_default();
    send("GET", &emu.url(path), &headers, "").await
}

fn assert_invalid(r: &Reply, why: &str) {
    assert_eq!(r.status, 401, "{why}: {}", r.text());
    assert_eq!(r.text(), r#"{"message":"Unauthorized"}"#, "{why}");
    let h = r.header("www-authenticate").unwrap_or_default();
    assert!(
        h.starts_with(r#"Bearer scope="" error="invalid_token" error_description=""#),
        "{why}: {h}"
    );
    assert!(r.header("apigw-requestid").is_some());
}

fn b64(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_tokens_pass_with_their_claims() {
    let (idp, issuer, emu) = start().await;

    let token = sign("key1", &claims(&issuer));
    let r = get(&emu, "/notes/echo", Some(&format!("Bearer {token}"))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let event: Value = serde_json::from_slice(&r.body).expect("event");
    let jwt = &event["requestContext"]["authorizer"]["jwt"];
    assert_eq!(jwt["claims"]["sub"], "user-1");
    assert_eq!(jwt["scopes"], json!(["notes.read", "profile"]));

    // A bare token works too; client_id stands in for aud.
    let mut c = claims(&issuer);
    c.as_object_mut().expect("obj").remove("aud");
    c["client_id"] = json!(AUDIENCE);
    assert_eq!(
        get(&emu, "/me/echo", Some(&sign("key1", &c))).await.status,
        200
    );

    assert_eq!(
        get(&emu, "/open/echo", None).await.status,
        200,
        "Authorizer: NONE"
    );
    assert_eq!(
        idp.fetches.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "keys fetched once, then cached"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_token_is_refused() {
    let (_idp, issuer, emu) = start().await;
    let good = sign("key1", &claims(&issuer));

    assert_invalid(&get(&emu, "/me/echo", None).await, "no token");

    let none = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT", "kid": "key1"})),
        b64(&claims(&issuer))
    );
    assert_invalid(&get(&emu, "/me/echo", Some(&none)).await, "alg none");

    // HS256 keyed with the RSA public key: the classic algorithm-confusion attack.
    let public_pem = std::fs::read(tollgate_tests::fixture("jwt/key1.pub.pem")).expect("pem");
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    h.kid = Some("key1".into());
    let mut c = claims(&issuer);
    c["exp"] = json!(now() + 600);
    let hs = jsonwebtoken::encode(
        &h,
        &c,
        &jsonwebtoken::EncodingKey::from_secret(&public_pem).expect("key"),
    )
    .expect("hs256");
    assert_invalid(
        &get(&emu, "/me/echo", Some(&hs)).await,
        "HS256 with the public key",
    );

    let mut expired = claims(&issuer);
    expired["exp"] = json!(now() - 60);
    assert_invalid(
        &get(&emu, "/me/echo", Some(&sign("key1", &expired))).await,
        "expired",
    );

    let mut early = claims(&issuer);
    early["nbf"] = json!(now() + 600);
    assert_invalid(
        &get(&emu, "/me/echo", Some(&sign("key1", &early))).await,
        "not yet valid",
    );

    let mut future_iat = claims(&issuer);
    future_iat["iat"] = json!(now() + 600);
    assert_invalid(
        &get(&emu, "/me/echo", Some(&sign("key1", &future_iat))).await,
        "issued in the future",
    );

    let mut wrong_iss = claims(&issuer);
    wrong_iss["iss"] = json!("http://127.0.0.1:1");
    assert_invalid(
        &get(&emu, "/me/echo", Some(&sign("key1", &wrong_iss))).await,
        "wrong issuer",
    );

    let mut wrong_aud = claims(&issuer);
    wrong_aud["aud"] = json!("someone-else");
    let r = get(&emu, "/me/echo", Some(&sign("key1", &wrong_aud))).await;
    assert_invalid(&r, "wrong audience");
    assert!(r
        .header("www-authenticate")
        .unwrap_or_default()
        .contains("does not have a valid audience"));

    assert_invalid(
        &get(
            &emu,
            "/me/echo",
            Some(&sign_with("key1", "nope", &claims(&issuer))),
        )
        .await,
        "unknown kid",
    );
    assert_invalid(
        &get(
            &emu,
            "/me/echo",
            Some(&sign_with("key2", "key1", &claims(&issuer))),
        )
        .await,
        "bad signature",
    );
    assert_invalid(
        &get(&emu, "/me/echo", Some(&good[..good.len() - 10])).await,
        "truncated",
    );
    assert_invalid(
        &get(&emu, "/me/echo", Some("!!!.@@@.###")).await,
        "not base64",
    );
    let huge = format!(
        "{}.{}.sig",
        b64(&json!({"alg": "RS256", "kid": "key1"})),
        "a".repeat(9000)
    );
    assert_invalid(&get(&emu, "/me/echo", Some(&huge)).await, "oversized");

    // Valid, but without the route's scopes: 403 insufficient_scope.
    let mut no_scope = claims(&issuer);
    no_scope["scope"] = json!("profile");
    let r = get(&emu, "/notes/echo", Some(&sign("key1", &no_scope))).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.text(), r#"{"message":"Forbidden"}"#);
    assert!(r
        .header("www-authenticate")
        .unwrap_or_default()
        .contains(r#"scope="notes.read notes.admin" error="insufficient_scope""#));
    let mut scp = claims(&issuer);
    scp.as_object_mut().expect("obj").remove("scope");
    scp["scp"] = json!(["notes.admin"]);
    assert_eq!(
        get(&emu, "/notes/echo", Some(&sign("key1", &scp)))
            .await
            .status,
        200,
        "scp works as well as scope"
    );
}

/// A verified token is remembered (its signature is not checked again with the same key), yet a
/// remembered token still expires, and a token that differs by one byte is verified afresh.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remembered_token_still_expires_and_a_changed_one_is_verified_again() {
    let (_idp, issuer, emu) = start().await;
    let mut c = claims(&issuer);
    let exp = now() + 2;
    c["exp"] = json!(exp);
    let token = sign("key1", &c);
    for _ in 0..3 {
        let r = get(&emu, "/me/echo", Some(&token)).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    // One character inside the signature changed: not the token verified above.
    let at = token.len() - 10;
    let swap = if &token[at..=at] == "A" { "B" } else { "A" };
    let tampered = format!("{}{swap}{}", &token[..at], &token[at + 1..]);
    assert_invalid(
        &get(&emu, "/me/echo", Some(&tampered)).await,
        "a changed signature",
    );
    while now() <= exp {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let r = get(&emu, "/me/echo", Some(&token)).await;
    assert_invalid(&r, "expired after it was verified");
    let h = r.header("www-authenticate").unwrap_or_default();
    assert!(h.contains("expired"), "{h}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_keys_are_picked_up_without_a_restart() {
    let (idp, issuer, emu) = start().await;
    assert_eq!(
        get(&emu, "/me/echo", Some(&sign("key1", &claims(&issuer))))
            .await
            .status,
        200
    );
    let new_key = sign("key2", &claims(&issuer));
    assert_invalid(
        &get(&emu, "/me/echo", Some(&new_key)).await,
        "key2 not published yet",
    );

    idp.publish("jwt/jwks-both.json");
    // An unknown kid refetches the set, at most once every few seconds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let r = get(&emu, "/me/echo", Some(&new_key)).await;
        if r.status == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the rotated key was never picked up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let fetches = idp.fetches.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        (2..=4).contains(&fetches),
        "refetches are rate-limited: {fetches}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_key_endpoint_is_fetched_once_not_per_request() {
    let idp = JwksServer::start("jwt/jwks1.json").await;
    // The endpoint answers, but not with a key set.
    *idp.jwks.lock().expect("lock") = "unavailable".to_string();
    let (issuer, emu) = serve(&idp);
    let token = sign("key1", &claims(&issuer));
    let url = emu.url("/me/echo");
    let calls: Vec<_> = (0..200)
        .map(|_| {
            let (url, token) = (url.clone(), token.clone());
            tokio::spawn(async move {
                send("GET", &url, &[("authorization", &token)], "")
                    .await
                    .status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for c in calls {
        statuses.push(c.await.expect("join"));
    }
    assert!(statuses.iter().all(|s| *s != 200), "{statuses:?}");
    // One fetch in flight at a time, then a backoff: not one fetch per request.
    let fetches = idp.fetches.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        (1..=2).contains(&fetches),
        "{fetches} fetches for 200 requests"
    );
    // Once the endpoint answers again, the next fetch after the backoff loads the keys.
    idp.publish("jwt/jwks1.json");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while get(&emu, "/me/echo", Some(&token)).await.status != 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "the keys never loaded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_injection_replaces_client_credentials() {
    let up = tollgate_tests::Upstream::start().await;
    let def = tollgate_tests::fixture("e2e/identity.yaml");
    let jwks = format!(
        "https://issuer.test={}",
        tollgate_tests::fixture("jwt/jwks1.json").display()
    );
    let var = format!("up={}", up.base());
    let emu = Emulator::start(&[
        "--openapi",
        def.to_str().expect("utf8"),
        "--stage-variable",
        &var,
        "--jwks",
        &jwks,
    ]);
    let token = sign(
        "key1",
        &json!({"sub": "user-1", "email": "u1@example.com", "iss": "https://issuer.test", "aud": AUDIENCE, "scope": "a b"}),
    );
    let bearer = format!("Bearer {token}");
    let r = send(
        "GET",
        &emu.url("/whoami"),
        &[("authorization", bearer.as_str()), ("x-user-id", "evil")],
        "",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = up.last();
    let h = |n: &str| {
        seen.headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    assert_eq!(
        h("x-user-id").as_deref(),
        Some("user-1"),
        "the trusted value replaces the client's"
    );
    assert_eq!(h("x-user-email").as_deref(), Some("u1@example.com"));
    assert_eq!(h("x-scopes").as_deref(), Some("a b"));
    assert!(
        h("authorization").is_none(),
        "the client's token is not passed on"
    );

    // Off unless written: a route without the extension passes the request as it came.
    let r = send(
        "GET",
        &emu.url("/plain"),
        &[("authorization", bearer.as_str())],
        "",
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(up.last().headers.get("authorization").is_some());
    assert!(up.last().headers.get("x-user-id").is_none());
}
