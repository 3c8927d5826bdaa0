//! Who is calling: the connection, its client certificate, a SigV4 signer, and what an
//! authorizer said about the caller.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Map, Value};

/// Connection facts the server knows and the pipeline needs.
#[derive(Debug, Clone, Copy)]
pub struct ConnInfo {
    pub remote: SocketAddr,
    pub local: SocketAddr,
    pub tls: bool,
}

/// The client certificate of an mTLS connection, as API Gateway describes it
/// (`$context.identity.clientCert.*`, `requestContext.identity.clientCert`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCert {
    pub pem: String,
    pub subject_dn: String,
    pub issuer_dn: String,
    pub serial_number: String,
    /// `notBefore` / `notAfter`, written as API Gateway writes them (`May 28 12:30:02 2019 GMT`).
    pub not_before: String,
    pub not_after: String,
}

impl ClientCert {
    /// The JSON object Lambda events carry.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "clientCertPem": self.pem,
            "subjectDN": self.subject_dn,
            "issuerDN": self.issuer_dn,
            "serialNumber": self.serial_number,
            "validity": {"notBefore": self.not_before, "notAfter": self.not_after},
        })
    }
}

/// Who signed an `AWS_IAM` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamIdentity {
    pub access_key: String,
    pub account_id: String,
    pub user_arn: Option<String>,
    pub user: Option<String>,
}

/// A JWT's verified claims, shared by the authorizer's cache and the requests that use them.
pub(crate) type Claims = std::sync::Arc<Map<String, Value>>;

/// What an authorizer said about a caller, as later phases and the integration see it.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizerOutput {
    pub principal_id: Option<String>,
    /// Context values with their JSON types (the Lambda event keeps them; `$context.authorizer.*`
    /// stringifies them).
    pub context: Map<String, Value>,
    pub usage_identifier_key: Option<String>,
    pub latency: Duration,
    /// A JWT or Cognito authorizer's verified claims and the token's scopes.
    pub claims: Option<std::sync::Arc<Map<String, Value>>>,
    pub scopes: Vec<String>,
}
