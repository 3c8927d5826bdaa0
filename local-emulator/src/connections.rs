//! Connection limits: how many connections are served at once, and how long one may sit idle.
//!
//! Every accepted connection is registered with its activity (bytes arriving, requests in
//! flight). A connection with no request in flight and no bytes for `idle_timeout` is closed:
//! before its first request, between keep-alive requests, or HTTP/2 with no streams. At
//! `max_connections` the oldest idle connection is closed to admit a new one, so silent sockets
//! cannot hold the server; with none idle, the new connection is refused. Shedding is logged at
//! most once per interval.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub idle_timeout: Duration,
}

/// Descriptors kept back from connections for function processes, upstreams and files.
const RESERVED_DESCRIPTORS: u64 = 256;

/// Raise the soft open-file limit to the hard one, and fit `limits.max_connections` into it.
/// Returns the limits to serve with and a note when the cap had to come down.
pub fn fit_to_descriptors(mut limits: Limits) -> (Limits, Option<String>) {
    let Ok((soft, hard)) = rlimit::Resource::NOFILE.get() else {
        return (limits, None);
    };
    let soft = if soft < hard && rlimit::Resource::NOFILE.set(hard, hard).is_ok() {
        hard
    } else {
        soft
    };
    let room = usize::try_from(soft.saturating_sub(RESERVED_DESCRIPTORS)).unwrap_or(usize::MAX);
    if limits.max_connections > room {
        let note = format!(
            "--max-connections {} lowered to {room}: the open-file limit is {soft}",
            limits.max_connections
        );
        limits.max_connections = room.max(1);
        return (limits, Some(note));
    }
    (limits, None)
}

/// What a connection is doing, updated by its I/O and its requests.
pub struct Activity {
    epoch: Instant,
    /// Milliseconds since `epoch` of the last byte read or request finished.
    last: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new(epoch: Instant) -> Activity {
        let a = Activity {
            epoch,
            last: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        };
        a.touch();
        a
    }

    fn touch(&self) {
        let ms = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(ms, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Option<Duration> {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
        Some(self.epoch.elapsed().saturating_sub(last))
    }

    /// Mark a request in flight until the returned guard drops.
    pub fn request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(self))
    }

    /// Resolves once the connection has been idle for `timeout`.
    pub async fn idle(&self, timeout: Duration) {
        loop {
            let wait = match self.idle_for() {
                Some(idle) if idle >= timeout => return,
                Some(idle) => timeout - idle,
                None => timeout,
            };
            tokio::time::sleep(wait).await;
        }
    }
}

pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Entry {
    activity: Arc<Activity>,
    close: Arc<Notify>,
}

/// The connections being served, oldest first.
pub struct Registry {
    limits: Limits,
    epoch: Instant,
    next: AtomicU64,
    open: Mutex<BTreeMap<u64, Entry>>,
    shed: Mutex<ShedLog>,
}

#[derive(Default)]
struct ShedLog {
    since_last: u64,
    last: Option<Instant>,
}

/// How often shedding is reported.
const SHED_LOG_INTERVAL: Duration = Duration::from_secs(10);

impl Registry {
    pub fn new(limits: Limits) -> Arc<Registry> {
        Arc::new(Registry {
            limits,
            epoch: Instant::now(),
            next: AtomicU64::new(0),
            open: Mutex::new(BTreeMap::new()),
            shed: Mutex::new(ShedLog::default()),
        })
    }

    /// Register a new connection. At the cap the oldest idle one is told to close; with none
    /// idle, `None`: the new connection is refused.
    pub fn admit(self: &Arc<Self>) -> Option<Tracked> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.len() >= self.limits.max_connections {
            let oldest_idle = open
                .iter()
                .find(|(_, e)| e.activity.idle_for().is_some())
                .map(|(id, _)| *id);
            match oldest_idle.and_then(|id| open.remove(&id)) {
                Some(e) => {
                    e.close.notify_one();
                    self.note_shed("closed the oldest idle connection");
                }
                None => {
                    self.note_shed("refused a connection: every connection is busy");
                    return None;
                }
            }
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let activity = Arc::new(Activity::new(self.epoch));
        let close = Arc::new(Notify::new());
        open.insert(
            id,
            Entry {
                activity: Arc::clone(&activity),
                close: Arc::clone(&close),
            },
        );
        Some(Tracked {
            id,
            registry: Arc::clone(self),
            activity,
            close,
        })
    }

    fn note_shed(&self, what: &str) {
        let mut log = self.shed.lock().unwrap_or_else(|p| p.into_inner());
        log.since_last += 1;
        if log.last.is_none_or(|t| t.elapsed() >= SHED_LOG_INTERVAL) {
            tracing::warn!(
                "at --max-connections {}: {what} ({} shed since the last report)",
                self.limits.max_connections,
                log.since_last
            );
            log.since_last = 0;
            log.last = Some(Instant::now());
        }
    }
}

/// One registered connection; dropping it unregisters it.
pub struct Tracked {
    id: u64,
    registry: Arc<Registry>,
    pub activity: Arc<Activity>,
    close: Arc<Notify>,
}

impl Tracked {
    /// Resolves when the connection should close: shed at the cap, or idle too long.
    pub async fn closing(&self) {
        tokio::select! {
            () = self.close.notified() => {}
            () = self.activity.idle(self.registry.limits.idle_timeout) => {}
        }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let mut open = self.registry.open.lock().unwrap_or_else(|p| p.into_inner());
        open.remove(&self.id);
    }
}

/// Every byte read is activity.
impl crate::watched_io::Watch for Arc<Activity> {
    fn read(&self, _bytes: &[u8]) {
        self.touch();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max: usize) -> Limits {
        Limits {
            max_connections: max,
            idle_timeout: Duration::from_secs(60),
        }
    }

    #[tokio::test]
    async fn at_the_cap_the_oldest_idle_connection_makes_room() {
        let r = Registry::new(limits(2));
        let first = r.admit().expect("first");
        let second = r.admit().expect("second");
        let busy = second.activity.request();
        // Full: the oldest idle one (the first) is told to close.
        let third = r.admit().expect("third");
        tokio::time::timeout(Duration::from_secs(1), first.close.notified())
            .await
            .expect("the first connection is told to close");
        drop(first);
        // Full again and the others are busy: refused.
        let _busy3 = third.activity.request();
        assert!(r.admit().is_none());
        drop(busy);
        assert!(r.admit().is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn idle_means_no_request_and_no_bytes() {
        let a = Arc::new(Activity::new(Instant::now()));
        let req = a.request();
        assert!(a.idle_for().is_none());
        drop(req);
        let idle = a.idle(Duration::from_secs(5));
        tokio::time::timeout(Duration::from_secs(6), idle)
            .await
            .expect("idle after 5 s");
    }
}
