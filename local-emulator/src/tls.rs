//! TLS termination with rustls: a certificate from PEM files (`--tls-cert`/`--tls-key`) or a
//! generated local one (`--tls-self-signed`, kept under the state directory so clients can trust
//! it across restarts), ALPN `h2` and `http/1.1`, and mTLS client authentication against a
//! truststore (`--tls-client-ca`), as API Gateway custom domains do: a connection without a
//! certificate the truststore vouches for fails its handshake.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use gateway::ClientCert;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::ServerConfig;

/// What the command line asked for.
#[derive(Debug, Clone, Default)]
pub struct TlsArgs {
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub self_signed: bool,
    pub client_ca: Option<PathBuf>,
    /// Let callers without a certificate finish the handshake (routes then decide, with the
    /// `requireClientCert` policy); an untrusted certificate is still refused.
    pub client_cert_optional: bool,
}

/// A ready TLS setup, and where a generated certificate was written.
pub struct Tls {
    pub config: Arc<ServerConfig>,
    pub generated_cert: Option<PathBuf>,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Build the server configuration, or `None` when TLS is off.
pub fn setup(args: &TlsArgs, state_dir: &Path) -> anyhow::Result<Option<Tls>> {
    let (chain, key, generated_cert) = match (&args.cert, &args.key, args.self_signed) {
        _ if args.client_cert_optional && args.client_ca.is_none() => {
            bail!("--tls-client-cert-optional needs --tls-client-ca")
        }
        (None, None, false) => {
            if args.client_ca.is_some() {
                bail!("--tls-client-ca needs TLS: add --tls-cert/--tls-key or --tls-self-signed");
            }
            return Ok(None);
        }
        (Some(_), None, _) | (None, Some(_), _) => {
            bail!("--tls-cert and --tls-key go together: give both PEM files")
        }
        (Some(_), Some(_), true) => {
            bail!("--tls-self-signed generates its own certificate: drop it, or drop --tls-cert/--tls-key")
        }
        (Some(c), Some(k), false) => (read_chain(c, "--tls-cert")?, read_key(k)?, None),
        (None, None, true) => {
            let (cert, key) = self_signed(state_dir)?;
            (
                read_chain(&cert, "the generated certificate")?,
                read_key(&key)?,
                Some(cert),
            )
        }
    };
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .context("rustls protocol versions")?;
    let builder = match &args.client_ca {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in read_chain(ca, "--tls-client-ca")? {
                roots.add(c).with_context(|| {
                    format!(
                        "--tls-client-ca {}: a certificate is not a usable CA",
                        ca.display()
                    )
                })?;
            }
            let mut verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
            if args.client_cert_optional {
                verifier = verifier.allow_unauthenticated();
            }
            let verifier = verifier
                .build()
                .with_context(|| format!("--tls-client-ca {}", ca.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .context("the TLS certificate and key do not match or are not usable")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Some(Tls {
        config: Arc::new(config),
        generated_cert,
    }))
}

fn read_chain(path: &Path, flag: &str) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("{flag} {}: cannot read it", path.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("{flag} {}: not a PEM certificate file", path.display()))?;
    if certs.is_empty() {
        bail!("{flag} {}: no CERTIFICATE block in it", path.display());
    }
    Ok(certs)
}

fn read_key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_file(path).with_context(|| {
        format!(
            "--tls-key {}: expected a PEM private key (PKCS#8, PKCS#1 or SEC1)",
            path.display()
        )
    })
}

/// A certificate for `localhost` and `127.0.0.1`, generated once and reused.
fn self_signed(state_dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let dir = state_dir.join("tls");
    let cert = dir.join("localhost.pem");
    let key = dir.join("localhost-key.pem");
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    std::fs::create_dir_all(&dir).with_context(|| {
        format!(
            "cannot create {} for the generated certificate",
            dir.display()
        )
    })?;
    let generated = rcgen::generate_simple_self_signed(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ])
    .context("generating a local certificate")?;
    std::fs::write(&cert, generated.cert.pem())
        .with_context(|| format!("cannot write {}", cert.display()))?;
    std::fs::write(&key, generated.signing_key.serialize_pem())
        .with_context(|| format!("cannot write {}", key.display()))?;
    Ok((cert, key))
}

/// The client certificate as API Gateway describes it to templates and Lambda events.
pub fn client_cert(der: &CertificateDer<'_>) -> Option<ClientCert> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let when = |t: &x509_parser::time::ASN1Time| {
        // OpenSSL's form, which API Gateway shows: `May 28 12:30:02 2019 GMT`.
        let fmt = time::macros::format_description!(
            "[month repr:short] [day padding:space] [hour]:[minute]:[second] [year] GMT"
        );
        t.to_datetime().format(&fmt).unwrap_or_default()
    };
    Some(ClientCert {
        pem: pem_encode(der.as_ref()),
        subject_dn: cert.subject().to_string(),
        issuer_dn: cert.issuer().to_string(),
        serial_number: cert.raw_serial_as_string(),
        not_before: when(&cert.validity().not_before),
        not_after: when(&cert.validity().not_after),
    })
}

fn pem_encode(der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}
