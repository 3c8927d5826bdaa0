//! The Redis usage store: every replica of tollgate pointed at one Redis enforces one limit, not
//! one per replica. Each decision is one atomic Lua script: the token bucket read-refill-take,
//! the quota check-and-increment with the key expiring at the end of its period, or, for a key
//! with both, the two in one script, so a request costs one round trip. Requests for one key that
//! arrive while its script is running are decided together by the next run ([`super::batch`]):
//! the script takes as many tokens and counts as many requests as it can for all of them, in
//! their order, so under load Redis runs one script for many requests.

use std::sync::Arc;

use redis::aio::ConnectionManager;
use redis::Script;

use super::batch::{Batches, Decider};
use super::{CountAsk, PlanDecision, StoreFuture, TokenAsk, UsageStore};

/// The Lua functions every script shares: `take` (the token bucket's read-refill-take of up to
/// `n` tokens, the key expiring once the bucket would be full again) and `count` (the quota's
/// check-and-increment of up to `n` requests, the key expiring at the end of its period). Each
/// returns how many of the `n` it granted: the first ones in order.
///
/// Redis's time goes to the script, so each function makes as few calls as it can: a bucket is
/// one string, `TOKENS AT`, read with `GET` and written with `SET ... EX` (a hash with `HMGET`,
/// `HSET` and `EXPIRE` made the script a third slower, docs/benchmarks.md); a counter is
/// incremented first and taken back over its limit, and its expiry is set when the increment
/// creates it (a counter's name holds its period, so the expiry never changes). A bucket an
/// earlier version left as a hash is read once and rewritten.
macro_rules! lua_functions {
    () => {
        r#"
local function take(key, rate, burst, now, n)
  local tokens, at = burst, now
  local b = redis.pcall('GET', key)
  if type(b) == 'table' and b.err then
    local h = redis.call('HMGET', key, 'tokens', 'at')
    redis.call('DEL', key)
    b = false
    if h[1] and h[2] then tokens, at = tonumber(h[1]), tonumber(h[2]) end
  end
  if b then
    local sep = string.find(b, ' ', 1, true)
    tokens = tonumber(string.sub(b, 1, sep - 1))
    at = tonumber(string.sub(b, sep + 1))
  end
  local elapsed = now - at
  if elapsed < 0 then elapsed = 0 end
  tokens = math.min(burst, tokens + elapsed * rate)
  local took = math.min(n, math.floor(tokens))
  tokens = tokens - took
  local refill = 60
  if rate > 0 then refill = math.ceil(burst / rate) + 60 end
  redis.call('SET', key, tokens .. ' ' .. now, 'EX', refill)
  return took
end
local function count(key, limit, expires_at, n)
  if n == 0 then return 0 end
  local used = redis.call('INCRBY', key, n)
  if used == n then redis.call('EXPIREAT', key, expires_at) end
  if used > limit then
    local over = math.min(n, used - limit)
    redis.call('DECRBY', key, over)
    return n - over
  end
  return n
end
"#
    };
}

/// Every script answers `{took, counted}`: of its `n` requests (the last ARGV, 1 when absent) the
/// first `took` got a token and the first `counted` were counted. KEYS[1] bucket; ARGV rate,
/// burst, now, n.
const TAKE_TOKEN: &str = concat!(
    lua_functions!(),
    "local n = tonumber(ARGV[4]) or 1\n",
    "local took = take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), n)\n",
    "return {took, took}\n"
);

/// KEYS[1] counter; ARGV limit, expiry, n.
const COUNT: &str = concat!(
    lua_functions!(),
    "local n = tonumber(ARGV[3]) or 1\n",
    "return {n, count(KEYS[1], tonumber(ARGV[1]), ARGV[2], n)}\n"
);

/// A key's throttle and quota in one round trip: KEYS[1] bucket, KEYS[2] counter; ARGV rate,
/// burst, now, limit, expiry, n. Only requests that got a token are counted.
const TAKE_AND_COUNT: &str = concat!(
    lua_functions!(),
    "local n = tonumber(ARGV[6]) or 1\n",
    "local took = take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), n)\n",
    "return {took, count(KEYS[2], tonumber(ARGV[4]), ARGV[5], took)}\n"
);

/// The Redis keys one decision touches (with the store's prefix); requests with the same ones
/// are decided together.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Counters {
    Bucket(String),
    Counter(String),
    Both { bucket: String, counter: String },
}

/// One request's limits and clock (the fields its counters do not use are left at zero).
#[derive(Debug, Clone, Copy, Default)]
struct Limits {
    rate: f64,
    burst: u64,
    limit: u64,
    expires_at: i64,
    now: f64,
}

struct Scripts {
    conn: ConnectionManager,
    take_token: Script,
    count: Script,
    take_and_count: Script,
}

impl Decider for Scripts {
    type Key = Counters;
    type Ask = Limits;

    async fn decide(
        &self,
        counters: &Counters,
        asks: &[Limits],
    ) -> Result<Vec<PlanDecision>, String> {
        let Some(last) = asks.last() else {
            return Ok(Vec::new());
        };
        let n = asks.len();
        // The batch is decided at its latest clock; the limits are the same for every ask of
        // one key unless a reload changed them in between, and then the newest win.
        let now = asks.iter().map(|a| a.now).fold(last.now, f64::max);
        let mut invocation = match counters {
            Counters::Bucket(bucket) => {
                let mut i = self.take_token.key(bucket);
                i.arg(last.rate).arg(last.burst).arg(now);
                i
            }
            Counters::Counter(counter) => {
                let mut i = self.count.key(counter);
                i.arg(last.limit).arg(last.expires_at);
                i
            }
            Counters::Both { bucket, counter } => {
                let mut i = self.take_and_count.key(bucket);
                i.key(counter)
                    .arg(last.rate)
                    .arg(last.burst)
                    .arg(now)
                    .arg(last.limit)
                    .arg(last.expires_at);
                i
            }
        };
        invocation.arg(n);
        let (took, counted): (usize, usize) = invocation
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(|e| e.to_string())?;
        Ok((0..n)
            .map(|i| {
                if i < counted {
                    PlanDecision::Admitted
                } else if i < took {
                    PlanDecision::OverQuota
                } else {
                    PlanDecision::Throttled
                }
            })
            .collect())
    }
}

pub struct RedisStore {
    batches: Arc<Batches<Scripts>>,
    prefix: String,
}

impl RedisStore {
    /// Connect to `url` (`redis://host:port[/db]`); keys are written under `prefix`.
    pub async fn connect(url: &str, prefix: &str) -> Result<RedisStore, String> {
        let client = redis::Client::open(url).map_err(|e| format!("--redis-url {url}: {e}"))?;
        // Bounded waits: a store that stops answering must fail the check (open or closed, as
        // configured), not hang the request.
        // The reconnect's one retry waits milliseconds, not the client's default 100 ms: every
        // call made while Redis is gone waits on that reconnect, and it was the p99 of an
        // outage's first seconds, before the breaker opens (docs/reliability.md).
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(std::time::Duration::from_secs(1)))
            .set_response_timeout(Some(std::time::Duration::from_secs(1)))
            .set_number_of_retries(1)
            .set_min_delay(std::time::Duration::from_millis(2))
            .set_max_delay(std::time::Duration::from_millis(10));
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| format!("cannot reach Redis at {url}: {e}"))?;
        Ok(RedisStore {
            batches: Batches::new(Scripts {
                conn,
                take_token: Script::new(TAKE_TOKEN),
                count: Script::new(COUNT),
                take_and_count: Script::new(TAKE_AND_COUNT),
            }),
            prefix: prefix.to_string(),
        })
    }

    /// Whether `counters` admit one more request.
    fn admits(&self, counters: Counters, limits: Limits) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            Ok(self.batches.decide(counters, limits).await? == PlanDecision::Admitted)
        })
    }
}

impl UsageStore for RedisStore {
    fn take_token(&self, key: &str, rate: f64, burst: u64, now: f64) -> StoreFuture<'_, bool> {
        let limits = Limits {
            rate,
            burst,
            now,
            ..Limits::default()
        };
        self.admits(Counters::Bucket(format!("{}{key}", self.prefix)), limits)
    }

    fn count(&self, key: &str, limit: u64, expires_at: i64) -> StoreFuture<'_, bool> {
        let limits = Limits {
            limit,
            expires_at,
            ..Limits::default()
        };
        self.admits(Counters::Counter(format!("{}{key}", self.prefix)), limits)
    }

    fn take_and_count<'a>(
        &'a self,
        token: TokenAsk<'a>,
        count: CountAsk<'a>,
        now: f64,
    ) -> StoreFuture<'a, PlanDecision> {
        let counters = Counters::Both {
            bucket: format!("{}{}", self.prefix, token.key),
            counter: format!("{}{}", self.prefix, count.key),
        };
        let limits = Limits {
            rate: token.rate,
            burst: token.burst,
            limit: count.limit,
            expires_at: count.expires_at,
            now,
        };
        Box::pin(self.batches.decide(counters, limits))
    }

    fn used(&self, key: &str) -> StoreFuture<'_, u64> {
        let mut conn = self.batches.decider().conn.clone();
        let key = format!("{}{key}", self.prefix);
        Box::pin(async move {
            let v: Option<u64> = redis::cmd("GET")
                .arg(key)
                .query_async(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            Ok(v.unwrap_or(0))
        })
    }
}
