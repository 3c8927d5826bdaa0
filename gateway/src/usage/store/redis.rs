//! The Redis usage store: every replica of tollgate pointed at one Redis enforces one limit, not
//! one per replica. Each decision is one atomic Lua script: the token bucket read-refill-take,
//! and the quota check-and-increment with the key expiring at the end of its period.

use redis::aio::ConnectionManager;
use redis::Script;

use super::{StoreFuture, UsageStore};

const TAKE_TOKEN: &str = r#"
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local tokens = tonumber(b[1])
local at = tonumber(b[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
local elapsed = now - at
if elapsed < 0 then elapsed = 0 end
tokens = math.min(burst, tokens + elapsed * rate)
local ok = 0
if tokens >= 1 then
  tokens = tokens - 1
  ok = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
local refill = 60
if rate > 0 then refill = math.ceil(burst / rate) + 60 end
redis.call('EXPIRE', KEYS[1], refill)
return ok
"#;

const COUNT: &str = r#"
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used >= tonumber(ARGV[1]) then
  return 0
end
redis.call('INCR', KEYS[1])
redis.call('EXPIREAT', KEYS[1], ARGV[2])
return 1
"#;

pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    take_token: Script,
    count: Script,
}

impl RedisStore {
    /// Connect to `url` (`redis://host:port[/db]`); keys are written under `prefix`.
    pub async fn connect(url: &str, prefix: &str) -> Result<RedisStore, String> {
        let client = redis::Client::open(url).map_err(|e| format!("--redis-url {url}: {e}"))?;
        // Bounded waits: a store that stops answering must fail the check (open or closed, as
        // configured), not hang the request.
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(std::time::Duration::from_secs(1)))
            .set_response_timeout(Some(std::time::Duration::from_secs(1)))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| format!("cannot reach Redis at {url}: {e}"))?;
        Ok(RedisStore {
            conn,
            prefix: prefix.to_string(),
            take_token: Script::new(TAKE_TOKEN),
            count: Script::new(COUNT),
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
