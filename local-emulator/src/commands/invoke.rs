//! `tollgate invoke`: run one function once and print its result.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::{start_host, template_functions};
use crate::cli;

pub(crate) async fn run(args: cli::Invoke) -> Result<ExitCode> {
    use gateway::{InvokeOutcome, InvokeRequest, Invoker};
    let functions = template_functions(&args.template, &args.parameter_overrides)?;
    let Some(f) = functions
        .iter()
        .find(|f| f.logical_id == args.function || f.name == args.function)
    else {
        let names: Vec<&str> = functions.iter().map(|f| f.logical_id.as_str()).collect();
        anyhow::bail!(
            "{} has no function `{}` (it has: {})",
            args.template.display(),
            args.function,
            names.join(", ")
        );
    };
    let payload = match &args.event {
        None => bytes::Bytes::from_static(b"{}"),
        Some(p) if p.as_os_str() == "-" => {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
                .context("reading the event from standard input")?;
            bytes::Bytes::from(buf)
        }
        Some(p) => bytes::Bytes::from(
            std::fs::read(p).with_context(|| format!("--event {}", p.display()))?,
        ),
    };
    if serde_json::from_slice::<serde_json::Value>(&payload).is_err() {
        anyhow::bail!("the event is not JSON");
    }
    let host = start_host(std::slice::from_ref(f), &args.template, &args.lambda).await?;
    let outcome = host
        .invoke(InvokeRequest {
            function: f.logical_id.clone(),
            payload,
            trace_id: "Root=1-00000000-000000000000000000000000".into(),
        })
        .await;
    host.stop_all();
    let mut out = std::io::stdout().lock();
    match outcome? {
        InvokeOutcome::Success(body) => {
            out.write_all(&body)?;
            writeln!(out)?;
            Ok(ExitCode::SUCCESS)
        }
        InvokeOutcome::FunctionError(body) => {
            out.write_all(&body)?;
            writeln!(out)?;
            Ok(ExitCode::FAILURE)
        }
    }
}
