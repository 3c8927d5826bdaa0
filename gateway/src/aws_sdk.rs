//! What every AWS SDK client of tollgate's starts from (the DynamoDB usage store, the deployed
//! gateway's Lambda invoker): a rustls HTTPS client and credentials from the environment, with no
//! probing of instance metadata, so a local endpoint needs nothing configured.

use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// HTTPS (rustls, ring) for SDK clients.
pub fn http_client() -> SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` when set (Lambda sets them
/// from the function's role); otherwise placeholder keys, which local endpoints (DynamoDB Local,
/// tollgate's Invoke API) accept.
pub fn environment_credentials() -> Credentials {
    match (
        std::env::var("AWS_ACCESS_KEY_ID"),
        std::env::var("AWS_SECRET_ACCESS_KEY"),
    ) {
        (Ok(id), Ok(secret)) => Credentials::new(
            id,
            secret,
            std::env::var("AWS_SESSION_TOKEN").ok(),
            None,
            "environment",
        ),
        _ => Credentials::new("tollgate", "local", None, None, "tollgate-local"),
    }
}
