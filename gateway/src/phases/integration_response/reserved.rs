//! Headers API Gateway will not pass as they are on the way back to the client (aws-behaviour
//! §9): renamed to `x-amzn-Remapped-<name>`, or dropped. Which ones depends on the integration.

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

/// Apply the renames and drops for headers that came from `kind`'s backend or mappings.
pub(super) fn apply(headers: HeaderMap, kind: &IntegrationKind) -> HeaderMap {
    let (remapped, dropped): (&[&[&str]], &[&str]) = match kind {
        IntegrationKind::HttpProxy => (&[HTTP_PROXY_REMAPPED], HTTP_PROXY_DROPPED),
        IntegrationKind::LambdaProxy(_) | IntegrationKind::Mock => {
            (&[ALWAYS_REMAPPED], &["transfer-encoding"])
        }
        _ => (&[ALWAYS_REMAPPED, BACKEND_REMAPPED], &["transfer-encoding"]),
    };
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
            if let Ok(rn) = HeaderName::from_bytes(format!("x-amzn-Remapped-{s}").as_bytes()) {
                out.append(rn, value);
            }
            continue;
        }
        out.append(n.clone(), value);
    }
    out
}
