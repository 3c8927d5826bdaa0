//! Warnings about what would otherwise change behaviour silently: a misspelt SAM resource or event
//! type (ignored by the loader, so its routes would just be missing), a function whose code
//! folder is not there, a runtime tollgate cannot run, and a layer that is not local.

use std::path::Path;

use serde_json::{Map, Value};

use super::{FunctionCode, Layer, SamFunction};
use crate::load_error::{pointer_join, LoadError};

/// Every `AWS::Serverless::*` type (SAM specification).
const SAM_TYPES: [&str; 9] = [
    "AWS::Serverless::Function",
    "AWS::Serverless::Api",
    "AWS::Serverless::HttpApi",
    "AWS::Serverless::SimpleTable",
    "AWS::Serverless::LayerVersion",
    "AWS::Serverless::Application",
    "AWS::Serverless::StateMachine",
    "AWS::Serverless::Connector",
    "AWS::Serverless::GraphQLApi",
];

/// The CloudFormation types tollgate reads: one written in the wrong case is a likely slip.
const READ_TYPES: [&str; 20] = [
    "AWS::Lambda::Function",
    "AWS::Lambda::Alias",
    "AWS::Lambda::Version",
    "AWS::ApiGateway::RestApi",
    "AWS::ApiGateway::Resource",
    "AWS::ApiGateway::Method",
    "AWS::ApiGateway::Authorizer",
    "AWS::ApiGateway::Model",
    "AWS::ApiGateway::RequestValidator",
    "AWS::ApiGateway::GatewayResponse",
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::Stage",
    "AWS::ApiGateway::ApiKey",
    "AWS::ApiGateway::UsagePlan",
    "AWS::ApiGateway::UsagePlanKey",
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Route",
    "AWS::ApiGatewayV2::Integration",
    "AWS::ApiGatewayV2::Authorizer",
    "AWS::ApiGatewayV2::Stage",
];

/// Every event source type of `AWS::Serverless::Function` (SAM specification).
const EVENT_TYPES: [&str; 20] = [
    "Api",
    "HttpApi",
    "S3",
    "SNS",
    "SQS",
    "Kinesis",
    "DynamoDB",
    "Schedule",
    "ScheduleV2",
    "CloudWatchEvent",
    "EventBridgeRule",
    "CloudWatchLogs",
    "IoTRule",
    "AlexaSkill",
    "Cognito",
    "MSK",
    "MQ",
    "SelfManagedKafka",
    "DocumentDB",
    "FunctionUrl",
];

/// Runtimes tollgate runs, by prefix.
const RUNNABLE_RUNTIMES: [&str; 3] = ["python", "nodejs", "provided"];

/// Misspelt resource types and function event types.
pub(super) fn unknown_types(file: &Path, resources: &Map<String, Value>) -> Vec<LoadError> {
    let mut warnings = Vec::new();
    for (id, r) in resources {
        let ptr = pointer_join("/Resources", id);
        let Some(ty) = r.get("Type").and_then(Value::as_str) else {
            continue;
        };
        let suggestion = if ty.starts_with("AWS::Serverless::") && !SAM_TYPES.contains(&ty) {
            Some(closest(ty, &SAM_TYPES))
        } else {
            READ_TYPES
                .iter()
                .find(|t| t.eq_ignore_ascii_case(ty) && **t != ty)
                .map(|t| Some(*t))
        };
        if let Some(s) = suggestion {
            warnings.push(LoadError::new(
                file,
                pointer_join(&ptr, "Type"),
                format!(
                    "`{ty}` is not a type tollgate knows{}: the resource is ignored",
                    did_you_mean(s)
                ),
            ));
        }
        if ty != SAM_TYPES[0] {
            continue;
        }
        let events = r.pointer("/Properties/Events").and_then(Value::as_object);
        for (name, ev) in events.into_iter().flatten() {
            let Some(ev_ty) = ev.get("Type").and_then(Value::as_str) else {
                continue;
            };
            if !EVENT_TYPES.contains(&ev_ty) {
                warnings.push(LoadError::new(
                    file,
                    pointer_join(
                        &pointer_join(
                            &pointer_join(&pointer_join(&ptr, "Properties"), "Events"),
                            name,
                        ),
                        "Type",
                    ),
                    format!(
                        "`{ev_ty}` is not an event type{}: the event is ignored",
                        did_you_mean(closest(ev_ty, &EVENT_TYPES))
                    ),
                ));
            }
        }
    }
    warnings
}

/// Why `f` cannot run here, if it cannot: a runtime tollgate does not run, or a code folder that
/// is not there. A route that calls it answers as when Lambda cannot invoke a function (500).
pub fn not_runnable(f: &SamFunction) -> Option<String> {
    let runtime = f
        .properties
        .get("Runtime")
        .and_then(Value::as_str)
        .unwrap_or("provided.al2023");
    match &f.code {
        FunctionCode::Path(p) => {
            let dir = f.base_dir.join(p);
            // `sam build` output stands in for the source folder.
            let built = f.base_dir.join(".aws-sam/build").join(&f.logical_id);
            if !dir.exists() && !built.exists() {
                let dir = std::path::absolute(&dir).unwrap_or(dir);
                return Some(format!(
                    "its code folder `{p}` does not exist (looked for {})",
                    dir.display()
                ));
            }
        }
        FunctionCode::Inline(_) => {}
        FunctionCode::Image(_) | FunctionCode::S3(_) => return None,
    }
    for layer in &f.layers {
        match layer {
            Layer::Remote(arn) => {
                return Some(format!(
                    "its layer `{arn}` is not in this template, and a local run cannot fetch it (declare it as AWS::Serverless::LayerVersion with a local ContentUri)"
                ))
            }
            Layer::Local { logical_id, dir } if !dir.is_dir() => {
                return Some(format!(
                    "its layer {logical_id}'s folder {} does not exist",
                    dir.display()
                ))
            }
            Layer::Local { .. } => {}
        }
    }
    if !RUNNABLE_RUNTIMES.iter().any(|r| runtime.starts_with(r)) {
        return Some(format!(
            "`{runtime}` is not supported locally; supported: python3.x, nodejs18.x and later, provided.al2 and provided.al2023 (a bootstrap or a Rust crate)"
        ));
    }
    None
}

/// Per-function warnings: why it cannot run here, if it cannot (see [`not_runnable`]).
pub(super) fn function_warnings(file: &Path, f: &SamFunction) -> Vec<LoadError> {
    let ptr = pointer_join(&pointer_join("/Resources", &f.logical_id), "Properties");
    let mut warnings = Vec::new();
    if let Some(why) = not_runnable(f) {
        let key = if why.starts_with("its code folder") {
            if f.properties.get("CodeUri").is_some() {
                "CodeUri"
            } else {
                "Code"
            }
        } else if why.starts_with("its layer") {
            "Layers"
        } else {
            "Runtime"
        };
        warnings.push(LoadError::new(
            file,
            pointer_join(&ptr, key),
            format!(
                "{why}: function {} is not started, and a route that calls it answers 500",
                f.logical_id
            ),
        ));
    }
    warnings
}

fn did_you_mean(s: Option<&str>) -> String {
    s.map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default()
}

/// The candidate nearest to `word` (case-insensitive edit distance), when it is near enough to
/// be a slip: at most a third of the word's length.
fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (edit_distance(&lower, &c.to_ascii_lowercase()), *c))
        .min()
        .filter(|(d, _)| *d <= (word.len() / 3).max(1))
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slips_are_named_with_the_likely_intent() {
        assert_eq!(
            closest("AWS::Serverless::Functon", &SAM_TYPES),
            Some("AWS::Serverless::Function")
        );
        assert_eq!(closest("HttpAPI", &EVENT_TYPES), Some("HttpApi"));
        assert_eq!(closest("Apii", &EVENT_TYPES), Some("Api"));
        assert_eq!(closest("Websocket", &EVENT_TYPES), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
