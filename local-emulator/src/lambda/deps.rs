//! A function's declared dependencies, as `sam build` would provide them: a `requirements.txt`
//! (pip) or a `package.json` with `dependencies` and no `node_modules` (npm) is installed once
//! into a cache folder named after the file's contents, and reinstalled only when it changes.
//! The function's own folder stays first on the module path, so anything it bundles wins. The
//! AWS SDKs Lambda's managed runtimes include are installed the same way when the code uses them.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The folder a Python function's `requirements.txt` was installed into, if it has one.
pub fn python(code: &Path, python: &Path, cache: &Path, function: &str) -> Result<Option<PathBuf>> {
    let file = code.join("requirements.txt");
    let Ok(text) = std::fs::read_to_string(&file) else {
        return Ok(None);
    };
    let wanted = text
        .lines()
        .map(str::trim)
        .any(|l| !l.is_empty() && !l.starts_with('#'));
    if !wanted {
        return Ok(None);
    }
    let dir = cache
        .join("python")
        .join(key(&[&text, &python.display().to_string()]));
    install(&dir, function, &file, |target| {
        let mut c = pip_install(python, target);
        c.arg("-r").arg(&file);
        c
    })?;
    Ok(Some(dir))
}

/// The `node_modules` a Node.js function's `package.json` dependencies were installed into, if
/// it declares any and brings no `node_modules` of its own.
pub fn node(code: &Path, cache: &Path, function: &str) -> Result<Option<PathBuf>> {
    let file = code.join("package.json");
    let Ok(text) = std::fs::read_to_string(&file) else {
        return Ok(None);
    };
    if code.join("node_modules").is_dir() {
        return Ok(None);
    }
    let declared: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
    if declared
        .get("dependencies")
        .and_then(serde_json::Value::as_object)
        .is_none_or(|d| d.is_empty())
    {
        return Ok(None);
    }
    let lock = std::fs::read_to_string(code.join("package-lock.json")).unwrap_or_default();
    let dir = cache.join("node").join(key(&[&text, &lock]));
    install(&dir, function, &file, |target| {
        // npm installs beside a package.json: a copy of the function's, and its lock file.
        let _ = std::fs::copy(&file, target.join("package.json"));
        if !lock.is_empty() {
            let _ = std::fs::write(target.join("package-lock.json"), &lock);
        }
        let mut c = Command::new("npm");
        c.args([
            "install",
            "--omit=dev",
            "--no-audit",
            "--no-fund",
            "--silent",
        ])
        .current_dir(target);
        c
    })?;
    Ok(Some(dir.join("node_modules")))
}

/// The AWS SDK for Python, as Lambda's Python runtimes include it, when the function's code
/// imports boto3 or botocore without bundling it: installed once, placed after the function's
/// own folder and its requirements (so a bundled copy wins).
pub fn python_sdk(
    code: &Path,
    python: &Path,
    cache: &Path,
    function: &str,
) -> Result<Option<PathBuf>> {
    let imports = |text: &str| {
        text.lines().any(|l| {
            let l = l.trim_start();
            [
                "import boto3",
                "from boto3",
                "import botocore",
                "from botocore",
            ]
            .iter()
            .any(|p| {
                l.strip_prefix(p).is_some_and(|rest| {
                    !rest.starts_with(|c: char| c.is_alphanumeric() || c == '_')
                })
            })
        })
    };
    if !sources(code, &["py"]).iter().any(|t| imports(t)) || code.join("boto3").is_dir() {
        return Ok(None);
    }
    let dir = cache
        .join("python-sdk")
        .join(key(&["boto3", &python.display().to_string()]));
    let what = Path::new("boto3 (as Lambda's Python runtimes include it)");
    install(&dir, function, what, |target| {
        let mut c = pip_install(python, target);
        c.arg("boto3");
        c
    })?;
    Ok(Some(dir))
}

/// The AWS SDK for JavaScript v3 packages (`@aws-sdk/*`) the function's code names, as Lambda's
/// Node.js 18+ runtimes include them, when its own `node_modules` does not have them.
pub fn node_sdk(code: &Path, cache: &Path, function: &str) -> Result<Option<PathBuf>> {
    let mut packages = std::collections::BTreeSet::new();
    for text in sources(code, &["js", "mjs", "cjs", "ts"]) {
        let mut rest = text.as_str();
        while let Some(at) = rest.find("@aws-sdk/") {
            let name: String = rest[at + "@aws-sdk/".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if !name.is_empty() && !code.join("node_modules/@aws-sdk").join(&name).is_dir() {
                packages.insert(format!("@aws-sdk/{name}"));
            }
            rest = &rest[at + 1..];
        }
    }
    if packages.is_empty() {
        return Ok(None);
    }
    let names: Vec<String> = packages.into_iter().collect();
    let dir = cache.join("node-sdk").join(key(&[&names.join(" ")]));
    let what = format!(
        "{} (as Lambda's Node.js runtimes include them)",
        names.join(" ")
    );
    install(&dir, function, Path::new(&what), |target| {
        let _ = std::fs::write(target.join("package.json"), "{\"private\": true}\n");
        let mut c = Command::new("npm");
        c.args(["install", "--no-audit", "--no-fund", "--silent"])
            .args(&names)
            .current_dir(target);
        c
    })?;
    Ok(Some(dir.join("node_modules")))
}

/// The text of the function's source files with these extensions (bounded; dependency,
/// build and cache folders skipped).
fn sources(code: &Path, extensions: &[&str]) -> Vec<String> {
    const SKIP: [&str; 8] = [
        "node_modules",
        ".git",
        "__pycache__",
        "site-packages",
        ".aws-sam",
        ".tollgate",
        "target",
        ".venv",
    ];
    let mut out = Vec::new();
    let mut pending = vec![code.to_path_buf()];
    let mut seen = 0;
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > 5000 {
                return out;
            }
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !SKIP.contains(&name.as_str()) {
                    pending.push(path);
                }
            } else if path
                .extension()
                .is_some_and(|e| extensions.iter().any(|x| e == *x))
            {
                if let Ok(text) = std::fs::read_to_string(&path) {
                    out.push(text);
                }
            }
        }
    }
    out
}

/// `python -m pip install` into `target`, quietly.
fn pip_install(python: &Path, target: &Path) -> Command {
    let mut c = Command::new(python);
    c.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ])
    .arg("--target")
    .arg(target);
    c
}

/// A stable name for what `parts` say.
fn key(parts: &[&str]) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut h);
    format!("{:016x}", h.finish())
}

/// Run `command` (given the folder to install into) unless `dir` is already complete. The
/// install goes to a scratch folder first and is renamed into place, so an interrupted one is
/// never taken for done.
fn install(
    dir: &Path,
    function: &str,
    file: &Path,
    command: impl FnOnce(&Path) -> Command,
) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let scratch = dir.with_extension(format!("partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    eprintln!(
        "tollgate: {function}: installing {} (once; kept in {})",
        file.display(),
        dir.display()
    );
    let out = command(&scratch)
        .output()
        .with_context(|| format!("installing {}", file.display()))?;
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&scratch);
        bail!(
            "installing {} failed: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    if let Err(e) = std::fs::rename(&scratch, dir) {
        // Another tollgate finished the same install first.
        let _ = std::fs::remove_dir_all(&scratch);
        if !dir.is_dir() {
            return Err(e).with_context(|| format!("moving the install to {}", dir.display()));
        }
    }
    Ok(())
}
