//! `tollgate`: the local emulator binary. A thin layer over the `gateway` library: argument
//! parsing, the HTTP server, and terminal output. `anyhow` lives only here.

mod admin;
mod cli;
mod dashboard;
mod lambda;
mod otlp;
mod reload;
mod route_rows;
mod server;
mod tls;

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
        Command::GenerateEvent(args) => generate_event(&args),
        Command::Token(cmd) => token(&cmd),
        Command::Keys(cmd) => runtime().and_then(|rt| rt.block_on(keys(cmd))),
        Command::StartApi(args) => runtime().and_then(|rt| rt.block_on(start_api(*args))),
        Command::StartLambda(args) => runtime().and_then(|rt| rt.block_on(start_lambda(args))),
        Command::Invoke(args) => runtime().and_then(|rt| rt.block_on(invoke(args))),
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

/// Keys and plans from a keys file (if it exists) and a template (if it exists).
fn known_keys(
    file: &std::path::Path,
    template: Option<&std::path::Path>,
) -> Result<gateway::usage::UsageConfig> {
    let mut cfg = gateway::usage::UsageConfig::default();
    if let Some(t) = template.filter(|t| t.exists()) {
        if let Ok(tpl) = gateway::sam::load_template(t, &Default::default()) {
            cfg.merge(tpl.usage);
        }
    }
    if file.exists() {
        let text = std::fs::read_to_string(file).with_context(|| format!("{}", file.display()))?;
        let extra: gateway::usage::UsageConfig = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a keys file", file.display()))?;
        cfg.merge(extra);
    }
    Ok(cfg)
}

async fn keys(cmd: cli::KeysCommand) -> Result<ExitCode> {
    match cmd {
        cli::KeysCommand::Create {
            name,
            plan,
            value,
            file,
        } => {
            let mut cfg: gateway::usage::UsageConfig = if file.exists() {
                serde_json::from_str(&std::fs::read_to_string(&file)?)
                    .with_context(|| format!("{}: not a keys file", file.display()))?
            } else {
                Default::default()
            };
            if cfg.keys.iter().any(|k| k.id == name) {
                anyhow::bail!("{}: a key named {name} already exists", file.display());
            }
            let value = value.unwrap_or_else(|| {
                let a = uuid::Uuid::new_v4().simple().to_string();
                let b = uuid::Uuid::new_v4().simple().to_string();
                format!("{a}{}", &b[..8])
            });
            if !(20..=128).contains(&value.len())
                || !value.chars().all(|c| c.is_ascii_alphanumeric())
            {
                anyhow::bail!("--value: API key values are 20 to 128 letters and digits");
            }
            cfg.keys.push(gateway::usage::ApiKey {
                id: name.clone(),
                name,
                value: value.clone(),
                enabled: true,
                plans: plan,
            });
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(&file, serde_json::to_string_pretty(&cfg)? + "\n")?;
            println!("{value}");
        }
        cli::KeysCommand::List { file, template } => {
            let cfg = known_keys(&file, Some(&template))?;
            for k in &cfg.keys {
                println!(
                    "{}\t{}\t{}\t{}",
                    k.id,
                    if k.enabled { "enabled" } else { "disabled" },
                    if k.plans.is_empty() {
                        "-".to_string()
                    } else {
                        k.plans.join(",")
                    },
                    k.value
                );
            }
        }
        cli::KeysCommand::Usage {
            file,
            template,
            state_dir,
        } => {
            let cfg = known_keys(&file, Some(&template))?;
            let store = gateway::usage_embedded::EmbeddedStore::open(&state_dir)?;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0);
            for k in &cfg.keys {
                for p in cfg.plans.iter().filter(|p| k.plans.contains(&p.id)) {
                    let Some(q) = &p.quota else {
                        println!("{}\t{}\tno quota", k.id, p.id);
                        continue;
                    };
                    let (start, _) = gateway::usage::period_bounds(now, q.period);
                    let used = gateway::usage::UsageStore::used(
                        &store,
                        &format!("quota|{}|{}|{start}", p.id, k.id),
                    )
                    .await
                    .map_err(anyhow::Error::msg)?;
                    println!("{}\t{}\t{used}/{} this {:?}", k.id, p.id, q.limit, q.period);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn kid_for(k: &cli::KeyArgs) -> String {
    k.kid.clone().unwrap_or_else(|| {
        k.key
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "tollgate-dev".into())
    })
}

fn token(cmd: &cli::TokenCommand) -> Result<ExitCode> {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let key_args = match cmd {
        cli::TokenCommand::Mint(m) => &m.key,
        cli::TokenCommand::Jwks(k) => k,
    };
    let pem = std::fs::read(&key_args.key)
        .with_context(|| format!("--key {}", key_args.key.display()))?;
    let key = EncodingKey::from_rsa_pem(&pem).with_context(|| {
        format!(
            "--key {}: not an RSA private key in PEM form",
            key_args.key.display()
        )
    })?;
    match cmd {
        cli::TokenCommand::Jwks(k) => {
            let mut jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&key, Algorithm::RS256)?;
            jwk.common.key_id = Some(kid_for(k));
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({ "keys": [jwk] }))?
            );
        }
        cli::TokenCommand::Mint(m) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let mut claims = serde_json::json!({
                "iss": m.iss, "sub": m.sub, "iat": now, "nbf": now, "exp": now + m.ttl,
            });
            match m.aud.as_slice() {
                [] => {}
                [one] => claims["aud"] = serde_json::json!(one),
                many => claims["aud"] = serde_json::json!(many),
            }
            if let Some(s) = &m.scope {
                claims["scope"] = serde_json::json!(s);
            }
            for kv in &m.claims {
                let (k, v) = kv
                    .split_once('=')
                    .with_context(|| format!("--claim `{kv}`: expected KEY=VALUE"))?;
                claims[k] = serde_json::json!(v);
            }
            let mut header = Header::new(Algorithm::RS256);
            header.kid = Some(kid_for(&m.key));
            println!("{}", jsonwebtoken::encode(&header, &claims, &key)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn generate_event(args: &cli::GenerateEvent) -> Result<ExitCode> {
    use gateway::lambda_proxy::{sample_event, SampleFormat};
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
    println!("{}", serde_json::to_string_pretty(&event)?);
    Ok(ExitCode::SUCCESS)
}

/// Load a template's functions (APIs are optional here).
fn template_functions(
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

/// Build or find the functions' executables and start the Runtime API host.
async fn start_host(
    functions: &[gateway::sam::SamFunction],
    template: &std::path::Path,
    args: &cli::LambdaArgs,
) -> Result<Arc<lambda::LambdaHost>> {
    let template_dir = template
        .parent()
        .map(std::path::Path::to_path_buf)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| std::path::PathBuf::from("."));
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
    let opts = lambda::PrepareOptions {
        template_dir,
        skip_build: args.skip_build,
        default_max_concurrency: args.max_concurrency,
        env_overrides,
    };
    let configs = tokio::task::block_in_place(|| lambda::prepare_functions(functions, &opts))?;
    let host = lambda::LambdaHost::start(
        configs,
        &lambda::HostOptions {
            queue_limit: args.queue_limit,
            idle_timeout: Duration::from_secs(args.idle_timeout),
            eager: args.warm_containers == cli::WarmContainers::Eager,
        },
    )
    .await?;
    eprintln!(
        "Lambda Runtime API for {} function{} on {}",
        functions.len(),
        if functions.len() == 1 { "" } else { "s" },
        host.runtime_api
    );
    Ok(Arc::new(host))
}

async fn serve_invoke_api(
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

async fn start_lambda(args: cli::StartLambda) -> Result<ExitCode> {
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

async fn invoke(args: cli::Invoke) -> Result<ExitCode> {
    use gateway::invoke::{InvokeOutcome, InvokeRequest, Invoker};
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
    route_rows::table(&route_rows::rows(&loaded.apis))
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
    let ip_limit = match &args.ip_rate_limit {
        None => None,
        Some(spec) => {
            let (rate, burst) = spec
                .split_once('/')
                .unwrap_or((spec.as_str(), spec.as_str()));
            let parse = |s: &str| s.trim().parse::<f64>().ok().filter(|v| *v > 0.0);
            match (parse(rate), parse(burst)) {
                (Some(r), Some(b)) => Some(gateway::usage::Throttle {
                    rate_limit: r,
                    burst_limit: b as u64,
                }),
                _ => anyhow::bail!("--ip-rate-limit `{spec}`: expected RATE/BURST, e.g. 50/100"),
            }
        }
    };
    let options = GatewayOptions {
        stage_in_path: args.stage_in_path,
        ip_limit,
        retry_after: args.retry_after,
    };
    let metrics = Arc::new(gateway::metrics::Metrics::new());
    let recorder = Arc::clone(&metrics);
    let request_log = Arc::new(dashboard::RequestLog::new());
    let dashboard_log = Arc::clone(&request_log);
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let log_format = args
        .access_log_format
        .clone()
        .unwrap_or_else(|| if terminal { "pretty" } else { "clf" }.to_string());
    if !matches!(
        log_format.as_str(),
        "pretty" | "clf" | "json" | "xml" | "csv"
    ) {
        access_log::check_format(&log_format, gateway::spec::ApiKind::Http).map_err(|m| {
            anyhow::anyhow!(
                "--access-log-format: {m}; or name a preset: pretty, clf, json, xml, csv"
            )
        })?;
    }
    let traces = match &args.otlp_endpoint {
        Some(url) => Some(
            otlp::Traces::start(url, args.otlp_sample_ratio)
                .map_err(|m| anyhow::anyhow!("--otlp-endpoint {url}: {m}"))?,
        ),
        None => None,
    };
    let sink: access_log::CompletionSink = Arc::new(move |ctx| {
        recorder.record(ctx);
        dashboard_log.record(ctx);
        if let Some(t) = &traces {
            t.record(ctx);
        }
        let line = match (&ctx.access_log_format, log_format.as_str()) {
            (Some(own), _) => access_log::render(own, ctx),
            (None, "pretty") => access_log::pretty(ctx, terminal),
            (None, name) => match access_log::preset(name, ctx.api_kind) {
                Some(f) => access_log::render(f, ctx),
                None => access_log::render(name, ctx),
            },
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
    });
    let mut jwks_overrides = std::collections::HashMap::new();
    for spec in &args.jwks {
        // The issuer is a URL itself, so split at the last `=`.
        let (issuer, source) = spec
            .rsplit_once('=')
            .with_context(|| format!("--jwks `{spec}`: expected ISSUER=FILE or ISSUER=URL"))?;
        jwks_overrides.insert(issuer.to_string(), source.to_string());
    }
    let mut gateway = Gateway::new(loaded.apis.clone(), options)
        .with_completion_sink(sink)
        .with_jwks(Arc::new(gateway::jwks::JwksRegistry::with_overrides(
            jwks_overrides,
        )))
        .with_jwt_leeway(args.jwt_leeway)
        .with_capture_exchanges(args.admin_port.is_some());
    let mut usage = loaded.usage.clone();
    if let Some(path) = &args.api_keys {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--api-keys {}", path.display()))?;
        let extra: gateway::usage::UsageConfig =
            serde_json::from_str(&text).with_context(|| {
                format!(
                    "--api-keys {}: not a keys-and-plans document (see tollgate start-api --help)",
                    path.display()
                )
            })?;
        for plan in &extra.plans {
            if let Some(rl) = &plan.rate_limit {
                gateway::spec::check_rate_limit(rl).map_err(|e| {
                    anyhow::anyhow!(
                        "--api-keys {}: plan `{}` rateLimit: {e}",
                        path.display(),
                        plan.id
                    )
                })?;
            }
        }
        usage.merge(extra);
    }
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
    // The embedded store is opened only when there are plans to count for.
    let store: Arc<dyn gateway::usage::UsageStore> = match args.usage_store {
        cli::UsageStoreKind::Embedded if !usage.plans.is_empty() => Arc::new(
            gateway::usage_embedded::EmbeddedStore::open(&args.state_dir)?,
        ),
        cli::UsageStoreKind::Redis => Arc::new(
            gateway::usage_redis::RedisStore::connect(&args.redis_url, &args.redis_prefix)
                .await
                .map_err(anyhow::Error::msg)?,
        ),
        cli::UsageStoreKind::Dynamodb => Arc::new(
            gateway::usage_dynamodb::DynamoDbStore::connect(
                args.dynamodb_endpoint.as_deref(),
                &args.dynamodb_table,
                &args.dynamodb_region,
                args.dynamodb_endpoint.is_some(),
            )
            .await
            .map_err(anyhow::Error::msg)?,
        ),
        _ => Arc::new(gateway::usage::MemoryStore::default()),
    };
    gateway = gateway
        .with_usage(usage, store)
        .with_usage_fail_closed(args.usage_store_fail_closed);
    if let Some(path) = &args.iam_credentials {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--iam-credentials {}", path.display()))?;
        let creds: Vec<gateway::sigv4::IamCredential> =
            serde_json::from_str(&text).with_context(|| {
                format!(
                    "--iam-credentials {}: expected a JSON list of {{\"accessKeyId\", \"secretAccessKey\", ...}}",
                    path.display()
                )
            })?;
        gateway = gateway.with_iam_credentials(creds);
    }
    if let Some(path) = &args.policies {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--policies {}: cannot read it", path.display()))?;
        let list: Vec<gateway::filters::PolicyExt> =
            serde_norway::from_str(&text).with_context(|| {
                format!(
                    "--policies {}: expected a list of policy entries",
                    path.display()
                )
            })?;
        let mut chain = Vec::new();
        for (k, p) in list.iter().enumerate() {
            chain.push(
                p.build().map_err(|m| {
                    anyhow::anyhow!("--policies {}: entry {k}: {m}", path.display())
                })?,
            );
        }
        gateway = gateway.with_filters(chain);
    }
    let mut host = None;
    if !loaded.functions.is_empty() {
        let template = match args.source.source()? {
            gateway::load::Source::Template { path, .. } => path,
            gateway::load::Source::OpenApi { .. } => std::path::PathBuf::from("template.yaml"),
        };
        let started = start_host(&loaded.functions, &template, &args.lambda).await?;
        if let Some(port) = args.lambda.lambda_port {
            serve_invoke_api(&started, &args.host, port).await?;
        }
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
    let slot = Arc::new(reload::GatewaySlot::new(gateway));
    if let Some(port) = args.admin_port {
        let admin_addr: SocketAddr = format!("{}:{port}", args.host)
            .parse()
            .with_context(|| format!("--admin-port {port}: not a valid address"))?;
        let bound = admin::serve(
            admin_addr,
            admin::Admin {
                slot: Arc::clone(&slot),
                metrics: Arc::clone(&metrics),
                host: host.clone(),
                log: Arc::clone(&request_log),
            },
        )
        .await?;
        eprintln!("tollgate admin on http://{bound} (dashboard: /, metrics: /metrics)");
    }
    let mut _watches = Vec::new();
    if !args.no_watch {
        let source = args.source.source()?;
        let mut files: Vec<std::path::PathBuf> =
            loaded.apis.iter().map(|a| a.source.clone()).collect();
        match &source {
            gateway::load::Source::Template { path, .. } => files.push(path.clone()),
            gateway::load::Source::OpenApi { paths, .. } => files.extend(paths.iter().cloned()),
        }
        _watches.push(reload::watch_apis(source, files, Arc::clone(&slot))?);
        if let Some(h) = &host {
            _watches.extend(reload::watch_functions(h)?);
        }
    }
    let tls = tls::setup(
        &tls::TlsArgs {
            cert: args.tls_cert.clone(),
            key: args.tls_key.clone(),
            self_signed: args.tls_self_signed,
            client_ca: args.tls_client_ca.clone(),
            client_cert_optional: args.tls_client_cert_optional,
        },
        &args.state_dir,
    )?;
    match &tls {
        Some(t) => {
            if let Some(cert) = &t.generated_cert {
                eprintln!(
                    "TLS with a generated certificate for localhost: trust {} (curl --cacert)",
                    cert.display()
                );
            }
            if args.tls_client_ca.is_some() && !args.tls_client_cert_optional {
                eprintln!("mTLS: clients must present a certificate issued by the --tls-client-ca truststore");
            }
            eprintln!("tollgate listening on https://{bound}");
        }
        None => eprintln!("tollgate listening on http://{bound}"),
    }
    server::serve(
        slot,
        listener,
        tls.map(|t| t.config),
        server::shutdown_signal(),
        Duration::from_secs(args.shutdown_grace),
    )
    .await?;
    if let Some(h) = host {
        h.stop_all();
    }
    Ok(ExitCode::SUCCESS)
}
