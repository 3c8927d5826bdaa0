//! Identifiers in API Gateway's shapes: request ids, extended request ids, X-Ray and W3C trace
//! ids, and the stable API ids tollgate derives from names.

use std::cell::Cell;

use base64::Engine;
use http::HeaderName;

// Names made once: a `&str` name is parsed and checked again on every lookup, which showed in
// the per-request profile (docs/benchmarks.md, "Ids without the formatting machinery").
const X_AMZN_REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");
const X_AMZN_TRACE_ID: HeaderName = HeaderName::from_static("x-amzn-trace-id");
const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// 16 random bytes from a per-thread generator (wyrand) seeded once from the operating system:
/// request and trace ids need to be unique and unguessable in practice, not cryptographic, and
/// a system call per id showed in the profile (docs/benchmarks.md).
fn random_bytes() -> [u8; 16] {
    thread_local! {
        static STATE: Cell<u64> = Cell::new(u64::from_le_bytes(
            uuid::Uuid::new_v4().as_bytes()[..8].try_into().unwrap_or([7; 8]),
        ));
    }
    STATE.with(|state| {
        let next = || {
            let s = state.get().wrapping_add(0xa076_1d64_78bd_642f);
            state.set(s);
            let t = u128::from(s) * u128::from(s ^ 0xe703_7ed1_a0b4_28db);
            ((t >> 64) as u64) ^ (t as u64)
        };
        let (a, b) = (next(), next());
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&a.to_le_bytes());
        out[8..].copy_from_slice(&b.to_le_bytes());
        out
    })
}

/// A version 4 UUID from [`random_bytes`].
fn uuid_v4() -> uuid::Uuid {
    uuid::Builder::from_random_bytes(random_bytes()).into_uuid()
}

/// `u` as lowercase hyphenated text, encoded directly rather than through `Display`.
fn hyphenated(u: uuid::Uuid) -> String {
    let mut buf = uuid::Uuid::encode_buffer();
    u.hyphenated().encode_lower(&mut buf).to_owned()
}

/// `v` in lowercase hex, at least `width` digits (as `{:0width$x}`).
fn push_hex(out: &mut String, v: u64, width: usize) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let len = (v.checked_ilog2().unwrap_or(0) as usize / 4 + 1).max(width);
    for i in (0..len).rev() {
        let nibble = if i < 16 { (v >> (4 * i)) & 0xf } else { 0 };
        out.push(char::from(DIGITS[nibble as usize]));
    }
}

/// A new request id (a version 4 UUID, hyphenated) without a system call: for ids made per call,
/// such as a Lambda invocation's. Not for secrets (API key values), which need the system's
/// generator.
pub fn new_request_id() -> String {
    hyphenated(uuid_v4())
}

/// The request id: a client's own UUID in `x-amzn-RequestId` is kept (aws-behaviour §3a),
/// otherwise a new one.
pub(crate) fn request_id(headers: &http::HeaderMap) -> String {
    headers
        .get(X_AMZN_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| uuid::Uuid::parse_str(v).ok())
        .map(hyphenated)
        .unwrap_or_else(new_request_id)
}

/// `extendedRequestId` / `x-amz-apigw-id`: 16 characters ending in `=`, i.e. 11 random bytes in
/// base64 (aws-behaviour §3a).
pub(crate) fn extended_request_id() -> String {
    base64::engine::general_purpose::STANDARD.encode(&random_bytes()[..11])
}

/// The X-Ray trace header sent on to integrations: a caller's `X-Amzn-Trace-Id` continues its
/// trace (its Root, and Sampled if given); otherwise the request starts one.
pub(crate) fn xray_trace_id(headers: &http::HeaderMap, epoch_ms: i64) -> String {
    headers
        .get(X_AMZN_TRACE_ID)
        .and_then(|v| v.to_str().ok())
        .and_then(incoming_trace)
        .unwrap_or_else(|| {
            let mut hex = uuid::Uuid::encode_buffer();
            let hex = uuid_v4().simple().encode_lower(&mut hex);
            let mut id = String::with_capacity(40);
            id.push_str("Root=1-");
            push_hex(&mut id, u64::try_from(epoch_ms / 1000).unwrap_or(0), 8);
            id.push('-');
            id.push_str(&hex[..24]);
            id
        })
}

/// `Root=1-{8 hex}-{24 hex}` (and `Sampled=0|1`) from an incoming `X-Amzn-Trace-Id`.
fn incoming_trace(v: &str) -> Option<String> {
    let mut root = None;
    let mut sampled = None;
    for part in v.split(';') {
        let (k, val) = part.trim().split_once('=')?;
        match k {
            "Root" => {
                let ok = val.len() == 35
                    && val.starts_with("1-")
                    && val.as_bytes()[10] == b'-'
                    && val[2..10].bytes().all(|b| b.is_ascii_hexdigit())
                    && val[11..].bytes().all(|b| b.is_ascii_hexdigit());
                if !ok {
                    return None;
                }
                root = Some(val);
            }
            "Sampled" if val == "0" || val == "1" => sampled = Some(val),
            _ => {}
        }
    }
    let root = root?;
    Some(match sampled {
        Some(s) => format!("Root={root};Sampled={s}"),
        None => format!("Root={root}"),
    })
}

/// `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`, neither id all zeros:
/// (trace id, parent id, flags).
pub(crate) fn parse_traceparent(v: &str) -> Option<(String, String, String)> {
    let parts: Vec<&str> = v.trim().split('-').collect();
    let [version, trace, parent, flags] = parts.as_slice() else {
        return None;
    };
    let hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    if !hex(version, 2) || *version == "ff" || !hex(trace, 32) || !hex(parent, 16) || !hex(flags, 2)
    {
        return None;
    }
    if trace.bytes().all(|b| b == b'0') || parent.bytes().all(|b| b == b'0') {
        return None;
    }
    Some((trace.to_string(), parent.to_string(), flags.to_string()))
}

/// The request headers a trace identity is made from, kept (a cheap clone of each value) so
/// that the identity is made only when something reads it: a MOCK route without exported
/// traces never does.
#[derive(Debug, Clone, Default)]
pub(crate) struct TraceSources {
    traceparent: Option<http::HeaderValue>,
    xray: Option<http::HeaderValue>,
}

/// A kept header's value as text, when it is text.
fn text(v: &Option<http::HeaderValue>) -> Option<&str> {
    v.as_ref().and_then(|v| v.to_str().ok())
}

impl TraceSources {
    pub(crate) fn of(headers: &http::HeaderMap) -> TraceSources {
        TraceSources {
            traceparent: headers.get(TRACEPARENT).cloned(),
            xray: headers.get(X_AMZN_TRACE_ID).cloned(),
        }
    }
}

/// The W3C/OpenTelemetry identity of a request's trace: the trace it belongs to, the caller's
/// span (if it sent one) and the gateway's own span for this hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceIds {
    /// 32 lowercase hex digits.
    pub trace_id: String,
    /// 16 hex digits: the incoming `traceparent`'s parent id or X-Ray's `Parent=`.
    pub parent_span_id: Option<String>,
    /// 16 hex digits: the gateway's span, sent onwards as the parent of the integration's.
    pub span_id: String,
    /// The caller's sampling decision (`traceparent` flags, X-Ray `Sampled=`), if it made one.
    pub sampled: Option<bool>,
}

impl TraceIds {
    /// Continue an incoming `traceparent`, else the X-Ray trace (`Root=1-{8}-{24}` is the same
    /// 128 bits, as X-Ray's OpenTelemetry mapping has it), else start one.
    pub(crate) fn from_sources(sources: &TraceSources, xray_root: &str) -> TraceIds {
        let mut hex = uuid::Uuid::encode_buffer();
        let span_id = uuid_v4().simple().encode_lower(&mut hex)[..16].to_string();
        let w3c = text(&sources.traceparent).and_then(parse_traceparent);
        if let Some((trace_id, parent, flags)) = w3c {
            let sampled = u8::from_str_radix(&flags, 16).map(|f| f & 1 == 1).ok();
            return TraceIds {
                trace_id,
                parent_span_id: Some(parent),
                span_id,
                sampled,
            };
        }
        let root = xray_root
            .split(';')
            .find_map(|p| p.strip_prefix("Root=1-"))
            .unwrap_or_default();
        let mut trace_id: String = root.split('-').collect();
        trace_id.make_ascii_lowercase();
        if trace_id.len() != 32 {
            trace_id = uuid_v4().simple().to_string();
        }
        let xray = text(&sources.xray);
        let parent_span_id = xray.and_then(|v| {
            v.split(';')
                .find_map(|p| p.trim().strip_prefix("Parent="))
                .filter(|p| p.len() == 16 && p.bytes().all(|b| b.is_ascii_hexdigit()))
                .map(str::to_ascii_lowercase)
        });
        let sampled = xray.and_then(|v| {
            v.split(';').find_map(|p| match p.trim() {
                "Sampled=1" => Some(true),
                "Sampled=0" => Some(false),
                _ => None,
            })
        });
        TraceIds {
            trace_id,
            parent_span_id,
            span_id,
            sampled,
        }
    }
}

/// API Gateway ids are 10 lowercase alphanumerics; derive one from the name so it is stable
/// across restarts (FNV-1a, then base 36).
pub(crate) fn api_id_for(name: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in name.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..10)
        .map(|_| {
            let c = ALPHABET[(h % 36) as usize] as char;
            h /= 36;
            if h == 0 {
                h = 0x9e3779b97f4a7c15;
            }
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fresh ids are version 4 UUIDs and do not repeat, within a thread or across threads (each
    /// thread's generator has its own seed).
    #[test]
    fn new_request_ids_are_v4_uuids_and_distinct() {
        let ids: Vec<String> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..4)
                .map(|_| s.spawn(|| (0..5_000).map(|_| new_request_id()).collect::<Vec<_>>()))
                .collect();
            threads
                .into_iter()
                .flat_map(|t| t.join().expect("thread"))
                .collect()
        });
        for id in &ids {
            let u = uuid::Uuid::parse_str(id).expect("a UUID");
            assert_eq!(u.get_version_num(), 4, "{id}");
            assert_eq!(id, &u.hyphenated().to_string());
        }
        let distinct: std::collections::HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
    }

    /// Hex as `{:0width$x}` writes it; generated X-Ray ids keep their shape.
    #[test]
    fn hex_and_xray_ids_are_shaped() {
        for (v, width) in [
            (0u64, 8),
            (0x1a2b, 8),
            (0x6b0e_eb72, 8),
            (0x1_0000_0000, 8),
            (u64::MAX, 8),
            (5, 1),
        ] {
            let mut text = String::new();
            push_hex(&mut text, v, width);
            assert_eq!(text, format!("{v:0width$x}"));
        }
        let id = xray_trace_id(&http::HeaderMap::new(), 1_796_139_890_857);
        let root = id
            .strip_prefix("Root=1-6b0eeb72-")
            .expect("time in seconds, as hex");
        assert_eq!(root.len(), 24);
        assert!(root
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }

    #[test]
    fn incoming_trace_ids_continue() {
        assert_eq!(
            incoming_trace(
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
            )
            .as_deref(),
            Some("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
        );
        assert_eq!(incoming_trace("Root=1-xyz"), None);
        assert_eq!(incoming_trace("garbage"), None);
    }

    #[test]
    fn api_ids_are_stable_and_shaped() {
        let a = api_id_for("OrdersApi");
        assert_eq!(a, api_id_for("OrdersApi"));
        assert_eq!(a.len(), 10);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        assert_ne!(a, api_id_for("OtherApi"));
    }
}
