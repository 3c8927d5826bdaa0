//! Where usage counters live, behind one small trait so one process or many replicas can share
//! them: in memory, in an embedded database, in Redis or in DynamoDB.

mod batch;
mod breaker;
mod dynamodb;
mod embedded;
mod lease;
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

/// A token bucket to take from: its key, rate per second and burst capacity.
#[derive(Debug, Clone, Copy)]
pub struct TokenAsk<'a> {
    pub key: &'a str,
    pub rate: f64,
    pub burst: u64,
}

/// A period counter to count in: its key, its limit and when it expires (epoch seconds).
#[derive(Debug, Clone, Copy)]
pub struct CountAsk<'a> {
    pub key: &'a str,
    pub limit: u64,
    pub expires_at: i64,
}

/// How a key's throttle-then-quota decision ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlanDecision {
    Admitted,
    /// No token: the quota was not counted.
    Throttled,
    /// A token, but the quota is used up.
    OverQuota,
}

/// Where usage counters live. One decision is one store operation.
pub trait UsageStore: Send + Sync + 'static {
    /// Take a token from bucket `key` (rate per second, burst capacity) at `now` (epoch seconds).
    fn take_token(&self, key: &str, rate: f64, burst: u64, now: f64) -> StoreFuture<'_, bool>;
    /// Count one request against `limit` in the period `key`; false (and not counted) when the
    /// limit is reached.
    fn count(&self, key: &str, limit: u64, expires_at: i64) -> StoreFuture<'_, bool>;
    /// How many requests the period `key` has counted.
    fn used(&self, key: &str) -> StoreFuture<'_, u64>;
    /// A key's throttle, then its quota, as API Gateway applies them (aws-behaviour §5): the
    /// request is counted only when it got a token. A shared store overrides this to decide both
    /// in one round trip.
    fn take_and_count<'a>(
        &'a self,
        token: TokenAsk<'a>,
        count: CountAsk<'a>,
        now: f64,
    ) -> StoreFuture<'a, PlanDecision> {
        Box::pin(async move {
            if !self
                .take_token(token.key, token.rate, token.burst, now)
                .await?
            {
                return Ok(PlanDecision::Throttled);
            }
            Ok(
                if self.count(count.key, count.limit, count.expires_at).await? {
                    PlanDecision::Admitted
                } else {
                    PlanDecision::OverQuota
                },
            )
        })
    }
    /// Whether calls are being refused without reaching the store ([`Breaker`]).
    fn circuit_open(&self) -> bool {
        false
    }
}
