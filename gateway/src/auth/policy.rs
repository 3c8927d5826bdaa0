//! IAM policy evaluation for what Lambda authorizers return (and, later, resource policies).
//!
//! Standard IAM semantics: an explicit `Deny` that matches wins; otherwise a matching `Allow`
//! allows; otherwise the request is implicitly denied. `Action` and `Resource` may be one string
//! or a list; `*` matches any run of characters (including `/` and `:`), `?` exactly one
//! (IAM wildcards; aws-behaviour §4a marks the `/` case as inferred).

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
    /// Whether the statement's Principal covers an anonymous caller (`*` or `{"AWS": "*"}`);
    /// authorizer policies have no Principal and always apply.
    anyone: bool,
    /// `IpAddress` / `NotIpAddress` on `aws:SourceIp`: (negated, CIDR blocks).
    source_ip: Option<(bool, Vec<Cidr>)>,
    /// A condition this evaluator cannot check: the statement never matches. [?]
    unknown_condition: bool,
}

/// An IPv4 or IPv6 block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Cidr {
    net: std::net::IpAddr,
    bits: u8,
}

impl Cidr {
    pub(super) fn parse(s: &str) -> Option<Cidr> {
        let (ip, bits) = match s.split_once('/') {
            Some((ip, b)) => (ip.trim().parse().ok()?, b.trim().parse().ok()?),
            None => {
                let ip: std::net::IpAddr = s.trim().parse().ok()?;
                (ip, if ip.is_ipv4() { 32 } else { 128 })
            }
        };
        Some(Cidr { net: ip, bits })
    }

    pub(super) fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr::*;
        match (self.net, ip) {
            (V4(n), V4(a)) => {
                let bits = u32::from(self.bits.min(32));
                let mask = if bits == 0 {
                    0
                } else {
                    u32::MAX << (32 - bits)
                };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (V6(n), V6(a)) => {
                let bits = u32::from(self.bits.min(128));
                let mask = if bits == 0 {
                    0
                } else {
                    u128::MAX << (128 - bits)
                };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// Facts about the caller that resource-policy conditions test.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub source_ip: Option<std::net::IpAddr>,
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
            let anyone = match s.get("Principal") {
                None => true,
                Some(Value::String(p)) => p == "*",
                Some(Value::Object(m)) => m.get("AWS").is_some_and(|a| match a {
                    Value::String(x) => x == "*",
                    Value::Array(xs) => xs.iter().any(|x| x == "*"),
                    _ => false,
                }),
                Some(_) => false,
            };
            let mut source_ip = None;
            let mut unknown_condition = false;
            if let Some(Value::Object(cond)) = s.get("Condition") {
                for (op, tests) in cond {
                    let negated = match op.as_str() {
                        "IpAddress" => false,
                        "NotIpAddress" => true,
                        _ => {
                            unknown_condition = true;
                            continue;
                        }
                    };
                    let blocks = tests
                        .get("aws:SourceIp")
                        .map(|v| strings(Some(v), "aws:SourceIp"))
                        .transpose()?
                        .unwrap_or_default();
                    let cidrs = blocks
                        .iter()
                        .map(|b| {
                            Cidr::parse(b).ok_or_else(|| {
                                PolicyError(format!("`{b}` is not an IP address or CIDR block"))
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    source_ip = Some((negated, cidrs));
                }
            }
            statements.push(Statement {
                effect,
                actions: strings(s.get("Action"), "Action")?,
                resources: strings(s.get("Resource"), "Resource")?,
                anyone,
                source_ip,
                unknown_condition,
            });
        }
        Ok(Policy { statements })
    }

    /// Rewrite `execute-api:/...` resources to the API's full ARN, as API Gateway does on import.
    pub fn expand_resources(&mut self, api_arn_prefix: &str) {
        for s in &mut self.statements {
            for r in &mut s.resources {
                if let Some(rest) = r.strip_prefix("execute-api:/") {
                    *r = format!("{api_arn_prefix}/{rest}");
                }
            }
        }
    }

    /// Decide `action` on `resource`.
    pub fn evaluate(&self, action: &str, resource: &str) -> Decision {
        self.evaluate_for(action, resource, Caller { source_ip: None })
    }

    /// Decide `action` on `resource` for an anonymous caller with these facts.
    pub fn evaluate_for(&self, action: &str, resource: &str, caller: Caller) -> Decision {
        let matches = |s: &Statement| {
            let condition_holds = !s.unknown_condition
                && match (&s.source_ip, caller.source_ip) {
                    (None, _) => true,
                    (Some((negated, cidrs)), Some(ip)) => {
                        cidrs.iter().any(|c| c.contains(ip)) != *negated
                    }
                    (Some(_), None) => false,
                };
            s.anyone
                && condition_holds
                && s.actions
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
pub(super) fn wildcard_match(pattern: &str, text: &str) -> bool {
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
    fn resource_policy_principals_conditions_and_expansion() {
        let mut p = Policy::parse(&json!({
            "Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*"},
                {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "execute-api:Invoke", "Resource": "execute-api:/*/GET/internal/*",
                 "Condition": {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.1.7"]}}},
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "*", "Resource": "*"}
            ]
        }))
        .expect("valid");
        p.expand_resources("arn:aws:execute-api:us-east-1:123456789012:abc123");
        let at = |ip: &str, path: &str| {
            p.evaluate_for(
                "execute-api:Invoke",
                &format!("arn:aws:execute-api:us-east-1:123456789012:abc123/Prod/GET/{path}"),
                Caller {
                    source_ip: ip.parse().ok(),
                },
            )
        };
        assert_eq!(at("127.0.0.1", "orders"), Decision::Allow);
        assert_eq!(at("127.0.0.1", "internal/x"), Decision::ExplicitDeny);
        assert_eq!(at("10.1.2.3", "internal/x"), Decision::Allow);
        assert_eq!(at("192.168.1.7", "internal/x"), Decision::Allow);
        assert!(Cidr::parse("::1/128").is_some_and(|c| c.contains("::1".parse().expect("ip"))));
        assert!(
            !Cidr::parse("10.0.0.0/8").is_some_and(|c| c.contains("11.0.0.1".parse().expect("ip")))
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
