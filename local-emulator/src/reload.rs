//! Hot reload. Edits to the API definition or template swap the resolved API atomically (a broken
//! edit keeps the last good one serving and logs why); edits under a function's code rebuild it
//! and swap its processes without dropping in-flight requests.
//!
//! Directories are watched rather than files, because editors save by replacing the file; events
//! are filtered by path and debounced, so one save is one reload.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, Result};
use gateway::load::{load_with, Source};
use gateway::{Gateway, Served, UsageConfig};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::lambda::{FunctionPool, LambdaHost, PrepareOptions};
use gateway::sam::SamFunction;

/// The gateway the server currently runs; swapped whole on reload.
pub struct GatewaySlot {
    current: RwLock<Arc<Gateway>>,
}

impl GatewaySlot {
    pub fn new(g: Gateway) -> Self {
        Self {
            current: RwLock::new(Arc::new(g)),
        }
    }

    pub fn get(&self) -> Arc<Gateway> {
        Arc::clone(&self.current.read().unwrap_or_else(|p| p.into_inner()))
    }

    fn set(&self, g: Gateway) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(g);
    }
}

/// A running watcher; dropping it stops the watch.
pub struct Watch {
    _watcher: RecommendedWatcher,
}

/// Watch `dirs`; every event whose path passes `relevant` wakes the returned receiver.
fn watch(
    dirs: &[(PathBuf, RecursiveMode)],
    relevant: impl Fn(&Path) -> bool + Send + 'static,
) -> Result<(Watch, mpsc::UnboundedReceiver<()>)> {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(event) = res {
            if matches!(event.kind, notify::EventKind::Access(_)) {
                return;
            }
            if event.paths.iter().any(|p| relevant(p)) {
                let _ = tx.send(());
            }
        }
    })
    .context("starting the file watcher")?;
    for (dir, mode) in dirs {
        watcher
            .watch(dir, *mode)
            .with_context(|| format!("watching {}", dir.display()))?;
    }
    Ok((Watch { _watcher: watcher }, rx))
}

/// Wait for a burst of events to settle.
async fn settled(rx: &mut mpsc::UnboundedReceiver<()>) -> bool {
    if rx.recv().await.is_none() {
        return false;
    }
    drain_burst(rx).await;
    true
}

/// Return once 250 ms pass without another event.
async fn drain_burst(rx: &mut mpsc::UnboundedReceiver<()>) {
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let mut more = false;
        while rx.try_recv().is_ok() {
            more = true;
        }
        if !more {
            return;
        }
    }
}

/// How long an edit that removes routes must stay unchanged before it is served.
const SHRINK_QUIET: Duration = Duration::from_secs(1);

/// Whether another change arrives within `quiet` (then waiting for its burst to settle).
async fn changed_within(rx: &mut mpsc::UnboundedReceiver<()>, quiet: Duration) -> bool {
    match tokio::time::timeout(quiet, rx.recv()).await {
        Ok(Some(())) => {
            drain_burst(rx).await;
            true
        }
        _ => false,
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The running functions, and how to prepare them again when the template changes them.
pub struct FunctionReload {
    pub host: Arc<LambdaHost>,
    pub options: PrepareOptions,
}

/// Reload the APIs, and the API keys and plans the template declares, when any file they were
/// loaded from changes. `extra_keys` (`--api-keys`) are served beside the template's each time.
/// Running functions whose properties the edit changed restart with their new configuration.
pub fn watch_apis(
    source: Source,
    options: gateway::load::LoadOptions,
    extra_keys: UsageConfig,
    files: Vec<PathBuf>,
    slot: Arc<GatewaySlot>,
    functions: Option<FunctionReload>,
) -> Result<Watch> {
    let files: HashSet<PathBuf> = files.iter().map(|f| absolute(f)).collect();
    let dirs: HashSet<PathBuf> = files
        .iter()
        .filter_map(|f| f.parent().map(Path::to_path_buf))
        .collect();
    let dirs: Vec<(PathBuf, RecursiveMode)> = dirs
        .into_iter()
        .map(|d| (d, RecursiveMode::NonRecursive))
        .collect();
    let wanted = files.clone();
    let (w, mut rx) = watch(&dirs, move |p| {
        wanted.contains(&absolute(p)) || wanted.contains(p)
    })?;
    tokio::spawn(async move {
        let mut again = false;
        while again || settled(&mut rx).await {
            again = false;
            match load_with(&source, options) {
                Ok(loaded) => {
                    let routes: usize = loaded.apis.iter().map(|a| a.routes.len()).sum();
                    let serving: usize = slot.get().apis().iter().map(|a| a.routes.len()).sum();
                    // An editor that pauses half-way through a save can leave a file that parses
                    // but lacks routes: wait for a quiet second; if the file changes again,
                    // load that instead; if not, take the smaller API and say so.
                    if routes < serving {
                        if changed_within(&mut rx, SHRINK_QUIET).await {
                            again = true;
                            continue;
                        }
                        eprintln!(
                            "warning: the edited definitions have {routes} routes, {} fewer than the {serving} served until now; serving them",
                            serving - routes
                        );
                    }
                    for warning in &loaded.warnings {
                        eprintln!("warning: {warning}");
                    }
                    let mut usage = loaded.usage;
                    usage.merge(extra_keys.clone());
                    if let Some(f) = &functions {
                        reconfigure(f, &loaded.functions).await;
                    }
                    let next = slot.get().reloaded(Served::new(loaded.apis, usage));
                    slot.set(next);
                    eprintln!("tollgate: reloaded the API definitions ({routes} routes)");
                }
                Err(errors) => {
                    for e in errors.iter() {
                        eprintln!("error: {e}");
                    }
                    eprintln!(
                        "tollgate: the edited definitions have {} error{}; still serving the last good version",
                        errors.len(),
                        if errors.len() == 1 { "" } else { "s" }
                    );
                }
            }
        }
    });
    Ok(w)
}

/// Restart each running function whose template properties changed with its new configuration
/// (Handler, CodeUri, Runtime, Environment, Timeout, ...). One that no longer prepares keeps its
/// last configuration, and says why.
async fn reconfigure(f: &FunctionReload, functions: &[SamFunction]) {
    let changed: Vec<SamFunction> = functions
        .iter()
        .filter(|sf| {
            f.host
                .pool(&sf.logical_id)
                .is_some_and(|p| p.cfg().declared != sf.properties)
        })
        .cloned()
        .collect();
    for sf in changed {
        let options = f.options.clone();
        let id = sf.logical_id.clone();
        let prepared = tokio::task::spawn_blocking(move || {
            crate::lambda::prepare_functions(std::slice::from_ref(&sf), &options)
        })
        .await;
        match prepared {
            Ok(Ok(prepared)) => {
                for cfg in prepared.configs {
                    if let Some(pool) = f.host.pool(&cfg.logical_id) {
                        pool.reconfigure(cfg).await;
                        eprintln!("tollgate: {id} restarted with its new configuration");
                    }
                }
                for (_, e) in prepared.failed {
                    eprintln!("error: {id}: {e:#} (it keeps its last configuration)");
                }
            }
            Ok(Err(e)) => {
                eprintln!("error: {id}: {e:#} (it keeps its last configuration)")
            }
            Err(e) => eprintln!("error: {id}: {e}"),
        }
    }
}

/// Rebuild and swap a function's processes when its code changes.
pub fn watch_functions(host: &LambdaHost) -> Result<Vec<Watch>> {
    let mut watches = Vec::new();
    for pool in host.pools() {
        let Some(dir) = pool.cfg().source_dir.clone() else {
            continue;
        };
        if !dir.is_dir() {
            continue;
        }
        let (w, mut rx) = watch(&[(dir.clone(), RecursiveMode::Recursive)], |p| {
            // Build output and editor droppings are not code.
            !p.components()
                .any(|c| c.as_os_str() == "target" || c.as_os_str() == ".git")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().ends_with('~'))
        })?;
        let pool: Arc<FunctionPool> = Arc::clone(pool);
        tokio::spawn(async move {
            while settled(&mut rx).await {
                let name = pool.cfg().logical_id.clone();
                let rebuild = pool.cfg().rebuild.clone();
                eprintln!("tollgate: {name} changed; reloading");
                let result = pool
                    .reload(move || match rebuild {
                        Some((manifest, bin)) => crate::lambda::rebuild(&manifest, &bin),
                        None => Ok(()),
                    })
                    .await;
                match result {
                    Ok(()) => eprintln!("tollgate: {name} reloaded"),
                    Err(e) => eprintln!(
                        "error: reloading {name}: {e:#} (the next call runs the last build)"
                    ),
                }
            }
        });
        watches.push(w);
    }
    Ok(watches)
}
