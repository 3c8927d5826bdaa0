//! Integration URIs: `{name}` and `${stageVariables.name}` placeholders.

use crate::context::RequestContext;

/// Fill `{name}` and `${stageVariables.name}` placeholders.
pub(super) fn fill_uri(
    template: &str,
    ctx: &RequestContext,
    path_value: &dyn Fn(&str) -> Option<String>,
) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find(['{', '$']) {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        if let Some(after) = tail.strip_prefix("${stageVariables.") {
            if let Some(end) = after.find('}') {
                out.push_str(
                    ctx.stage_variables
                        .get(&after[..end])
                        .map(String::as_str)
                        .unwrap_or(""),
                );
                rest = &after[end + 1..];
                continue;
            }
        } else if let Some(after) = tail.strip_prefix('{') {
            if let Some(end) = after.find('}') {
                let name = after[..end].trim_end_matches('+');
                out.push_str(&path_value(name).unwrap_or_default());
                rest = &after[end + 1..];
                continue;
            }
        }
        out.push_str(&tail[..1]);
        rest = &tail[1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::ConnInfo;
    use http::HeaderMap;

    #[test]
    fn uri_placeholders() {
        let conn = ConnInfo {
            remote: "127.0.0.1:1".parse().expect("addr"),
            local: "127.0.0.1:2".parse().expect("addr"),
            tls: false,
        };
        let mut ctx = RequestContext::new(&http::Method::GET, "/", &HeaderMap::new(), conn);
        std::sync::Arc::make_mut(&mut ctx.stage_variables)
            .insert("host".into(), "127.0.0.1:9000".into());
        let pv = |n: &str| (n == "proxy").then(|| "a//b".to_string());
        assert_eq!(
            fill_uri(
                "http://${stageVariables.host}/x/{proxy}?k={none}",
                &ctx,
                &pv
            ),
            "http://127.0.0.1:9000/x/a//b?k="
        );
        assert_eq!(fill_uri("http://h/$x{", &ctx, &pv), "http://h/$x{");
    }
}
