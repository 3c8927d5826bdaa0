//! The pooled HTTP client every HTTP integration shares (http and https), which key-set fetches,
//! discovery and the OTLP exporter use too; an upstream pool with its own TLS settings has its
//! own.

use std::time::Duration;

use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;

use crate::body::{self, Body};

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// The pooled client every HTTP integration shares (http and https; an upstream pool with its
/// own TLS settings has its own).
#[derive(Clone)]
pub struct HttpClient {
    client: Client<Connector, Body>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HttpClient")
    }
}

/// The machine's CA certificates.
pub(crate) fn native_roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    roots
}

fn provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    std::sync::Arc::new(rustls::crypto::ring::default_provider())
}

/// Verify HTTPS integrations against `roots`, presenting `client_auth` (a certificate chain and
/// key) when the upstream asks for one.
pub(super) fn tls_config(
    roots: rustls::RootCertStore,
    client_auth: Option<(
        Vec<rustls::pki_types::CertificateDer<'static>>,
        rustls::pki_types::PrivateKeyDer<'static>,
    )>,
) -> Result<rustls::ClientConfig, String> {
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    match client_auth {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| format!("the client certificate and key do not match: {e}")),
        None => Ok(builder.with_no_client_auth()),
    }
}

impl Default for HttpClient {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpClient {
    /// HTTPS integrations are verified against the machine's CA certificates.
    pub fn new() -> Self {
        match tls_config(native_roots(), None) {
            Ok(config) => Self::with_tls(config),
            Err(e) => panic!("rustls with ring supports its safe defaults: {e}"),
        }
    }

    /// A client with its own TLS settings (an upstream's CA and client certificate).
    pub fn with_tls(config: rustls::ClientConfig) -> Self {
        Self::with_tls_and_connect_timeout(config, Duration::from_secs(10))
    }

    /// A client with its own TLS settings and connect timeout (an upstream pool's).
    pub fn with_tls_and_connect_timeout(config: rustls::ClientConfig, connect: Duration) -> Self {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect));
        http.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(config)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(256)
            .build(connector);
        Self { client }
    }
}

impl HttpClient {
    /// Send a request as it is (integration traffic; the caller bounds the time).
    pub fn send(&self, mut req: http::Request<Body>) -> hyper_util::client::legacy::ResponseFuture {
        if !req.headers().contains_key(http::header::HOST) {
            if let Some(host) = host_header(req.uri()) {
                req.headers_mut().insert(http::header::HOST, host);
            }
        }
        self.client.request(req)
    }

    /// POST a JSON body and open the answer's body as a stream (etcd's watch).
    pub async fn post_stream(
        &self,
        url: &str,
        json: String,
        timeout: Duration,
    ) -> Result<hyper::body::Incoming, String> {
        let mut req = http::Request::new(body::full(json));
        *req.method_mut() = http::Method::POST;
        req.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        self.send_small(url, req, timeout).await
    }

    /// Send a request of the gateway's own (not a client's) and open a successful answer.
    async fn send_small(
        &self,
        url: &str,
        mut req: http::Request<Body>,
        timeout: Duration,
    ) -> Result<hyper::body::Incoming, String> {
        *req.uri_mut() = url.parse().map_err(|e| format!("not a URL: {e}"))?;
        let resp = tokio::time::timeout(timeout, self.client.request(req))
            .await
            .map_err(|_| format!("timed out after {timeout:?}"))?
            .map_err(|e| describe(&e))?;
        if !resp.status().is_success() {
            return Err(format!("answered {}", resp.status()));
        }
        Ok(resp.into_body())
    }

    /// Send a request of the gateway's own and read the whole answer, whatever its status
    /// (the OTLP exporter judges its collector's answers itself).
    pub async fn exchange(
        &self,
        req: http::Request<Body>,
        timeout: Duration,
        max_bytes: usize,
    ) -> Result<http::Response<bytes::Bytes>, String> {
        use http_body_util::BodyExt;
        let work = async {
            let resp = self.client.request(req).await.map_err(|e| describe(&e))?;
            let (parts, body) = resp.into_parts();
            let bytes = http_body_util::Limited::new(body, max_bytes)
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok(http::Response::from_parts(parts, bytes))
        };
        tokio::time::timeout(timeout, work)
            .await
            .map_err(|_| format!("timed out after {timeout:?}"))?
    }

    /// POST a JSON body and read the whole answer, with a time and size bound.
    pub async fn post_json(
        &self,
        url: &str,
        json: String,
        timeout: Duration,
        max_bytes: usize,
    ) -> Result<bytes::Bytes, String> {
        use http_body_util::BodyExt;
        let body = self.post_stream(url, json, timeout).await?;
        tokio::time::timeout(
            timeout,
            http_body_util::Limited::new(body, max_bytes).collect(),
        )
        .await
        .map_err(|_| format!("timed out after {timeout:?}"))?
        .map(|c| c.to_bytes())
        .map_err(|e| e.to_string())
    }

    /// A small GET (JWKS, discovery documents) with a time and size bound.
    pub async fn get(
        &self,
        url: &str,
        timeout: Duration,
        max_bytes: usize,
    ) -> Result<bytes::Bytes, String> {
        use http_body_util::BodyExt;
        let body = self
            .send_small(url, http::Request::new(body::empty()), timeout)
            .await?;
        let limited = http_body_util::Limited::new(body, max_bytes);
        tokio::time::timeout(timeout, limited.collect())
            .await
            .map_err(|_| format!("timed out after {timeout:?}"))?
            .map(|c| c.to_bytes())
            .map_err(|e| e.to_string())
    }
}

/// An error and its sources, as one line.
/// The `Host` header hyper-util's client would add, taken from the URI's authority as written
/// instead of formatted anew on every request: the host, and the port unless it is the scheme's
/// default. `None` (the client then adds its own) for an authority with user information.
fn host_header(uri: &http::Uri) -> Option<http::HeaderValue> {
    let authority = uri.authority()?.as_str();
    if authority.contains('@') || authority.ends_with(':') {
        return None;
    }
    let secure = matches!(uri.scheme_str(), Some("https" | "wss"));
    let text = match (uri.port_u16(), secure) {
        (Some(443), true) | (Some(80), false) => uri.host()?,
        _ => authority,
    };
    http::HeaderValue::from_str(text).ok()
}

pub(crate) fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(err) = cur {
        parts.push(err.to_string());
        cur = err.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::host_header;

    /// hyper-util's own rule (`set_host` in its legacy client), written out.
    fn hyper_util_host(uri: &http::Uri) -> String {
        let host = uri.host().expect("a host");
        let secure = matches!(uri.scheme_str(), Some("https" | "wss"));
        match (uri.port_u16(), secure) {
            (Some(443), true) | (Some(80), false) | (None, _) => host.to_string(),
            (Some(port), _) => format!("{host}:{port}"),
        }
    }

    #[test]
    fn the_host_header_is_the_one_the_client_would_write() {
        for text in [
            "http://127.0.0.1:18081/x",
            "http://example.com/x",
            "http://example.com:80/x",
            "https://example.com:443/x?q=1",
            "https://example.com:80/x",
            "http://example.com:443/x",
            "https://[::1]:8443/",
            "http://[::1]/",
        ] {
            let uri: http::Uri = text.parse().expect("uri");
            let ours = host_header(&uri).expect("a host header");
            assert_eq!(ours, hyper_util_host(&uri), "{text}");
        }
        let with_user: http::Uri = "http://user@example.com:8080/".parse().expect("uri");
        assert_eq!(host_header(&with_user), None);
    }
}
