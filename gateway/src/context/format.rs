//! `$context` format strings (access logs), split once into text and variable names: rendering
//! used to search the string and build a `String` per variable on every request.

use super::variables::Variable;
use super::RequestContext;

const PREFIX: &str = "$context.";

/// A format string, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextFormat {
    text: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Variable(Variable),
}

impl ContextFormat {
    /// A variable's name runs over letters, digits, `.` and `_`, less a trailing `.` (the end
    /// of a sentence, not of the name).
    pub fn parse(format: &str) -> Self {
        let mut parts = Vec::new();
        let mut rest = format;
        while let Some(pos) = rest.find(PREFIX) {
            if pos > 0 {
                parts.push(Part::Text(rest[..pos].to_string()));
            }
            let after = &rest[pos + PREFIX.len()..];
            let len = after
                .char_indices()
                .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '.' || *c == '_'))
                .map(|(i, _)| i)
                .unwrap_or(after.len());
            let name = after[..len].trim_end_matches('.');
            parts.push(Part::Variable(Variable::named(name)));
            rest = &after[name.len()..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Self {
            text: format.to_string(),
            parts,
        }
    }

    /// The format as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The line for one request; a variable with no value renders as `-` [?] (the common
    /// emulator convention; AWS's own rendering of empty values is not recorded).
    pub fn render(&self, ctx: &RequestContext) -> String {
        let mut out = String::with_capacity(self.text.len() + 96);
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Variable(v) => {
                    if !ctx.write_variable(v, &mut out) {
                        out.push('-');
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_variables_and_a_trailing_dot() {
        let mut ctx = crate::context::test_request(http::Method::PUT, "/p");
        ctx.status = 201;
        let f =
            ContextFormat::parse("[$context.httpMethod] $context.status. $context.stage$context.");
        assert_eq!(f.render(&ctx), "[PUT] 201. --");
        assert_eq!(
            f.as_str(),
            "[$context.httpMethod] $context.status. $context.stage$context."
        );
    }
}
