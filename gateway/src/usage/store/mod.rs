//! Where usage counters live, behind one small trait so one process or many replicas can share
//! them: in memory, in an embedded database, in Redis or in DynamoDB.

mod breaker;
mod dynamodb;
mod embedded;
mod memory;
mod redis;

pub use breaker::Breaker;
pub use dynamodb::DynamoDbStore;
pub use embedded::{EmbeddedStore, StateSync};
pub use memory::MemoryStore;
pub use redis::RedisStore;

use std::future::Future;
use std::pin::Pin;

pub(crate) type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, String>> + Send + 'a>>;

/// Where usage counters live. One decision is one store operation.
pub trait UsageStore: Send + Sync + 'static {
    /// Take a token from bucket `key` (rate per second, burst capacity) at `now` (epoch seconds).
    fn take_token(&self, key: &str, rate: f64, burst: u64, now: f64) -> StoreFuture<'_, bool>;
    /// Count one request against `limit` in the period `key`; false (and not counted) when the
    /// limit is reached.
    fn count(&self, key: &str, limit: u64, expires_at: i64) -> StoreFuture<'_, bool>;
    /// How many requests the period `key` has counted.
    fn used(&self, key: &str) -> StoreFuture<'_, u64>;
    /// Whether calls are being refused without reaching the store ([`Breaker`]).
    fn circuit_open(&self) -> bool {
        false
    }
}
