//! A circuit breaker in front of a shared usage store (Redis, DynamoDB). While the store is
//! down, every request would otherwise wait for its own connect timeout; after a few failures in
//! a row the breaker opens and calls fail at once (the request then fails open, or closed with
//! `--usage-store-fail-closed`, as with any store failure). Once per probe interval one call is
//! let through; when it succeeds the breaker closes and counting resumes. Each change of state
//! is logged once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::{CountAsk, PlanDecision, StoreFuture, TokenAsk, UsageStore};

/// Failures in a row that open the breaker.
const TRIP_AFTER: u32 = 3;
/// How often an open breaker lets one call through to see if the store is back.
const PROBE_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        next_probe: Instant,
    },
    /// One probe is in flight; everything else still fails fast.
    Probing,
}

pub struct Breaker<S> {
    inner: S,
    name: &'static str,
    state: Mutex<State>,
    open: Arc<AtomicBool>,
}

impl<S: UsageStore> Breaker<S> {
    pub fn new(inner: S, name: &'static str) -> Breaker<S> {
        Breaker {
            inner,
            name,
            state: Mutex::new(State::Closed { failures: 0 }),
            open: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether this call may reach the store.
    fn admit(&self) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match *state {
            State::Closed { .. } => true,
            State::Open { next_probe } if Instant::now() >= next_probe => {
                *state = State::Probing;
                true
            }
            State::Open { .. } | State::Probing => false,
        }
    }

    /// The outcome of an admitted call: `None` when it succeeded.
    fn record(&self, error: Option<&str>) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let next = match (*state, error.is_none()) {
            (State::Closed { .. }, true) => State::Closed { failures: 0 },
            (State::Probing, true) => {
                tracing::info!(
                    "the {} usage store answers again: counting resumes",
                    self.name
                );
                State::Closed { failures: 0 }
            }
            (State::Closed { failures }, false) if failures + 1 < TRIP_AFTER => State::Closed {
                failures: failures + 1,
            },
            (State::Closed { .. }, false) => {
                tracing::warn!(
                    "the {} usage store failed {TRIP_AFTER} times in a row ({}): not calling it for {PROBE_INTERVAL:?} at a time until it answers",
                    self.name,
                    error.unwrap_or_default()
                );
                State::Open {
                    next_probe: Instant::now() + PROBE_INTERVAL,
                }
            }
            (State::Probing, false) => State::Open {
                next_probe: Instant::now() + PROBE_INTERVAL,
            },
            // A call admitted before the breaker opened finished late: nothing to change.
            (open @ State::Open { .. }, _) => open,
        };
        *state = next;
        self.open
            .store(!matches!(next, State::Closed { .. }), Ordering::Relaxed);
    }

    async fn call<'a, T>(&'a self, f: impl FnOnce() -> StoreFuture<'a, T>) -> Result<T, String> {
        if !self.admit() {
            return Err(format!(
                "the {} usage store is unavailable (circuit open)",
                self.name
            ));
        }
        let result = f().await;
        self.record(result.as_ref().err().map(String::as_str));
        result
    }
}

impl<S: UsageStore> UsageStore for Breaker<S> {
    fn take_token(&self, key: &str, rate: f64, burst: u64, now: f64) -> StoreFuture<'_, bool> {
        let key = key.to_string();
        Box::pin(self.call(move || self.inner.take_token(&key, rate, burst, now)))
    }

    fn count(&self, key: &str, limit: u64, expires_at: i64) -> StoreFuture<'_, bool> {
        let key = key.to_string();
        Box::pin(self.call(move || self.inner.count(&key, limit, expires_at)))
    }

    fn used(&self, key: &str) -> StoreFuture<'_, u64> {
        let key = key.to_string();
        Box::pin(self.call(move || self.inner.used(&key)))
    }

    fn take_and_count<'a>(
        &'a self,
        token: TokenAsk<'a>,
        count: CountAsk<'a>,
        now: f64,
    ) -> StoreFuture<'a, PlanDecision> {
        Box::pin(self.call(move || self.inner.take_and_count(token, count, now)))
    }

    fn circuit_open(&self) -> bool {
        self.open.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// A store that fails while `down` is set, counting the calls that reach it.
    #[derive(Default)]
    struct Flaky {
        down: AtomicBool,
        calls: AtomicUsize,
    }

    impl UsageStore for Arc<Flaky> {
        fn take_token(&self, _: &str, _: f64, _: u64, _: f64) -> StoreFuture<'_, bool> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let down = self.down.load(Ordering::SeqCst);
            Box::pin(async move {
                if down {
                    Err("connection refused".to_string())
                } else {
                    Ok(true)
                }
            })
        }
        fn count(&self, _: &str, _: u64, _: i64) -> StoreFuture<'_, bool> {
            Box::pin(async { Ok(true) })
        }
        fn used(&self, _: &str) -> StoreFuture<'_, u64> {
            Box::pin(async { Ok(0) })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_failures_probes_once_per_interval_and_closes_when_back() {
        let store = Arc::new(Flaky::default());
        let b = Breaker::new(Arc::clone(&store), "test");
        store.down.store(true, Ordering::SeqCst);
        for _ in 0..100 {
            assert!(b.take_token("k", 1.0, 1, 0.0).await.is_err());
        }
        assert_eq!(
            store.calls.load(Ordering::SeqCst),
            3,
            "only the tripping calls"
        );
        assert!(b.circuit_open());
        // One probe per interval.
        tokio::time::advance(PROBE_INTERVAL).await;
        for _ in 0..10 {
            assert!(b.take_token("k", 1.0, 1, 0.0).await.is_err());
        }
        assert_eq!(store.calls.load(Ordering::SeqCst), 4);
        // Back: the next probe closes the breaker.
        store.down.store(false, Ordering::SeqCst);
        tokio::time::advance(PROBE_INTERVAL).await;
        assert_eq!(b.take_token("k", 1.0, 1, 0.0).await, Ok(true));
        assert!(!b.circuit_open());
        assert_eq!(b.take_token("k", 1.0, 1, 0.0).await, Ok(true));
        assert_eq!(store.calls.load(Ordering::SeqCst), 6);
    }
}
