//! Typed forms of every `x-amazon-apigateway-*` OpenAPI extension API Gateway understands.
//!
//! Each struct denies unknown fields so a typo is a load error at its JSON pointer rather than a
//! silently ignored setting. Enumerations that AWS reads case-insensitively (`type: AWS_PROXY` and
//! `type: aws_proxy` are the same) are parsed that way here too.

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer};

/// Declares an enum whose serialized names are matched case-insensitively, with an error that lists
/// every accepted value.
macro_rules! ci_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const NAMES: &'static [&'static str] = &[$($text),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                $(if s.eq_ignore_ascii_case($text) { return Some($name::$variant); })+
                None
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "`{s}` is not valid: expected one of {}",
                        $name::NAMES.join(", ")
                    ))
                })
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

ci_enum!(
    /// `x-amazon-apigateway-integration.type`.
    IntegrationType {
        Aws => "aws",
        AwsProxy => "aws_proxy",
        Http => "http",
        HttpProxy => "http_proxy",
        Mock => "mock",
    }
);

ci_enum!(
    /// `passthroughBehavior`.
    PassthroughBehavior {
        WhenNoMatch => "when_no_match",
        WhenNoTemplates => "when_no_templates",
        Never => "never",
    }
);

ci_enum!(
    /// `contentHandling` on integrations and integration responses.
    ContentHandling {
        ConvertToText => "CONVERT_TO_TEXT",
        ConvertToBinary => "CONVERT_TO_BINARY",
    }
);

ci_enum!(
    /// `connectionType`.
    ConnectionType {
        Internet => "INTERNET",
        VpcLink => "VPC_LINK",
    }
);

ci_enum!(
    /// `x-amazon-apigateway-authorizer.type`.
    AuthorizerType {
        Token => "token",
        Request => "request",
        Jwt => "jwt",
        CognitoUserPools => "cognito_user_pools",
    }
);

ci_enum!(
    /// `x-amazon-apigateway-auth.type`.
    AuthType {
        None => "NONE",
        AwsIam => "AWS_IAM",
    }
);

ci_enum!(
    /// `x-amazon-apigateway-api-key-source`.
    ApiKeySource {
        Header => "HEADER",
        Authorizer => "AUTHORIZER",
    }
);

ci_enum!(
    /// Gateway response types (keys of `x-amazon-apigateway-gateway-responses`).
    ResponseType {
        AccessDenied => "ACCESS_DENIED",
        ApiConfigurationError => "API_CONFIGURATION_ERROR",
        AuthorizerConfigurationError => "AUTHORIZER_CONFIGURATION_ERROR",
        AuthorizerFailure => "AUTHORIZER_FAILURE",
        BadRequestParameters => "BAD_REQUEST_PARAMETERS",
        BadRequestBody => "BAD_REQUEST_BODY",
        Default4xx => "DEFAULT_4XX",
        Default5xx => "DEFAULT_5XX",
        ExpiredToken => "EXPIRED_TOKEN",
        IntegrationFailure => "INTEGRATION_FAILURE",
        IntegrationTimeout => "INTEGRATION_TIMEOUT",
        InvalidApiKey => "INVALID_API_KEY",
        InvalidSignature => "INVALID_SIGNATURE",
        MissingAuthenticationToken => "MISSING_AUTHENTICATION_TOKEN",
        QuotaExceeded => "QUOTA_EXCEEDED",
        RequestTooLarge => "REQUEST_TOO_LARGE",
        ResourceNotFound => "RESOURCE_NOT_FOUND",
        Throttled => "THROTTLED",
        Unauthorized => "UNAUTHORIZED",
        UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
        WafFiltered => "WAF_FILTERED",
    }
);

// Serde can only key maps by types that deserialize from a string; ResponseType does.
impl ResponseType {
    /// The default status of each type (DG: supported-gateway-response-types). `None` for the two
    /// fallback types, which have no status of their own.
    pub fn default_status(self) -> Option<u16> {
        use ResponseType::*;
        Some(match self {
            AccessDenied => 403,
            ApiConfigurationError => 500,
            AuthorizerConfigurationError => 500,
            AuthorizerFailure => 500,
            BadRequestParameters => 400,
            BadRequestBody => 400,
            Default4xx | Default5xx => return None,
            ExpiredToken => 403,
            IntegrationFailure => 504,
            IntegrationTimeout => 504,
            InvalidApiKey => 403,
            InvalidSignature => 403,
            MissingAuthenticationToken => 403,
            QuotaExceeded => 429,
            RequestTooLarge => 413,
            ResourceNotFound => 404,
            Throttled => 429,
            Unauthorized => 401,
            UnsupportedMediaType => 415,
            WafFiltered => 403,
        })
    }
}

/// A millisecond timeout that may be written as a number or a numeric string.
fn de_u64_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrStr {
        N(u64),
        S(String),
    }
    match Option::<NumOrStr>::deserialize(d)? {
        None => Ok(None),
        Some(NumOrStr::N(n)) => Ok(Some(n)),
        Some(NumOrStr::S(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("`{s}` is not a whole number"))),
    }
}

/// `x-amazon-apigateway-integration`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IntegrationExt {
    #[serde(rename = "type")]
    pub kind: Option<IntegrationType>,
    pub uri: Option<String>,
    pub http_method: Option<String>,
    pub passthrough_behavior: Option<PassthroughBehavior>,
    #[serde(default)]
    pub request_parameters: IndexMap<String, String>,
    #[serde(default)]
    pub request_templates: IndexMap<String, String>,
    /// REST: selection pattern → integration response.
    #[serde(default)]
    pub responses: IndexMap<String, IntegrationResponseExt>,
    pub content_handling: Option<ContentHandling>,
    #[serde(default, deserialize_with = "de_u64_lenient")]
    pub timeout_in_millis: Option<u64>,
    pub payload_format_version: Option<String>,
    pub connection_type: Option<ConnectionType>,
    pub connection_id: Option<String>,
    pub credentials: Option<String>,
    #[serde(default)]
    pub cache_key_parameters: Vec<String>,
    pub cache_namespace: Option<String>,
    pub integration_subtype: Option<String>,
    pub tls_config: Option<TlsConfigExt>,
    /// HTTP API: status code → parameter mapping (`overwrite:statuscode`, `append:header.x`, ...).
    #[serde(default)]
    pub response_parameters: IndexMap<String, IndexMap<String, String>>,
    pub description: Option<String>,
}

/// One entry of `x-amazon-apigateway-integration.responses`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IntegrationResponseExt {
    pub status_code: Option<String>,
    #[serde(default)]
    pub response_parameters: IndexMap<String, String>,
    #[serde(default)]
    pub response_templates: IndexMap<String, String>,
    pub content_handling: Option<ContentHandling>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsConfigExt {
    pub insecure_skip_verification: Option<bool>,
    pub server_name_to_verify: Option<String>,
}

/// `x-amazon-apigateway-authorizer`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthorizerExt {
    #[serde(rename = "type")]
    pub kind: AuthorizerType,
    pub authorizer_uri: Option<String>,
    pub authorizer_credentials: Option<String>,
    pub identity_source: Option<IdentitySourceExt>,
    pub identity_validation_expression: Option<String>,
    pub authorizer_result_ttl_in_seconds: Option<u32>,
    pub authorizer_payload_format_version: Option<String>,
    pub enable_simple_responses: Option<bool>,
    pub jwt_configuration: Option<JwtConfigurationExt>,
    #[serde(rename = "providerARNs", default)]
    pub provider_arns: Vec<String>,
}

/// REST writes identity sources as one comma-separated string; HTTP API exports may use a list.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum IdentitySourceExt {
    Joined(String),
    List(Vec<String>),
}

impl IdentitySourceExt {
    pub fn sources(&self) -> Vec<String> {
        match self {
            IdentitySourceExt::Joined(s) => s
                .split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect(),
            IdentitySourceExt::List(v) => v.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JwtConfigurationExt {
    pub issuer: Option<String>,
    #[serde(default)]
    pub audience: Vec<String>,
}

/// `x-amazon-apigateway-auth`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthExt {
    #[serde(rename = "type")]
    pub kind: AuthType,
}

/// One entry of `x-amazon-apigateway-request-validators`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestValidatorExt {
    #[serde(default)]
    pub validate_request_body: bool,
    #[serde(default)]
    pub validate_request_parameters: bool,
}

/// One entry of `x-amazon-apigateway-gateway-responses`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GatewayResponseExt {
    pub status_code: Option<StatusCodeText>,
    #[serde(default)]
    pub response_parameters: IndexMap<String, String>,
    #[serde(default)]
    pub response_templates: IndexMap<String, String>,
    #[serde(default)]
    pub default_response: Option<bool>,
}

/// A status code written as `"404"` or `404`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusCodeText(pub u16);

impl<'de> Deserialize<'de> for StatusCodeText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        let n = match &v {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        match n {
            Some(n) if (100..=599).contains(&n) => Ok(StatusCodeText(n as u16)),
            _ => Err(serde::de::Error::custom(format!(
                "{v} is not an HTTP status code (100-599)"
            ))),
        }
    }
}

/// `x-amazon-apigateway-cors` (HTTP APIs).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CorsExt {
    #[serde(default)]
    pub allow_origins: Vec<String>,
    pub allow_credentials: Option<bool>,
    #[serde(default)]
    pub expose_headers: Vec<String>,
    pub max_age: Option<i64>,
    #[serde(default)]
    pub allow_methods: Vec<String>,
    #[serde(default)]
    pub allow_headers: Vec<String>,
}

/// `x-amazon-apigateway-endpoint-configuration`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EndpointConfigurationExt {
    pub disable_execute_api_endpoint: Option<bool>,
    #[serde(default)]
    pub vpc_endpoint_ids: Vec<String>,
    #[serde(default)]
    pub types: Vec<String>,
}

/// `x-amazon-apigateway-policy`: an IAM policy document, kept as written until the resource-policy
/// stage evaluates it.
#[derive(Debug, Clone, Deserialize)]
pub struct ResourcePolicyExt {
    #[serde(rename = "Version")]
    pub version: Option<String>,
    #[serde(rename = "Statement")]
    pub statement: serde_json::Value,
}

/// `x-amazon-apigateway-documentation`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DocumentationExt {
    pub version: Option<String>,
    pub created_date: Option<String>,
    #[serde(default)]
    pub documentation_parts: Vec<serde_json::Value>,
}

/// `x-tollgate-identity` (tollgate's own, off unless written): what an HTTP integration learns
/// about the caller from the authorizer, as trusted headers, instead of the client's credentials.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdentityInjectionExt {
    /// Drop the client's `Authorization` header before the integration.
    #[serde(default)]
    pub strip_authorization: bool,
    /// Header name → what fills it: a claim (`sub`, `email`, ...), `principalId`,
    /// `context.KEY` (a Lambda authorizer's context), `scopes`, or `iam.userArn` / `iam.accessKey`.
    #[serde(default)]
    pub headers: IndexMap<String, String>,
}

ci_enum!(
    /// `x-tollgate-rate-limit.algorithm`.
    RateLimitAlgorithm {
        TokenBucket => "token-bucket",
        FixedWindow => "fixed-window",
        SlidingWindow => "sliding-window",
        LeakyBucket => "leaky-bucket",
    }
);

ci_enum!(
    /// Whose requests `x-tollgate-rate-limit` counts together.
    RateLimitKey {
        Ip => "ip",
        ApiKey => "apiKey",
        Principal => "principal",
        Route => "route",
    }
);

/// `x-tollgate-rate-limit` (tollgate's own): a limit for every caller of an operation, counted
/// per client IP, API key, authorizer principal, or for the route as a whole.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimitExt {
    #[serde(default = "default_algorithm")]
    pub algorithm: RateLimitAlgorithm,
    /// Token and leaky buckets: requests per second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Token bucket: capacity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burst: Option<u64>,
    /// Windows: requests per window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// Windows: length in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<u64>,
    #[serde(default = "default_rate_key")]
    pub key: RateLimitKey,
}

fn default_algorithm() -> RateLimitAlgorithm {
    RateLimitAlgorithm::TokenBucket
}

fn default_rate_key() -> RateLimitKey {
    RateLimitKey::Ip
}

/// Where in a document an extension may appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionSite {
    Root,
    PathItem,
    Operation,
    SecurityScheme,
    Components,
    Tag,
    Server,
}

/// Every extension name and the places AWS accepts it.
pub const KNOWN_EXTENSIONS: &[(&str, &[ExtensionSite])] = {
    use ExtensionSite::*;
    &[
        ("x-amazon-apigateway-integration", &[Operation]),
        ("x-amazon-apigateway-integrations", &[Components]),
        ("x-amazon-apigateway-any-method", &[PathItem]),
        ("x-amazon-apigateway-authorizer", &[SecurityScheme]),
        ("x-amazon-apigateway-authtype", &[SecurityScheme]),
        ("x-amazon-apigateway-auth", &[Operation]),
        ("x-amazon-apigateway-api-key-source", &[Root]),
        ("x-amazon-apigateway-request-validators", &[Root]),
        ("x-amazon-apigateway-request-validator", &[Root, Operation]),
        ("x-amazon-apigateway-gateway-responses", &[Root]),
        ("x-amazon-apigateway-binary-media-types", &[Root]),
        ("x-amazon-apigateway-cors", &[Root]),
        ("x-amazon-apigateway-policy", &[Root]),
        (
            "x-amazon-apigateway-endpoint-configuration",
            &[Root, Server],
        ),
        ("x-amazon-apigateway-minimum-compression-size", &[Root]),
        ("x-amazon-apigateway-importexport-version", &[Root]),
        ("x-amazon-apigateway-tag-value", &[Tag]),
        ("x-amazon-apigateway-documentation", &[Root]),
    ]
};

/// Checks one `x-amazon-apigateway-*` key against the known list: `Err(message)` when the name is
/// unknown or not valid at `site`.
pub fn check_extension_name(name: &str, site: ExtensionSite) -> Result<(), String> {
    /// tollgate's own extensions, documented in docs/extensions.md.
    const TOLLGATE: &[&str] = &["x-tollgate-identity", "x-tollgate-rate-limit"];
    if name.starts_with("x-tollgate-") {
        return match TOLLGATE.contains(&name) {
            true if matches!(site, ExtensionSite::Root | ExtensionSite::Operation) => Ok(()),
            true => Err(format!(
                "extension `{name}` belongs on the document root or an operation"
            )),
            false => Err(format!(
                "unknown tollgate extension `{name}`: expected one of {}",
                TOLLGATE.join(", ")
            )),
        };
    }
    if !name.starts_with("x-amazon-apigateway-") {
        return Ok(());
    }
    match KNOWN_EXTENSIONS.iter().find(|(n, _)| *n == name) {
        None => {
            let names: Vec<&str> = KNOWN_EXTENSIONS.iter().map(|(n, _)| *n).collect();
            Err(format!(
                "unknown extension `{name}`: expected one of {}",
                names.join(", ")
            ))
        }
        Some((_, sites)) if !sites.contains(&site) => Err(format!(
            "extension `{name}` is not allowed here ({})",
            site_label(sites)
        )),
        Some(_) => Ok(()),
    }
}

fn site_label(sites: &[ExtensionSite]) -> String {
    let names: Vec<&str> = sites
        .iter()
        .map(|s| match s {
            ExtensionSite::Root => "the document root",
            ExtensionSite::PathItem => "a path item",
            ExtensionSite::Operation => "an operation",
            ExtensionSite::SecurityScheme => "a security scheme",
            ExtensionSite::Components => "components",
            ExtensionSite::Tag => "a tag",
            ExtensionSite::Server => "a server",
        })
        .collect();
    format!("it belongs on {}", names.join(" or "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integration_type_is_case_insensitive() {
        let i: IntegrationExt =
            serde_json::from_value(json!({"type": "HTTP_PROXY", "uri": "http://x"})).expect("ok");
        assert_eq!(i.kind, Some(IntegrationType::HttpProxy));
    }

    #[test]
    fn bad_type_lists_choices() {
        let e =
            serde_json::from_value::<IntegrationExt>(json!({"type": "lambda"})).expect_err("fails");
        assert!(
            e.to_string()
                .contains("expected one of aws, aws_proxy, http, http_proxy, mock"),
            "{e}"
        );
    }

    #[test]
    fn unknown_field_is_an_error() {
        let e = serde_json::from_value::<IntegrationExt>(json!({"type": "mock", "urii": "x"}))
            .expect_err("fails");
        assert!(e.to_string().contains("unknown field `urii`"), "{e}");
    }

    #[test]
    fn extension_sites() {
        assert!(
            check_extension_name("x-amazon-apigateway-integration", ExtensionSite::Operation)
                .is_ok()
        );
        assert!(
            check_extension_name("x-amazon-apigateway-integration", ExtensionSite::Root)
                .expect_err("misplaced")
                .contains("belongs on an operation")
        );
        assert!(
            check_extension_name("x-amazon-apigateway-integratoin", ExtensionSite::Operation)
                .expect_err("unknown")
                .starts_with("unknown extension")
        );
        assert!(check_extension_name("x-tollgate-identity", ExtensionSite::Root).is_ok());
        assert!(
            check_extension_name("x-tollgate-identiy", ExtensionSite::Root)
                .expect_err("typo")
                .starts_with("unknown tollgate extension")
        );
        assert!(check_extension_name("x-other-vendor", ExtensionSite::Root).is_ok());
    }

    #[test]
    fn timeout_accepts_strings() {
        let i: IntegrationExt =
            serde_json::from_value(json!({"type": "mock", "timeoutInMillis": "2500"})).expect("ok");
        assert_eq!(i.timeout_in_millis, Some(2500));
    }
}

ci_enum!(
    /// How an upstream pool picks an instance.
    BalanceAlgorithm {
        RoundRobin => "round_robin",
        LeastConnections => "least_connections",
        ConsistentHash => "consistent_hash",
    }
);

/// One instance of an upstream: `"host:port"`, `"http://host:port"`, or with a weight.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum InstanceExt {
    Url(String),
    Weighted {
        url: String,
        #[serde(default = "default_weight")]
        weight: u32,
    },
}

fn default_weight() -> u32 {
    1
}

impl InstanceExt {
    /// The instance's base URL (`http://host:port`) and weight.
    pub fn normalized(&self) -> (String, u32) {
        let (url, weight) = match self {
            InstanceExt::Url(u) => (u.as_str(), 1),
            InstanceExt::Weighted { url, weight } => (url.as_str(), *weight),
        };
        let url = url.trim().trim_end_matches('/');
        let url = if url.contains("://") {
            url.to_string()
        } else {
            format!("http://{url}")
        };
        (url, weight.max(1))
    }
}

/// etcd discovery: every key under `prefix` is an instance; its value is `host:port`, a URL,
/// or `{"url": ..., "weight": ...}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EtcdExt {
    /// The etcd client URL (`http://127.0.0.1:2379`).
    pub endpoint: String,
    pub prefix: String,
}

/// TLS settings for an upstream pool; paths are relative to the definition.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpstreamTlsExt {
    /// PEM CA certificates the instances' certificates must chain to (default: the machine's).
    pub ca: Option<String>,
    /// PEM client certificate chain and key, for upstreams that require mTLS.
    pub cert: Option<String>,
    pub key: Option<String>,
}

/// DNS discovery: every address `name` resolves to is an instance on `port`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DnsExt {
    pub name: String,
    pub port: u16,
    /// A name server to ask (`host:port`) instead of the system's (`/etc/resolv.conf`, hosts).
    pub server: Option<String>,
    /// The longest to wait before resolving again (records are re-resolved when their TTL
    /// runs out, and at least this often).
    #[serde(default = "default_dns_refresh_ms")]
    pub max_refresh_ms: u64,
}

fn default_dns_refresh_ms() -> u64 {
    60_000
}

/// Active health checking of an upstream's instances.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthCheckExt {
    pub path: String,
    #[serde(default = "default_interval_ms")]
    pub interval_ms: u64,
    #[serde(default = "default_check_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(default = "default_threshold")]
    pub healthy_threshold: u32,
    #[serde(default = "default_threshold")]
    pub unhealthy_threshold: u32,
}

fn default_interval_ms() -> u64 {
    1000
}
fn default_check_timeout_ms() -> u64 {
    500
}
fn default_threshold() -> u32 {
    2
}

/// Passive outlier ejection: a circuit breaker per instance.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OutlierExt {
    #[serde(default = "default_consecutive_failures")]
    pub consecutive_failures: u32,
    #[serde(default = "default_cooldown_ms")]
    pub cooldown_ms: u64,
}

fn default_consecutive_failures() -> u32 {
    3
}
fn default_cooldown_ms() -> u64 {
    10_000
}

/// `x-tollgate-upstreams.NAME` (tollgate's own): a logical service and the pool of instances
/// behind it. HTTP and HTTP_PROXY integrations reach it with `http://NAME/...`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpstreamExt {
    #[serde(default)]
    pub instances: Vec<InstanceExt>,
    /// A JSON file `{"instances": [...]}`, relative to the definition, re-read when it changes.
    pub registry_file: Option<String>,
    /// Instances registered in etcd under a key prefix, followed with a watch.
    pub etcd: Option<EtcdExt>,
    /// Instances as the addresses a DNS name resolves to, re-resolved periodically.
    pub dns: Option<DnsExt>,
    /// TLS to the instances (`https://` URLs): the CA to trust and the client certificate to
    /// present (mTLS).
    pub tls: Option<UpstreamTlsExt>,
    /// How long connecting to an instance may take (default 1000 ms); a connect timeout counts
    /// as a connect failure, so an idempotent request moves on to another instance.
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// A cap on the whole request to an instance, below the integration's `timeoutInMillis`.
    pub request_timeout_ms: Option<u64>,
    #[serde(default = "default_balance")]
    pub balance: BalanceAlgorithm,
    /// Consistent hashing key: `ip`, `principal`, `apiKey` or `header:NAME`.
    pub hash_on: Option<String>,
    pub health_check: Option<HealthCheckExt>,
    pub outlier: Option<OutlierExt>,
    /// Extra attempts on another instance when an idempotent request cannot connect.
    #[serde(default = "default_retries")]
    pub retries: u32,
}

fn default_connect_timeout_ms() -> u64 {
    1000
}

fn default_balance() -> BalanceAlgorithm {
    BalanceAlgorithm::RoundRobin
}
fn default_retries() -> u32 {
    1
}

/// `x-tollgate-aggregate` on an operation (tollgate's own): answer with one JSON document built
/// from several calls made in parallel.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AggregateExt {
    pub calls: IndexMap<String, AggregateCallExt>,
}

/// One call of an aggregate: a Lambda function (sent an API Gateway proxy event for `path`) or
/// an HTTP GET of `url` (which may name an upstream pool).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AggregateCallExt {
    pub function: Option<String>,
    /// The resource path the function sees, with `{param}` placeholders (default: the
    /// operation's own path).
    pub path: Option<String>,
    pub url: Option<String>,
    #[serde(default = "default_call_timeout_ms")]
    pub timeout_ms: u64,
    /// A failed required call fails the whole request (502) instead of degrading it.
    #[serde(default)]
    pub required: bool,
    /// The value used when the call fails; without one, the field is left out.
    pub default: Option<serde_json::Value>,
}

fn default_call_timeout_ms() -> u64 {
    1000
}
