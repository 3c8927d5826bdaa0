//! The deployed gateway's settings, all from environment variables (the template sets them).

use std::collections::HashMap;
use std::path::PathBuf;

use indexmap::IndexMap;

/// The API definition compiled into the function, served unless `TOLLGATE_API_FILE` names another.
pub const BUNDLED_API: &str = include_str!("../../../openapi/orders.yaml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var}: {message}")]
    Invalid { var: &'static str, message: String },
    #[error("TOLLGATE_USAGE_TABLE is not set, but the API has usage plans; set it to the usage table's name")]
    NoUsageTable,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The API definition file; `None` serves the bundled one.
    pub api_file: Option<PathBuf>,
    pub stage: String,
    pub stage_variables: IndexMap<String, String>,
    /// API keys and usage plans (tollgate's keys-and-plans document).
    pub usage: gateway::usage::UsageConfig,
    pub usage_table: Option<String>,
    pub dynamodb_endpoint: Option<String>,
    /// Logical function id to deployed name or ARN.
    pub functions: HashMap<String, String>,
    pub lambda_endpoint: Option<String>,
    pub region: String,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn json<T: serde::de::DeserializeOwned + Default>(
    name: &'static str,
    what: &str,
) -> Result<T, ConfigError> {
    match var(name) {
        None => Ok(T::default()),
        Some(text) => serde_json::from_str(&text).map_err(|e| ConfigError::Invalid {
            var: name,
            message: format!("expected {what} ({e})"),
        }),
    }
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Ok(Config {
            api_file: var("TOLLGATE_API_FILE").map(PathBuf::from),
            stage: var("TOLLGATE_STAGE").unwrap_or_else(|| "Prod".into()),
            stage_variables: json("TOLLGATE_STAGE_VARIABLES", "a JSON object of strings")?,
            usage: json(
                "TOLLGATE_API_KEYS",
                "a keys-and-plans JSON document {\"keys\": [...], \"plans\": [...]}",
            )?,
            usage_table: var("TOLLGATE_USAGE_TABLE"),
            dynamodb_endpoint: var("TOLLGATE_DYNAMODB_ENDPOINT"),
            functions: json(
                "TOLLGATE_FUNCTIONS",
                "a JSON object from logical function id to function name or ARN",
            )?,
            lambda_endpoint: var("TOLLGATE_LAMBDA_ENDPOINT"),
            region: var("AWS_REGION").unwrap_or_else(|| "us-east-1".into()),
        })
    }
}
