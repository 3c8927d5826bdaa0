//! The request path as routing sees it (aws-behaviour §2): leading doubled slashes collapsed, as
//! API Gateway routes `//stage/x` like `/stage/x`; dot segments removed (RFC 3986 §5.2.4), so
//! `/public/../admin` is routed as `/admin` and answers as the API's own `/admin` does. A
//! segment that only becomes a dot segment once percent-decoded (`%2e%2e`, `..%2f`) is refused
//! with 400: substituted into an integration URI, a backend that decodes and normalises paths
//! would climb out of the route (tollgate is stricter than AWS here, aws-behaviour §2 and §13).

use std::borrow::Cow;

use crate::error::GatewayError;

/// The path to route, or why it is refused.
pub(crate) fn normalize(raw: &str) -> Result<Cow<'_, str>, GatewayError> {
    // Most paths need nothing: no doubled leading slash, no dot segment, nothing encoded.
    if !raw.starts_with("//") && !raw.contains("/.") && !raw.contains('%') {
        return Ok(Cow::Borrowed(raw));
    }
    let collapsed = format!("/{}", raw.trim_start_matches('/'));
    let path = remove_dot_segments(&collapsed);
    if path.split('/').any(encoded_dot_segment) {
        return Err(GatewayError::BadRequest(format!(
            "the path {raw} has a segment that decodes to a dot segment"
        )));
    }
    Ok(Cow::Owned(path))
}

/// RFC 3986 §5.2.4 on an absolute path: `.` segments dropped, `..` removes the segment before
/// it (never above the root). A trailing dot segment leaves a trailing slash.
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path[1..].split('/').collect();
    let last = segments.len() - 1;
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            "." | ".." => {
                if *seg == ".." {
                    out.pop();
                }
                if i == last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    format!("/{}", out.join("/"))
}

/// A segment that decodes to a dot segment, or to a path with one (`..%2f`, `%2e%2e%5c`).
fn encoded_dot_segment(segment: &str) -> bool {
    if !segment.contains('%') {
        return false;
    }
    let decoded = percent_encoding::percent_decode_str(segment).collect::<Vec<u8>>();
    decoded
        .split(|b| *b == b'/' || *b == b'\\')
        .any(|piece| piece == b"." || piece == b"..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_see_normalised_paths() {
        for (raw, want) in [
            ("/pets", "/pets"),
            ("//stage/proxy-value", "/stage/proxy-value"),
            ("///x", "/x"),
            ("/a/../b", "/b"),
            ("/a/./b", "/a/b"),
            ("/../../b", "/b"),
            ("/a/b/..", "/a/"),
            ("/a/b/.", "/a/b/"),
            ("/a/..b/c", "/a/..b/c"),
            ("/files/a%20b", "/files/a%20b"),
            ("/files/a%2Fb", "/files/a%2Fb"),
            ("/a/.hidden", "/a/.hidden"),
        ] {
            assert_eq!(normalize(raw).expect(raw), want, "{raw}");
        }
    }

    #[test]
    fn encoded_dot_segments_are_refused() {
        for raw in [
            "/public/%2e%2e/admin",
            "/public/%2E%2E/admin",
            "/public/.%2e/admin",
            "/public/..%2Fadmin",
            "/public/%2e%2e%2fadmin",
            "/public/x%2F..%2Fadmin",
            "/public/%2e",
            "/public/..%5cadmin",
        ] {
            assert!(
                matches!(normalize(raw), Err(GatewayError::BadRequest(_))),
                "{raw}"
            );
        }
    }
}
