//! From a template's `AWS::Serverless::Function`s to runnable processes: find or build each
//! function's executable and assemble the environment Lambda would give it.
//!
//! Where the executable comes from, first match wins:
//! 1. `.aws-sam/build/<LogicalId>/bootstrap` (a `sam build` output);
//! 2. `<CodeUri>/bootstrap` (prebuilt);
//! 3. a Rust crate at `CodeUri` (or `Metadata.BuildMethod: rust-cargolambda`): built natively with
//!    cargo (unless `--skip-build`), the binary named by `BuildProperties.Binary` or the crate's
//!    only binary.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use gateway::sam::{FunctionCode, Layer, SamFunction};
use serde_json::Value;

use super::cargo::{self, RustFunction};
use super::clients::RuntimeClient;
use super::FunctionConfig;

#[derive(Debug, Clone)]
pub struct PrepareOptions {
    pub template_dir: PathBuf,
    pub skip_build: bool,
    pub default_max_concurrency: usize,
    /// `--env-vars` file contents (SAM's format).
    pub env_overrides: Option<Value>,
    /// Show cargo's whole output (`-v`), not one line per function.
    pub verbose: bool,
    pub runtime_client: super::clients::RuntimeClient,
    /// Where declared dependencies are installed (`None`: `--skip-deps`).
    pub deps_cache: Option<PathBuf>,
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// What preparing the functions gave: a configuration for each that can run, and why each of the
/// others cannot. One function that cannot run (its runtime client is missing, say) does not
/// stop the others.
pub struct Prepared {
    pub configs: Vec<FunctionConfig>,
    pub failed: Vec<(String, anyhow::Error)>,
}

pub fn prepare_functions(functions: &[SamFunction], opts: &PrepareOptions) -> Result<Prepared> {
    // Every Rust function first, in one cargo run per workspace.
    let rust: Vec<RustFunction> = functions
        .iter()
        .filter(|f| gateway::sam::not_runnable(f).is_none())
        .filter_map(|f| rust_function(f, opts))
        .collect();
    let built = cargo::build(&rust, opts.skip_build, opts.verbose)?;
    // Image and S3-only functions, and those that cannot run here, were warned about at load:
    // they are not started, and what calls them fails.
    let mut prepared = Prepared {
        configs: Vec::new(),
        failed: Vec::new(),
    };
    for f in functions
        .iter()
        .filter(|f| matches!(f.code, FunctionCode::Path(_) | FunctionCode::Inline(_)))
        .filter(|f| gateway::sam::not_runnable(f).is_none())
    {
        match prepare_one(f, opts, &built) {
            Ok(c) => prepared.configs.push(c),
            Err(e) => prepared.failed.push((f.logical_id.clone(), e)),
        }
    }
    Ok(prepared)
}

/// The folder the function's code is in, absolute (the process runs elsewhere). Code written in
/// the template is written out to a folder of its own first, so nothing else beside the
/// template is ever run in its place.
fn code_uri(f: &SamFunction) -> Result<PathBuf> {
    let dir = match &f.code {
        FunctionCode::Path(p) => f.base_dir.join(p),
        FunctionCode::Inline(source) => write_inline(f, source)?,
        FunctionCode::Image(uri) => bail!(
            "its code is the container image {uri}, which tollgate does not run: use a .zip function (CodeUri) locally"
        ),
        FunctionCode::S3(location) => bail!(
            "its code is only in S3 ({location}), which a local run cannot read: point CodeUri (or Code) at a local folder"
        ),
    };
    Ok(std::path::absolute(&dir).unwrap_or(dir))
}

/// `InlineCode` / `Code.ZipFile` as the file Lambda makes of it: `index.py` or `index.js`
/// (CloudFormation `AWS::Lambda::Function` Code), in a folder of this process's own.
fn write_inline(f: &SamFunction, source: &str) -> Result<PathBuf> {
    let runtime = text(f.properties.get("Runtime")).unwrap_or_default();
    let file = if runtime.starts_with("python") {
        "index.py"
    } else if runtime.starts_with("nodejs") {
        "index.js"
    } else {
        bail!("inline code needs a Python or Node.js Runtime (it has `{runtime}`)");
    };
    let dir = std::env::temp_dir()
        .join(format!("tollgate-{}", std::process::id()))
        .join("inline")
        .join(&f.logical_id);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join(file), source)
        .with_context(|| format!("writing {}", dir.join(file).display()))?;
    Ok(dir)
}

fn sam_build_output(f: &SamFunction, opts: &PrepareOptions) -> PathBuf {
    opts.template_dir
        .join(".aws-sam/build")
        .join(&f.logical_id)
        .join("bootstrap")
}

/// The crate to build, for a function that is a Rust crate and has no prebuilt executable.
fn rust_function(f: &SamFunction, opts: &PrepareOptions) -> Option<RustFunction> {
    if !matches!(f.code, FunctionCode::Path(_)) {
        return None;
    }
    let code_uri = code_uri(f).ok()?;
    if sam_build_output(f, opts).is_file() || code_uri.join("bootstrap").is_file() {
        return None;
    }
    let build_method = f.metadata.get("BuildMethod").and_then(Value::as_str);
    if !code_uri.join("Cargo.toml").is_file() && build_method != Some("rust-cargolambda") {
        return None;
    }
    Some(RustFunction {
        logical_id: f.logical_id.clone(),
        manifest: code_uri.join("Cargo.toml"),
        binary: f
            .metadata
            .pointer("/BuildProperties/Binary")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

fn prepare_one(
    f: &SamFunction,
    opts: &PrepareOptions,
    built: &HashMap<RustFunction, (PathBuf, String)>,
) -> Result<FunctionConfig> {
    let p = &f.properties;
    let runtime = text(p.get("Runtime")).unwrap_or_else(|| "provided.al2023".into());
    let handler = text(p.get("Handler")).unwrap_or_else(|| "bootstrap".into());
    let code_uri = code_uri(f)?;
    let timeout_s = p.get("Timeout").and_then(Value::as_f64).unwrap_or(3.0);
    let memory = p.get("MemorySize").and_then(Value::as_u64).unwrap_or(128);
    let max_concurrency = p
        .get("ReservedConcurrentExecutions")
        .and_then(Value::as_u64)
        .map(|n| n as usize)
        .unwrap_or(opts.default_max_concurrency)
        .max(1);
    let sam_build = sam_build_output(f, opts);
    let mut args: Vec<String> = Vec::new();
    let mut extra_env: Vec<(String, String)> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut source_dir = Some(code_uri.clone());
    let mut rebuild = None;
    let command = if sam_build.is_file() {
        source_dir = None;
        sam_build
    } else if code_uri.join("bootstrap").is_file() {
        code_uri.join("bootstrap")
    } else if let Some(rf) = rust_function(f, opts) {
        let (exe, bin) = built
            .get(&rf)
            .cloned()
            .ok_or_else(|| anyhow!("{} was not built", f.logical_id))?;
        if !opts.skip_build {
            rebuild = Some((rf.manifest, bin));
        }
        exe
    } else if runtime.starts_with("python") {
        let interpreter = super::interpreters::for_runtime(&runtime)?;
        notes.extend(interpreter.differs_from(&runtime));
        let python = interpreter.path.display().to_string();
        args = match opts.runtime_client {
            RuntimeClient::Builtin => vec![
                super::clients::install()?.python.display().to_string(),
                handler.clone(),
            ],
            RuntimeClient::Official => {
                let probe = Command::new(&python)
                    .args(["-c", "import awslambdaric"])
                    .output();
                if !probe.map(|o| o.status.success()).unwrap_or(false) {
                    bail!(
                        "--runtime-client official: runtime {runtime} needs the awslambdaric package for {python}: run `{python} -m pip install awslambdaric`, or use the built-in client"
                    );
                }
                vec!["-m".into(), "awslambdaric".into(), handler.clone()]
            }
        };
        // The function's folder, its installed requirements, then its layers' `python`
        // folders, as Lambda's sys.path has /var/task before /opt/python.
        let mut path = vec![code_uri.clone()];
        if let Some(cache) = &opts.deps_cache {
            path.extend(super::deps::python(
                &code_uri,
                &interpreter.path,
                cache,
                &f.logical_id,
            )?);
        }
        path.extend(layer_dirs(f, |d| {
            vec![
                d.join("python/lib")
                    .join(format!("python{}", runtime.trim_start_matches("python")))
                    .join("site-packages"),
                d.join("python"),
            ]
        }));
        // Last, as Lambda has its own copy of the SDK after /opt: boto3 when the code imports it.
        if let Some(cache) = &opts.deps_cache {
            path.extend(super::deps::python_sdk(
                &code_uri,
                &interpreter.path,
                cache,
                &f.logical_id,
            )?);
        }
        extra_env.push(("PYTHONPATH".into(), join_paths(&path)));
        extra_env.push(("PYTHONUNBUFFERED".into(), "1".into()));
        PathBuf::from(python)
    } else if runtime.starts_with("nodejs") {
        match opts.runtime_client {
            RuntimeClient::Builtin => {
                let interpreter = super::interpreters::for_runtime(&runtime)?;
                notes.extend(interpreter.differs_from(&runtime));
                args = vec![
                    super::clients::install()?.node.display().to_string(),
                    handler.clone(),
                ];
                interpreter.path
            }
            RuntimeClient::Official => {
                let bin = ["node_modules/.bin/aws-lambda-ric"]
                    .iter()
                    .flat_map(|rel| [code_uri.join(rel), opts.template_dir.join(rel)])
                    .find(|p| p.is_file())
                    .ok_or_else(|| {
                        anyhow!(
                            "--runtime-client official: runtime {runtime} needs the aws-lambda-ric package: run `npm install aws-lambda-ric` in {}, or use the built-in client",
                            code_uri.display()
                        )
                    })?;
                args = vec![handler.clone()];
                std::path::absolute(&bin).unwrap_or(bin)
            }
        }
    } else {
        bail!(
            "no executable for CodeUri {}: expected a Rust crate (Cargo.toml), a prebuilt bootstrap, or .aws-sam/build/{}/bootstrap",
            code_uri.display(),
            f.logical_id
        );
    };

    let mut env: Vec<(String, String)> = vec![
        ("AWS_LAMBDA_FUNCTION_NAME".into(), f.name.clone()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(), memory.to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME".into(),
            format!("/aws/lambda/{}", f.name),
        ),
        ("AWS_REGION".into(), gateway::REGION.into()),
        ("AWS_DEFAULT_REGION".into(), gateway::REGION.into()),
        ("AWS_EXECUTION_ENV".into(), format!("AWS_Lambda_{runtime}")),
        ("_HANDLER".into(), handler.clone()),
        ("LAMBDA_TASK_ROOT".into(), code_uri.display().to_string()),
    ];
    env.extend(extra_env);
    // Installed package.json dependencies, then layers' node_modules (NODE_PATH is searched after
    // the function's own node_modules).
    let mut node_modules: Vec<PathBuf> = Vec::new();
    if runtime.starts_with("nodejs") && source_dir.is_some() {
        if let Some(cache) = &opts.deps_cache {
            node_modules.extend(super::deps::node(&code_uri, cache, &f.logical_id)?);
        }
    }
    let mut sdk_modules: Vec<PathBuf> = Vec::new();
    if runtime.starts_with("nodejs") && source_dir.is_some() {
        if let Some(cache) = &opts.deps_cache {
            sdk_modules.extend(super::deps::node_sdk(&code_uri, cache, &f.logical_id)?);
        }
    }
    if !f.layers.is_empty() {
        let major = runtime
            .trim_start_matches("nodejs")
            .trim_end_matches(".x")
            .to_string();
        let node_path = layer_dirs(f, |d| {
            vec![
                d.join("nodejs")
                    .join(format!("node{major}"))
                    .join("node_modules"),
                d.join("nodejs/node_modules"),
            ]
        });
        if runtime.starts_with("nodejs") {
            node_modules.extend(node_path);
        }
        let inherited = |name: &str| std::env::var_os(name).map(PathBuf::from);
        let mut bin = layer_dirs(f, |d| vec![d.join("bin")]);
        bin.extend(inherited("PATH").iter().flat_map(std::env::split_paths));
        env.push(("PATH".into(), join_paths(&bin)));
        let mut lib = layer_dirs(f, |d| vec![d.join("lib")]);
        lib.extend(
            inherited("LD_LIBRARY_PATH")
                .iter()
                .flat_map(std::env::split_paths),
        );
        env.push(("LD_LIBRARY_PATH".into(), join_paths(&lib)));
    }
    // The SDK the runtime includes comes after the function's and its layers' modules.
    node_modules.extend(sdk_modules);
    if !node_modules.is_empty() {
        env.push(("NODE_PATH".into(), join_paths(&node_modules)));
    }
    let declared: Vec<(String, String)> = p
        .pointer("/Environment/Variables")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| text(Some(v)).map(|v| (k.clone(), v)))
                .collect()
        })
        .unwrap_or_default();
    for (k, mut v) in declared {
        // `--env-vars`: SAM's format, `Parameters` for every function, then per logical id; only
        // variables the template declares are overridden, as in SAM CLI.
        if let Some(o) = &opts.env_overrides {
            for scope in ["Parameters", f.logical_id.as_str()] {
                if let Some(x) = text(o.get(scope).and_then(|s| s.get(&k))) {
                    v = x;
                }
            }
        }
        env.retain(|(n, _)| *n != k);
        env.push((k, v));
    }

    Ok(FunctionConfig {
        logical_id: f.logical_id.clone(),
        name: f.name.clone(),
        arn: format!(
            "arn:aws:lambda:{}:{}:function:{}",
            gateway::REGION,
            gateway::ACCOUNT_ID,
            f.name
        ),
        command,
        args,
        working_dir: if code_uri.is_dir() {
            code_uri
        } else {
            opts.template_dir.clone()
        },
        env,
        timeout: Duration::from_secs_f64(timeout_s.max(0.001)),
        max_concurrency,
        source_dir,
        rebuild,
        declared: f.properties.clone(),
        notes,
    })
}

/// The folders each of the function's layers contributes, the last layer first: Lambda
/// extracts layers into /opt in order, so a later layer's files win.
fn layer_dirs(f: &SamFunction, parts: impl Fn(&Path) -> Vec<PathBuf>) -> Vec<PathBuf> {
    f.layers
        .iter()
        .rev()
        .filter_map(|l| match l {
            Layer::Local { dir, .. } => Some(parts(dir)),
            Layer::Remote(_) => None,
        })
        .flatten()
        .collect()
}

fn join_paths(paths: &[PathBuf]) -> String {
    std::env::join_paths(paths)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Build a Rust function again (hot reload).
pub fn rebuild(manifest: &Path, bin: &str) -> Result<()> {
    let f = RustFunction {
        logical_id: bin.to_string(),
        manifest: manifest.to_path_buf(),
        binary: Some(bin.to_string()),
    };
    cargo::build(&[f], false, false).map(|_| ())
}
