//! A Velocity Template Language engine: the template language of API Gateway's mapping
//! templates, which run on Apache Velocity 1.7.
//!
//! [`Template::parse`] builds an AST once (at load time, so syntax errors name the file, the
//! template and the line); [`Template::render`] evaluates it against variables. The AWS
//! variables (`$input`, `$util`, `$context`, `$stageVariables`) live in
//! [`crate::mapping`]; this module is plain Velocity, and its behaviour is checked
//! against the real Velocity 1.7 by the corpus in `tests/fixtures/vtl`.

pub(crate) mod ast;
mod eval;
mod parser;
mod string_methods;
pub(crate) mod value;

use std::collections::HashMap;

pub(crate) use value::Host;
pub use value::Value;

/// A template that failed to parse or to render, with where.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{template}:{line}:{col}: {message}")]
pub struct VtlError {
    pub template: String,
    pub line: u32,
    pub col: u32,
    pub message: String,
}

impl VtlError {
    fn new(template: &str, pos: ast::Pos, message: impl Into<String>) -> Self {
        VtlError {
            template: template.to_string(),
            line: pos.line,
            col: pos.col,
            message: message.into(),
        }
    }
}

/// How rendering differs between plain Velocity and API Gateway.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    /// Print a null reference as nothing instead of as written. API Gateway does this
    /// ([emu]: LocalStack matched it against AWS); plain Velocity prints `$name`.
    pub null_as_empty: bool,
    /// Stop a `#foreach` after this many iterations (API Gateway: 1000, aws-behaviour §7).
    pub max_loop: Option<usize>,
    /// Fail a render that evaluates more than this many nodes and expressions, so nested loops
    /// cannot hold a request forever.
    pub max_steps: u64,
    /// Fail a render that builds a string (or output) longer than this many bytes.
    pub max_len: usize,
}

impl RenderOptions {
    pub const VELOCITY: RenderOptions = RenderOptions {
        null_as_empty: false,
        max_loop: None,
        max_steps: 50_000_000,
        max_len: 64 * 1024 * 1024,
    };
    /// Limits: a mapping template's output feeds a 10 MB payload at most.
    pub const API_GATEWAY: RenderOptions = RenderOptions {
        null_as_empty: true,
        max_loop: Some(1000),
        max_steps: 10_000_000,
        max_len: 10 * 1024 * 1024,
    };
}

/// The variables a template sees and may `#set`.
pub type Vars = HashMap<String, Value>;

#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    nodes: Vec<ast::Node>,
    macros: HashMap<String, ast::Macro>,
    source: String,
    /// The whole output when the template is only text (no reference, directive or macro), as
    /// many MOCK and response templates are: it renders the same for every request.
    literal: Option<String>,
}

impl Template {
    /// Parse `src`; `name` appears in error messages (file and template key, say).
    pub fn parse(name: &str, src: &str) -> Result<Template, VtlError> {
        let parsed = parser::parse(name, src)?;
        let literal = parsed
            .nodes
            .iter()
            .map(|n| match n {
                ast::Node::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect::<Option<String>>();
        Ok(Template {
            name: name.to_string(),
            nodes: parsed.nodes,
            macros: parsed.macros,
            source: src.to_string(),
            literal,
        })
    }

    /// The output, when the template is only text and so renders the same every time.
    pub fn literal(&self) -> Option<&str> {
        self.literal.as_deref()
    }

    /// Whether `word` appears anywhere in the source: when it does not, no reference, macro
    /// or directive of the template can reach a variable of that name, so a caller need not
    /// build it.
    pub fn mentions(&self, word: &str) -> bool {
        self.source.contains(word)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Render with `vars`, which the template may change (`#set`).
    pub fn render(&self, vars: &mut Vars, opts: RenderOptions) -> Result<String, VtlError> {
        eval::render(self, vars, opts)
    }
}
