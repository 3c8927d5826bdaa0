//! The runtime clients tollgate carries for Python and Node.js functions, so neither
//! `awslambdaric` nor `aws-lambda-ric` has to be installed. They are compiled into the binary and
//! written once to a folder named after their contents.

use std::path::PathBuf;

use anyhow::{Context, Result};

const PYTHON: &str = include_str!("python_client.py");
const NODE: &str = include_str!("node_client.cjs");

/// Which runtime client runs Python and Node.js handlers.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RuntimeClient {
    /// tollgate's own (nothing to install).
    Builtin,
    /// AWS's `awslambdaric` (pip) and `aws-lambda-ric` (npm), when installed.
    Official,
}

/// Where the built-in clients are on disk: (Python script, Node.js script).
pub struct ClientFiles {
    pub python: PathBuf,
    pub node: PathBuf,
}

/// Write the clients (once per process, and once per content on disk) and say where they are.
pub fn install() -> Result<&'static ClientFiles> {
    static INSTALLED: std::sync::OnceLock<ClientFiles> = std::sync::OnceLock::new();
    if let Some(files) = INSTALLED.get() {
        return Ok(files);
    }
    let files = write()?;
    Ok(INSTALLED.get_or_init(|| files))
}

fn write() -> Result<ClientFiles> {
    let digest = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (PYTHON, NODE).hash(&mut h);
        h.finish()
    };
    let dir = std::env::temp_dir().join(format!("tollgate-runtime-clients-{digest:016x}"));
    let files = ClientFiles {
        python: dir.join("tollgate_runtime_client.py"),
        node: dir.join("tollgate_runtime_client.cjs"),
    };
    if files.python.is_file() && files.node.is_file() {
        return Ok(files);
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    // Written beside, then renamed: two tollgates starting at once never see half a file.
    for (path, text) in [(&files.python, PYTHON), (&files.node, NODE)] {
        let partial = path.with_extension(format!("partial-{}", std::process::id()));
        std::fs::write(&partial, text).with_context(|| format!("writing {}", partial.display()))?;
        std::fs::rename(&partial, path).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(files)
}
