//! `tollgate start-api`: serve the APIs of a template or OpenAPI files, with their functions,
//! keys and plans, until SIGINT or SIGTERM.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use gateway::load::{Loaded, Source};
use gateway::spec::ApiKind;
use gateway::{
    access_log, CompletionSink, ContextFormat, Gateway, JwksRegistry, Served, Services, UsageStore,
};

use super::{load_source_or_report, route_table, serve_invoke_api, start_host};
use crate::config::{AccessLog, EmulatorConfig, UsageStoreChoice};
use crate::log_writer::LineWriter;
use crate::{admin, cli, dashboard, otlp, reload, server, tls};

pub(crate) async fn run(args: cli::StartApi) -> Result<ExitCode> {
    let config = EmulatorConfig::from_args(args)?;
    let Some(loaded) = load_source_or_report(&config.source, config.load_options) else {
        return Ok(ExitCode::FAILURE);
    };
    let metrics = Arc::new(gateway::Metrics::new());
    let request_log = Arc::new(dashboard::RequestLog::new());
    let traces = match &config.otlp {
        Some((url, ratio)) => Some(
            otlp::Traces::start(url, *ratio)
                .map_err(|m| anyhow::anyhow!("--otlp-endpoint {url}: {m}"))?,
        ),
        None => None,
    };
    // Metrics and the dashboard's log are read only on the admin address: without one, nothing
    // is recorded for them.
    let observed = config
        .admin
        .is_some()
        .then(|| (Arc::clone(&metrics), Arc::clone(&request_log)));
    let log_writer = Arc::new(LineWriter::stdout().context("starting the access-log writer")?);
    let sink = completion_sink(
        config.access_log.clone(),
        Arc::clone(&log_writer),
        observed,
        traces,
    );

    let served = Served::new(loaded.apis.clone(), served_usage(&loaded, &config));
    let mut services = Services {
        jwks: Arc::new(JwksRegistry::with_overrides(config.jwks.clone())),
        usage_store: usage_store(&config, !served.usage().plans.is_empty()).await?,
        iam: Arc::new(config.iam.clone()),
        filters: Arc::new(config.policies.clone()),
        ..Services::default()
    };
    let mut host = None;
    let functions = functions_to_run(&loaded, &config);
    if !functions.is_empty() {
        let template = match &config.source {
            Source::Template { path, .. } => path.clone(),
            Source::OpenApi { .. } => std::path::PathBuf::from("template.yaml"),
        };
        let started = start_host(&functions, &template, &config.lambda).await?;
        if let Some(port) = config.lambda.lambda_port {
            serve_invoke_api(&started, &config.listen.ip().to_string(), port).await?;
        }
        services.invoker = Some(started.clone());
        host = Some(started);
    }
    let gateway = Gateway::new(config.gateway.clone(), services, served, Some(sink));
    for s in gateway.shadowed_routes() {
        eprintln!(
            "warning: {} of {} is also defined by {}, which answers it; reach {}'s with Host: {}.localhost",
            s.route, s.api, s.winner, s.api, s.host_label
        );
    }

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot listen on {} (is another server using it? pick one with -p): {e}",
                config.listen
            )
        })?;
    let bound = listener.local_addr()?;
    let slot = Arc::new(reload::GatewaySlot::new(gateway));
    let mut dashboard = None;
    if let Some(addr) = config.admin {
        let bound = admin::serve(
            addr,
            admin::Admin {
                slot: Arc::clone(&slot),
                metrics: Arc::clone(&metrics),
                host: host.clone(),
                log: Arc::clone(&request_log),
            },
        )
        .await?;
        dashboard = Some(bound);
    }
    let mut _watches = Vec::new();
    if config.watch {
        let mut files: Vec<std::path::PathBuf> =
            loaded.apis.iter().map(|a| a.source.clone()).collect();
        match &config.source {
            Source::Template { path, .. } => files.push(path.clone()),
            Source::OpenApi { paths, .. } => files.extend(paths.iter().cloned()),
        }
        let functions = match (&host, &config.source) {
            (Some(h), Source::Template { path, .. }) => Some(reload::FunctionReload {
                host: Arc::clone(h),
                options: super::prepare_options(path, &config.lambda)?,
            }),
            _ => None,
        };
        _watches.push(reload::watch_apis(
            config.source.clone(),
            config.load_options,
            config.extra_keys.clone(),
            files,
            Arc::clone(&slot),
            functions,
        )?);
        if let Some(h) = &host {
            _watches.extend(reload::watch_functions(h)?);
        }
    }
    let tls = tls::setup(&config.tls, &config.state_dir)?;
    // What a person needs next, last: the routes, where the APIs are, the keys, the dashboard.
    let scheme = if tls.is_some() { "https" } else { "http" };
    eprintln!();
    eprint!("{}", route_table(&loaded));
    let slot_gateway = slot.get();
    for api in slot_gateway.apis() {
        let prefix = if config.stage_in_path && api.stage.name != "$default" {
            format!("/{}", api.stage.name)
        } else {
            String::new()
        };
        eprintln!(
            "{} API {} (stage {}): {scheme}://{bound}{prefix}/  or  {scheme}://{}.localhost:{}{prefix}/",
            api.kind.label(),
            api.name,
            api.stage.name,
            api.host_label(),
            bound.port()
        );
    }
    print_keys(slot_gateway.usage());
    if let Some(d) = dashboard {
        eprintln!("tollgate admin on http://{d} (dashboard: /, metrics: /metrics)");
    }
    if let Some(t) = &tls {
        if let Some(cert) = &t.generated_cert {
            eprintln!(
                "TLS with a generated certificate for localhost: trust {} (curl --cacert)",
                cert.display()
            );
        }
        if config.tls.client_ca.is_some() && !config.tls.client_cert_optional {
            eprintln!(
                "mTLS: clients must present a certificate issued by the --tls-client-ca truststore"
            );
        }
    }
    let (limits, note) = crate::connections::fit_to_descriptors(config.connections);
    if let Some(note) = note {
        eprintln!("tollgate: {note}");
    }
    let connections = crate::connections::Registry::new(limits);
    eprintln!("tollgate listening on {scheme}://{bound}");
    server::serve(
        slot,
        listener,
        tls.map(|t| t.config),
        server::shutdown_signal(),
        config.shutdown_grace,
        connections,
    )
    .await?;
    if let Some(h) = host {
        h.stop_all();
    }
    log_writer.close();
    Ok(ExitCode::SUCCESS)
}

/// The functions to run: those the served routes call (integrations, authorizers, aggregates);
/// every function when the Invoke API is served too (`--lambda-port` can call any of them).
fn functions_to_run(loaded: &Loaded, config: &EmulatorConfig) -> Vec<gateway::sam::SamFunction> {
    if config.lambda.lambda_port.is_some() {
        return loaded.functions.clone();
    }
    let used: std::collections::BTreeSet<String> =
        loaded.apis.iter().flat_map(|a| a.functions()).collect();
    let (run, idle): (Vec<_>, Vec<_>) = loaded
        .functions
        .iter()
        .cloned()
        .partition(|f| used.contains(&f.logical_id) || used.contains(&f.name));
    if config.lambda.verbose && !idle.is_empty() {
        let names: Vec<&str> = idle.iter().map(|f| f.logical_id.as_str()).collect();
        eprintln!(
            "not built or started (no route calls them; `tollgate invoke` runs them): {}",
            names.join(", ")
        );
    }
    run
}

/// The API keys a caller may send as `x-api-key`.
fn print_keys(usage: &gateway::UsageConfig) {
    if usage.keys.is_empty() {
        return;
    }
    eprintln!("API keys (send one as x-api-key):");
    for k in &usage.keys {
        eprintln!(
            "API key {} ({}): {}{}, plans: {}",
            k.name,
            k.id,
            k.value,
            if k.enabled { "" } else { " [disabled]" },
            if k.plans.is_empty() {
                "none".to_string()
            } else {
                k.plans.join(", ")
            }
        );
    }
}

/// The keys and plans served: the template's, then `--api-keys`'s.
pub(crate) fn served_usage(loaded: &Loaded, config: &EmulatorConfig) -> gateway::UsageConfig {
    let mut usage = loaded.usage.clone();
    usage.merge(config.extra_keys.clone());
    usage
}

/// Each finished request: metrics, the dashboard's log, a trace, and an access-log line.
fn completion_sink(
    log: AccessLog,
    writer: Arc<LineWriter>,
    observed: Option<(Arc<gateway::Metrics>, Arc<dashboard::RequestLog>)>,
    traces: Option<otlp::Traces>,
) -> CompletionSink {
    let format = LineFormat::new(&log.format);
    Arc::new(move |ctx| {
        if let Some((metrics, request_log)) = &observed {
            metrics.record(ctx);
            request_log.record(ctx);
        }
        if let Some(t) = &traces {
            t.record(ctx);
        }
        let line = match (&ctx.access_log_format, &format) {
            (Some(own), _) => own.render(ctx),
            (None, LineFormat::Pretty) => access_log::pretty(ctx, log.terminal),
            (None, LineFormat::Preset { rest, http }) => match ctx.api_kind {
                Some(ApiKind::Http) => http.render(ctx),
                _ => rest.render(ctx),
            },
            (None, LineFormat::Own(f)) => f.render(ctx),
        };
        writer.line(&line);
    })
}

/// The access-log format the flags chose, parsed once rather than per request.
enum LineFormat {
    Pretty,
    /// A preset names one format per API kind.
    Preset {
        rest: ContextFormat,
        http: ContextFormat,
    },
    Own(ContextFormat),
}

impl LineFormat {
    fn new(name: &str) -> Self {
        if name == "pretty" {
            return LineFormat::Pretty;
        }
        let rest = access_log::preset(name, Some(ApiKind::Rest));
        let http = access_log::preset(name, Some(ApiKind::Http));
        match (rest, http) {
            (Some(rest), Some(http)) => LineFormat::Preset {
                rest: ContextFormat::parse(rest),
                http: ContextFormat::parse(http),
            },
            _ => LineFormat::Own(ContextFormat::parse(name)),
        }
    }
}

/// The usage store the flags chose. The embedded one is opened only when there are plans to
/// count for (it takes a lock on the state directory).
async fn usage_store(config: &EmulatorConfig, has_plans: bool) -> Result<Arc<dyn UsageStore>> {
    Ok(match &config.usage_store {
        UsageStoreChoice::Embedded(sync) if has_plans => {
            Arc::new(gateway::EmbeddedStore::open(&config.state_dir, *sync)?)
        }
        UsageStoreChoice::Embedded(_) | UsageStoreChoice::Memory => {
            Arc::new(gateway::MemoryStore::default())
        }
        // Shared stores sit behind a circuit breaker: an outage costs one probe per interval,
        // not a connect timeout per request.
        UsageStoreChoice::Redis { url, prefix } => Arc::new(gateway::Breaker::new(
            gateway::RedisStore::connect(url, prefix)
                .await
                .map_err(anyhow::Error::msg)?,
            "Redis",
        )),
        UsageStoreChoice::Dynamodb {
            endpoint,
            table,
            region,
        } => Arc::new(gateway::Breaker::new(
            // The emulator's replicas live long: they lease blocks (docs/usage-plans.md).
            gateway::DynamoDbStore::connect(endpoint.as_deref(), table, region, endpoint.is_some())
                .await
                .map_err(anyhow::Error::msg)?
                .leasing(),
            "DynamoDB",
        )),
    })
}
