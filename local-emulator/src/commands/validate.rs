//! `tollgate validate` and `tollgate routes`: load every API and report what was found.

use std::process::ExitCode;

use anyhow::Result;

use super::load_or_report;
use crate::cli::{SourceArgs, Validate};

pub(crate) fn validate(args: &Validate) -> Result<ExitCode> {
    let Some(loaded) = load_or_report(&args.source)? else {
        return Ok(ExitCode::FAILURE);
    };
    if args.strict && !loaded.warnings.is_empty() {
        let n = loaded.warnings.len();
        eprintln!(
            "{n} warning{} found; --strict fails on warnings",
            if n == 1 { "" } else { "s" }
        );
        return Ok(ExitCode::FAILURE);
    }
    let routes: usize = loaded.apis.iter().map(|a| a.routes.len()).sum();
    outln!(
        "ok: {} API{}, {routes} route{}",
        loaded.apis.len(),
        if loaded.apis.len() == 1 { "" } else { "s" },
        if routes == 1 { "" } else { "s" }
    );
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn routes(args: &SourceArgs) -> Result<ExitCode> {
    let Some(loaded) = load_or_report(args)? else {
        return Ok(ExitCode::FAILURE);
    };
    print!("{}", super::route_table(&loaded));
    Ok(ExitCode::SUCCESS)
}
