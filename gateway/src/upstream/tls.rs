//! An upstream pool's own TLS settings: its CA and client certificate.

/// The TLS settings of a pool with its own CA and client certificate.
pub(super) fn pool_tls_config(
    t: &crate::spec::extensions::UpstreamTlsExt,
    base_dir: &std::path::Path,
) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = |f: &str| -> Result<Vec<CertificateDer<'static>>, String> {
        let path = base_dir.join(f);
        CertificateDer::pem_file_iter(&path)
            .and_then(|i| i.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("tls: {}: {e}", path.display()))
    };
    let mut roots = rustls::RootCertStore::empty();
    match &t.ca {
        Some(ca) => {
            for c in certs(ca)? {
                roots
                    .add(c)
                    .map_err(|e| format!("tls.ca {ca}: not a usable CA certificate: {e}"))?;
            }
        }
        None => {
            for c in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(c);
            }
        }
    }
    let client_auth = match (&t.cert, &t.key) {
        (Some(c), Some(k)) => {
            let path = base_dir.join(k);
            let key = PrivateKeyDer::from_pem_file(&path)
                .map_err(|e| format!("tls.key {}: {e}", path.display()))?;
            Some((certs(c)?, key))
        }
        (None, None) => None,
        _ => return Err("tls: `cert` and `key` go together".into()),
    };
    super::client::tls_config(roots, client_auth)
}
