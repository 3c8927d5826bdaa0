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

/// A field either payload format knows.
#[derive(Clone, Copy)]
enum Field {
    StatusCode,
    Headers,
    MultiValueHeaders,
    Cookies,
    Body,
    IsBase64Encoded,
}

/// Every field either payload format knows, by the name an answer gives it.
const FIELDS: [(&str, Field); 6] = [
    ("statusCode", Field::StatusCode),
    ("headers", Field::Headers),
    ("multiValueHeaders", Field::MultiValueHeaders),
    ("cookies", Field::Cookies),
    ("body", Field::Body),
    ("isBase64Encoded", Field::IsBase64Encoded),
];

/// A key, matched while it is read, so that a known one costs no string.
enum Key {
    Known(Field, &'static str),
    Other(String),
}

impl Key {
    fn of(k: &str) -> Key {
        match FIELDS.iter().find(|(name, _)| *name == k) {
            Some(&(name, field)) => Key::Known(field, name),
            None => Key::Other(k.to_string()),
        }
    }

    /// The key as the answer spelled it.
    fn into_name(self) -> String {
        match self {
            Key::Known(_, name) => name.to_string(),
            Key::Other(k) => k,
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
                Key::Known(Field::StatusCode, _) => &mut f.status_code,
                Key::Known(Field::Headers, _) => &mut f.headers,
                Key::Known(Field::MultiValueHeaders, _) if rest => &mut f.multi_value_headers,
                Key::Known(Field::Cookies, _) if !rest => &mut f.cookies,
                Key::Known(Field::Body, _) => &mut f.body,
                Key::Known(Field::IsBase64Encoded, _) => &mut f.is_base64_encoded,
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
