//! TLS and mTLS termination end to end: real handshakes from a rustls client against the
//! `tollgate` binary, with certificates minted per run (rcgen): a good client certificate, none,
//! and one from an untrusted CA; ALPN h2; the generated local certificate.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::TlsConnector;
use tollgate_tests::{fixture, Emulator};

struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).expect("CA");
    Ca {
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

/// A leaf certificate and its key, in PEM.
fn leaf(ca: &Ca, cn: &str, sans: &[&str], purpose: ExtendedKeyUsagePurpose) -> (String, String) {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .expect("params");
    params.distinguished_name.push(DnType::CommonName, cn);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "tollgate tests");
    params.extended_key_usages = vec![purpose];
    let cert = params.signed_by(&key, &ca.issuer).expect("leaf");
    (cert.pem(), key.serialize_pem())
}

struct Pki {
    dir: PathBuf,
    ca: Ca,
}

impl Pki {
    fn new() -> Pki {
        let dir = std::env::temp_dir().join(format!(
            "tollgate-tls-{}-{}",
            std::process::id(),
            uuid_like()
        ));
        std::fs::create_dir_all(&dir).expect("dir");
        let ca = ca("tollgate test CA");
        std::fs::write(dir.join("ca.pem"), &ca.pem).expect("write");
        let (cert, key) = leaf(
            &ca,
            "localhost",
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        std::fs::write(dir.join("server.pem"), cert).expect("write");
        std::fs::write(dir.join("server-key.pem"), key).expect("write");
        Pki { dir, ca }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().expect("utf8").to_string()
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn uuid_like() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn client_config(
    ca_pem: &str,
    client: Option<(&str, &str)>,
    alpn: &[&[u8]],
) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.expect("cert")).expect("root");
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots);
    let mut config = match client {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                CertificateDer::pem_slice_iter(cert.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .expect("chain"),
                PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("key"),
            )
            .expect("client auth"),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

use rustls::pki_types::pem::PemObject;

/// One GET over TLS; `Err` when the handshake or the exchange fails.
async fn get_tls(
    emu: &Emulator,
    config: Arc<rustls::ClientConfig>,
    path: &str,
) -> Result<(Option<Vec<u8>>, http::StatusCode, String), String> {
    let addr = emu
        .url("/")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let tcp = tokio::net::TcpStream::connect(&addr)
        .await
        .map_err(|e| e.to_string())?;
    let tls = TlsConnector::from(config)
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let alpn = tls.get_ref().1.alpn_protocol().map(|p| p.to_vec());
    let io = hyper_util::rt::TokioIo::new(tls);
    let req = http::Request::get(format!("https://localhost{path}"))
        .body(Full::new(Bytes::new()))
        .expect("request");
    let resp = if alpn.as_deref() == Some(b"h2") {
        let (mut send, conn) =
            hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), io)
                .await
                .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        send.send_request(req).await.map_err(|e| e.to_string())?
    } else {
        let (mut send, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let mut req = req;
        req.headers_mut().insert(
            http::header::HOST,
            http::HeaderValue::from_static("localhost"),
        );
        send.send_request(req).await.map_err(|e| e.to_string())?
    };
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((alpn, status, String::from_utf8_lossy(&body).into_owned()))
}

fn start(extra: &[&str]) -> Emulator {
    let f = fixture("e2e/tls.yaml");
    let mut args = vec!["--openapi", f.to_str().expect("utf8")];
    args.extend_from_slice(extra);
    Emulator::start(&args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_accepts_trusted_client_certificates_only() {
    let pki = Pki::new();
    let (server_cert, server_key, ca_file) = (
        pki.path("server.pem"),
        pki.path("server-key.pem"),
        pki.path("ca.pem"),
    );
    let emu = start(&[
        "--tls-cert",
        &server_cert,
        "--tls-key",
        &server_key,
        "--tls-client-ca",
        &ca_file,
    ]);
    let (client_cert, client_key) = leaf(
        &pki.ca,
        "client-1",
        &[],
        ExtendedKeyUsagePurpose::ClientAuth,
    );

    // A certificate from the truststore's CA: the request runs, and templates see the cert.
    let config = client_config(
        &pki.ca.pem,
        Some((&client_cert, &client_key)),
        &[b"http/1.1"],
    );
    let (_, status, body) = get_tls(&emu, config, "/whoami").await.expect("mTLS works");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert!(
        v["subject"]
            .as_str()
            .is_some_and(|s| s.contains("CN=client-1")),
        "{v}"
    );
    assert!(
        v["issuer"]
            .as_str()
            .is_some_and(|s| s.contains("CN=tollgate test CA")),
        "{v}"
    );
    assert!(v["serial"].as_str().is_some_and(|s| !s.is_empty()), "{v}");
    assert!(
        v["notAfter"].as_str().is_some_and(|s| s.ends_with(" GMT")),
        "{v}"
    );

    // No client certificate: the handshake (or the first read) fails; nothing is served.
    let config = client_config(&pki.ca.pem, None, &[b"http/1.1"]);
    assert!(
        get_tls(&emu, config, "/whoami").await.is_err(),
        "no client certificate must be refused"
    );

    // A certificate from another CA: refused the same way.
    let rogue = ca("rogue CA");
    let (cert, key) = leaf(&rogue, "intruder", &[], ExtendedKeyUsagePurpose::ClientAuth);
    let config = client_config(&pki.ca.pem, Some((&cert, &key)), &[b"http/1.1"]);
    assert!(
        get_tls(&emu, config, "/whoami").await.is_err(),
        "an untrusted certificate must be refused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optional_client_certificates_and_route_requirements() {
    let pki = Pki::new();
    let (server_cert, server_key, ca_file) = (
        pki.path("server.pem"),
        pki.path("server-key.pem"),
        pki.path("ca.pem"),
    );
    let emu = start(&[
        "--tls-cert",
        &server_cert,
        "--tls-key",
        &server_key,
        "--tls-client-ca",
        &ca_file,
        "--tls-client-cert-optional",
    ]);
    let anonymous = client_config(&pki.ca.pem, None, &[b"http/1.1"]);
    // Without a certificate the connection works; a route that requires one says 403.
    let (_, status, _) = get_tls(&emu, anonymous.clone(), "/whoami")
        .await
        .expect("connects");
    assert_eq!(status, 200);
    let (_, status, body) = get_tls(&emu, anonymous, "/billing")
        .await
        .expect("connects");
    assert_eq!(status, 403);
    assert_eq!(body, r#"{"message":"Forbidden"}"#);
    // The right subject passes; another trusted subject does not.
    let (cert, key) = leaf(&pki.ca, "billing", &[], ExtendedKeyUsagePurpose::ClientAuth);
    let billing = client_config(&pki.ca.pem, Some((&cert, &key)), &[b"http/1.1"]);
    let (_, status, body) = get_tls(&emu, billing, "/billing").await.expect("connects");
    assert_eq!(status, 200, "{body}");
    let (cert, key) = leaf(&pki.ca, "reports", &[], ExtendedKeyUsagePurpose::ClientAuth);
    let reports = client_config(&pki.ca.pem, Some((&cert, &key)), &[b"http/1.1"]);
    let (_, status, _) = get_tls(&emu, reports, "/billing").await.expect("connects");
    assert_eq!(status, 403);
    // An untrusted certificate is still refused at the handshake.
    let rogue = ca("rogue CA");
    let (cert, key) = leaf(&rogue, "billing", &[], ExtendedKeyUsagePurpose::ClientAuth);
    let config = client_config(&pki.ca.pem, Some((&cert, &key)), &[b"http/1.1"]);
    assert!(get_tls(&emu, config, "/billing").await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_negotiates_h2_and_generates_a_local_certificate() {
    let state = std::env::temp_dir().join(format!("tollgate-tls-state-{}", uuid_like()));
    let f = fixture("e2e/tls.yaml");
    let emu = Emulator::start_with_state(
        &["--openapi", f.to_str().expect("utf8"), "--tls-self-signed"],
        &state,
    );
    let cert = std::fs::read_to_string(Path::new(&state).join("tls/localhost.pem"))
        .expect("the generated certificate is written to the state directory");
    // Trusting the generated certificate is enough; ALPN picks h2.
    let config = client_config(&cert, None, &[b"h2", b"http/1.1"]);
    let (alpn, status, body) = get_tls(&emu, config, "/whoami").await.expect("TLS works");
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(
        v["subject"], "",
        "no client certificate on a plain TLS connection"
    );
    // HTTP/1.1 over TLS still works.
    let config = client_config(&cert, None, &[b"http/1.1"]);
    let (alpn, status, _) = get_tls(&emu, config, "/whoami").await.expect("TLS works");
    assert_eq!(alpn.as_deref(), Some(&b"http/1.1"[..]));
    assert_eq!(status, 200);
    drop(emu);
    let _ = std::fs::remove_dir_all(&state);
}

/// An HTTPS upstream that requires a client certificate from `pki`'s CA and says whether it got
/// one.
async fn mtls_upstream(pki: &Pki) -> std::net::SocketAddr {
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(pki.dir.join("server.pem"))
            .expect("read")
            .collect::<Result<_, _>>()
            .expect("certs");
    let key = PrivateKeyDer::from_pem_file(pki.dir.join("server-key.pem")).expect("key");
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(pki.ca.pem.as_bytes()) {
        roots.add(c.expect("cert")).expect("root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .expect("verifier");
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let has_cert = tls.get_ref().1.peer_certificates().is_some();
                let svc =
                    hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let path = req.uri().path().to_string();
                        async move {
                            Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                                Bytes::from(
                                    serde_json::json!({"clientCert": has_cert, "path": path})
                                        .to_string(),
                                ),
                            )))
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_mtls_presents_the_pool_client_certificate() {
    let pki = Pki::new();
    let (gw_cert, gw_key) = leaf(
        &pki.ca,
        "tollgate-gateway",
        &[],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    std::fs::write(pki.dir.join("gw.pem"), gw_cert).expect("write");
    std::fs::write(pki.dir.join("gw-key.pem"), gw_key).expect("write");
    let up = mtls_upstream(&pki).await;
    let api = pki.dir.join("api.yaml");
    std::fs::write(
        &api,
        format!(
            r#"openapi: 3.0.1
info: {{title: mtls, version: "1"}}
x-tollgate-upstreams:
  secure:
    instances: ["https://localhost:{port}"]
    tls: {{ca: ca.pem, cert: gw.pem, key: gw-key.pem}}
  anonymous:
    instances: ["https://localhost:{port}"]
    tls: {{ca: ca.pem}}
paths:
  /s/{{proxy+}}:
    get:
      parameters: [{{name: proxy, in: path, required: true, schema: {{type: string}}}}]
      responses: {{}}
      x-amazon-apigateway-integration: {{type: http_proxy, httpMethod: GET, uri: "http://secure/{{proxy}}"}}
  /a/{{proxy+}}:
    get:
      parameters: [{{name: proxy, in: path, required: true, schema: {{type: string}}}}]
      responses: {{}}
      x-amazon-apigateway-integration: {{type: http_proxy, httpMethod: GET, uri: "http://anonymous/{{proxy}}"}}
"#,
            port = up.port()
        ),
    )
    .expect("write");
    let emu = Emulator::start(&["--openapi", api.to_str().expect("utf8")]);
    let r = tollgate_tests::get(&emu.url("/s/ledger")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    assert_eq!(
        v,
        serde_json::json!({"clientCert": true, "path": "/ledger"})
    );
    // Without a client certificate the upstream refuses the handshake: API Gateway's 500.
    let r = tollgate_tests::get(&emu.url("/a/ledger")).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.text(), r#"{"message": "Internal server error"}"#);
}
