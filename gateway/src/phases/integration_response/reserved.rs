//! Headers API Gateway will not pass as they are on the way back to the client (aws-behaviour
//! §9): renamed to `x-amzn-Remapped-<name>`, or dropped. Which ones depends on the integration.

use std::sync::LazyLock;

use http::{HeaderMap, HeaderName};

use crate::phases::handoff::IntegrationKind;

/// Renamed on every integration (LocalStack's model of AWS's known-issues table).
const ALWAYS_REMAPPED: &[&str] = &["connection", "content-length", "date", "server"];

/// Renamed as well from HTTP backends and non-proxy Lambda integrations.
const BACKEND_REMAPPED: &[&str] = &[
    "authorization",
    "content-md5",
    "expect",
    "host",
    "max-forwards",
    "proxy-authenticate",
    "trailer",
    "upgrade",
    "user-agent",
    "www-authenticate",
];

/// Renamed from an HTTP_PROXY backend's answer.
const HTTP_PROXY_REMAPPED: &[&str] = &[
    "authorization",
    "connection",
    "content-length",
    "content-md5",
    "date",
    "max-forwards",
    "server",
    "user-agent",
    "www-authenticate",
];

/// Dropped from an HTTP_PROXY backend's answer (hop-by-hop headers too).
const HTTP_PROXY_DROPPED: &[&str] = &[
    "expect",
    "host",
    "keep-alive",
    "proxy-authenticate",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "via",
];

/// `x-amzn-Remapped-<name>` for every name a list above renames, made once from the lists (a
/// `format!` and a parse per renamed header showed in the per-request count).
static REMAPPED_NAMES: LazyLock<Vec<(&'static str, HeaderName)>> = LazyLock::new(|| {
    ALWAYS_REMAPPED
        .iter()
        .chain(BACKEND_REMAPPED)
        .chain(HTTP_PROXY_REMAPPED)
        .filter_map(|&n| {
            let remapped = HeaderName::from_bytes(format!("x-amzn-Remapped-{n}").as_bytes());
            remapped.ok().map(|r| (n, r))
        })
        .collect()
});

fn remapped_name(name: &str) -> Option<HeaderName> {
    REMAPPED_NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, remapped)| remapped.clone())
}

/// Apply the renames and drops for headers that came from `kind`'s backend or mappings.
pub(super) fn apply(headers: HeaderMap, kind: &IntegrationKind) -> HeaderMap {
    let (remapped, dropped): (&[&[&str]], &[&str]) = match kind {
        IntegrationKind::HttpProxy => (&[HTTP_PROXY_REMAPPED], HTTP_PROXY_DROPPED),
        IntegrationKind::LambdaProxy(_) | IntegrationKind::Mock => {
            (&[ALWAYS_REMAPPED], &["transfer-encoding"])
        }
        _ => (&[ALWAYS_REMAPPED, BACKEND_REMAPPED], &["transfer-encoding"]),
    };
    let touched = |s: &str| dropped.contains(&s) || remapped.iter().any(|list| list.contains(&s));
    // Most answers of MOCK and Lambda integrations carry none of these: keep their map.
    if !headers.keys().any(|n| touched(n.as_str())) {
        return headers;
    }
    let mut out = HeaderMap::with_capacity(headers.len());
    let mut name = None;
    for (n, value) in headers {
        // HeaderMap's iterator names only the first of several values of one header.
        if let Some(n) = n {
            name = Some(n);
        }
        let Some(n) = &name else { continue };
        let s = n.as_str();
        if dropped.contains(&s) {
            continue;
        }
        if remapped.iter().any(|list| list.contains(&s)) {
            if let Some(rn) = remapped_name(s) {
                out.append(rn, value);
            }
            continue;
        }
        out.append(n.clone(), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_renamed_header_has_its_remapped_name() {
        for name in ALWAYS_REMAPPED
            .iter()
            .chain(BACKEND_REMAPPED)
            .chain(HTTP_PROXY_REMAPPED)
        {
            let expected = HeaderName::from_bytes(format!("x-amzn-Remapped-{name}").as_bytes())
                .expect("a valid name");
            assert_eq!(remapped_name(name), Some(expected), "{name}");
        }
        assert_eq!(remapped_name("content-type"), None);
    }

    #[test]
    fn an_http_proxy_answer_keeps_its_own_headers_and_renames_the_reserved_ones() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "date",
            "Tue, 01 Dec 2026 00:00:00 GMT".parse().expect("value"),
        );
        headers.insert("server", "nginx".parse().expect("value"));
        headers.append("x-custom", "a".parse().expect("value"));
        headers.append("x-custom", "b".parse().expect("value"));
        headers.insert("transfer-encoding", "chunked".parse().expect("value"));
        let out = apply(headers, &IntegrationKind::HttpProxy);
        assert_eq!(out["x-amzn-Remapped-date"], "Tue, 01 Dec 2026 00:00:00 GMT");
        assert_eq!(out["x-amzn-Remapped-server"], "nginx");
        assert_eq!(out.get_all("x-custom").iter().count(), 2);
        assert!(!out.contains_key("date") && !out.contains_key("transfer-encoding"));

        // Nothing reserved: the same headers come back.
        let mut plain = HeaderMap::new();
        plain.insert("content-type", "application/json".parse().expect("value"));
        plain.append("x-custom", "a".parse().expect("value"));
        plain.append("x-custom", "b".parse().expect("value"));
        assert_eq!(apply(plain.clone(), &IntegrationKind::Mock), plain);
        // A reserved name for MOCK is renamed there too.
        plain.insert("server", "mine".parse().expect("value"));
        let out = apply(plain, &IntegrationKind::Mock);
        assert_eq!(out["x-amzn-Remapped-server"], "mine");
        assert_eq!(out.get_all("x-custom").iter().count(), 2);
    }
}
