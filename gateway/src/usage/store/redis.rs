//! The Redis usage store: every replica of tollgate pointed at one Redis enforces one limit, not
//! one per replica. Each decision is one atomic Lua script: the token bucket read-refill-take,
//! the quota check-and-increment with the key expiring at the end of its period, or, for a key
//! with both, the two in one script, so a request costs one round trip.

use redis::aio::ConnectionManager;
use redis::Script;

use super::{CountAsk, PlanDecision, StoreFuture, TokenAsk, UsageStore};

/// The Lua functions every script shares: `take` (the token bucket's read-refill-take, the key
/// expiring once the bucket would be full again) and `count` (the quota's check-and-increment,
/// the key expiring at the end of its period).
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
local function take(key, rate, burst, now)
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
  local took = tokens >= 1
  if took then tokens = tokens - 1 end
  local refill = 60
  if rate > 0 then refill = math.ceil(burst / rate) + 60 end
  redis.call('SET', key, tokens .. ' ' .. now, 'EX', refill)
  return took
end
local function count(key, limit, expires_at)
  local used = redis.call('INCR', key)
  if used == 1 then redis.call('EXPIREAT', key, expires_at) end
  if used > limit then
    redis.call('DECR', key)
    return false
  end
  return true
end
"#
    };
}

/// KEYS[1] bucket; ARGV rate, burst, now. Returns 1 with a token, else 0.
const TAKE_TOKEN: &str = concat!(
    lua_functions!(),
    "if take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])) then return 1 end\n",
    "return 0\n"
);

/// KEYS[1] counter; ARGV limit, expiry. Returns 1 when counted, 0 at the limit.
const COUNT: &str = concat!(
    lua_functions!(),
    "if count(KEYS[1], tonumber(ARGV[1]), ARGV[2]) then return 1 end\n",
    "return 0\n"
);

/// A key's throttle and quota in one round trip: KEYS[1] bucket, KEYS[2] counter; ARGV rate,
/// burst, now, limit, expiry. Counts only with a token. Returns 0 throttled, 1 admitted, 2 over
/// quota.
const TAKE_AND_COUNT: &str = concat!(
    lua_functions!(),
    "if not take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])) then return 0 end\n",
    "if count(KEYS[2], tonumber(ARGV[4]), ARGV[5]) then return 1 end\n",
    "return 2\n"
);

pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    take_token: Script,
    count: Script,
    take_and_count: Script,
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
            conn,
            prefix: prefix.to_string(),
            take_token: Script::new(TAKE_TOKEN),
            count: Script::new(COUNT),
            take_and_count: Script::new(TAKE_AND_COUNT),
        })
    }
}

impl UsageStore for RedisStore {
    fn take_token(&self, key: &str, rate: f64, burst: u64, now: f64) -> StoreFuture<'_, bool> {
        let mut conn = self.conn.clone();
        let key = format!("{}{key}", self.prefix);
        Box::pin(async move {
            let ok: i64 = self
                .take_token
                .key(key)
                .arg(rate)
                .arg(burst)
                .arg(now)
                .invoke_async(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            Ok(ok == 1)
        })
    }

    fn count(&self, key: &str, limit: u64, expires_at: i64) -> StoreFuture<'_, bool> {
        let mut conn = self.conn.clone();
        let key = format!("{}{key}", self.prefix);
        Box::pin(async move {
            let ok: i64 = self
                .count
                .key(key)
                .arg(limit)
                .arg(expires_at)
                .invoke_async(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            Ok(ok == 1)
        })
    }

    fn take_and_count<'a>(
        &'a self,
        token: TokenAsk<'a>,
        count: CountAsk<'a>,
        now: f64,
    ) -> StoreFuture<'a, PlanDecision> {
        let mut conn = self.conn.clone();
        let bucket = format!("{}{}", self.prefix, token.key);
        let counter = format!("{}{}", self.prefix, count.key);
        Box::pin(async move {
            let outcome: i64 = self
                .take_and_count
                .key(bucket)
                .key(counter)
                .arg(token.rate)
                .arg(token.burst)
                .arg(now)
                .arg(count.limit)
                .arg(count.expires_at)
                .invoke_async(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            Ok(match outcome {
                1 => PlanDecision::Admitted,
                2 => PlanDecision::OverQuota,
                _ => PlanDecision::Throttled,
            })
        })
    }

    fn used(&self, key: &str) -> StoreFuture<'_, u64> {
        let mut conn = self.conn.clone();
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
