//! Which interpreter runs a Python or Node.js function: the one the template's `Runtime` names
//! when this machine has it (`python3.12`), else the machine's `python3` / `node`, each resolved
//! once to the real executable (so a version manager's shim is asked only once, and never decides
//! by the folder a process starts in). `TOLLGATE_PYTHON` / `TOLLGATE_NODE` name one explicitly.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

use anyhow::{bail, Result};

/// An interpreter found on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpreter {
    pub path: PathBuf,
    /// `3.12` for Python, `20` (the major) for Node.js.
    pub version: String,
}

impl Interpreter {
    /// When the template asks for another version than this one runs: what to tell the user.
    pub fn differs_from(&self, runtime: &str) -> Option<String> {
        let wanted = wanted_version(runtime)?;
        (wanted != self.version).then(|| {
            format!(
                "the template asks for {runtime}, and {} ({}) is version {}",
                self.path.display(),
                if runtime.starts_with("python") {
                    "Python"
                } else {
                    "Node.js"
                },
                self.version
            )
        })
    }
}

/// `python3.12` → `3.12`; `nodejs20.x` → `20`.
fn wanted_version(runtime: &str) -> Option<String> {
    if let Some(v) = runtime.strip_prefix("python") {
        return Some(v.to_string());
    }
    runtime
        .strip_prefix("nodejs")
        .map(|v| v.trim_end_matches(".x").to_string())
}

static FOUND: Mutex<Option<HashMap<String, Interpreter>>> = Mutex::new(None);

/// The interpreter for `runtime` (`python3.x` or `nodejsNN.x`), found once per runtime.
pub fn for_runtime(runtime: &str) -> Result<Interpreter> {
    if let Some(found) = FOUND
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .and_then(|m| m.get(runtime))
    {
        return Ok(found.clone());
    }
    let python = runtime.starts_with("python");
    let (explicit, exact, fallback) = if python {
        ("TOLLGATE_PYTHON", runtime.to_string(), "python3")
    } else {
        ("TOLLGATE_NODE", String::new(), "node")
    };
    let candidates: Vec<String> = match std::env::var(explicit) {
        Ok(p) if !p.is_empty() => vec![p],
        _ => [exact, fallback.to_string()]
            .into_iter()
            .filter(|c| !c.is_empty())
            .collect(),
    };
    let probe = if python {
        vec![
            "-c",
            "import sys; print(sys.executable); print('%d.%d' % sys.version_info[:2])",
        ]
    } else {
        vec![
            "-e",
            "console.log(process.execPath); console.log(process.versions.node.split('.')[0])",
        ]
    };
    for c in &candidates {
        let Ok(out) = Command::new(c).args(&probe).output() else {
            continue;
        };
        if !out.status.success() {
            continue;
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        if let (Some(path), Some(version)) = (lines.next(), lines.next()) {
            let found = Interpreter {
                path: PathBuf::from(path.trim()),
                version: version.trim().to_string(),
            };
            FOUND
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert_with(HashMap::new)
                .insert(runtime.to_string(), found.clone());
            return Ok(found);
        }
    }
    bail!(
        "runtime {runtime} needs {}: none of {} runs here (set {explicit} to name one)",
        if python { "Python 3" } else { "Node.js" },
        candidates.join(", ")
    )
}
