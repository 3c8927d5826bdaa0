//! What a method's request validator checks, compiled.

use std::sync::Arc;

use indexmap::IndexMap;

/// What a method's request validator checks (aws-behaviour §8).
#[derive(Debug)]
pub struct Validation {
    /// Required parameters as `(location, name)`, sorted by their `method.request.*` key, the
    /// order AWS lists missing ones in.
    pub required: Vec<(crate::spec::ParamLocation, String)>,
    /// Body models by media type (`validateRequestBody`); empty when bodies are not validated.
    pub models: IndexMap<String, Arc<jsonschema::Validator>>,
}
