//! `start-api`'s flags, validated once into an [`EmulatorConfig`] before anything is wired (the
//! second step of argument parsing: what the user wrote is [`crate::cli::StartApi`]; what the
//! emulator runs with is this). Every file a flag names is read and checked here, so a typo
//! fails at once with the flag's name.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use gateway::load::Source;
use gateway::{access_log, Attached, GatewayConfig, IamCredential, PolicyEntry, UsageConfig};

use crate::cli::{self, LambdaArgs, StartApi};

/// Where usage-plan counters live.
#[derive(Debug, Clone)]
pub(crate) enum UsageStoreChoice {
    /// A database under the state directory, opened only when there are plans to count for.
    Embedded(gateway::StateSync),
    Memory,
    Redis {
        url: String,
        prefix: String,
    },
    Dynamodb {
        endpoint: Option<String>,
        table: String,
        region: String,
    },
}

/// How each request's access-log line is written.
#[derive(Debug, Clone)]
pub(crate) struct AccessLog {
    /// `pretty`, `clf`, `json`, `xml`, `csv` or a `$context` format string.
    pub(crate) format: String,
    /// Standard output is a terminal (colour, and `pretty` by default).
    pub(crate) terminal: bool,
}

/// Everything `start-api` runs with.
pub(crate) struct EmulatorConfig {
    pub(crate) source: Source,
    pub(crate) load_options: gateway::load::LoadOptions,
    pub(crate) listen: SocketAddr,
    pub(crate) admin: Option<SocketAddr>,
    pub(crate) gateway: GatewayConfig,
    pub(crate) usage_store: UsageStoreChoice,
    /// Keys and plans from `--api-keys`, served beside the template's.
    pub(crate) extra_keys: UsageConfig,
    pub(crate) iam: Vec<IamCredential>,
    pub(crate) policies: Vec<Attached>,
    /// Issuer → key-set file or URL (`--jwks`).
    pub(crate) jwks: HashMap<String, String>,
    pub(crate) access_log: AccessLog,
    /// OTLP endpoint and sample ratio.
    pub(crate) otlp: Option<(String, f64)>,
    pub(crate) tls: crate::tls::TlsArgs,
    pub(crate) state_dir: PathBuf,
    pub(crate) watch: bool,
    pub(crate) stage_in_path: bool,
    pub(crate) shutdown_grace: Duration,
    pub(crate) connections: crate::connections::Limits,
    pub(crate) lambda: LambdaArgs,
}

impl EmulatorConfig {
    pub(crate) fn from_args(args: StartApi) -> Result<EmulatorConfig> {
        let source = args.source.source()?;
        let load_options = args.source.load_options();
        let listen: SocketAddr = format!("{}:{}", args.host, args.port)
            .parse()
            .with_context(|| {
                format!(
                    "--host {} --port {}: not a valid address",
                    args.host, args.port
                )
            })?;
        let admin = match args.admin_port {
            Some(port) => Some(
                format!("{}:{port}", args.host)
                    .parse()
                    .with_context(|| format!("--admin-port {port}: not a valid address"))?,
            ),
            None => None,
        };
        let ip_limit = match &args.ip_rate_limit {
            None => None,
            Some(spec) => Some(rate_and_burst(spec).with_context(|| {
                format!("--ip-rate-limit `{spec}`: expected RATE/BURST, e.g. 50/100")
            })?),
        };
        let account_throttle = match args.account_throttle.as_str() {
            "off" => None,
            spec => Some(rate_and_burst(spec).with_context(|| {
                format!("--account-throttle `{spec}`: expected RATE/BURST (e.g. 10000/5000) or off")
            })?),
        };
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
        let format = args
            .access_log_format
            .clone()
            .unwrap_or_else(|| if terminal { "pretty" } else { "clf" }.to_string());
        if !matches!(format.as_str(), "pretty" | "clf" | "json" | "xml" | "csv") {
            access_log::check_format(&format, gateway::spec::ApiKind::Http).map_err(|m| {
                anyhow::anyhow!(
                    "--access-log-format: {m}; or name a preset: pretty, clf, json, xml, csv"
                )
            })?;
        }
        let mut jwks = HashMap::new();
        for spec in &args.jwks {
            // The issuer is a URL itself, so split at the last `=`.
            let (issuer, source) = spec
                .rsplit_once('=')
                .with_context(|| format!("--jwks `{spec}`: expected ISSUER=FILE or ISSUER=URL"))?;
            jwks.insert(issuer.to_string(), source.to_string());
        }
        let usage_store = match args.usage_store {
            cli::UsageStoreKind::Embedded => UsageStoreChoice::Embedded(match args.state_sync {
                cli::StateSyncArg::Interval => gateway::StateSync::Interval,
                cli::StateSyncArg::Always => gateway::StateSync::Always,
            }),
            cli::UsageStoreKind::Memory => UsageStoreChoice::Memory,
            cli::UsageStoreKind::Redis => UsageStoreChoice::Redis {
                url: args.redis_url.clone(),
                prefix: args.redis_prefix.clone(),
            },
            cli::UsageStoreKind::Dynamodb => UsageStoreChoice::Dynamodb {
                endpoint: args.dynamodb_endpoint.clone(),
                table: args.dynamodb_table.clone(),
                region: args.dynamodb_region.clone(),
            },
        };
        Ok(EmulatorConfig {
            source,
            load_options,
            listen,
            admin,
            gateway: GatewayConfig {
                stage_in_path: args.stage_in_path,
                ip_limit,
                retry_after: args.retry_after,
                capture_exchanges: args.admin_port.is_some(),
                jwt_leeway: args.jwt_leeway,
                usage_fail_closed: args.usage_store_fail_closed,
                account_throttle,
                body_timeout: Duration::from_secs(args.body_timeout),
            },
            usage_store,
            extra_keys: match &args.api_keys {
                Some(path) => read_keys(path)?,
                None => UsageConfig::default(),
            },
            iam: match &args.iam_credentials {
                Some(path) => read_iam(path)?,
                None => Vec::new(),
            },
            policies: match &args.policies {
                Some(path) => read_policies(path)?,
                None => Vec::new(),
            },
            jwks,
            access_log: AccessLog { format, terminal },
            otlp: args
                .otlp_endpoint
                .clone()
                .map(|url| (url, args.otlp_sample_ratio)),
            tls: crate::tls::TlsArgs {
                cert: args.tls_cert.clone(),
                key: args.tls_key.clone(),
                self_signed: args.tls_self_signed,
                client_ca: args.tls_client_ca.clone(),
                client_cert_optional: args.tls_client_cert_optional,
            },
            state_dir: args.state_dir.clone(),
            watch: !args.no_watch,
            stage_in_path: args.stage_in_path,
            shutdown_grace: Duration::from_secs(args.shutdown_grace),
            connections: crate::connections::Limits {
                max_connections: args.max_connections,
                idle_timeout: Duration::from_secs(args.connection_idle_timeout),
            },
            lambda: args.lambda,
        })
    }
}

/// `RATE/BURST` (or one number for both), both positive.
fn rate_and_burst(spec: &str) -> Result<gateway::Throttle> {
    let (rate, burst) = spec.split_once('/').unwrap_or((spec, spec));
    let parse = |s: &str| s.trim().parse::<f64>().ok().filter(|v| *v > 0.0);
    match (parse(rate), parse(burst)) {
        (Some(r), Some(b)) => Ok(gateway::Throttle {
            rate_limit: r,
            burst_limit: b as u64,
        }),
        _ => anyhow::bail!("not two positive numbers"),
    }
}

/// `--api-keys FILE`: a keys-and-plans document, each plan's rate limit checked.
fn read_keys(path: &std::path::Path) -> Result<UsageConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("--api-keys {}", path.display()))?;
    let keys: UsageConfig = serde_json::from_str(&text).with_context(|| {
        format!(
            "--api-keys {}: not a keys-and-plans document (see tollgate start-api --help)",
            path.display()
        )
    })?;
    for plan in &keys.plans {
        if let Some(rl) = &plan.rate_limit {
            gateway::check_rate_limit(rl).map_err(|e| {
                anyhow::anyhow!(
                    "--api-keys {}: plan `{}` rateLimit: {e}",
                    path.display(),
                    plan.id
                )
            })?;
        }
    }
    Ok(keys)
}

/// `--iam-credentials FILE`: the callers `AWS_IAM` routes accept.
fn read_iam(path: &std::path::Path) -> Result<Vec<IamCredential>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--iam-credentials {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "--iam-credentials {}: expected a JSON list of {{\"accessKeyId\", \"secretAccessKey\", ...}}",
            path.display()
        )
    })
}

/// `--policies FILE`: the gateway-wide filter chain, each entry built and checked.
fn read_policies(path: &std::path::Path) -> Result<Vec<Attached>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--policies {}: cannot read it", path.display()))?;
    let doc = gateway::spec::yaml::parse_document(path, &text)
        .map_err(|e| anyhow::anyhow!("--policies {e}"))?;
    let list: Vec<PolicyEntry> = serde_json::from_value(doc).with_context(|| {
        format!(
            "--policies {}: expected a list of policy entries",
            path.display()
        )
    })?;
    list.iter()
        .enumerate()
        .map(|(k, p)| {
            p.build()
                .map_err(|m| anyhow::anyhow!("--policies {}: entry {k}: {m}", path.display()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_bursts() {
        let t = rate_and_burst("50/100").expect("valid");
        assert_eq!((t.rate_limit, t.burst_limit), (50.0, 100));
        let t = rate_and_burst("7").expect("valid");
        assert_eq!((t.rate_limit, t.burst_limit), (7.0, 7));
        assert!(rate_and_burst("0/1").is_err());
        assert!(rate_and_burst("fast").is_err());
    }
}
