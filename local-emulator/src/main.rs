//! `tollgate`: the local emulator binary. A thin layer over the `gateway` library: argument
//! parsing, the HTTP server, and terminal output. `anyhow` lives only here.

mod cli;
mod lambda;
mod server;

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use gateway::access_log;
use gateway::load::{load, Loaded};
use gateway::{Gateway, GatewayOptions};

use cli::{Cli, Command, SourceArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let result = match cli.command {
        Command::Validate(args) => validate(&args),
        Command::Routes(args) => routes(&args),
        Command::StartApi(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")
            .and_then(|rt| rt.block_on(start_api(args))),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TOLLGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

/// Load, printing every error; `None` when loading failed.
fn load_or_report(args: &SourceArgs) -> Result<Option<Loaded>> {
    let source = args.source()?;
    match load(&source) {
        Ok(l) => {
            for w in &l.warnings {
                eprintln!("warning: {w}");
            }
            Ok(Some(l))
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
            Ok(None)
        }
    }
}

fn validate(args: &SourceArgs) -> Result<ExitCode> {
    let Some(loaded) = load_or_report(args)? else {
        return Ok(ExitCode::FAILURE);
    };
    let routes: usize = loaded.apis.iter().map(|a| a.routes.len()).sum();
    println!(
        "ok: {} API{}, {routes} route{}",
        loaded.apis.len(),
        if loaded.apis.len() == 1 { "" } else { "s" },
        if routes == 1 { "" } else { "s" }
    );
    Ok(ExitCode::SUCCESS)
}

fn route_table(loaded: &Loaded) -> String {
    let mut rows = vec![[
        "API".to_string(),
        "TYPE".to_string(),
        "STAGE".to_string(),
        "METHOD".to_string(),
        "PATH".to_string(),
        "INTEGRATION".to_string(),
    ]];
    for api in &loaded.apis {
        for r in &api.routes {
            rows.push([
                api.name.clone(),
                api.kind.label().to_string(),
                api.stage.name.clone(),
                r.method.to_string(),
                r.resource_path.clone(),
                r.integration.label(),
            ]);
        }
    }
    let mut widths = [0usize; 6];
    for row in &rows {
        for (i, c) in row.iter().enumerate() {
            widths[i] = widths[i].max(c.len());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn routes(args: &SourceArgs) -> Result<ExitCode> {
    let Some(loaded) = load_or_report(args)? else {
        return Ok(ExitCode::FAILURE);
    };
    print!("{}", route_table(&loaded));
    Ok(ExitCode::SUCCESS)
}

async fn start_api(args: cli::StartApi) -> Result<ExitCode> {
    let Some(loaded) = load_or_report(&args.source)? else {
        return Ok(ExitCode::FAILURE);
    };
    let options = GatewayOptions {
        stage_in_path: args.stage_in_path,
    };
    let sink: access_log::CompletionSink = Arc::new(|ctx| {
        let line = access_log::render(access_log::default_format(ctx.api_kind), ctx);
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
    });
    let mut gateway = Gateway::new(loaded.apis.clone(), options).with_completion_sink(sink);
    let mut host = None;
    if !loaded.functions.is_empty() {
        let template_dir = match args.source.source()? {
            gateway::load::Source::Template { path, .. } => path
                .parent()
                .map(std::path::Path::to_path_buf)
                .unwrap_or_default(),
            gateway::load::Source::OpenApi { .. } => std::path::PathBuf::from("."),
        };
        let env_overrides = match &args.lambda.env_vars {
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
        let opts = lambda::PrepareOptions {
            template_dir: if template_dir.as_os_str().is_empty() {
                std::path::PathBuf::from(".")
            } else {
                template_dir
            },
            skip_build: args.lambda.skip_build,
            default_max_concurrency: args.lambda.max_concurrency,
            env_overrides,
        };
        let configs =
            tokio::task::block_in_place(|| lambda::prepare_functions(&loaded.functions, &opts))?;
        let started = lambda::LambdaHost::start(
            configs,
            &lambda::HostOptions {
                queue_limit: args.lambda.queue_limit,
                idle_timeout: Duration::from_secs(args.lambda.idle_timeout),
                eager: args.lambda.warm_containers == cli::WarmContainers::Eager,
            },
        )
        .await?;
        eprintln!(
            "Lambda Runtime API for {} function{} on {}",
            loaded.functions.len(),
            if loaded.functions.len() == 1 { "" } else { "s" },
            started.runtime_api
        );
        let started = Arc::new(started);
        gateway = gateway.with_invoker(started.clone());
        host = Some(started);
    }
    for (api, route, winner) in gateway.shadowed_routes() {
        eprintln!(
            "warning: {route} of {api} is also defined by {winner}, which answers it; reach {api}'s with Host: {}.localhost",
            api.to_ascii_lowercase()
        );
    }

    let addr: SocketAddr = format!("{}:{}", args.host, args.port)
        .parse()
        .with_context(|| {
            format!(
                "--host {} --port {}: not a valid address",
                args.host, args.port
            )
        })?;
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr} (is another server using it? pick one with -p)")
    })?;
    let bound = listener.local_addr()?;
    eprint!("{}", route_table(&loaded));
    for api in gateway.apis() {
        let prefix = if args.stage_in_path && api.stage.name != "$default" {
            format!("/{}", api.stage.name)
        } else {
            String::new()
        };
        eprintln!(
            "{} API {} (stage {}): http://{bound}{prefix}/  or  http://{}.localhost:{}{prefix}/",
            api.kind.label(),
            api.name,
            api.stage.name,
            api.name.to_ascii_lowercase(),
            bound.port()
        );
    }
    eprintln!("tollgate listening on http://{bound}");
    server::serve(
        Arc::new(gateway),
        listener,
        server::shutdown_signal(),
        Duration::from_secs(args.shutdown_grace),
    )
    .await?;
    if let Some(h) = host {
        h.stop_all();
    }
    Ok(ExitCode::SUCCESS)
}
