//! One module per `tollgate` command, and what several of them share: loading with every
//! problem printed, a template's functions, and the Lambda hosts.

pub(crate) mod generate_event;
pub(crate) mod invoke;
pub(crate) mod keys;
pub(crate) mod start_api;
pub(crate) mod start_lambda;
pub(crate) mod token;
pub(crate) mod validate;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use gateway::load::{load_with, LoadOptions, Loaded, Source};

use crate::cli::{self, SourceArgs};
use crate::{lambda, route_rows};

/// Load a template's functions (APIs are optional here).
pub(crate) fn template_functions(
    template: &std::path::Path,
    overrides: &Option<String>,
) -> Result<Vec<gateway::sam::SamFunction>> {
    if !template.exists() {
        anyhow::bail!(
            "{}: no such template. Pass -t/--template FILE",
            template.display()
        );
    }
    let overrides = match overrides {
        Some(s) => gateway::sam::parse_parameter_overrides(s)
            .map_err(|e| anyhow::anyhow!("--parameter-overrides: {e}"))?,
        None => Default::default(),
    };
    match gateway::sam::load_template(template, &overrides) {
        Ok(t) => {
            for w in &t.warnings {
                eprintln!("warning: {w}");
            }
            Ok(t.functions)
        }
        Err(errors) => {
            for e in errors.iter() {
                eprintln!("error: {e}");
            }
            anyhow::bail!(
                "{} error{} found",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" }
            )
        }
    }
}

/// How functions are prepared: the template's folder and the `--skip-build`, concurrency,
/// `--env-vars` and verbosity flags.
pub(crate) fn prepare_options(
    template: &std::path::Path,
    args: &cli::LambdaArgs,
) -> Result<lambda::PrepareOptions> {
    // Absolute: function processes run in their own folders, never in tollgate's.
    let template_dir = template
        .parent()
        .map(std::path::Path::to_path_buf)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| std::path::PathBuf::from("."));
    let template_dir = std::path::absolute(&template_dir).unwrap_or(template_dir);
    let env_overrides = match &args.env_vars {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .with_context(|| format!("--env-vars {}", p.display()))
                .and_then(|t| {
                    serde_json::from_str(&t)
                        .with_context(|| format!("--env-vars {}: not JSON", p.display()))
                })?,
        ),
        None => None,
    };
    Ok(lambda::PrepareOptions {
        template_dir: template_dir.clone(),
        skip_build: args.skip_build,
        default_max_concurrency: args.max_concurrency,
        env_overrides,
        verbose: args.verbose,
        runtime_client: args.runtime_client,
        deps_cache: (!args.skip_deps).then(|| template_dir.join(".tollgate/deps")),
    })
}

/// Build or find the functions' executables and start the Runtime API host.
pub(crate) async fn start_host(
    functions: &[gateway::sam::SamFunction],
    template: &std::path::Path,
    args: &cli::LambdaArgs,
) -> Result<Arc<lambda::LambdaHost>> {
    let opts = prepare_options(template, args)?;
    let prepared = tokio::task::block_in_place(|| lambda::prepare_functions(functions, &opts))?;
    for (id, why) in &prepared.failed {
        eprintln!(
            "warning: function {id}: {why:#}; it is not started, and a route that calls it answers 500"
        );
    }
    // One line per note, naming every function it is about.
    let mut notes: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for c in &prepared.configs {
        for note in &c.notes {
            notes.entry(note).or_default().push(&c.logical_id);
        }
    }
    for (note, ids) in notes {
        eprintln!("note: {note}: {}", ids.join(", "));
    }
    let configs = prepared.configs;
    let host = lambda::LambdaHost::start(
        configs,
        &lambda::HostOptions {
            queue_limit: args.queue_limit,
            idle_timeout: Duration::from_secs(args.idle_timeout),
            eager: args.warm_containers == cli::WarmContainers::Eager,
        },
    )
    .await?;
    if args.verbose {
        eprintln!(
            "Lambda Runtime API for {} function{}: one loopback port per process",
            functions.len(),
            if functions.len() == 1 { "" } else { "s" },
        );
    }
    Ok(Arc::new(host))
}

pub(crate) async fn serve_invoke_api(
    host: &Arc<lambda::LambdaHost>,
    bind: &str,
    port: u16,
) -> Result<SocketAddr> {
    let addr: SocketAddr = format!("{bind}:{port}")
        .parse()
        .with_context(|| format!("{bind}:{port} is not a valid address"))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for the Lambda Invoke API"))?;
    let bound = listener.local_addr()?;
    lambda::invoke_api::serve(listener, Arc::clone(host));
    eprintln!("Lambda Invoke API on http://{bound} (POST /2015-03-31/functions/NAME/invocations)");
    Ok(bound)
}

/// Load, printing every warning and error; `None` when loading failed.
pub(crate) fn load_or_report(args: &SourceArgs) -> Result<Option<Loaded>> {
    Ok(load_source_or_report(&args.source()?, args.load_options()))
}

/// [`load_or_report`] for a source already validated.
pub(crate) fn load_source_or_report(source: &Source, options: LoadOptions) -> Option<Loaded> {
    match load_with(source, options) {
        Ok(l) => {
            for w in &l.warnings {
                eprintln!("warning: {w}");
            }
            Some(l)
        }
        Err(errors) => {
            for e in errors.iter() {
                eprintln!("error: {e}");
            }
            eprintln!(
                "{} error{} found",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" }
            );
            None
        }
    }
}

pub(crate) fn route_table(loaded: &Loaded) -> String {
    route_rows::table(&route_rows::rows(&loaded.apis))
}
