//! The long-lived collaborators the phases call out to: the HTTP client, the Lambda invoker, key
//! sets, usage counters, IAM callers and the gateway-wide filter chain. Built once by the
//! binary; a hot reload keeps them.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crate::auth::{IamCredential, JwksRegistry};
use crate::filters::Attached;
use crate::lambda::Invoker;
use crate::upstream::HttpClient;
use crate::usage::{MemoryStore, UsageStore};

#[derive(Clone)]
pub struct Services {
    pub http: HttpClient,
    /// Runs Lambda functions; `None` when no runtime host is configured.
    pub invoker: Option<Arc<dyn Invoker>>,
    /// Key sets for JWT and Cognito authorizers.
    pub jwks: Arc<JwksRegistry>,
    /// Where usage counters live.
    pub usage_store: Arc<dyn UsageStore>,
    /// Buckets that only need to be approximate per process (the account-wide default, the
    /// per-IP admission limit), kept out of the shared store so they cost no round trip.
    pub local_buckets: Arc<MemoryStore>,
    /// How many usage-store operations failed (for the metrics endpoint).
    pub usage_store_failures: Arc<AtomicU64>,
    /// Callers `AWS_IAM` routes accept.
    pub iam: Arc<Vec<IamCredential>>,
    /// Gateway-wide policies (`--policies FILE`), before every API's own.
    pub filters: Arc<Vec<Attached>>,
}

impl Default for Services {
    fn default() -> Self {
        Services {
            http: HttpClient::default(),
            invoker: None,
            jwks: Default::default(),
            usage_store: Arc::new(MemoryStore::default()),
            local_buckets: Default::default(),
            usage_store_failures: Default::default(),
            iam: Default::default(),
            filters: Default::default(),
        }
    }
}
