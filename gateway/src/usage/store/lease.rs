//! Leases: a replica takes a block of a shared limit (quota requests, or token-bucket slots) with
//! one store call and spends it locally, one request at a time, so most decisions cost no call.
//! A block taken from the store is gone from it whether or not it is spent, so a replica never
//! admits more than the store granted: leasing can only admit fewer, when a block is left
//! unspent. Blocks start at 1 and grow while they are spent quickly, shrink when they are not,
//! and the store side caps them (see docs/usage-plans.md).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// A block spent within this long was too small: the next one doubles.
const FAST: Duration = Duration::from_millis(100);
/// Entries not used for this long are dropped when the map is swept.
const FORGET_AFTER: Duration = Duration::from_secs(300);
/// The map is swept when it grows past this many entries.
const SWEEP_AT: usize = 10_000;

#[derive(Debug)]
struct Lease {
    left: u64,
    /// Unspent units lapse at this moment; after a refusal, requests are refused until then.
    until: Instant,
    refusing: bool,
    /// The size asked for at the last refill.
    block: u64,
    leased_at: Instant,
}

/// What a refill obtained: how many units, and how long they may be spent; with none, how long
/// to refuse without asking again (zero: ask again at once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Grant {
    pub units: u64,
    pub valid_for: Duration,
}

/// One replica's leases, by key.
#[derive(Debug, Default)]
pub(crate) struct Leases {
    map: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Lease>>>>,
}

impl Leases {
    fn entry(&self, key: &str) -> Arc<tokio::sync::Mutex<Lease>> {
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // The usual case, without allocating the key.
        if let Some(lease) = map.get(key) {
            return Arc::clone(lease);
        }
        if map.len() >= SWEEP_AT {
            let now = Instant::now();
            map.retain(|_, l| {
                l.try_lock()
                    .map_or(true, |l| now.duration_since(l.leased_at) < FORGET_AFTER)
            });
        }
        let now = Instant::now();
        Arc::clone(map.entry(key.to_string()).or_insert_with(|| {
            Arc::new(tokio::sync::Mutex::new(Lease {
                left: 0,
                until: now,
                refusing: false,
                block: 0,
                leased_at: now,
            }))
        }))
    }

    /// Spend one unit of `key`'s lease; when it is empty or lapsed, take a new block of up to
    /// `max_block` units through `refill` (called with the size wanted). Requests for one key
    /// wait for one refill rather than each calling the store.
    pub(crate) async fn spend<F, Fut>(
        &self,
        key: &str,
        max_block: u64,
        refill: F,
    ) -> Result<bool, String>
    where
        F: FnOnce(u64) -> Fut,
        Fut: Future<Output = Result<Grant, String>>,
    {
        let entry = self.entry(key);
        let mut lease = entry.lock().await;
        let now = Instant::now();
        if now < lease.until {
            if lease.refusing {
                return Ok(false);
            }
            if lease.left > 0 {
                lease.left -= 1;
                return Ok(true);
            }
        }
        let want = next_block(&lease, now).clamp(1, max_block.max(1));
        let grant = refill(want).await?;
        lease.block = want;
        lease.leased_at = Instant::now();
        lease.until = lease.leased_at + grant.valid_for;
        lease.refusing = grant.units == 0;
        lease.left = grant.units.saturating_sub(1);
        Ok(grant.units > 0)
    }
}

/// The next block's size: double after a block spent within [`FAST`], halve after one that
/// lapsed unspent, else the same; back to 1 after a refusal.
fn next_block(lease: &Lease, now: Instant) -> u64 {
    if lease.block == 0 || lease.refusing {
        1
    } else if lease.left > 0 {
        lease.block / 2
    } else if now.duration_since(lease.leased_at) < FAST {
        lease.block.saturating_mul(2)
    } else {
        lease.block
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A shared pool of `total` units that grants what is asked while it lasts.
    async fn spend_from(leases: &Leases, pool: &AtomicU64, calls: &AtomicU64) -> bool {
        leases
            .spend("k", 64, |want| async move {
                calls.fetch_add(1, Ordering::SeqCst);
                let left = pool.load(Ordering::SeqCst);
                let units = want.min(left);
                pool.fetch_sub(units, Ordering::SeqCst);
                Ok(Grant {
                    units,
                    valid_for: Duration::from_secs(60),
                })
            })
            .await
            .expect("spend")
    }

    #[tokio::test]
    async fn blocks_grow_while_spent_fast_and_never_exceed_the_pool() {
        let (leases, pool, calls) = (Leases::default(), AtomicU64::new(100), AtomicU64::new(0));
        for i in 0..100 {
            assert!(spend_from(&leases, &pool, &calls).await, "request {i}");
        }
        // Blocks of 1, 2, 4, ... 32, then the 37 left: 7 calls for 100 requests.
        assert_eq!(calls.load(Ordering::SeqCst), 7);
        // The pool is spent: no more, never more than it had.
        assert!(!spend_from(&leases, &pool, &calls).await);
    }

    #[tokio::test(start_paused = true)]
    async fn a_lapsed_block_is_not_spent_and_the_next_is_smaller() {
        let leases = Leases::default();
        let grant = |units| {
            move |_want: u64| async move {
                Ok(Grant {
                    units,
                    valid_for: Duration::from_millis(50),
                })
            }
        };
        assert!(leases.spend("k", 8, grant(4)).await.expect("spend"));
        tokio::time::advance(Duration::from_millis(60)).await;
        // Three units lapsed: the refill is asked for a smaller block and grants none.
        let asked = AtomicU64::new(0);
        let refused = leases
            .spend("k", 8, |want| {
                asked.store(want, Ordering::SeqCst);
                async move {
                    Ok(Grant {
                        units: 0,
                        valid_for: Duration::ZERO,
                    })
                }
            })
            .await
            .expect("spend");
        assert!(!refused);
        assert_eq!(asked.load(Ordering::SeqCst), 1);
    }
}
