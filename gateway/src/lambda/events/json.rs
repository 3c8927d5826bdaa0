//! JSON text written straight into bytes, for events.
//!
//! serde_json's serializer sends every key and every string through its general escaping path,
//! three writes apiece; with about eighty strings in a REST event, that was a fifth of the
//! instructions tollgate's process spent on a Lambda request (docs/benchmarks.md, "Instructions
//! per request over sockets"). Events hold only objects, arrays, strings, integers, booleans and
//! null of their own; the `serde_json::Value`s they carry (authorizer context, claims, a client
//! certificate) are still written by serde_json. Strings are escaped exactly as serde_json
//! escapes them, so the text is the same byte for byte.

use serde::Serialize;

/// An object's key known when tollgate is built, written with its quotes and colon in one go
/// (such keys are plain names with nothing to escape).
macro_rules! key {
    ($w:expr, $name:literal) => {
        $w.quoted_key(concat!("\"", $name, "\":"))
    };
}
pub(super) use key;

pub(crate) struct JsonWriter {
    out: Vec<u8>,
    /// Nothing written yet in the object or array being written: no comma before the next key
    /// or element.
    first: bool,
}

impl JsonWriter {
    pub(super) fn new() -> JsonWriter {
        // Room for a typical event, so the buffer rarely grows while it is written.
        JsonWriter {
            out: Vec::with_capacity(2048),
            first: true,
        }
    }

    pub(super) fn into_bytes(self) -> Vec<u8> {
        self.out
    }

    fn comma(&mut self) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
    }

    fn open(&mut self, bracket: u8) {
        self.out.push(bracket);
        self.first = true;
    }

    fn close(&mut self, bracket: u8) {
        self.out.push(bracket);
        self.first = false;
    }

    pub(super) fn begin_object(&mut self) {
        self.open(b'{');
    }

    pub(super) fn end_object(&mut self) {
        self.close(b'}');
    }

    pub(super) fn begin_array(&mut self) {
        self.open(b'[');
    }

    pub(super) fn end_array(&mut self) {
        self.close(b']');
    }

    /// An object's key; its value is written next.
    pub(super) fn key(&mut self, name: &str) {
        self.comma();
        self.string(name);
        self.out.push(b':');
    }

    /// A key already quoted and followed by its colon ([`key!`]).
    pub(super) fn quoted_key(&mut self, quoted: &'static str) {
        self.comma();
        self.out.extend_from_slice(quoted.as_bytes());
    }

    /// An array's next element; its value is written next.
    pub(super) fn element(&mut self) {
        self.comma();
    }

    pub(super) fn string(&mut self, text: &str) {
        self.out.push(b'"');
        self.escaped(text.as_bytes());
        self.out.push(b'"');
    }

    pub(super) fn string_or_null(&mut self, text: Option<&str>) {
        match text {
            Some(t) => self.string(t),
            None => self.null(),
        }
    }

    pub(super) fn null(&mut self) {
        self.out.extend_from_slice(b"null");
    }

    pub(super) fn bool(&mut self, b: bool) {
        self.out
            .extend_from_slice(if b { b"true" as &[u8] } else { b"false" });
    }

    pub(super) fn int(&mut self, n: i64) {
        if n < 0 {
            self.out.push(b'-');
        }
        let mut buf = [0u8; 20];
        self.out
            .extend_from_slice(crate::digits::decimal(n.unsigned_abs(), &mut buf));
    }

    /// Anything else, written by serde_json (authorizer context values, claims, a certificate).
    pub(super) fn serialized<T: Serialize + ?Sized>(
        &mut self,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        serde_json::to_writer(&mut self.out, value)
    }

    /// `bytes` (UTF-8) with `"`, `\` and control characters escaped as serde_json escapes them:
    /// the short forms where JSON has them, else `\u00XX` in lowercase hex.
    fn escaped(&mut self, bytes: &[u8]) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut rest = bytes;
        loop {
            let clean = clean_prefix(rest);
            self.out.extend_from_slice(&rest[..clean]);
            let Some((&b, tail)) = rest[clean..].split_first() else {
                return;
            };
            match b {
                b'"' => self.out.extend_from_slice(b"\\\""),
                b'\\' => self.out.extend_from_slice(b"\\\\"),
                b'\n' => self.out.extend_from_slice(b"\\n"),
                b'\r' => self.out.extend_from_slice(b"\\r"),
                b'\t' => self.out.extend_from_slice(b"\\t"),
                0x08 => self.out.extend_from_slice(b"\\b"),
                0x0c => self.out.extend_from_slice(b"\\f"),
                _ => self.out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 0xf)],
                ]),
            }
            rest = tail;
        }
    }
}

/// Bytes JSON requires escaped: control characters, `"` and `\`.
static NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// How many leading bytes need no escape: eight at a time while none of the eight does, then
/// byte by byte. Most of an event's strings have nothing to escape.
fn clean_prefix(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte of `x` is zero exactly when the expression has its high bit set, for some byte.
    let any_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH != 0;
    let mut at = 0;
    while let Some(chunk) = bytes[at..].first_chunk::<8>() {
        let word = u64::from_le_bytes(*chunk);
        let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH != 0;
        if control
            || any_zero(word ^ (ONES * u64::from(b'"')))
            || any_zero(word ^ (ONES * u64::from(b'\\')))
        {
            break;
        }
        at += 8;
    }
    while at < bytes.len() && !NEEDS_ESCAPE[usize::from(bytes[at])] {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(f: impl FnOnce(&mut JsonWriter)) -> String {
        let mut w = JsonWriter::new();
        f(&mut w);
        String::from_utf8(w.into_bytes()).expect("utf8")
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let mut every_ascii: String = (0u8..=0x7f).map(char::from).collect();
        every_ascii.push_str("é ✓ 😀 \u{2028}");
        for text in [every_ascii.as_str(), "", "plain", "a\"b\\c\u{1}"] {
            let ours = written(|w| w.string(text));
            assert_eq!(ours, serde_json::to_string(text).expect("json"), "{text:?}");
        }
    }

    #[test]
    fn the_clean_prefix_stops_at_the_first_byte_to_escape_wherever_it_is() {
        let naive = |b: &[u8]| b.iter().position(|&c| NEEDS_ESCAPE[usize::from(c)]);
        for len in 0..26 {
            // Bytes around the escaped ones: just above control characters, next to the quote
            // and the backslash, and the high bytes of UTF-8.
            let filler = [0x20u8, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0xc3, 0xa9];
            let base: Vec<u8> = (0..len).map(|i| filler[i % filler.len()]).collect();
            assert_eq!(clean_prefix(&base), len);
            for at in 0..len {
                for special in [0x00u8, 0x01, 0x1f, b'"', b'\\', b'\n'] {
                    let mut bytes = base.clone();
                    bytes[at] = special;
                    assert_eq!(Some(clean_prefix(&bytes)), naive(&bytes), "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn integers_read_as_serde_json_writes_them() {
        for n in [0, 7, -7, 1_733_011_200_000, i64::MAX, i64::MIN] {
            assert_eq!(written(|w| w.int(n)), n.to_string());
        }
    }

    #[test]
    fn commas_go_between_keys_and_elements_only() {
        let text = written(|w| {
            w.begin_object();
            key!(w, "a");
            w.begin_object();
            w.end_object();
            w.key("b");
            w.begin_array();
            for s in ["x", "y"] {
                w.element();
                w.string(s);
            }
            w.element();
            w.begin_object();
            w.key("c");
            w.null();
            w.end_object();
            w.end_array();
            w.key("d");
            w.bool(false);
            w.end_object();
        });
        assert_eq!(text, r#"{"a":{},"b":["x","y",{"c":null}],"d":false}"#);
    }
}
