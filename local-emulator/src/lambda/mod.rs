//! Lambda functions run by tollgate itself: real processes speaking the Lambda Runtime API to an
//! embedded host, warm and concurrent, no Docker.

mod cargo;
pub mod clients;
mod deps;
mod interpreters;
pub mod invoke_api;
mod pool;
mod prepare;
mod runtime_api;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gateway::{InvokeError, InvokeFuture, InvokeRequest, Invoker};

pub use pool::FunctionPool;
pub use prepare::{prepare_functions, rebuild, PrepareOptions};

/// Everything needed to start one function's processes.
#[derive(Debug, Clone)]
pub struct FunctionConfig {
    pub logical_id: String,
    pub name: String,
    pub arn: String,
    pub command: PathBuf,
    pub args: Vec<String>,
    pub working_dir: PathBuf,
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    pub max_concurrency: usize,
    /// Where the function's code lives, for hot reload (`None`: not watched).
    pub source_dir: Option<PathBuf>,
    /// How to rebuild it on change: a Rust crate's manifest and binary name.
    pub rebuild: Option<(PathBuf, String)>,
    /// The template's properties it was prepared from: a reload that changes them restarts the
    /// function with a new configuration.
    pub declared: serde_json::Value,
    /// What the user should know about how it runs (an interpreter version other than the
    /// template's), printed at start-up.
    pub notes: Vec<String>,
}

/// Host-wide settings.
#[derive(Debug, Clone)]
pub struct HostOptions {
    pub queue_limit: usize,
    pub idle_timeout: Duration,
    pub eager: bool,
}

/// The Runtime API host and the pools behind it.
pub struct LambdaHost {
    pools: Arc<HashMap<String, Arc<FunctionPool>>>,
    /// Function name or logical id → logical id.
    names: HashMap<String, String>,
}

impl LambdaHost {
    /// Bind the Runtime API on loopback and create a pool per function.
    pub async fn start(
        functions: Vec<FunctionConfig>,
        opts: &HostOptions,
    ) -> anyhow::Result<LambdaHost> {
        let mut pools = HashMap::new();
        let mut names = HashMap::new();
        for f in functions {
            let id = f.logical_id.clone();
            names.insert(f.name.clone(), id.clone());
            names.insert(id.clone(), id.clone());
            let pool = FunctionPool::new(f, opts.queue_limit, opts.idle_timeout);
            if opts.eager {
                pool.warm();
            }
            pools.insert(id, pool);
        }
        Ok(LambdaHost {
            pools: Arc::new(pools),
            names,
        })
    }

    pub fn pools(&self) -> impl Iterator<Item = &Arc<FunctionPool>> {
        self.pools.values()
    }

    /// The pool of the function with this logical id.
    pub fn pool(&self, logical_id: &str) -> Option<&Arc<FunctionPool>> {
        self.pools.get(logical_id)
    }

    /// The logical id a function name, logical id or ARN-derived name refers to.
    pub fn resolve(&self, name: &str) -> Option<String> {
        self.names.get(name).cloned()
    }

    pub fn stop_all(&self) {
        for p in self.pools.values() {
            p.stop_all();
        }
    }
}

impl Invoker for LambdaHost {
    fn invoke(&self, request: InvokeRequest) -> InvokeFuture<'_> {
        Box::pin(async move {
            let Some(pool) = self.pools.get(&request.function) else {
                return Err(InvokeError::NotFound(request.function));
            };
            pool.invoke(Bytes::clone(&request.payload), request.trace_id)
                .await
        })
    }
}
