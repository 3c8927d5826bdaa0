//! Parameter mappings and integration response rules, as compiled.

use std::sync::Arc;

use indexmap::IndexMap;
use regex::Regex;

use crate::mapping::vtl::Template;
use crate::spec::extensions::ContentHandling;

/// Where a mapped parameter value comes from (`method.request.header.X`, `'static'`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamSource {
    Static(String),
    Path(String),
    Query(String),
    MultiQuery(String),
    Header(String),
    MultiHeader(String),
    StageVariable(String),
    Context(String),
    /// `method.request.body` / `integration.response.body` and their JSONPath forms: evaluated
    /// by the mapping-template stage.
    Body(Option<String>),
    IntegrationResponseHeader(String),
    IntegrationResponseMultiHeader(String),
}

impl ParamSource {
    /// Parse a REST mapping expression. `side` is `method.request` or `integration.response`.
    pub fn parse(expr: &str, side: &str) -> Option<ParamSource> {
        let e = expr.trim();
        if e.len() >= 2 && e.starts_with('\'') && e.ends_with('\'') {
            return Some(ParamSource::Static(e[1..e.len() - 1].to_string()));
        }
        if let Some(n) = e.strip_prefix("stageVariables.") {
            return Some(ParamSource::StageVariable(n.to_string()));
        }
        if let Some(n) = e.strip_prefix("context.") {
            return Some(ParamSource::Context(n.to_string()));
        }
        let rest = e.strip_prefix(side)?.strip_prefix('.')?;
        if rest == "body" {
            return Some(ParamSource::Body(None));
        }
        if let Some(p) = rest.strip_prefix("body.") {
            return Some(ParamSource::Body(Some(p.to_string())));
        }
        let (kind, name) = rest.split_once('.')?;
        if name.is_empty() {
            return None;
        }
        let name = name.to_string();
        Some(match (side, kind) {
            ("method.request", "path") => ParamSource::Path(name),
            ("method.request", "querystring") => ParamSource::Query(name),
            ("method.request", "multivaluequerystring") => ParamSource::MultiQuery(name),
            ("method.request", "header") => ParamSource::Header(name),
            ("method.request", "multivalueheader") => ParamSource::MultiHeader(name),
            ("integration.response", "header") => ParamSource::IntegrationResponseHeader(name),
            ("integration.response", "multivalueheader") => {
                ParamSource::IntegrationResponseMultiHeader(name)
            }
            _ => return None,
        })
    }
}

/// Where a mapped integration request parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamTarget {
    Path,
    Query,
    Header,
}

#[derive(Debug, Clone)]
pub struct RequestParameter {
    pub target: ParamTarget,
    pub name: String,
    pub source: ParamSource,
}

/// One integration response rule (a `responses` entry).
#[derive(Debug, Clone)]
pub struct IntegrationResponseRule {
    /// The map key as written (`default`, `2\d{2}`, ...).
    pub key: String,
    /// `None` for `default`.
    pub pattern: Option<Regex>,
    pub status: u16,
    /// `method.response.header.X` → source.
    pub headers: Vec<(String, ParamSource)>,
    /// Response templates by media type, compiled at load.
    pub templates: IndexMap<String, Arc<Template>>,
    pub content_handling: Option<ContentHandling>,
}

#[derive(Debug, Clone, Default)]
pub struct IntegrationResponses {
    pub rules: Vec<IntegrationResponseRule>,
}

impl IntegrationResponses {
    /// The rule for a selection value: the first pattern that matches the whole value, else the
    /// `default` entry, else `None` (API Gateway answers 500 then).
    pub fn select(&self, value: &str) -> Option<&IntegrationResponseRule> {
        self.rules
            .iter()
            .find(|r| r.pattern.as_ref().is_some_and(|p| p.is_match(value)))
            .or_else(|| self.rules.iter().find(|r| r.pattern.is_none()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn param_sources() {
        assert_eq!(
            ParamSource::parse("'x y'", "method.request"),
            Some(ParamSource::Static("x y".into()))
        );
        assert_eq!(
            ParamSource::parse("method.request.path.proxy", "method.request"),
            Some(ParamSource::Path("proxy".into()))
        );
        assert_eq!(
            ParamSource::parse("method.request.body.a.b", "method.request"),
            Some(ParamSource::Body(Some("a.b".into())))
        );
        assert_eq!(
            ParamSource::parse("method.request.cookie.x", "method.request"),
            None
        );
        assert_eq!(
            ParamSource::parse("integration.response.header.X", "integration.response"),
            Some(ParamSource::IntegrationResponseHeader("X".into()))
        );
    }

    #[test]
    fn selection_prefers_patterns_then_default() {
        let rules = IntegrationResponses {
            rules: vec![
                IntegrationResponseRule {
                    key: "default".into(),
                    pattern: None,
                    status: 200,
                    headers: vec![],
                    templates: IndexMap::new(),
                    content_handling: None,
                },
                IntegrationResponseRule {
                    key: "4\\d{2}".into(),
                    pattern: Some(Regex::new("^(?:4\\d{2})$").expect("re")),
                    status: 400,
                    headers: vec![],
                    templates: IndexMap::new(),
                    content_handling: None,
                },
            ],
        };
        assert_eq!(rules.select("404").map(|r| r.status), Some(400));
        assert_eq!(rules.select("200").map(|r| r.status), Some(200));
        // The whole value must match.
        assert_eq!(rules.select("4040").map(|r| r.status), Some(200));
    }
}
