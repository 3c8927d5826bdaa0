//! Rust functions: one `cargo build` per cargo workspace for every function it holds (one
//! dependency resolution, crates shared), each function's executable read from cargo's own
//! report of what it built. cargo's output is kept and shown only when the build fails or the
//! user asked for it (`-v`); otherwise each function gets one line.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

/// One Rust function to build: the crate's manifest and the binary, if the template names one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct RustFunction {
    pub(crate) logical_id: String,
    pub(crate) manifest: PathBuf,
    pub(crate) binary: Option<String>,
}

/// What cargo knows about a crate: its package, binaries and workspace.
struct Crate {
    package: String,
    bins: Vec<String>,
    workspace_root: PathBuf,
    target_dir: PathBuf,
}

fn metadata(manifest: &Path) -> Result<Crate> {
    let out = Command::new("cargo")
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .arg("--manifest-path")
        .arg(manifest)
        .output()
        .context("running `cargo metadata` (is cargo installed?)")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed for {}: {}",
            manifest.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let meta: Value = serde_json::from_slice(&out.stdout).context("reading cargo metadata")?;
    let path = |key: &str| {
        meta.get(key)
            .and_then(Value::as_str)
            .map(PathBuf::from)
            .ok_or_else(|| anyhow!("cargo metadata has no {key}"))
    };
    let canonical = manifest
        .canonicalize()
        .unwrap_or_else(|_| manifest.to_path_buf());
    let package = meta
        .get("packages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|p| {
            p.get("manifest_path")
                .and_then(Value::as_str)
                .is_some_and(|m| {
                    Path::new(m)
                        .canonicalize()
                        .unwrap_or_else(|_| PathBuf::from(m))
                        == canonical
                })
        })
        .ok_or_else(|| anyhow!("{} is not a package cargo knows", manifest.display()))?;
    let bins = package
        .get("targets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|t| {
            t.get("kind")
                .and_then(Value::as_array)
                .is_some_and(|k| k.iter().any(|k| k == "bin"))
        })
        .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    Ok(Crate {
        package: package
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        bins,
        workspace_root: path("workspace_root")?,
        target_dir: path("target_directory")?,
    })
}

/// The binary a function runs: the one the template names, or the crate's only one.
fn pick_binary(f: &RustFunction, c: &Crate) -> Result<String> {
    match &f.binary {
        Some(b) if c.bins.iter().any(|x| x == b) => Ok(b.clone()),
        Some(b) => bail!(
            "{}: BuildProperties.Binary `{b}` is not a binary of {} (it has: {})",
            f.logical_id,
            f.manifest.display(),
            c.bins.join(", ")
        ),
        None if c.bins.len() == 1 => Ok(c.bins[0].clone()),
        None => bail!(
            "{}: {} has {} binaries ({}); name one with Metadata.BuildProperties.Binary",
            f.logical_id,
            f.manifest.display(),
            c.bins.len(),
            c.bins.join(", ")
        ),
    }
}

/// Where an already-built binary is: the directory a `CARGO_BUILD_TARGET` build writes (when
/// that is set, as the test command sets it), else the host's `debug` directory.
fn built_binary(target_dir: &Path, bin: &str) -> Option<PathBuf> {
    let name = format!("{bin}{}", std::env::consts::EXE_SUFFIX);
    let mut dirs = Vec::new();
    if let Ok(triple) = std::env::var("CARGO_BUILD_TARGET") {
        dirs.push(target_dir.join(triple).join("debug"));
    }
    dirs.push(target_dir.join("debug"));
    dirs.into_iter()
        .map(|d| d.join(&name))
        .find(|p| p.is_file())
}

/// Build (unless `skip_build`) every function, one cargo run per workspace, and return each
/// function's executable and binary name. `verbose` streams cargo's output; otherwise it is
/// printed only if the build fails.
pub(crate) fn build(
    functions: &[RustFunction],
    skip_build: bool,
    verbose: bool,
) -> Result<HashMap<RustFunction, (PathBuf, String)>> {
    // Per workspace: the crates' packages and binaries, and who asked for each.
    let mut workspaces: BTreeMap<PathBuf, Vec<(RustFunction, String, String, PathBuf)>> =
        BTreeMap::new();
    for f in functions {
        let c = metadata(&f.manifest).with_context(|| f.logical_id.clone())?;
        let bin = pick_binary(f, &c)?;
        workspaces
            .entry(c.workspace_root.clone())
            .or_default()
            .push((f.clone(), c.package, bin, c.target_dir));
    }
    let mut out = HashMap::new();
    for (root, members) in workspaces {
        let executables = if skip_build {
            HashMap::new()
        } else {
            run_cargo(&root, &members, verbose)?
        };
        for (f, _, bin, target_dir) in members {
            let exe = executables
                .get(&bin)
                .cloned()
                .or_else(|| built_binary(&target_dir, &bin))
                .ok_or_else(|| {
                    anyhow!(
                        "{}: binary `{bin}` is not built under {}: build it, or drop --skip-build",
                        f.logical_id,
                        target_dir.display()
                    )
                })?;
            out.insert(f, (exe, bin));
        }
    }
    Ok(out)
}

/// One `cargo build` for a workspace's functions; binary name → executable, from cargo's JSON
/// report.
fn run_cargo(
    root: &Path,
    members: &[(RustFunction, String, String, PathBuf)],
    verbose: bool,
) -> Result<HashMap<String, PathBuf>> {
    let mut cmd = Command::new("cargo");
    cmd.arg("build")
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .arg("--message-format=json-render-diagnostics");
    let mut packages: Vec<&str> = members.iter().map(|m| m.1.as_str()).collect();
    packages.sort();
    packages.dedup();
    for p in &packages {
        cmd.args(["-p", p]);
    }
    let mut bins: Vec<&str> = members.iter().map(|m| m.2.as_str()).collect();
    bins.sort();
    bins.dedup();
    for b in &bins {
        cmd.args(["--bin", b]);
    }
    let names: Vec<&str> = members.iter().map(|m| m.0.logical_id.as_str()).collect();
    eprintln!(
        "building {} with cargo ({})",
        names.join(", "),
        root.display()
    );
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(if verbose {
            Stdio::inherit()
        } else {
            Stdio::piped()
        })
        .spawn()
        .context("running `cargo build` (is cargo installed?)")?;
    // Collect cargo's own messages on a thread while its JSON report is read here.
    let stderr = child.stderr.take().map(|mut e| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = e.read_to_string(&mut s);
            s
        })
    });
    let mut executables = HashMap::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let Ok(msg) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if msg.get("reason").and_then(Value::as_str) != Some("compiler-artifact") {
                continue;
            }
            if let (Some(name), Some(exe)) = (
                msg.pointer("/target/name").and_then(Value::as_str),
                msg.get("executable").and_then(Value::as_str),
            ) {
                executables.insert(name.to_string(), PathBuf::from(exe));
            }
        }
    }
    let status = child.wait().context("waiting for `cargo build`")?;
    let output = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
    if !status.success() {
        if !verbose {
            eprint!("{output}");
        }
        bail!(
            "cargo build failed for {} (its output is above)",
            names.join(", ")
        );
    }
    for (f, _, bin, _) in members {
        eprintln!(
            "  {}: built binary {bin} in {:.1} s",
            f.logical_id,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(executables)
}
