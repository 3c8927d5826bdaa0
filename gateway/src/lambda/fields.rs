//! The top-level fields of a Lambda proxy answer, each kept as the JSON it holds, read without
//! building the object around them: that object was a map and a string per key on every
//! invocation (docs/benchmarks.md, "Events without a JSON tree").

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::responses::{malformed, ResponseError};

/// Which answer is read: the fields each payload format knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Payload {
    /// REST and HTTP API 1.0: `statusCode`, `headers`, `multiValueHeaders`, `body`,
    /// `isBase64Encoded`.
    Rest,
    /// HTTP API 2.0: `statusCode`, `headers`, `cookies`, `body`, `isBase64Encoded`.
    HttpV2,
}

/// An answer's fields. A repeated key keeps its last value, as in a parsed object.
#[derive(Debug, Default)]
pub(crate) struct ProxyFields {
    pub status_code: Option<Value>,
    pub headers: Option<Value>,
    pub multi_value_headers: Option<Value>,
    pub cookies: Option<Value>,
    pub body: Option<Value>,
    pub is_base64_encoded: Option<Value>,
    /// The first key the payload format does not know, in the answer's order (REST rejects it).
    pub unknown: Option<String>,
}

impl ProxyFields {
    /// The fields of an answer that is a JSON object; `None` for any other JSON value. An empty
    /// answer or one that is not JSON is malformed.
    pub(crate) fn read(payload: &[u8], format: Payload) -> Result<Option<Self>, ResponseError> {
        let not_json = |e: serde_json::Error| malformed(format!("not JSON: {e}"));
        match payload.iter().find(|b| !b.is_ascii_whitespace()) {
            None => Err(malformed("the function returned nothing")),
            Some(b'{') => {
                let mut de = serde_json::Deserializer::from_slice(payload);
                let fields = FieldsSeed(format).deserialize(&mut de).map_err(not_json)?;
                de.end().map_err(not_json)?;
                Ok(Some(fields))
            }
            // Not an object: still say whether it is JSON at all.
            Some(_) => serde_json::from_slice::<IgnoredAny>(payload)
                .map(|_| None)
                .map_err(not_json),
        }
    }
}

/// A key, matched while it is read, so that a known one costs no string.
enum Key {
    StatusCode,
    Headers,
    MultiValueHeaders,
    Cookies,
    Body,
    IsBase64Encoded,
    Other(String),
}

impl Key {
    /// The key as the answer spelled it.
    fn into_name(self) -> String {
        match self {
            Key::StatusCode => "statusCode".into(),
            Key::Headers => "headers".into(),
            Key::MultiValueHeaders => "multiValueHeaders".into(),
            Key::Cookies => "cookies".into(),
            Key::Body => "body".into(),
            Key::IsBase64Encoded => "isBase64Encoded".into(),
            Key::Other(k) => k,
        }
    }

    fn of(k: &str) -> Key {
        match k {
            "statusCode" => Key::StatusCode,
            "headers" => Key::Headers,
            "multiValueHeaders" => Key::MultiValueHeaders,
            "cookies" => Key::Cookies,
            "body" => Key::Body,
            "isBase64Encoded" => Key::IsBase64Encoded,
            other => Key::Other(other.to_string()),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Key {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: serde::de::Error>(self, k: &str) -> Result<Key, E> {
                Ok(Key::of(k))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

struct FieldsSeed(Payload);

impl<'de> DeserializeSeed<'de> for FieldsSeed {
    type Value = ProxyFields;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<ProxyFields, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FieldsSeed {
    type Value = ProxyFields;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ProxyFields, A::Error> {
        let rest = self.0 == Payload::Rest;
        let mut f = ProxyFields::default();
        while let Some(key) = map.next_key::<Key>()? {
            let slot = match key {
                Key::StatusCode => &mut f.status_code,
                Key::Headers => &mut f.headers,
                Key::MultiValueHeaders if rest => &mut f.multi_value_headers,
                Key::Cookies if !rest => &mut f.cookies,
                Key::Body => &mut f.body,
                Key::IsBase64Encoded => &mut f.is_base64_encoded,
                other => {
                    if f.unknown.is_none() {
                        f.unknown = Some(other.into_name());
                    }
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = Some(map.next_value()?);
        }
        Ok(f)
    }
}
