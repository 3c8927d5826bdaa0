//! IAM policy evaluation for what Lambda authorizers return (and, later, resource policies).
//!
//! Standard IAM semantics: an explicit `Deny` that matches wins; otherwise a matching `Allow`
//! allows; otherwise the request is implicitly denied. `Action` and `Resource` may be one string
//! or a list; `*` matches any run of characters (including `/` and `:`), `?` exactly one
//! (IAM wildcards; facts §4a marks the `/` case as inferred).

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid policy document: {0}")]
pub struct PolicyError(pub String);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    effect: Effect,
    actions: Vec<String>,
    resources: Vec<String>,
}

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    statements: Vec<Statement>,
}

fn strings(v: Option<&Value>, what: &str) -> Result<Vec<String>, PolicyError> {
    match v {
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| PolicyError(format!("{what} entries must be strings")))
            })
            .collect(),
        None => Err(PolicyError(format!("a statement has no {what}"))),
        Some(_) => Err(PolicyError(format!(
            "{what} must be a string or a list of strings"
        ))),
    }
}

impl Policy {
    /// Parse a `policyDocument` (`{"Version": ..., "Statement": [...] | {...}}`).
    pub fn parse(doc: &Value) -> Result<Policy, PolicyError> {
        let statement = doc
            .get("Statement")
            .ok_or_else(|| PolicyError("no Statement".into()))?;
        let list: Vec<&Value> = match statement {
            Value::Array(a) => a.iter().collect(),
            Value::Object(_) => vec![statement],
            _ => return Err(PolicyError("Statement must be an object or a list".into())),
        };
        let mut statements = Vec::with_capacity(list.len());
        for s in list {
            let effect = match s.get("Effect").and_then(Value::as_str) {
                Some(e) if e.eq_ignore_ascii_case("allow") => Effect::Allow,
                Some(e) if e.eq_ignore_ascii_case("deny") => Effect::Deny,
                other => {
                    return Err(PolicyError(format!(
                        "Effect must be Allow or Deny, not {other:?}"
                    )))
                }
            };
            statements.push(Statement {
                effect,
                actions: strings(s.get("Action"), "Action")?,
                resources: strings(s.get("Resource"), "Resource")?,
            });
        }
        Ok(Policy { statements })
    }

    /// Decide `action` on `resource`.
    pub fn evaluate(&self, action: &str, resource: &str) -> Decision {
        let matches = |s: &Statement| {
            s.actions
                .iter()
                .any(|a| wildcard_match(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()))
                && s.resources.iter().any(|r| wildcard_match(r, resource))
        };
        if self
            .statements
            .iter()
            .any(|s| s.effect == Effect::Deny && matches(s))
        {
            return Decision::ExplicitDeny;
        }
        if self
            .statements
            .iter()
            .any(|s| s.effect == Effect::Allow && matches(s))
        {
            return Decision::Allow;
        }
        Decision::ImplicitDeny
    }
}

/// IAM-style glob: `*` any run of characters, `?` one character; everything else literal.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abc123/Prod/GET/orders/42";

    #[test]
    fn wildcards() {
        assert!(wildcard_match("arn:aws:execute-api:*", ARN));
        assert!(wildcard_match(
            "arn:aws:execute-api:us-east-1:123456789012:abc123/*/GET/*",
            ARN
        ));
        assert!(wildcard_match(
            "arn:aws:execute-api:us-east-1:123456789012:abc123/Prod/GET/orders/4?",
            ARN
        ));
        assert!(!wildcard_match(
            "arn:aws:execute-api:us-east-1:123456789012:abc123/*/POST/*",
            ARN
        ));
        assert!(!wildcard_match(
            "arn:aws:execute-api:us-east-1:123456789012:abc123/Prod/GET/orders",
            ARN
        ));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*b*c", "aXXbYYc"));
        assert!(!wildcard_match("a*b*c", "aXXbYY"));
    }

    #[test]
    fn deny_wins_then_allow_then_implicit() {
        let p = Policy::parse(&json!({
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:*:*:abc123/*"},
                {"Effect": "Deny", "Action": ["execute-api:*"], "Resource": ["arn:aws:execute-api:*:*:abc123/*/DELETE/*"]}
            ]
        }))
        .expect("valid");
        assert_eq!(p.evaluate("execute-api:Invoke", ARN), Decision::Allow);
        assert_eq!(
            p.evaluate(
                "execute-api:Invoke",
                "arn:aws:execute-api:us-east-1:123456789012:abc123/Prod/DELETE/orders/42"
            ),
            Decision::ExplicitDeny
        );
        assert_eq!(
            p.evaluate(
                "execute-api:Invoke",
                "arn:aws:execute-api:us-east-1:123456789012:other/Prod/GET/x"
            ),
            Decision::ImplicitDeny
        );
        let star = Policy::parse(
            &json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}),
        )
        .expect("valid");
        assert_eq!(star.evaluate("execute-api:Invoke", ARN), Decision::Allow);
        let other_action = Policy::parse(
            &json!({"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}),
        )
        .expect("valid");
        assert_eq!(
            other_action.evaluate("execute-api:Invoke", ARN),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn malformed_policies_are_errors() {
        assert!(Policy::parse(&json!({})).is_err());
        assert!(Policy::parse(
            &json!({"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]})
        )
        .is_err());
        assert!(
            Policy::parse(&json!({"Statement": [{"Effect": "Allow", "Resource": "*"}]})).is_err()
        );
        assert!(Policy::parse(
            &json!({"Statement": [{"Effect": "Allow", "Action": 3, "Resource": "*"}]})
        )
        .is_err());
    }
}
