//! `tollgate start-lambda`: the template's functions behind the Lambda Invoke API.

use std::process::ExitCode;

use anyhow::Result;

use super::{serve_invoke_api, start_host, template_functions};
use crate::{cli, server};

pub(crate) async fn run(args: cli::StartLambda) -> Result<ExitCode> {
    let functions = template_functions(&args.template, &args.parameter_overrides)?;
    if functions.is_empty() {
        anyhow::bail!(
            "{}: the template declares no functions",
            args.template.display()
        );
    }
    let host = start_host(&functions, &args.template, &args.lambda).await?;
    let bound = serve_invoke_api(&host, &args.host, args.port).await?;
    eprintln!("tollgate listening on http://{bound}");
    server::shutdown_signal().await;
    host.stop_all();
    Ok(ExitCode::SUCCESS)
}
