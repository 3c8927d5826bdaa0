//! `tollgate generate-event`: a sample event built by the code that builds real ones.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli;

pub(crate) fn run(args: &cli::GenerateEvent) -> Result<ExitCode> {
    use gateway::{sample_event, SampleFormat};
    let cli::EventService::Apigateway = args.service;
    let format = match args.event {
        cli::ApigatewayEvent::AwsProxy => SampleFormat::Rest,
        cli::ApigatewayEvent::HttpApi => SampleFormat::HttpV2,
        cli::ApigatewayEvent::HttpApiV1 => SampleFormat::HttpV1,
    };
    let event = sample_event(
        format,
        &args.method,
        &args.path,
        &args.resource,
        &args.body,
        &args.stage,
    )
    .map_err(|e| anyhow::anyhow!(e))?;
    outln!("{}", serde_json::to_string_pretty(&event)?);
    Ok(ExitCode::SUCCESS)
}
