//! The AWS side of mapping templates: `$input`, `$util`, `$context` and `$stageVariables`
//! over the [`super::vtl`] engine, and the overrides a template may set
//! (`$context.requestOverride.*`, `$context.responseOverride.*`).

use std::cell::OnceCell;
use std::rc::Rc;

use base64::Engine;
use indexmap::IndexMap;

use super::vtl::{Host, RenderOptions, Template, Value, Vars, VtlError};
use crate::context::RequestContext;

/// What `$input` reads: the payload and the method request's parameters.
pub struct MappingInput<'a> {
    pub body: &'a [u8],
    pub path: &'a [(String, String)],
    pub query: &'a [(String, String)],
    /// Header names and values, in order; asked for only when the template reads `$input`
    /// (most templates do not, and the list is two strings per header).
    pub headers: &'a dyn Fn() -> Vec<(String, String)>,
}

use crate::context::Overrides;

/// Render `template` for one request.
pub fn render(
    template: &Template,
    ctx: &RequestContext,
    input: &MappingInput<'_>,
) -> Result<(String, Overrides), VtlError> {
    // Text alone needs no variables and cannot set an override (one past the output limit
    // still goes through the renderer, which refuses it).
    if let Some(text) = template
        .literal()
        .filter(|t| t.len() <= RenderOptions::API_GATEWAY.max_len)
    {
        return Ok((text.to_string(), ctx.overrides.clone()));
    }
    // Variables the template never mentions are not built: `$context` alone is dozens of map
    // entries per render (docs/benchmarks.md, the MOCK profile).
    let mut vars = Vars::new();
    if template.mentions("input") {
        vars.insert("input".into(), Value::Host(Rc::new(Input::new(input))));
    }
    if template.mentions("util") {
        vars.insert("util".into(), Value::Host(Rc::new(Util)));
    }
    let context = template.mentions("context").then(|| context_value(ctx));
    if let Some(c) = &context {
        vars.insert("context".into(), c.clone());
    }
    if template.mentions("stageVariables") {
        vars.insert(
            "stageVariables".into(),
            Value::map(
                ctx.stage_variables
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::str(v.as_str())))
                    .collect(),
            ),
        );
    }
    let text = template.render(&mut vars, RenderOptions::API_GATEWAY)?;
    // Unmentioned, `$context` still carries the overrides set so far, unchanged.
    let overrides = match &context {
        Some(c) => read_overrides(c),
        None => ctx.overrides.clone(),
    };
    Ok((text, overrides))
}

fn entries(v: &Value) -> Vec<(String, String)> {
    match v {
        Value::Map(m) => m
            .borrow()
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.clone(), v.render()))
            .collect(),
        _ => Vec::new(),
    }
}

fn read_overrides(context: &Value) -> Overrides {
    let get = |v: &Value, k: &str| v.property(k).unwrap_or(Value::Null);
    let req = get(context, "requestOverride");
    let resp = get(context, "responseOverride");
    // A status outside 100-599 is ignored [emu].
    let status = match get(&resp, "status") {
        Value::Int(n) => Some(n),
        Value::Str(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    }
    .and_then(|n| u16::try_from(n).ok())
    .filter(|n| (100..=599).contains(n));
    Overrides {
        request_headers: entries(&get(&req, "header")),
        request_path: entries(&get(&req, "path")),
        request_query: entries(&get(&req, "querystring")),
        status,
        response_headers: entries(&get(&resp, "header")),
    }
}

fn opt(v: Option<String>) -> Value {
    v.map_or(Value::Null, Value::str)
}

/// `$context` as a map templates can read and `#set` overrides into.
pub(super) fn context_value(ctx: &RequestContext) -> Value {
    let var = |n: &str| opt(ctx.variable(n));
    let mut m = IndexMap::new();
    for name in [
        "accountId",
        "apiId",
        "awsEndpointRequestId",
        "domainName",
        "domainPrefix",
        "extendedRequestId",
        "httpMethod",
        "path",
        "protocol",
        "requestId",
        "requestTime",
        "resourceId",
        "resourcePath",
        "stage",
    ] {
        m.insert(name.to_string(), var(name));
    }
    m.insert(
        "requestTimeEpoch".into(),
        Value::Int(ctx.request_time_epoch),
    );
    let mut identity = IndexMap::new();
    for name in [
        "accountId",
        "apiKey",
        "apiKeyId",
        "caller",
        "sourceIp",
        "user",
        "userAgent",
        "userArn",
        "accessKey",
    ] {
        identity.insert(name.to_string(), var(&format!("identity.{name}")));
    }
    for name in [
        "cognitoAuthenticationProvider",
        "cognitoAuthenticationType",
        "cognitoIdentityId",
        "cognitoIdentityPoolId",
        "principalOrgId",
    ] {
        identity.insert(name.to_string(), Value::Null);
    }
    if let Some(c) = &ctx.client_cert {
        identity.insert("clientCert".into(), Value::from_json(&c.to_json()));
    }
    m.insert("identity".into(), Value::map(identity));
    if let Some(a) = &ctx.authorizer {
        let mut auth = IndexMap::new();
        let text = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => Value::str(s.as_str()),
            other => Value::str(other.to_string()),
        };
        // Context values are stringified for templates (aws-behaviour §4a).
        for (k, v) in &a.context {
            auth.insert(k.clone(), text(v));
        }
        auth.insert("principalId".into(), opt(a.principal_id.clone()));
        if let Some(claims) = &a.claims {
            auth.insert(
                "claims".into(),
                Value::map(claims.iter().map(|(k, v)| (k.clone(), text(v))).collect()),
            );
        }
        m.insert("authorizer".into(), Value::map(auth));
    }
    let mut error = IndexMap::new();
    for name in ["message", "messageString", "responseType"] {
        error.insert(name.to_string(), var(&format!("error.{name}")));
    }
    error.insert(
        "validationErrorString".into(),
        opt(ctx.validation_error.clone()),
    );
    m.insert("error".into(), Value::map(error));
    // What the request template set stays readable (and in force) in the response template.
    let o = &ctx.overrides;
    let pairs = |list: &[(String, String)]| {
        Value::map(
            list.iter()
                .map(|(k, v)| (k.clone(), Value::str(v.as_str())))
                .collect(),
        )
    };
    let mut request_override = IndexMap::new();
    request_override.insert("header".to_string(), pairs(&o.request_headers));
    request_override.insert("path".to_string(), pairs(&o.request_path));
    request_override.insert("querystring".to_string(), pairs(&o.request_query));
    m.insert("requestOverride".into(), Value::map(request_override));
    let mut response_override = IndexMap::new();
    response_override.insert("header".into(), pairs(&o.response_headers));
    if let Some(status) = o.status {
        response_override.insert("status".into(), Value::Int(i64::from(status)));
    }
    m.insert("responseOverride".into(), Value::map(response_override));
    Value::map(m)
}

/// `$input`.
struct Input {
    body: String,
    json: OnceCell<Result<serde_json::Value, String>>,
    path: Vec<(String, String)>,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
}

impl Input {
    fn new(i: &MappingInput<'_>) -> Self {
        Input {
            body: String::from_utf8_lossy(i.body).into_owned(),
            json: OnceCell::new(),
            path: i.path.to_vec(),
            query: i.query.to_vec(),
            headers: (i.headers)(),
        }
    }

    /// An empty body reads as `{}` (aws-behaviour §7: `$input.body` of an empty payload renders `{}`).
    fn body_text(&self) -> &str {
        if self.body.is_empty() {
            "{}"
        } else {
            &self.body
        }
    }

    fn document(&self) -> Result<&serde_json::Value, String> {
        self.json
            .get_or_init(|| {
                serde_json::from_str(self.body_text())
                    .map_err(|e| format!("the body is not JSON: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    fn select(&self, path: &str) -> Result<Option<serde_json::Value>, String> {
        match self.document() {
            Ok(doc) => json_path(doc, path),
            // [?] A non-JSON body: `$` is the body itself as a string; other paths find nothing.
            Err(_) if path.trim() == "$" => Ok(Some(serde_json::Value::String(self.body.clone()))),
            Err(e) => Err(e),
        }
    }

    fn params(&self) -> Value {
        let pairs = |list: &[(String, String)]| {
            // Later values win, as the single-value views in API Gateway do.
            let mut m: IndexMap<String, Value> = IndexMap::new();
            for (k, v) in list {
                m.insert(k.clone(), Value::str(v.as_str()));
            }
            Value::map(m)
        };
        let mut m = IndexMap::new();
        m.insert("path".to_string(), pairs(&self.path));
        m.insert("querystring".to_string(), pairs(&self.query));
        m.insert("header".to_string(), pairs(&self.headers));
        Value::map(m)
    }

    /// `$input.params('x')`: path, then query string, then header; `""` when absent.
    fn param(&self, name: &str) -> Value {
        let last = |list: &[(String, String)]| {
            list.iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let header = || {
            self.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        Value::str(
            last(&self.path)
                .or_else(|| last(&self.query))
                .or_else(header)
                .unwrap_or_default(),
        )
    }
}

impl Host for Input {
    fn property(&self, name: &str) -> Option<Value> {
        match name {
            "body" => Some(Value::str(self.body_text())),
            _ => None,
        }
    }

    fn call(&self, name: &str, args: &[Value]) -> Result<Option<Value>, String> {
        Ok(Some(match (name, args) {
            ("getBody", []) => Value::str(self.body_text()),
            ("json", [p]) => match self.select(&p.render())? {
                Some(v) => Value::str(v.to_string()),
                // [?] A path that finds nothing gives an empty string.
                None => Value::str(""),
            },
            ("path", [p]) => match self.select(&p.render())? {
                Some(v) => Value::from_json(&v),
                // A path that finds nothing compares equal to "" (docs/aws-behaviour.md §7).
                None => Value::str(""),
            },
            ("params", []) => self.params(),
            ("params", [n]) => self.param(&n.render()),
            _ => return Ok(None),
        }))
    }

    fn render(&self) -> String {
        "$input".into()
    }
}

/// Evaluate a JSONPath the way API Gateway's Jayway JsonPath does: a definite path (no
/// wildcard, deep scan, filter, slice or union) gives its one value, an indefinite one a list.
pub(super) fn json_path(
    doc: &serde_json::Value,
    path: &str,
) -> Result<Option<serde_json::Value>, String> {
    let query = serde_json_path::JsonPath::parse(path.trim())
        .map_err(|e| format!("`{path}` is not a JSONPath: {e}"))?;
    let nodes = query.query(doc);
    if is_definite(path) {
        Ok(nodes.first().cloned())
    } else {
        Ok(Some(serde_json::Value::Array(
            nodes.all().into_iter().cloned().collect(),
        )))
    }
}

/// A `method.request.body[.path]` / `integration.response.body[.path]` mapping value: the whole
/// body, or the JSONPath `$.path` in it (strings unquoted, anything else as JSON text).
pub(crate) fn body_value(body: &[u8], path: Option<&str>) -> Option<String> {
    let Some(path) = path else {
        return Some(String::from_utf8_lossy(body).into_owned());
    };
    let doc: serde_json::Value = serde_json::from_slice(body).ok()?;
    match json_path(&doc, &format!("$.{path}")).ok()?? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn is_definite(path: &str) -> bool {
    if path.contains("..") || path.contains('*') {
        return false;
    }
    let mut in_quote: Option<char> = None;
    let mut depth = 0;
    for c in path.chars() {
        match (in_quote, c) {
            (Some(q), c) if c == q => in_quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => in_quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') => depth -= 1,
            (None, '?' | ',' | ':') if depth > 0 => return false,
            _ => {}
        }
    }
    true
}

/// `$util`.
struct Util;

impl Host for Util {
    fn property(&self, _name: &str) -> Option<Value> {
        None
    }

    fn call(&self, name: &str, args: &[Value]) -> Result<Option<Value>, String> {
        let [arg] = args else {
            return Ok(None);
        };
        let s = arg.render();
        Ok(Some(match name {
            "escapeJavaScript" => Value::str(escape_javascript(&s)),
            "parseJson" => {
                let v: serde_json::Value = serde_json::from_str(&s)
                    .map_err(|e| format!("$util.parseJson: not JSON: {e}"))?;
                Value::from_json(&v)
            }
            // A missing value encodes to nothing, not "null" (aws-behaviour §7).
            "urlEncode" if arg.is_null() => Value::str(String::new()),
            "urlEncode" => Value::str(url_encode(&s)),
            "urlDecode" => Value::str(url_decode(&s)),
            "base64Encode" => Value::str(base64::engine::general_purpose::STANDARD.encode(s)),
            "base64Decode" => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(s.trim())
                    .map_err(|e| format!("$util.base64Decode: not base64: {e}"))?;
                Value::str(String::from_utf8_lossy(&bytes).into_owned())
            }
            _ => return Ok(None),
        }))
    }

    fn render(&self) -> String {
        "$util".into()
    }
}

/// Commons Lang's `escapeJavaScript`: quotes, backslash and `/` escaped, control characters
/// and everything outside ASCII as `\uXXXX`.
pub(super) fn escape_javascript(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for unit in s.encode_utf16() {
        match unit {
            0x22 => out.push_str("\\\""),
            0x27 => out.push_str("\\'"),
            0x5c => out.push_str("\\\\"),
            0x2f => out.push_str("\\/"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            0x0a => out.push_str("\\n"),
            0x0d => out.push_str("\\r"),
            0x09 => out.push_str("\\t"),
            u if !(0x20..=0x7e).contains(&u) => out.push_str(&format!("\\u{u:04X}")),
            u => out.push(char::from(u as u8)),
        }
    }
    out
}

/// `java.net.URLEncoder.encode(s, "UTF-8")`.
pub(super) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `java.net.URLDecoder.decode(s, "UTF-8")`.
pub(super) fn url_decode(s: &str) -> String {
    form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definite_paths() {
        assert!(is_definite("$.a.b[0]"));
        assert!(is_definite("$['a.b']"));
        assert!(!is_definite("$.a[*]"));
        assert!(!is_definite("$..a"));
        assert!(!is_definite("$.a[?(@.b > 1)]"));
        assert!(!is_definite("$.a[0,1]"));
        assert!(!is_definite("$.a[0:2]"));
    }

    /// A template of text alone renders as the full renderer would, without it; anything else
    /// (a reference, a directive, an escaped reference) still goes through the renderer.
    #[test]
    fn text_only_templates_render_as_written() {
        let text_only = [
            "",
            r#"{"statusCode": 200}"#,
            "line one\nline two ## a comment\n",
            "#* a block comment *#{\"ok\":true}",
            "#[[ $unparsed #if ]]# and after",
            "price: 5$ and 100%",
        ];
        for src in text_only {
            let t = Template::parse("t", src).expect("parses");
            let literal = t
                .literal()
                .unwrap_or_else(|| panic!("{src:?} is text alone"));
            let full = t
                .render(&mut Vars::new(), RenderOptions::API_GATEWAY)
                .expect("renders");
            assert_eq!(literal, full, "{src:?}");
        }
        for src in [
            "$input.body",
            "#set($a = 1)$a",
            "\\$x",
            "#if(true)yes#end",
            "${x}",
        ] {
            let t = Template::parse("t", src).expect("parses");
            assert_eq!(t.literal(), None, "{src:?} is not text alone");
        }
        let ctx = crate::context::test_request(http::Method::GET, "/x");
        let input = MappingInput {
            body: b"",
            path: &[],
            query: &[],
            headers: &Vec::new,
        };
        let t = Template::parse("t", r#"{"statusCode": 200}"#).expect("parses");
        let (text, overrides) = render(&t, &ctx, &input).expect("renders");
        assert_eq!(text, r#"{"statusCode": 200}"#);
        assert_eq!(overrides, ctx.overrides);
    }

    #[test]
    fn util_encodings() {
        assert_eq!(url_encode("a b&c/é"), "a+b%26c%2F%C3%A9");
        assert_eq!(url_decode("a+b%26c%2F%C3%A9"), "a b&c/é");
        assert_eq!(
            escape_javascript("it's \"x\"/\n é"),
            "it\\'s \\\"x\\\"\\/\\n \\u00E9"
        );
    }
}
