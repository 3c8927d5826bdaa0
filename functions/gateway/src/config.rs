//! The deployed gateway's settings: environment variables the template sets, read through
//! [`Settings`] so tests can fill them from a map instead of the process environment.

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
    pub usage: gateway::UsageConfig,
    pub usage_table: Option<String>,
    pub dynamodb_endpoint: Option<String>,
    /// Logical function id to deployed name or ARN.
    pub functions: HashMap<String, String>,
    pub lambda_endpoint: Option<String>,
    pub region: String,
}

/// Where settings are read from.
pub trait Settings {
    /// The value of `name`, if it is set.
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment, as Lambda gives it to the function.
pub struct Environment;

impl Settings for Environment {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Settings for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).cloned()
    }
}

/// A setting that is set and not blank.
fn var(settings: &dyn Settings, name: &str) -> Option<String> {
    settings.get(name).filter(|v| !v.trim().is_empty())
}

fn json<T: serde::de::DeserializeOwned + Default>(
    settings: &dyn Settings,
    name: &'static str,
    what: &str,
) -> Result<T, ConfigError> {
    match var(settings, name) {
        None => Ok(T::default()),
        Some(text) => serde_json::from_str(&text).map_err(|e| ConfigError::Invalid {
            var: name,
            message: format!("expected {what} ({e})"),
        }),
    }
}

impl Config {
    pub fn read(s: &dyn Settings) -> Result<Config, ConfigError> {
        Ok(Config {
            api_file: var(s, "TOLLGATE_API_FILE").map(PathBuf::from),
            stage: var(s, "TOLLGATE_STAGE").unwrap_or_else(|| "Prod".into()),
            stage_variables: json(s, "TOLLGATE_STAGE_VARIABLES", "a JSON object of strings")?,
            usage: json(
                s,
                "TOLLGATE_API_KEYS",
                "a keys-and-plans JSON document {\"keys\": [...], \"plans\": [...]}",
            )?,
            usage_table: var(s, "TOLLGATE_USAGE_TABLE"),
            dynamodb_endpoint: var(s, "TOLLGATE_DYNAMODB_ENDPOINT"),
            functions: json(
                s,
                "TOLLGATE_FUNCTIONS",
                "a JSON object from logical function id to function name or ARN",
            )?,
            lambda_endpoint: var(s, "TOLLGATE_LAMBDA_ENDPOINT"),
            region: var(s, "AWS_REGION").unwrap_or_else(|| "us-east-1".into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let c = Config::read(&settings(&[])).expect("valid");
        assert_eq!(c.stage, "Prod");
        assert_eq!(c.region, "us-east-1");
        assert!(c.api_file.is_none() && c.usage_table.is_none());
        assert!(c.usage.keys.is_empty() && c.functions.is_empty());
    }

    #[test]
    fn values_are_read_and_blank_ones_ignored() {
        let c = Config::read(&settings(&[
            ("TOLLGATE_STAGE", "dev"),
            ("TOLLGATE_STAGE_VARIABLES", r#"{"upstream":"http://x"}"#),
            ("TOLLGATE_FUNCTIONS", r#"{"Hello":"stack-Hello-1"}"#),
            ("TOLLGATE_USAGE_TABLE", "  "),
            ("AWS_REGION", "eu-west-1"),
        ]))
        .expect("valid");
        assert_eq!(c.stage, "dev");
        assert_eq!(c.stage_variables["upstream"], "http://x");
        assert_eq!(c.functions["Hello"], "stack-Hello-1");
        assert_eq!(c.usage_table, None);
        assert_eq!(c.region, "eu-west-1");
    }

    #[test]
    fn a_bad_document_names_its_variable() {
        let e =
            Config::read(&settings(&[("TOLLGATE_API_KEYS", "{not json")])).expect_err("invalid");
        assert!(e
            .to_string()
            .starts_with("TOLLGATE_API_KEYS: expected a keys-and-plans"));
    }
}
