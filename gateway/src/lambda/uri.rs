//! Function names in Lambda integration URIs.

use regex::Regex;

/// The function named by a Lambda invocation URI: the name in a plain function ARN, or else the
/// path segment between `/functions/` and `/invocations` (as SAM CLI reads them).
pub(crate) fn function_from_uri(uri: &str) -> Option<String> {
    static ARN: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    static FALLBACK: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let arn = ARN.get_or_init(|| {
        Regex::new(r"arn:aws[a-z-]*:lambda:[^:]+:[^:]+:function:([^:/]+)(?::[^/]+)?")
            .expect("static regex")
    });
    if let Some(c) = arn.captures(uri) {
        return Some(c[1].to_string());
    }
    let fallback = FALLBACK
        .get_or_init(|| Regex::new(r"/functions/([^/]+)/invocations").expect("static regex"));
    fallback.captures(uri).map(|c| c[1].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_from_uris() {
        assert_eq!(
            function_from_uri("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:Hello/invocations").as_deref(),
            Some("Hello")
        );
        assert_eq!(
            function_from_uri("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:Hello:live/invocations").as_deref(),
            Some("Hello")
        );
        assert_eq!(
            function_from_uri(
                "arn:aws:apigateway:r:lambda:path/2015-03-31/functions/Plain/invocations"
            )
            .as_deref(),
            Some("Plain")
        );
    }
}
