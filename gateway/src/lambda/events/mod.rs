//! The events a Lambda proxy integration sends: REST payload 1.0, HTTP API 1.0 and 2.0, field
//! for field as aws-behaviour §3 records them.
//!
//! An event borrows the request it describes and serializes itself straight into the bytes the
//! function receives: no `serde_json::Value` tree is built per invocation (that tree was about a
//! hundred allocations of a Lambda request; docs/benchmarks.md). Keys keep the order tollgate's
//! events have always had (`gateway/src/lambda/golden`, written by the code before). The events
//! are not `aws_lambda_events` structs because AWS's exact shape needs what those types cannot
//! express (`null` for absent maps, fields omitted in 2.0 events); the tests deserialize every
//! event into the `aws_lambda_events` types that `lambda_http` functions read, so the two stay
//! compatible.

mod http_v2;
mod json;
mod objects;
mod rest;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

use base64::Engine;
use bytes::Bytes;
use http::HeaderMap;

use crate::context::RequestContext;
use crate::request::MethodRequest;
use json::JsonWriter;

pub(crate) use http_v2::http_v2_event;
pub(crate) use rest::rest_event;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Request headers API Gateway drops before a Lambda integration (aws-behaviour §3a).
const DROPPED_REQUEST_HEADERS: &[&str] = &[
    "connection",
    "content-length",
    "content-md5",
    "expect",
    "max-forwards",
    "proxy-authenticate",
    "server",
    "te",
    "transfer-encoding",
    "trailer",
    "upgrade",
    "www-authenticate",
];

/// An event that writes its own JSON text.
pub(crate) trait Event {
    fn write(&self, w: &mut JsonWriter) -> Result<(), serde_json::Error>;
}

/// An event's JSON text, as the function receives it. Writing one does not fail in practice
/// (the values serde_json writes are JSON already); should it, the error is passed on.
pub(crate) fn to_bytes(event: &impl Event) -> Result<Bytes, serde_json::Error> {
    let mut w = JsonWriter::new();
    event.write(&mut w)?;
    Ok(Bytes::from(w.into_bytes()))
}

/// An event as a JSON value, for the places that change it before it is sent (a Lambda
/// authorizer's event) or show it (`tollgate generate-event`).
pub(crate) fn to_value(event: &impl Event) -> Result<serde_json::Value, serde_json::Error> {
    serde_json::from_slice(&to_bytes(event)?)
}

/// A header or query parameter as an event carries it.
pub(super) type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

pub(super) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The request headers the integration sees: the client's, less the dropped ones, plus the
/// `X-Forwarded-*` and trace headers every endpoint adds. Names as the client spelled them, or
/// lowercased (`lower`, for HTTP API events).
pub(super) fn integration_headers<'a>(
    ctx: &'a RequestContext,
    req: &'a MethodRequest,
    lower: bool,
) -> Vec<Pair<'a>> {
    let mut out: Vec<Pair<'a>> = Vec::with_capacity(req.headers.len() + 4);
    for (name, value) in req.headers.iter() {
        if DROPPED_REQUEST_HEADERS.contains(&name.as_str()) {
            continue;
        }
        if let Ok(v) = value.to_str() {
            // `HeaderMap` holds names lowercased.
            let name = if lower {
                name.as_str()
            } else {
                req.header_case.spelled(name.as_str())
            };
            out.push((Cow::Borrowed(name), Cow::Borrowed(v)));
        }
    }
    // Each added header in both spellings, so neither is made per request.
    let mut set = |(name, lowercase): (&'static str, &'static str), value: Cow<'a, str>| {
        out.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        out.push((Cow::Borrowed(if lower { lowercase } else { name }), value));
    };
    let xff = match header_str(&req.headers, "x-forwarded-for") {
        Some(prev) => Cow::Owned(format!("{prev}, {}", ctx.source_ip)),
        None => Cow::Borrowed(ctx.source_ip.as_str()),
    };
    set(("X-Forwarded-For", "x-forwarded-for"), xff);
    set(
        ("X-Forwarded-Port", "x-forwarded-port"),
        Cow::Owned(ctx.conn.local.port().to_string()),
    );
    set(
        ("X-Forwarded-Proto", "x-forwarded-proto"),
        Cow::Borrowed(if ctx.conn.tls { "https" } else { "http" }),
    );
    if header_str(&req.headers, "x-amzn-trace-id").is_none() {
        set(
            ("X-Amzn-Trace-Id", "x-amzn-trace-id"),
            Cow::Borrowed(ctx.trace_id.as_str()),
        );
    }
    out
}

/// The request body as the event carries it.
pub(super) enum EventBody<'a> {
    Absent,
    Text(&'a str),
    Base64(String),
}

impl<'a> EventBody<'a> {
    pub(super) fn new(body: &'a Bytes, base64: bool) -> Self {
        if body.is_empty() {
            return EventBody::Absent;
        }
        if base64 {
            return EventBody::Base64(B64.encode(body));
        }
        match std::str::from_utf8(body) {
            Ok(s) => EventBody::Text(s),
            // Not text after all: base64 is the only lossless way to hand it on.
            Err(_) => EventBody::Base64(B64.encode(body)),
        }
    }

    pub(super) fn text(&self) -> Option<&str> {
        match self {
            EventBody::Absent => None,
            EventBody::Text(s) => Some(s),
            EventBody::Base64(s) => Some(s),
        }
    }

    pub(super) fn is_base64(&self) -> bool {
        matches!(self, EventBody::Base64(_))
    }
}
