//! Group decisions: while one store call for a key is in flight, the requests for that key queue
//! up, and when it returns they are all decided by the next call, in the order they came. Under
//! load a shared store then runs one call for many requests instead of one each; each call is
//! still atomic in the store, so replicas stay exact. A request alone is decided at once, in its
//! own task; a queue is decided by a task of its own, so a caller that goes away never strands it.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::oneshot;

use super::PlanDecision;

/// One store call that decides several requests for one key.
pub(crate) trait Decider: Send + Sync + 'static {
    /// What requests must share to be decided together.
    type Key: Clone + Eq + Hash + Send + Sync + 'static;
    /// One request's limits and clock.
    type Ask: Send + 'static;
    /// Decide `asks`, all for `key`, in their order: one decision each.
    fn decide(
        &self,
        key: &Self::Key,
        asks: &[Self::Ask],
    ) -> impl Future<Output = Result<Vec<PlanDecision>, String>> + Send;
}

type Answer = oneshot::Sender<Result<PlanDecision, String>>;

/// Requests waiting for the next call of one key.
struct Queue<A> {
    asks: Vec<A>,
    answers: Vec<Answer>,
}

impl<A> Default for Queue<A> {
    fn default() -> Self {
        Queue {
            asks: Vec::new(),
            answers: Vec::new(),
        }
    }
}

pub(crate) struct Batches<D: Decider> {
    decider: D,
    /// A key is here while a call for it is in flight; its queue waits for the next call.
    lanes: Mutex<HashMap<D::Key, Queue<D::Ask>>>,
}

impl<D: Decider> Batches<D> {
    pub(crate) fn new(decider: D) -> Arc<Batches<D>> {
        Arc::new(Batches {
            decider,
            lanes: Mutex::new(HashMap::new()),
        })
    }

    pub(crate) fn decider(&self) -> &D {
        &self.decider
    }

    pub(crate) async fn decide(
        self: &Arc<Self>,
        key: D::Key,
        ask: D::Ask,
    ) -> Result<PlanDecision, String> {
        let waiting = {
            let mut lanes = self.lanes.lock().unwrap_or_else(PoisonError::into_inner);
            match lanes.get_mut(&key) {
                Some(queue) => {
                    let (answer, waiting) = oneshot::channel();
                    queue.asks.push(ask);
                    queue.answers.push(answer);
                    Err(waiting)
                }
                None => {
                    lanes.insert(key.clone(), Queue::default());
                    Ok(ask)
                }
            }
        };
        match waiting {
            Err(waiting) => waiting
                .await
                .map_err(|_| "the usage store call was dropped".to_string())?,
            Ok(ask) => {
                // Whether this call ends or its caller goes away, the queue moves on.
                let _next = HandOn {
                    batches: self,
                    key: &key,
                };
                let decided = self
                    .decider
                    .decide(&key, std::slice::from_ref(&ask))
                    .await?;
                decided
                    .first()
                    .copied()
                    .ok_or_else(|| "the usage store decided nothing".to_string())
            }
        }
    }

    /// The call for `key` is over: its queue, if any, goes to a task that decides it; else the
    /// key is free again.
    fn hand_on(self: &Arc<Self>, key: &D::Key) {
        let Some(queue) = self.next_queue(key) else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(Arc::clone(self).run(key.clone(), queue));
            }
            // No runtime to decide them (it is shutting down): the waiters get an error.
            Err(_) => self.free(key),
        }
    }

    /// Take `key`'s queue to decide next, or free the key when nobody waits.
    fn next_queue(&self, key: &D::Key) -> Option<Queue<D::Ask>> {
        let mut lanes = self.lanes.lock().unwrap_or_else(PoisonError::into_inner);
        match lanes.get_mut(key) {
            Some(queue) if !queue.asks.is_empty() => Some(std::mem::take(queue)),
            _ => {
                lanes.remove(key);
                None
            }
        }
    }

    fn free(&self, key: &D::Key) {
        self.lanes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }

    /// Decide queues for `key` one call at a time until nobody waits.
    async fn run(self: Arc<Self>, key: D::Key, mut queue: Queue<D::Ask>) {
        loop {
            match self.decider.decide(&key, &queue.asks).await {
                Ok(decisions) => {
                    let mut decisions = decisions.into_iter();
                    for answer in queue.answers.drain(..) {
                        let decided = decisions
                            .next()
                            .ok_or_else(|| "the usage store decided too few".to_string());
                        let _ = answer.send(decided);
                    }
                }
                Err(e) => {
                    for answer in queue.answers.drain(..) {
                        let _ = answer.send(Err(e.clone()));
                    }
                }
            }
            match self.next_queue(&key) {
                Some(next) => queue = next,
                None => return,
            }
        }
    }
}

struct HandOn<'a, D: Decider> {
    batches: &'a Arc<Batches<D>>,
    key: &'a D::Key,
}

impl<D: Decider> Drop for HandOn<'_, D> {
    fn drop(&mut self) {
        self.batches.hand_on(self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A pool of units, each call taking what it can for its asks in order; calls are counted and
    /// the first one waits until released, so the others queue behind it.
    struct Pool {
        left: AtomicU64,
        calls: AtomicU64,
        sizes: Mutex<Vec<usize>>,
        gate: tokio::sync::Semaphore,
    }

    impl Decider for Pool {
        type Key = &'static str;
        type Ask = ();
        async fn decide(
            &self,
            _key: &&'static str,
            asks: &[()],
        ) -> Result<Vec<PlanDecision>, String> {
            let first = self.calls.fetch_add(1, Ordering::SeqCst) == 0;
            if first {
                let _ = self.gate.acquire().await.map_err(|e| e.to_string())?;
            }
            self.sizes.lock().expect("sizes").push(asks.len());
            let left = self.left.load(Ordering::SeqCst);
            let granted = left.min(asks.len() as u64);
            self.left.fetch_sub(granted, Ordering::SeqCst);
            Ok((0..asks.len() as u64)
                .map(|i| {
                    if i < granted {
                        PlanDecision::Admitted
                    } else {
                        PlanDecision::Throttled
                    }
                })
                .collect())
        }
    }

    /// A pool of `left` units and a first call for key "k" that is inside the store, held there
    /// until the test adds a permit to the gate.
    async fn held_first_call(
        left: u64,
    ) -> (
        Arc<Batches<Pool>>,
        tokio::task::JoinHandle<Result<PlanDecision, String>>,
    ) {
        let batches = Batches::new(Pool {
            left: AtomicU64::new(left),
            calls: AtomicU64::new(0),
            sizes: Mutex::new(Vec::new()),
            gate: tokio::sync::Semaphore::new(0),
        });
        let first = tokio::spawn({
            let b = Arc::clone(&batches);
            async move { b.decide("k", ()).await }
        });
        while batches.decider().calls.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        (batches, first)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_behind_a_call_are_decided_together_and_exactly() {
        let (batches, first) = held_first_call(5).await;
        let mut rest = Vec::new();
        for _ in 0..9 {
            let b = Arc::clone(&batches);
            rest.push(tokio::spawn(async move { b.decide("k", ()).await }));
        }
        // All nine are queued behind the first call before it returns.
        while batches.lanes.lock().expect("lanes")["k"].asks.len() < 9 {
            tokio::task::yield_now().await;
        }
        batches.decider().gate.add_permits(1);
        let mut admitted = u32::from(first.await.expect("task") == Ok(PlanDecision::Admitted));
        for r in rest {
            admitted += u32::from(r.await.expect("task") == Ok(PlanDecision::Admitted));
        }
        assert_eq!(admitted, 5, "exactly the pool");
        // Once the queue's task sees nobody waiting, the key is free again and the next request
        // is decided at once, alone.
        while !batches.lanes.lock().expect("lanes").is_empty() {
            tokio::task::yield_now().await;
        }
        assert_eq!(batches.decide("k", ()).await, Ok(PlanDecision::Throttled));
        assert_eq!(*batches.decider().sizes.lock().expect("sizes"), [1, 9, 1]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_caller_that_goes_away_does_not_strand_the_queue() {
        let (batches, first) = held_first_call(10).await;
        let queued = tokio::spawn({
            let b = Arc::clone(&batches);
            async move { b.decide("k", ()).await }
        });
        while batches.lanes.lock().expect("lanes")["k"].asks.is_empty() {
            tokio::task::yield_now().await;
        }
        // The first caller is cancelled mid-call: the queued one is still decided.
        first.abort();
        let _ = first.await;
        let decided = tokio::time::timeout(std::time::Duration::from_secs(5), queued)
            .await
            .expect("the queued request is decided, not stranded");
        assert_eq!(decided.expect("task"), Ok(PlanDecision::Admitted));
    }
}
