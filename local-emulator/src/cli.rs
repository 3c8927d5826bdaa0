//! Command-line arguments, in two steps: what the user wrote (clap), then the validated load
//! source the gateway library takes.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use gateway::load::{LoadOptions, Source};
use gateway::sam::parse_parameter_overrides;
use gateway::spec::ApiKind;
use indexmap::IndexMap;

#[derive(Parser, Debug)]
#[command(
    name = "tollgate",
    version,
    about = "Run API Gateway definitions (OpenAPI or SAM) locally, the way AWS runs them"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the APIs of a SAM template or OpenAPI files over HTTP (like `sam local start-api`).
    StartApi(Box<StartApi>),
    /// Print the resolved route table.
    Routes(SourceArgs),
    /// Load every API and report every problem; exits 1 on any error (and, with --strict, on
    /// any warning).
    Validate(Validate),
    /// Serve the Lambda Invoke API for the template's functions (like `sam local start-lambda`).
    StartLambda(StartLambda),
    /// Invoke one function once and print its result (like `sam local invoke`).
    Invoke(Invoke),
    /// Print a sample event (like `sam local generate-event`).
    GenerateEvent(GenerateEvent),
    /// Development tokens: sign JWTs with a local RSA key, print its JWKS.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Development API keys: create them in a keys file, list them, see their quota usage.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Add a key (with a generated value unless --value) to the keys file and print it.
    Create {
        #[arg(long)]
        name: String,
        /// Plan(s) the key belongs to (repeatable).
        #[arg(long)]
        plan: Vec<String>,
        #[arg(long)]
        value: Option<String>,
        #[arg(long, default_value = ".tollgate/keys.json")]
        file: PathBuf,
    },
    /// List the keys of the keys file and the template.
    List {
        #[arg(long, default_value = ".tollgate/keys.json")]
        file: PathBuf,
        #[arg(short = 't', long, default_value = "template.yaml")]
        template: PathBuf,
    },
    /// Quota used this period by each key, from the embedded store (stop the emulator first:
    /// the store is opened exclusively).
    Usage {
        #[arg(long, default_value = ".tollgate/keys.json")]
        file: PathBuf,
        #[arg(short = 't', long, default_value = "template.yaml")]
        template: PathBuf,
        #[arg(long, default_value = ".tollgate")]
        state_dir: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Sign a JWT (RS256) with a local RSA private key.
    Mint(Mint),
    /// Print the JWKS (public key set) for a local RSA private key.
    Jwks(KeyArgs),
}

#[derive(Args, Debug)]
pub struct KeyArgs {
    /// RSA private key, PEM.
    #[arg(long)]
    pub key: PathBuf,
    /// Key id for the JWT header and the JWKS (default: the key file's name without `.pem`,
    /// which is also the id `--jwks ISSUER=KEY.pem` gives it).
    #[arg(long)]
    pub kid: Option<String>,
}

#[derive(Args, Debug)]
pub struct Mint {
    #[command(flatten)]
    pub key: KeyArgs,
    /// Issuer (`iss`); it must match the authorizer's issuer.
    #[arg(long)]
    pub iss: String,
    /// Subject (`sub`).
    #[arg(long, default_value = "dev-user")]
    pub sub: String,
    /// Audience (`aud`), repeatable.
    #[arg(long)]
    pub aud: Vec<String>,
    /// Space-separated scopes (`scope`).
    #[arg(long)]
    pub scope: Option<String>,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    pub ttl: u64,
    /// Extra string claims, KEY=VALUE (repeatable).
    #[arg(long = "claim", value_name = "KEY=VALUE")]
    pub claims: Vec<String>,
}

#[derive(Args, Debug)]
pub struct StartLambda {
    /// SAM template to read.
    #[arg(short = 't', long, default_value = "template.yaml")]
    pub template: PathBuf,
    /// Template parameter values.
    #[arg(long)]
    pub parameter_overrides: Option<String>,
    /// Port to listen on.
    #[arg(short = 'p', long, default_value_t = 3001)]
    pub port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    #[command(flatten)]
    pub lambda: LambdaArgs,
}

#[derive(Args, Debug)]
pub struct Invoke {
    /// The function's logical id or name.
    pub function: String,
    /// SAM template to read.
    #[arg(short = 't', long, default_value = "template.yaml")]
    pub template: PathBuf,
    /// Template parameter values.
    #[arg(long)]
    pub parameter_overrides: Option<String>,
    /// Event file (`-` reads standard input); default `{}`.
    #[arg(short = 'e', long)]
    pub event: Option<PathBuf>,
    #[command(flatten)]
    pub lambda: LambdaArgs,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum EventService {
    Apigateway,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum ApigatewayEvent {
    /// REST API AWS_PROXY event (payload 1.0).
    AwsProxy,
    /// HTTP API event (payload 2.0).
    HttpApi,
    /// HTTP API event with payload 1.0.
    HttpApiV1,
}

#[derive(Args, Debug)]
pub struct GenerateEvent {
    pub service: EventService,
    pub event: ApigatewayEvent,
    /// Request method.
    #[arg(long, default_value = "POST")]
    pub method: String,
    /// Request path, with a query string if wanted.
    #[arg(long, default_value = "/path/to/resource?foo=bar")]
    pub path: String,
    /// The route's resource path (defaults to `/{proxy+}`).
    #[arg(long, default_value = "/{proxy+}")]
    pub resource: String,
    /// Request body.
    #[arg(long, default_value = "{\"test\":\"body\"}")]
    pub body: String,
    /// Stage name.
    #[arg(long, default_value = "prod")]
    pub stage: String,
}

#[derive(Args, Debug)]
pub struct StartApi {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Port to listen on (0 picks a free one and prints it).
    #[arg(short = 'p', long, default_value_t = 3000)]
    pub port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Serve AWS-shaped `/{stage}/path` URLs instead of SAM CLI's root-path style.
    #[arg(long)]
    pub stage_in_path: bool,
    /// Keys for a JWT or Cognito issuer, instead of fetching them from the issuer:
    /// ISSUER=FILE (a JWKS document) or ISSUER=URL (a JWKS endpoint). Repeatable.
    #[arg(long = "jwks", value_name = "ISSUER=FILE|URL")]
    pub jwks: Vec<String>,
    /// Clock skew allowed on JWT exp/nbf/iat, in seconds.
    #[arg(long, default_value_t = 0)]
    pub jwt_leeway: u64,
    /// Where usage-plan counters live: `embedded` (persisted under --state-dir) or `memory`.
    #[arg(long, value_enum, default_value = "embedded")]
    pub usage_store: UsageStoreKind,
    /// Refuse requests (500) when the usage store fails, instead of letting them through as
    /// API Gateway does.
    #[arg(long)]
    pub usage_store_fail_closed: bool,
    /// Redis for `--usage-store redis`: every tollgate pointed at it shares one count.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,
    /// Prefix for tollgate's Redis keys.
    #[arg(long, default_value = "tollgate:")]
    pub redis_prefix: String,
    /// DynamoDB endpoint for `--usage-store dynamodb` (DynamoDB Local, say); the table is created
    /// there if missing. Without it, the region's AWS endpoint and existing table are used.
    #[arg(long)]
    pub dynamodb_endpoint: Option<String>,
    /// DynamoDB table for usage counters (schema in docs: pk S, ttl TTL attribute).
    #[arg(long, default_value = "tollgate-usage")]
    pub dynamodb_table: String,
    /// Region for the DynamoDB client.
    #[arg(long, default_value = "us-east-1")]
    pub dynamodb_region: String,
    /// Directory for tollgate's local state (the embedded usage store, a generated certificate).
    #[arg(long, default_value = ".tollgate")]
    pub state_dir: PathBuf,
    /// When the embedded usage store's counts reach the disk: `interval` (once a second; a
    /// crash loses at most the last second) or `always` (before each request goes on; nothing
    /// is lost, an fsync per decision).
    #[arg(long, value_enum, default_value = "interval")]
    pub state_sync: StateSyncArg,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key for --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve HTTPS with a generated certificate for localhost, written to
    /// STATE_DIR/tls/localhost.pem (give that file to clients as their CA).
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    pub tls_self_signed: bool,
    /// mTLS: require a client certificate issued by a CA in this PEM truststore; connections
    /// without one fail their handshake, as on an API Gateway custom domain with mTLS.
    #[arg(long, value_name = "PEM")]
    pub tls_client_ca: Option<PathBuf>,
    /// With --tls-client-ca: let callers without a certificate connect; routes that need one
    /// say so with the `requireClientCert` policy. An untrusted certificate is still refused.
    #[arg(long, requires = "tls_client_ca")]
    pub tls_client_cert_optional: bool,
    /// API keys and usage plans beyond the template's: JSON
    /// {"keys": [{"id", "value", "enabled"?, "plans": [...]}], "plans": [{"id", "apiStages": [{"api", "stage", "throttle"?}], "throttle"?, "quota"?}]}.
    #[arg(long, value_name = "FILE")]
    pub api_keys: Option<PathBuf>,
    /// Access-log lines on stdout: `pretty` (human-first; the default on a terminal), `clf`
    /// (the default otherwise), `json`, `xml`, `csv` (AWS's presets for the API's kind), or a
    /// `$context` format string. An API's own AccessLogSetting takes precedence.
    #[arg(long, value_name = "FORMAT")]
    pub access_log_format: Option<String>,
    /// Serve the admin endpoints (Prometheus metrics at /metrics) on this port of --host
    /// (0 picks a free one and prints it). Off unless given.
    #[arg(long, value_name = "PORT")]
    pub admin_port: Option<u16>,
    /// Export traces (a span per request, per stage and per function/upstream call) to an
    /// OpenTelemetry collector over OTLP/HTTP JSON, e.g. http://127.0.0.1:4318. Off unless given.
    #[arg(long, value_name = "URL", env = "TOLLGATE_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// The share of traces to export (0 to 1) when the caller's `traceparent` or X-Ray header
    /// did not decide; a caller's decision is always followed.
    #[arg(
        long,
        value_name = "RATIO",
        default_value_t = 1.0,
        requires = "otlp_endpoint"
    )]
    pub otlp_sample_ratio: f64,
    /// Gateway-wide policies, run before every API's x-tollgate-policies: a YAML or JSON list
    /// of policy entries (see docs/extensions.md).
    #[arg(long, value_name = "FILE")]
    pub policies: Option<PathBuf>,
    /// Callers AWS_IAM routes accept: a JSON list of {accessKeyId, secretAccessKey,
    /// sessionToken?, accountId?, userArn?, user?}.
    #[arg(long, value_name = "FILE")]
    pub iam_credentials: Option<PathBuf>,
    /// tollgate's coarse per-client-IP limit, RATE/BURST (requests per second / bucket size),
    /// checked before routing and authorizers (beyond AWS; off by default).
    #[arg(long, value_name = "RATE/BURST")]
    pub ip_rate_limit: Option<String>,
    /// The account-level throttle every request passes, RATE/BURST, or `off`. The default is
    /// API Gateway's per-region account limit, 10000/5000 (`off` to measure the pipeline).
    #[arg(long, value_name = "RATE/BURST|off", default_value = "10000/5000")]
    pub account_throttle: String,
    /// Add Retry-After to 429 answers (AWS sends none).
    #[arg(long)]
    pub retry_after: bool,
    /// Do not watch the definitions and function code for changes.
    #[arg(long)]
    pub no_watch: bool,
    /// Seconds to wait for in-flight requests on shutdown.
    #[arg(long, default_value_t = 30)]
    pub shutdown_grace: u64,
    /// Seconds a client may take to send a whole request body; slower is 408.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub body_timeout: u64,
    /// Seconds a connection may sit with no request in flight and no bytes arriving (before
    /// its first request, between requests, HTTP/2 with no streams) before it is closed.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub connection_idle_timeout: u64,
    /// Connections served at once. At the cap the oldest idle connection is closed to admit a
    /// new one; with none idle, the new one is refused. Lowered at start-up to fit the
    /// process's file-descriptor limit.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub max_connections: usize,
    #[command(flatten)]
    pub lambda: LambdaArgs,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
pub enum StateSyncArg {
    Interval,
    Always,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
pub enum UsageStoreKind {
    Embedded,
    Memory,
    Redis,
    Dynamodb,
}

#[derive(Copy, Clone, Debug, ValueEnum, PartialEq, Eq)]
pub enum WarmContainers {
    /// Start each function's first process at start-up.
    #[value(name = "EAGER")]
    Eager,
    /// Start processes on first use.
    #[value(name = "LAZY")]
    Lazy,
}

/// How Lambda functions run.
#[derive(Args, Debug)]
pub struct LambdaArgs {
    /// Show more: cargo's whole output when building functions, internal addresses (the
    /// Runtime API), which functions were left out.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Use already-built function binaries instead of running `cargo build` first.
    #[arg(long)]
    pub skip_build: bool,
    /// EAGER starts a process per function at start-up; LAZY (default) on first use.
    #[arg(long, value_enum, default_value = "LAZY")]
    pub warm_containers: WarmContainers,
    /// Processes per function when the template sets no ReservedConcurrentExecutions.
    #[arg(long, default_value_t = 10)]
    pub max_concurrency: usize,
    /// Invocations that may wait for a busy function before it answers 429.
    #[arg(long, default_value_t = 100)]
    pub queue_limit: usize,
    /// Seconds a warm process may sit idle before it is stopped.
    #[arg(long, default_value_t = 300)]
    pub idle_timeout: u64,
    /// Environment overrides in SAM's JSON format ({"Parameters": {...}, "<LogicalId>": {...}}).
    #[arg(long, value_name = "FILE")]
    pub env_vars: Option<PathBuf>,
    /// Also serve the Lambda Invoke API on this port (start-api only).
    #[arg(long)]
    pub lambda_port: Option<u16>,
    /// What runs Python and Node.js handlers: tollgate's own client (nothing to install), or
    /// AWS's awslambdaric / aws-lambda-ric where installed.
    #[arg(long, value_enum, default_value = "builtin")]
    pub runtime_client: crate::lambda::clients::RuntimeClient,
    /// Do not install a function's requirements.txt / package.json dependencies (installed
    /// otherwise once into .tollgate/deps beside the template).
    #[arg(long)]
    pub skip_deps: bool,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum ApiType {
    Rest,
    Http,
}

#[derive(Args, Debug)]
pub struct Validate {
    #[command(flatten)]
    pub source: SourceArgs,
    /// Treat every warning as an error (exit 1): what AWS would refuse with failOnWarnings, or
    /// what tollgate serves only partly. For CI.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Args, Debug)]
pub struct SourceArgs {
    /// SAM template to read.
    #[arg(short = 't', long, default_value = "template.yaml")]
    pub template: PathBuf,
    /// Serve a bare OpenAPI 3.0 / Swagger 2.0 file instead of a template (repeatable).
    #[arg(long = "openapi", value_name = "FILE")]
    pub openapi: Vec<PathBuf>,
    /// Template parameter values: `Key=Value Key2=Value2` or `ParameterKey=K,ParameterValue=V`.
    #[arg(long)]
    pub parameter_overrides: Option<String>,
    /// For --openapi files: REST or HTTP API (default: inferred from the file).
    #[arg(long, value_enum)]
    pub api_type: Option<ApiType>,
    /// For --openapi files: the stage name (default Prod for REST, $default for HTTP APIs).
    #[arg(long)]
    pub stage_name: Option<String>,
    /// For --openapi files: a stage variable, KEY=VALUE (repeatable).
    #[arg(long = "stage-variable", value_name = "KEY=VALUE")]
    pub stage_variables: Vec<String>,
    /// A method without an integration answers its documented example (status, example or a
    /// value built from its schema) instead of 500: a contract mock.
    #[arg(long)]
    pub mock_missing: bool,
    /// Serve every route as if it had no authorizer (Lambda, JWT, Cognito), as SAM CLI's flag.
    #[arg(long)]
    pub disable_authorizer: bool,
}

impl SourceArgs {
    /// How the definitions are to be served.
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            mock_missing: self.mock_missing,
            disable_authorizers: self.disable_authorizer,
        }
    }

    /// The validated source.
    pub fn source(&self) -> Result<Source> {
        if !self.openapi.is_empty() {
            if self.parameter_overrides.is_some() {
                bail!(
                    "--parameter-overrides applies to templates; it has no effect with --openapi"
                );
            }
            let mut stage_variables = IndexMap::new();
            for kv in &self.stage_variables {
                let (k, v) = kv
                    .split_once('=')
                    .with_context(|| format!("--stage-variable `{kv}`: expected KEY=VALUE"))?;
                stage_variables.insert(k.to_string(), v.to_string());
            }
            return Ok(Source::OpenApi {
                paths: self.openapi.clone(),
                kind: self.api_type.map(|t| match t {
                    ApiType::Rest => ApiKind::Rest,
                    ApiType::Http => ApiKind::Http,
                }),
                stage_name: self.stage_name.clone(),
                stage_variables,
            });
        }
        if self.api_type.is_some() || self.stage_name.is_some() || !self.stage_variables.is_empty()
        {
            bail!("--api-type, --stage-name and --stage-variable apply to --openapi files; a template sets these on its API resources");
        }
        if !self.template.exists() {
            bail!(
                "{}: no such template. Pass -t/--template FILE, or serve an OpenAPI file with --openapi FILE",
                self.template.display()
            );
        }
        let parameter_overrides = match &self.parameter_overrides {
            Some(s) => parse_parameter_overrides(s)
                .map_err(|e| anyhow::anyhow!("--parameter-overrides: {e}"))?,
            None => Default::default(),
        };
        Ok(Source::Template {
            path: self.template.clone(),
            parameter_overrides,
        })
    }
}
