//! One function's pool of processes and its invocation queue.
//!
//! Each process is a worker with its own Runtime API base path (`/{function}/{worker}`), so the
//! host always knows which process holds which request: a crash fails exactly that invocation, a
//! timeout kills exactly that process. Up to `max_concurrency` processes run at once; extra
//! invocations wait in a bounded queue, and a full queue is Lambda's throttle.
//!
//! Every state change happens under one mutex, never held across an await; process spawning,
//! waiting and killing happen in tasks that report back through it.

use std::collections::{HashMap, VecDeque};
use std::process::Stdio;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

// tokio's clock, so the scheduler tests can run it paused.
use tokio::time::Instant;

use bytes::Bytes;
use gateway::{InvokeError, InvokeOutcome};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::oneshot;

use super::FunctionConfig;

type Reply = oneshot::Sender<Result<InvokeOutcome, InvokeError>>;

type LaunchFuture = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Starts one worker. The real launcher runs a process; the scheduler tests use one that speaks
/// the same calls in-process. A launch must end with [`FunctionPool::exited`].
pub trait Launcher: Send + Sync + 'static {
    fn launch(
        &self,
        pool: Arc<FunctionPool>,
        worker: u64,
        kill: oneshot::Receiver<()>,
    ) -> LaunchFuture;
}

/// Runs each worker as a child process with Lambda's environment.
pub struct ProcessLauncher;

impl Launcher for ProcessLauncher {
    fn launch(
        &self,
        pool: Arc<FunctionPool>,
        worker: u64,
        kill: oneshot::Receiver<()>,
    ) -> LaunchFuture {
        Box::pin(async move { pool.run_process(worker, kill).await })
    }
}

/// An invocation waiting for a process.
struct Job {
    request_id: String,
    payload: Bytes,
    trace_id: String,
    reply: Reply,
}

/// What `GET /next` hands the process.
#[derive(Debug)]
pub struct Delivery {
    pub request_id: String,
    pub payload: Bytes,
    pub deadline_ms: u128,
    pub trace_id: String,
}

#[derive(Debug)]
enum Phase {
    /// Spawned, has not asked for work yet.
    Starting,
    /// Long-polling `next`.
    Waiting(oneshot::Sender<Delivery>),
    /// Running an invocation.
    Busy(String),
    /// Answered; about to ask for the next one.
    Idle,
    /// Being killed (timeout, init error, idle reaping); its exit is expected.
    Retiring,
}

struct Worker {
    pid: Option<u32>,
    phase: Phase,
    since: Instant,
    kill: Option<oneshot::Sender<()>>,
}

struct Inflight {
    worker: u64,
    reply: Reply,
    /// When the function's timeout ends this invocation.
    deadline: Instant,
    /// The timeout it was dispatched with (a reload may change the function's).
    timeout: Duration,
}

#[derive(Default)]
struct State {
    next_worker: u64,
    workers: HashMap<u64, Worker>,
    queue: VecDeque<Job>,
    inflight: HashMap<String, Inflight>,
    cold_starts: u64,
    /// What the timeout watchdog sleeps until; `None` while nothing is in flight.
    watching_until: Option<Instant>,
}

/// Why a Runtime API call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeApiError {
    #[error("unknown worker: this process is not (or no longer) part of the pool")]
    UnknownWorker,
    #[error("invalid request id: not in flight for this process")]
    InvalidRequestId,
    #[error("the worker is shutting down")]
    Gone,
}

pub struct FunctionPool {
    /// Replaced whole when the template changes the function (see `reconfigure`).
    cfg: std::sync::RwLock<Arc<FunctionConfig>>,
    /// Held shared by every invocation and exclusively by a reload, so a rebuild waits for
    /// in-flight calls and calls arriving during it wait for the new code instead of failing.
    gate: tokio::sync::RwLock<()>,
    launcher: Arc<dyn Launcher>,
    queue_limit: usize,
    idle_timeout: Duration,
    state: Mutex<State>,
    /// Wakes the timeout watchdog when an invocation's deadline comes before what it sleeps
    /// until, and when the pool goes away.
    watchdog: Arc<tokio::sync::Notify>,
    me: Weak<FunctionPool>,
}

impl Drop for FunctionPool {
    fn drop(&mut self) {
        self.watchdog.notify_one();
    }
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// Lambda's function-error payload for a timeout.
fn timeout_error(request_id: &str, timeout: Duration) -> Bytes {
    let ts = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    Bytes::from(
        serde_json::json!({
            "errorMessage": format!("{ts} {request_id} Task timed out after {:.2} seconds", timeout.as_secs_f64())
        })
        .to_string(),
    )
}

fn exit_error(request_id: &str, reason: &str) -> Bytes {
    Bytes::from(
        serde_json::json!({
            "errorType": "Runtime.ExitError",
            "errorMessage": format!("RequestId: {request_id} Error: {reason}")
        })
        .to_string(),
    )
}

/// One task per pool enforces every invocation's timeout: it sleeps until the earliest deadline
/// in flight (or until told of an earlier one), instead of a sleeping task per invocation, which
/// at thousands of calls a second held thousands of timers and their memory for the whole
/// timeout (docs/benchmarks.md).
async fn watch_timeouts(pool: Weak<FunctionPool>, wake: Arc<tokio::sync::Notify>) {
    loop {
        let next = match pool.upgrade() {
            Some(pool) => pool.expire_timeouts(),
            None => return,
        };
        match next {
            Some(deadline) => {
                tokio::select! {
                    () = tokio::time::sleep_until(deadline) => {}
                    () = wake.notified() => {}
                }
            }
            None => wake.notified().await,
        }
    }
}

/// Stops a worker's Runtime API when the worker's run ends, however it ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl FunctionPool {
    pub fn new(
        cfg: FunctionConfig,
        queue_limit: usize,
        idle_timeout: Duration,
    ) -> Arc<FunctionPool> {
        Self::with_launcher(cfg, queue_limit, idle_timeout, Arc::new(ProcessLauncher))
    }

    pub fn with_launcher(
        cfg: FunctionConfig,
        queue_limit: usize,
        idle_timeout: Duration,
        launcher: Arc<dyn Launcher>,
    ) -> Arc<FunctionPool> {
        let pool = Arc::new_cyclic(|me| FunctionPool {
            cfg: std::sync::RwLock::new(Arc::new(cfg)),
            gate: tokio::sync::RwLock::new(()),
            launcher,
            queue_limit,
            idle_timeout,
            state: Mutex::new(State::default()),
            watchdog: Arc::new(tokio::sync::Notify::new()),
            me: me.clone(),
        });
        tokio::spawn(watch_timeouts(
            Arc::downgrade(&pool),
            Arc::clone(&pool.watchdog),
        ));
        let weak = Arc::downgrade(&pool);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            loop {
                tick.tick().await;
                let Some(pool) = weak.upgrade() else { break };
                pool.reap_idle();
            }
        });
        pool
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock would be a bug; keep serving with the state as it is.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_pid(&self, id: u64, pid: Option<u32>) {
        let mut st = self.lock();
        if let Some(w) = st.workers.get_mut(&id) {
            w.pid = pid;
        }
    }

    /// Processes started to serve a request.
    pub fn cold_starts(&self) -> u64 {
        self.lock().cold_starts
    }

    /// Live workers and how many of them are busy.
    pub fn counts(&self) -> (usize, usize) {
        let st = self.lock();
        let busy = st
            .workers
            .values()
            .filter(|w| matches!(w.phase, Phase::Busy(_)))
            .count();
        (st.workers.len(), busy)
    }

    /// Start one process ahead of traffic (`--warm-containers EAGER`).
    pub fn warm(&self) {
        let mut st = self.lock();
        if st.workers.is_empty() {
            self.spawn_worker(&mut st);
        }
    }

    /// Run one invocation to completion.
    pub async fn invoke(
        &self,
        payload: Bytes,
        trace_id: String,
    ) -> Result<InvokeOutcome, InvokeError> {
        let _running = self.gate.read().await;
        let (tx, rx) = oneshot::channel();
        let job = Job {
            request_id: gateway::new_request_id(),
            payload,
            trace_id,
            reply: tx,
        };
        {
            let mut st = self.lock();
            if let Some(job) = self.try_dispatch(&mut st, job) {
                if st.queue.len() >= self.queue_limit {
                    return Err(InvokeError::Throttled(self.cfg().logical_id.clone()));
                }
                st.queue.push_back(job);
                self.grow(&mut st);
            }
        }
        rx.await.unwrap_or_else(|_| {
            Err(InvokeError::Failed {
                function: self.cfg().logical_id.clone(),
                message: "the runtime host dropped the invocation".into(),
            })
        })
    }

    /// Hand the job to a process already waiting on `next`; give it back if there is none.
    fn try_dispatch(&self, st: &mut State, mut job: Job) -> Option<Job> {
        let waiting: Vec<u64> = st
            .workers
            .iter()
            .filter(|(_, w)| matches!(w.phase, Phase::Waiting(_)))
            .map(|(id, _)| *id)
            .collect();
        for id in waiting {
            let Some(worker) = st.workers.get_mut(&id) else {
                continue;
            };
            let Phase::Waiting(tx) = std::mem::replace(&mut worker.phase, Phase::Idle) else {
                continue;
            };
            match self.deliver(st, id, job, tx) {
                Ok(()) => return None,
                Err(back) => job = back,
            }
        }
        Some(job)
    }

    /// Register `job` as in flight on `worker` and send it down the waiting `next` call.
    fn deliver(
        &self,
        st: &mut State,
        worker: u64,
        job: Job,
        tx: oneshot::Sender<Delivery>,
    ) -> Result<(), Job> {
        let delivery = Delivery {
            request_id: job.request_id.clone(),
            payload: job.payload.clone(),
            deadline_ms: now_ms() + self.cfg().timeout.as_millis(),
            trace_id: job.trace_id.clone(),
        };
        if tx.send(delivery).is_err() {
            // The poll went away (the process is exiting); leave it Idle and try elsewhere.
            return Err(job);
        }
        if let Some(w) = st.workers.get_mut(&worker) {
            w.phase = Phase::Busy(job.request_id.clone());
            w.since = Instant::now();
        }
        let timeout = self.cfg().timeout;
        let deadline = Instant::now() + timeout;
        st.inflight.insert(
            job.request_id,
            Inflight {
                worker,
                reply: job.reply,
                deadline,
                timeout,
            },
        );
        if st.watching_until.is_none_or(|until| deadline < until) {
            st.watching_until = Some(deadline);
            self.watchdog.notify_one();
        }
        Ok(())
    }

    /// Start processes while queued jobs outnumber the processes that will soon take them (those
    /// starting, and those that just answered and are about to ask for more): sequential traffic
    /// stays on one warm process instead of paying a cold start per call.
    fn grow(&self, st: &mut State) {
        loop {
            let coming = st
                .workers
                .values()
                .filter(|w| matches!(w.phase, Phase::Starting | Phase::Idle))
                .count();
            if st.queue.len() <= coming || st.workers.len() >= self.cfg().max_concurrency {
                break;
            }
            self.spawn_worker(st);
        }
    }

    fn spawn_worker(&self, st: &mut State) {
        st.next_worker += 1;
        st.cold_starts += 1;
        let id = st.next_worker;
        let (kill_tx, kill_rx) = oneshot::channel();
        st.workers.insert(
            id,
            Worker {
                pid: None,
                phase: Phase::Starting,
                since: Instant::now(),
                kill: Some(kill_tx),
            },
        );
        let Some(pool) = self.me.upgrade() else {
            return;
        };
        let run = self.launcher.launch(pool, id, kill_rx);
        tokio::spawn(run);
    }

    pub async fn run_process(self: Arc<Self>, id: u64, kill_rx: oneshot::Receiver<()>) {
        let cfg = self.cfg();
        // Each process gets a Runtime API of its own at `host:port`, as Lambda defines the
        // address: every client (and its init-error path) then works, and whatever arrives
        // there is this worker's.
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => {
                self.exited(id, &format!("cannot open its Runtime API: {e}"), Vec::new());
                return;
            }
        };
        let address = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let api = super::runtime_api::serve_worker(listener, Arc::clone(&self), id);
        let _api = AbortOnDrop(api);
        let mut cmd = tokio::process::Command::new(&cfg.command);
        cmd.args(&cfg.args)
            .current_dir(&cfg.working_dir)
            .envs(cfg.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("AWS_LAMBDA_RUNTIME_API", address)
            .env("AWS_LAMBDA_LOG_STREAM_NAME", format!("tollgate/{id}"))
            // A process group of its own: Ctrl-C in the terminal reaches tollgate alone, which
            // drains in-flight calls before it stops its functions.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let started = Instant::now();
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(function = %cfg.logical_id, "cannot start {}: {e}", cfg.command.display());
                self.exited(
                    id,
                    &format!("cannot start {}: {e}", cfg.command.display()),
                    Vec::new(),
                );
                return;
            }
        };
        let pid = child.id();
        self.set_pid(id, pid);
        tracing::debug!(function = %cfg.logical_id, name = %cfg.name, worker = id, pid = ?pid, "process started");
        // Function output streams into the emulator log, prefixed by the function; the last lines
        // of stderr are kept for init-failure reports.
        let tail = Arc::new(Mutex::new(VecDeque::<String>::new()));
        if let Some(out) = child.stdout.take() {
            let name = cfg.logical_id.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(out).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    // Lambda's clients join a multi-line record with \r (one CloudWatch event);
                    // on a terminal each part gets a line of its own.
                    for part in line.split('\r') {
                        eprintln!("[{name}] {part}");
                    }
                }
            });
        }
        let err_task = child.stderr.take().map(|err| {
            let name = cfg.logical_id.clone();
            let tail = Arc::clone(&tail);
            tokio::spawn(async move {
                let mut lines = BufReader::new(err).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    for part in line.split('\r') {
                        eprintln!("[{name}] {part}");
                    }
                    let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
                    t.push_back(line);
                    if t.len() > 20 {
                        t.pop_front();
                    }
                }
            })
        });
        let reason = tokio::select! {
            status = child.wait() => match status {
                Ok(s) => format!("Runtime exited with error: {s}"),
                Err(e) => format!("Runtime exited: {e}"),
            },
            _ = kill_rx => {
                let _ = child.kill().await;
                "Runtime was stopped".to_string()
            }
        };
        if let Some(t) = err_task {
            // Let the last stderr lines arrive before reporting (bounded).
            let _ = tokio::time::timeout(Duration::from_millis(200), t).await;
        }
        tracing::debug!(function = %cfg.logical_id, worker = id, "process ended after {:?}: {reason}", started.elapsed());
        let tail: Vec<String> = tail
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect();
        self.exited(id, &reason, tail);
    }

    /// A process ended: fail what it held, and replace it if work is waiting.
    pub fn exited(&self, id: u64, reason: &str, stderr_tail: Vec<String>) {
        let mut st = self.lock();
        let Some(worker) = st.workers.remove(&id) else {
            return;
        };
        match worker.phase {
            Phase::Busy(rid) => {
                if let Some(inf) = st.inflight.remove(&rid) {
                    tracing::warn!(function = %self.cfg().logical_id, request_id = %rid, "{reason} during an invocation");
                    let _ = inf
                        .reply
                        .send(Ok(InvokeOutcome::FunctionError(exit_error(&rid, reason))));
                }
            }
            Phase::Starting => {
                // It never asked for work: an init failure. Fail the oldest waiting invocation
                // with it, so a broken function cannot spin forever.
                tracing::error!(
                    function = %self.cfg().logical_id,
                    "init failed ({reason}); stderr:\n{}",
                    stderr_tail.join("\n")
                );
                if let Some(job) = st.queue.pop_front() {
                    let _ = job.reply.send(Ok(InvokeOutcome::FunctionError(exit_error(
                        &job.request_id,
                        reason,
                    ))));
                }
            }
            Phase::Waiting(_) | Phase::Idle | Phase::Retiring => {}
        }
        if !st.queue.is_empty() {
            self.grow(&mut st);
        }
    }

    /// `GET /next` from worker `id`: a queued job at once, or wait for one.
    pub async fn next(&self, id: u64) -> Result<Delivery, RuntimeApiError> {
        let rx = {
            let mut st = self.lock();
            match st.workers.get(&id).map(|w| &w.phase) {
                None | Some(Phase::Retiring) => return Err(RuntimeApiError::UnknownWorker),
                Some(Phase::Busy(rid)) => {
                    // Asking for more work while holding a request abandons it, as Lambda
                    // treats a runtime that never answered.
                    let rid = rid.clone();
                    if let Some(inf) = st.inflight.remove(&rid) {
                        let _ = inf.reply.send(Ok(InvokeOutcome::FunctionError(exit_error(
                            &rid,
                            "the runtime asked for the next event without answering this one",
                        ))));
                    }
                }
                _ => {}
            }
            if let Some(job) = st.queue.pop_front() {
                let (tx, rx) = oneshot::channel();
                if let Err(job) = self.deliver(&mut st, id, job, tx) {
                    st.queue.push_front(job);
                    return Err(RuntimeApiError::Gone);
                }
                rx
            } else {
                let (tx, rx) = oneshot::channel();
                if let Some(w) = st.workers.get_mut(&id) {
                    w.phase = Phase::Waiting(tx);
                    w.since = Instant::now();
                }
                rx
            }
        };
        rx.await.map_err(|_| RuntimeApiError::Gone)
    }

    fn finish(
        &self,
        id: u64,
        request_id: &str,
        outcome: InvokeOutcome,
    ) -> Result<(), RuntimeApiError> {
        let mut st = self.lock();
        if !st.workers.contains_key(&id) {
            return Err(RuntimeApiError::UnknownWorker);
        }
        match st.inflight.get(request_id) {
            Some(inf) if inf.worker == id => {}
            _ => return Err(RuntimeApiError::InvalidRequestId),
        }
        let Some(inf) = st.inflight.remove(request_id) else {
            return Err(RuntimeApiError::InvalidRequestId);
        };
        if let Some(w) = st.workers.get_mut(&id) {
            w.phase = Phase::Idle;
            w.since = Instant::now();
        }
        let _ = inf.reply.send(Ok(outcome));
        Ok(())
    }

    /// `POST /invocation/{id}/response`.
    pub fn respond(&self, id: u64, request_id: &str, body: Bytes) -> Result<(), RuntimeApiError> {
        self.finish(id, request_id, InvokeOutcome::Success(body))
    }

    /// `POST /invocation/{id}/error`.
    pub fn fail(&self, id: u64, request_id: &str, body: Bytes) -> Result<(), RuntimeApiError> {
        self.finish(id, request_id, InvokeOutcome::FunctionError(body))
    }

    /// `POST /init/error`: the process could not initialise. Fail the oldest waiting invocation
    /// with its report and stop the process.
    pub fn init_error(&self, id: u64, body: Bytes) -> Result<(), RuntimeApiError> {
        let mut st = self.lock();
        let Some(w) = st.workers.get_mut(&id) else {
            return Err(RuntimeApiError::UnknownWorker);
        };
        w.phase = Phase::Retiring;
        if let Some(k) = w.kill.take() {
            let _ = k.send(());
        }
        tracing::error!(function = %self.cfg().logical_id, "init error: {}", String::from_utf8_lossy(&body));
        if let Some(job) = st.queue.pop_front() {
            let _ = job.reply.send(Ok(InvokeOutcome::FunctionError(body)));
        }
        if !st.queue.is_empty() {
            self.grow(&mut st);
        }
        Ok(())
    }

    /// Kill a process that overran the function's Timeout and fail its invocation the way
    /// Lambda does.
    /// End the invocations whose timeout has passed, as Lambda does: a timeout error for the
    /// caller, and the process killed and replaced. Returns the next deadline to wait for.
    fn expire_timeouts(&self) -> Option<Instant> {
        let mut st = self.lock();
        let now = Instant::now();
        let expired: Vec<String> = st
            .inflight
            .iter()
            .filter(|(_, inf)| inf.deadline <= now)
            .map(|(rid, _)| rid.clone())
            .collect();
        for request_id in expired {
            let Some(inf) = st.inflight.remove(&request_id) else {
                continue;
            };
            tracing::warn!(function = %self.cfg().logical_id, request_id = %request_id, "Task timed out after {:.2} seconds", inf.timeout.as_secs_f64());
            let _ = inf
                .reply
                .send(Ok(InvokeOutcome::FunctionError(timeout_error(
                    &request_id,
                    inf.timeout,
                ))));
            if let Some(w) = st.workers.get_mut(&inf.worker) {
                w.phase = Phase::Retiring;
                if let Some(k) = w.kill.take() {
                    let _ = k.send(());
                }
            }
        }
        st.watching_until = st.inflight.values().map(|inf| inf.deadline).min();
        st.watching_until
    }

    /// Stop processes that have waited for work longer than the idle timeout.
    fn reap_idle(&self) {
        let mut st = self.lock();
        let idle = self.idle_timeout;
        for w in st.workers.values_mut() {
            if matches!(w.phase, Phase::Waiting(_)) && w.since.elapsed() > idle {
                w.phase = Phase::Retiring;
                if let Some(k) = w.kill.take() {
                    let _ = k.send(());
                }
            }
        }
    }

    /// Swap in new code: wait for in-flight invocations, run `build` (which may take a while;
    /// new invocations wait meanwhile), then stop the old processes so the next call starts the
    /// new code.
    /// The configuration new processes start with.
    pub fn cfg(&self) -> Arc<FunctionConfig> {
        match self.cfg.read() {
            Ok(c) => Arc::clone(&c),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Run new calls with `cfg` (the template changed the function): calls in flight finish on
    /// the old processes, which then stop; calls arriving meanwhile wait, as in [`Self::reload`].
    pub async fn reconfigure(&self, cfg: FunctionConfig) {
        let _exclusive = self.gate.write().await;
        match self.cfg.write() {
            Ok(mut c) => *c = Arc::new(cfg),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(cfg),
        }
        self.stop_all();
    }

    pub async fn reload<F>(&self, build: F) -> anyhow::Result<()>
    where
        F: FnOnce() -> anyhow::Result<()> + Send + 'static,
    {
        let _exclusive = self.gate.write().await;
        let built = tokio::task::spawn_blocking(build)
            .await
            .map_err(|e| anyhow::anyhow!("the build task failed: {e}"))?;
        self.stop_all();
        built
    }

    /// Stop every process (shutdown, hot swap).
    pub fn stop_all(&self) {
        let mut st = self.lock();
        for w in st.workers.values_mut() {
            w.phase = Phase::Retiring;
            if let Some(k) = w.kill.take() {
                let _ = k.send(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The scheduler on its own: workers are in-process fakes that speak the same calls a
    //! runtime client makes (`next`, `respond`, `fail`) and end with `exited`, under tokio's
    //! paused clock, so queueing, throttling, timeouts, crashes and reaping are checked exactly.

    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Clone)]
    enum Step {
        Respond(Duration),
        Fail,
        Crash,
        Hang,
    }

    struct Fake {
        started: AtomicUsize,
        init_fail: bool,
        delivered: Arc<Mutex<Vec<(u64, String)>>>,
    }

    fn step_for(payload: &Bytes) -> Step {
        match std::str::from_utf8(payload).unwrap_or_default() {
            "fail" => Step::Fail,
            "crash" => Step::Crash,
            "hang" => Step::Hang,
            ms => Step::Respond(Duration::from_millis(ms.parse().unwrap_or(0))),
        }
    }

    impl Launcher for Fake {
        fn launch(
            &self,
            pool: Arc<FunctionPool>,
            id: u64,
            mut kill: oneshot::Receiver<()>,
        ) -> LaunchFuture {
            self.started.fetch_add(1, Ordering::SeqCst);
            let init_fail = self.init_fail;
            let delivered = Arc::clone(&self.delivered);
            Box::pin(async move {
                if init_fail {
                    pool.exited(
                        id,
                        "Runtime exited with error: exit status: 2",
                        vec!["boom".into()],
                    );
                    return;
                }
                loop {
                    let next = tokio::select! {
                        d = pool.next(id) => d,
                        _ = &mut kill => { pool.exited(id, "Runtime was stopped", vec![]); return; }
                    };
                    let Ok(d) = next else {
                        pool.exited(id, "gone", vec![]);
                        return;
                    };
                    delivered
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((id, d.request_id.clone()));
                    match step_for(&d.payload) {
                        Step::Respond(delay) => {
                            tokio::select! {
                                _ = tokio::time::sleep(delay) => {}
                                _ = &mut kill => { pool.exited(id, "Runtime was stopped", vec![]); return; }
                            }
                            let _ = pool.respond(
                                id,
                                &d.request_id,
                                Bytes::from(format!("ok from {id}")),
                            );
                        }
                        Step::Fail => {
                            let _ = pool.fail(
                                id,
                                &d.request_id,
                                Bytes::from_static(br#"{"errorMessage":"boom"}"#),
                            );
                        }
                        Step::Crash => {
                            pool.exited(id, "Runtime exited with error: exit status: 1", vec![]);
                            return;
                        }
                        Step::Hang => {
                            let _ = (&mut kill).await;
                            pool.exited(id, "Runtime was stopped", vec![]);
                            return;
                        }
                    }
                }
            })
        }
    }

    fn config(max: usize, timeout_ms: u64) -> FunctionConfig {
        FunctionConfig {
            logical_id: "Fn".into(),
            name: "Fn".into(),
            arn: "arn:aws:lambda:us-east-1:123456789012:function:Fn".into(),
            command: "unused".into(),
            args: vec![],
            working_dir: ".".into(),
            env: vec![],
            timeout: Duration::from_millis(timeout_ms),
            max_concurrency: max,
            source_dir: None,
            rebuild: None,
            declared: serde_json::Value::Null,
            notes: Vec::new(),
        }
    }

    fn pool(
        max: usize,
        queue: usize,
        timeout_ms: u64,
        idle_ms: u64,
        init_fail: bool,
    ) -> (Arc<FunctionPool>, Arc<Fake>) {
        let fake = Arc::new(Fake {
            started: AtomicUsize::new(0),
            init_fail,
            delivered: Arc::new(Mutex::new(Vec::new())),
        });
        let p = FunctionPool::with_launcher(
            config(max, timeout_ms),
            queue,
            Duration::from_millis(idle_ms),
            fake.clone(),
        );
        (p, fake)
    }

    async fn call(
        p: &Arc<FunctionPool>,
        payload: &'static str,
    ) -> Result<InvokeOutcome, InvokeError> {
        p.invoke(Bytes::from_static(payload.as_bytes()), "Root=1-0-0".into())
            .await
    }

    fn error_text(r: &Result<InvokeOutcome, InvokeError>) -> String {
        match r {
            Ok(InvokeOutcome::FunctionError(b)) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("expected a function error, got {other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn queues_beyond_concurrency_and_answers_everyone() {
        let (p, fake) = pool(2, 10, 60_000, 300_000, false);
        let calls: Vec<_> = (0..5)
            .map(|_| {
                let p = p.clone();
                tokio::spawn(async move { call(&p, "100").await })
            })
            .collect();
        for c in calls {
            assert!(matches!(
                c.await.expect("join"),
                Ok(InvokeOutcome::Success(_))
            ));
        }
        assert_eq!(
            fake.started.load(Ordering::SeqCst),
            2,
            "never more processes than the limit"
        );
        assert_eq!(p.counts(), (2, 0), "both stay warm");
        assert_eq!(fake.delivered.lock().expect("lock").len(), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_queue_throttles_at_once() {
        let (p, _) = pool(1, 1, 60_000, 300_000, false);
        let a = tokio::spawn({
            let p = p.clone();
            async move { call(&p, "1000").await }
        });
        tokio::task::yield_now().await;
        let b = tokio::spawn({
            let p = p.clone();
            async move { call(&p, "1000").await }
        });
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(
            call(&p, "0").await,
            Err(InvokeError::Throttled("Fn".into()))
        );
        assert!(a.await.expect("join").is_ok());
        assert!(b.await.expect("join").is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_timeout_kills_the_process_and_the_next_call_gets_a_new_one() {
        let (p, fake) = pool(1, 10, 1000, 300_000, false);
        let r = call(&p, "hang").await;
        assert!(
            error_text(&r).ends_with("Task timed out after 1.00 seconds\"}"),
            "{}",
            error_text(&r)
        );
        assert!(matches!(call(&p, "0").await, Ok(InvokeOutcome::Success(_))));
        assert_eq!(fake.started.load(Ordering::SeqCst), 2);
    }

    /// Timeouts are enforced by one task per pool: calls leave nothing behind, and each call
    /// still times out exactly its own timeout after it was handed to a process, also one
    /// dispatched while the watchdog already waits for an earlier deadline.
    #[tokio::test(start_paused = true)]
    async fn one_watchdog_times_out_each_call_on_time_and_calls_leave_no_tasks() {
        let (p, _fake) = pool(2, 10, 1000, 300_000, false);
        assert!(matches!(call(&p, "0").await, Ok(InvokeOutcome::Success(_))));
        let metrics = tokio::runtime::Handle::current().metrics();
        let alive = metrics.num_alive_tasks();
        for _ in 0..200 {
            assert!(matches!(call(&p, "0").await, Ok(InvokeOutcome::Success(_))));
        }
        assert_eq!(metrics.num_alive_tasks(), alive, "a task per call is left");

        let start = Instant::now();
        let first = tokio::spawn({
            let p = p.clone();
            async move { (call(&p, "hang").await, Instant::now()) }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (second, second_at) = (call(&p, "hang").await, Instant::now());
        let (first, first_at) = first.await.expect("join");
        assert!(error_text(&first).ends_with("Task timed out after 1.00 seconds\"}"));
        assert!(error_text(&second).ends_with("Task timed out after 1.00 seconds\"}"));
        assert_eq!(first_at - start, Duration::from_millis(1000));
        assert_eq!(second_at - start, Duration::from_millis(1300));
    }

    #[tokio::test(start_paused = true)]
    async fn a_crash_fails_only_its_own_invocation() {
        let (p, fake) = pool(2, 10, 60_000, 300_000, false);
        let slow = tokio::spawn({
            let p = p.clone();
            async move { call(&p, "500").await }
        });
        tokio::task::yield_now().await;
        let r = call(&p, "crash").await;
        assert!(error_text(&r).contains("Runtime.ExitError"));
        assert!(error_text(&r).contains("exit status: 1"));
        assert!(
            matches!(slow.await.expect("join"), Ok(InvokeOutcome::Success(_))),
            "the other process is untouched"
        );
        assert!(matches!(call(&p, "0").await, Ok(InvokeOutcome::Success(_))));
        assert!(fake.started.load(Ordering::SeqCst) >= 2);
        let r = call(&p, "fail").await;
        assert_eq!(
            error_text(&r),
            r#"{"errorMessage":"boom"}"#,
            "a handled failure keeps the process"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_init_failure_fails_one_call_and_does_not_spin() {
        let (p, fake) = pool(3, 10, 60_000, 300_000, true);
        let r = call(&p, "0").await;
        assert!(error_text(&r).contains("exit status: 2"));
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(
            fake.started.load(Ordering::SeqCst),
            1,
            "no respawn with nothing waiting"
        );
        assert_eq!(p.counts(), (0, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn unknown_and_repeated_request_ids_are_refused() {
        let (p, fake) = pool(1, 10, 60_000, 300_000, false);
        assert!(call(&p, "0").await.is_ok());
        let (worker, rid) = fake
            .delivered
            .lock()
            .expect("lock")
            .last()
            .cloned()
            .expect("a delivery");
        assert_eq!(
            p.respond(worker, &rid, Bytes::new()),
            Err(RuntimeApiError::InvalidRequestId),
            "repeated"
        );
        assert_eq!(
            p.respond(worker, "nope", Bytes::new()),
            Err(RuntimeApiError::InvalidRequestId),
            "unknown"
        );
        assert_eq!(
            p.respond(999, &rid, Bytes::new()),
            Err(RuntimeApiError::UnknownWorker)
        );
        assert_eq!(
            p.init_error(999, Bytes::new()),
            Err(RuntimeApiError::UnknownWorker)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn idle_processes_are_reaped() {
        let (p, fake) = pool(1, 10, 60_000, 2_000, false);
        assert!(call(&p, "0").await.is_ok());
        assert_eq!(p.counts().0, 1);
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(p.counts(), (0, 0), "the idle process was stopped");
        assert!(call(&p, "0").await.is_ok());
        assert_eq!(
            fake.started.load(Ordering::SeqCst),
            2,
            "a cold start after reaping"
        );
    }
}
