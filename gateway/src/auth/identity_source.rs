//! Where an authorizer reads an identity value from (`method.request.header.X`,
//! `$request.querystring.x`, `stageVariables.x`, `context.x`).

/// Where an authorizer reads an identity value from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySource {
    Header(String),
    Query(String),
    StageVariable(String),
    Context(String),
}

impl IdentitySource {
    /// Parse REST (`method.request.header.X`, `stageVariables.X`, `context.X`) and HTTP API
    /// (`$request.header.X`, `$stageVariables.X`, `$context.X`) forms.
    pub fn parse(s: &str) -> Option<IdentitySource> {
        let s = s.trim();
        let rest = s
            .strip_prefix("method.request.")
            .or_else(|| s.strip_prefix("$request."));
        if let Some(r) = rest {
            let (kind, name) = r.split_once('.')?;
            if name.is_empty() {
                return None;
            }
            return match kind {
                "header" => Some(IdentitySource::Header(name.to_string())),
                "querystring" => Some(IdentitySource::Query(name.to_string())),
                _ => None,
            };
        }
        let s = s.strip_prefix('$').unwrap_or(s);
        if let Some(n) = s.strip_prefix("stageVariables.").filter(|n| !n.is_empty()) {
            return Some(IdentitySource::StageVariable(n.to_string()));
        }
        s.strip_prefix("context.")
            .filter(|n| !n.is_empty())
            .map(|n| IdentitySource::Context(n.to_string()))
    }
}
