//! `tollgate`: the local emulator binary. A thin layer over the `gateway` library: argument
//! parsing ([`cli`], validated into [`config`]), one module per command ([`commands`]), the
//! HTTP server, the Lambda Runtime API host, hot reload, and the admin endpoints. `anyhow`
//! lives only here.

// First: its `outln!` is used by the modules after it.
#[macro_use]
mod output;
mod admin;
mod cli;
mod commands;
mod config;
mod connections;
mod dashboard;
mod lambda;
mod log_writer;
mod otlp;
mod reload;
mod route_rows;
mod server;
mod tls;
mod watched_io;
mod wire;

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;

use cli::{Cli, Command};
use commands::{generate_event, invoke, keys, start_api, start_lambda, token, validate};

/// mimalloc, not glibc's allocator: a request's buffers are often freed on another worker
/// thread than the one that allocated them, and glibc then takes the other arena's lock. Side by
/// side it served 11–20% more on the MOCK, HTTP_PROXY and pool routes (docs/benchmarks.md). Huge
/// pages are off for it (`no_thp`): with them idle RSS grew by half.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let result = match cli.command {
        Command::Validate(args) => validate::validate(&args),
        Command::Routes(args) => validate::routes(&args),
        Command::GenerateEvent(args) => generate_event::run(&args),
        Command::Token(cmd) => token::run(&cmd),
        Command::Keys(cmd) => runtime().and_then(|rt| rt.block_on(keys::run(cmd))),
        Command::StartApi(args) => runtime().and_then(|rt| rt.block_on(start_api::run(*args))),
        Command::StartLambda(args) => runtime().and_then(|rt| rt.block_on(start_lambda::run(args))),
        Command::Invoke(args) => runtime().and_then(|rt| rt.block_on(invoke::run(args))),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TOLLGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour only for a person at a terminal, never in a file or a pipe.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}
