//! Reading YAML and JSON documents into `serde_json::Value`, remembering where every value was
//! written.
//!
//! One event parser (yaml-rust2; JSON is YAML) reads both, so every document gets a position
//! index: JSON pointer → line and column, which diagnostics use to name the user's own line.
//! CloudFormation's short-form tags (`!Ref X`, `!GetAtt A.B`, `!Sub ...`) are rewritten to their
//! long form (`{"Ref": "X"}`, `{"Fn::GetAtt": ["A", "B"]}`, `{"Fn::Sub": ...}`) so the rest of
//! the loader sees one shape. Non-string mapping keys (YAML reads `200:` as a number) become
//! strings, as OpenAPI means them. A key written twice keeps its last value, as CloudFormation
//! does, with a warning that names both lines.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::load_error::{
    escape_pointer_token, remember_positions, remember_text, LoadError, Positions,
};

/// A parsed document: its value, where its values were written, and what reading it noticed
/// (pointer, message).
#[derive(Debug, Clone)]
pub struct Parsed {
    pub value: Value,
    pub positions: std::sync::Arc<Positions>,
    pub warnings: Vec<(String, String)>,
}

thread_local! {
    /// What reading documents noticed on this thread since the last [`take_read_warnings`]:
    /// a load collects them for its own report.
    static READ_WARNINGS: std::cell::RefCell<Vec<LoadError>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The warnings documents read on this thread raised since the last call.
pub fn take_read_warnings() -> Vec<LoadError> {
    READ_WARNINGS.with(|w| std::mem::take(&mut *w.borrow_mut()))
}

/// Parse a document that is JSON or YAML.
///
/// Positions are not indexed here: most documents load without a diagnostic, and indexing every
/// value's pointer was a third of the start-up of a 10,000-route API. The registry keeps the text
/// and indexes it when a diagnostic first asks ([`crate::load_error::positions_of`]).
pub fn parse_document(file: &Path, text: &str) -> Result<Value, LoadError> {
    let built = build(file, text, false)?;
    if built.duplicate_keys {
        // Rare: read again with positions, for warnings that name both lines.
        return parse_with_positions(file, text).map(|p| p.value);
    }
    remember_text(file, text, index_positions);
    Ok(built.value)
}

/// Parse a document, indexing where its values were written.
pub fn parse_with_positions(file: &Path, text: &str) -> Result<Parsed, LoadError> {
    let built = build(file, text, true)?;
    let parsed = Parsed {
        value: built.value,
        positions: std::sync::Arc::new(Positions::new(built.positions)),
        warnings: built.warnings,
    };
    remember_positions(file, std::sync::Arc::clone(&parsed.positions));
    READ_WARNINGS.with(|w| {
        w.borrow_mut().extend(
            parsed
                .warnings
                .iter()
                .map(|(ptr, m)| LoadError::new(file, ptr.clone(), m.clone())),
        )
    });
    Ok(parsed)
}

/// The positions of a document read earlier without them (the registry's lazy index).
fn index_positions(file: &Path, text: &str) -> Option<Positions> {
    build(file, text, true)
        .ok()
        .map(|b| Positions::new(b.positions))
}

/// What one pass of the event parser built.
struct Built {
    value: Value,
    positions: HashMap<String, (usize, usize)>,
    warnings: Vec<(String, String)>,
    /// Without positions, a key written twice is only noticed, not reported.
    duplicate_keys: bool,
}

fn build(file: &Path, text: &str, track: bool) -> Result<Built, LoadError> {
    let mut builder = Builder {
        track,
        ..Builder::default()
    };
    let mut parser = Parser::new_from_str(text);
    let syntax = |e: yaml_rust2::ScanError| {
        let kind = if file
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            "JSON"
        } else {
            "YAML"
        };
        LoadError::new(
            file,
            "",
            format!(
                "invalid {kind} at line {} column {}: {}",
                e.marker().line(),
                e.marker().col() + 1,
                e.info()
            ),
        )
    };
    parser.load(&mut builder, false).map_err(syntax)?;
    if let Some(e) = builder.error.take() {
        return Err(LoadError::new(file, "", e));
    }
    Ok(Built {
        value: builder.root.take().unwrap_or(Value::Null),
        positions: std::mem::take(&mut builder.positions),
        warnings: std::mem::take(&mut builder.warnings),
        duplicate_keys: builder.duplicate_keys,
    })
}

/// Read and parse a file.
pub fn read_document(file: &Path) -> Result<Value, LoadError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| LoadError::new(file, "", format!("cannot read file: {e}")))?;
    parse_document(file, &text)
}

/// A collection being built.
enum Frame {
    Seq {
        items: Vec<Value>,
        anchor: usize,
        tag: Option<Tag>,
        pointer: String,
    },
    Map {
        entries: Map<String, Value>,
        /// The line each key was written on (duplicates are reported against it).
        lines: HashMap<String, usize>,
        /// The key whose value comes next, and where it was written.
        key: Option<(String, Marker)>,
        /// `<<` merge sources, applied when the mapping ends (explicit keys win).
        merges: Vec<Value>,
        anchor: usize,
        tag: Option<Tag>,
        pointer: String,
    },
}

#[derive(Default)]
struct Builder {
    /// Index positions and report keys written twice (else pointers are never built).
    track: bool,
    duplicate_keys: bool,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Value>,
    positions: HashMap<String, (usize, usize)>,
    warnings: Vec<(String, String)>,
    root: Option<Value>,
    error: Option<String>,
}

impl Builder {
    /// The pointer of the node that starts now, and whether it is a mapping key.
    fn next_pointer(&self) -> (String, bool) {
        match self.stack.last() {
            Some(Frame::Map { key: None, .. }) => (String::new(), true),
            _ if !self.track => (String::new(), false),
            None => (String::new(), false),
            Some(Frame::Seq { items, pointer, .. }) => {
                (format!("{pointer}/{}", items.len()), false)
            }
            Some(Frame::Map {
                key: Some((k, _)),
                pointer,
                ..
            }) => (format!("{pointer}/{}", escape_pointer_token(k)), false),
        }
    }

    /// Where the value at `pointer` was written (lines and columns from 1).
    fn note(&mut self, pointer: String, at: Marker) {
        if self.track {
            self.positions.insert(pointer, (at.line(), at.col() + 1));
        }
    }

    /// A finished node: a key, or a value for the current collection.
    fn finish(&mut self, value: Value, anchor: usize, mark: Marker) {
        if anchor != 0 {
            self.anchors.insert(anchor, value.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map {
                key: key @ None, ..
            }) => *key = Some((key_string(value), mark)),
            Some(Frame::Map {
                entries,
                lines,
                key: key @ Some(_),
                merges,
                pointer,
                ..
            }) => {
                let Some((k, at)) = key.take() else { return };
                if k == "<<" {
                    merges.push(value);
                    return;
                }
                if !self.track {
                    self.duplicate_keys |= entries.contains_key(&k);
                    entries.insert(k, value);
                    return;
                }
                if let Some(first) = lines.get(&k) {
                    self.warnings.push((
                        format!("{pointer}/{}", escape_pointer_token(&k)),
                        format!(
                            "`{k}` is written twice (lines {first} and {}): the last value is used, as CloudFormation does",
                            at.line()
                        ),
                    ));
                }
                lines.insert(k.clone(), at.line());
                entries.insert(k, value);
            }
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let (pointer, is_key) = self.next_pointer();
                let key_mark = match self.stack.last() {
                    Some(Frame::Map {
                        key: Some((_, m)), ..
                    }) => *m,
                    _ => mark,
                };
                if !is_key {
                    self.note(pointer, key_mark);
                }
                let value = tagged(tag.as_ref(), scalar(&text, style, tag.as_ref()));
                self.finish(value, anchor, mark);
            }
            Event::SequenceStart(anchor, tag) => {
                let (pointer, _) = self.next_pointer();
                self.note(pointer.clone(), mark);
                self.stack.push(Frame::Seq {
                    items: Vec::new(),
                    anchor,
                    tag,
                    pointer,
                });
            }
            Event::MappingStart(anchor, tag) => {
                let (pointer, _) = self.next_pointer();
                let at = match self.stack.last() {
                    Some(Frame::Map {
                        key: Some((_, m)), ..
                    }) => *m,
                    _ => mark,
                };
                self.note(pointer.clone(), at);
                self.stack.push(Frame::Map {
                    entries: Map::new(),
                    lines: HashMap::new(),
                    key: None,
                    merges: Vec::new(),
                    anchor,
                    tag,
                    pointer,
                });
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq {
                    items, anchor, tag, ..
                }) = self.stack.pop()
                {
                    let v = tagged(tag.as_ref(), Value::Array(items));
                    self.finish(v, anchor, mark);
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map {
                    mut entries,
                    merges,
                    anchor,
                    tag,
                    ..
                }) = self.stack.pop()
                {
                    // `<<: *base` or `<<: [*a, *b]`: keys not written here come from the
                    // sources, the earlier source first.
                    for source in merges {
                        let sources = match source {
                            Value::Array(list) => list,
                            other => vec![other],
                        };
                        for s in sources {
                            if let Value::Object(m) = s {
                                for (k, v) in m {
                                    entries.entry(k).or_insert(v);
                                }
                            }
                        }
                    }
                    let v = tagged(tag.as_ref(), Value::Object(entries));
                    self.finish(v, anchor, mark);
                }
            }
            Event::Alias(id) => {
                let (pointer, is_key) = self.next_pointer();
                if !is_key {
                    self.note(pointer, mark);
                }
                match self.anchors.get(&id).cloned() {
                    Some(v) => self.finish(v, 0, mark),
                    None => {
                        self.error = Some(format!(
                            "invalid YAML at line {}: an alias names no anchor",
                            mark.line()
                        ))
                    }
                }
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

/// A scalar as YAML 1.2's core schema reads it: quoted and block scalars are strings; plain
/// ones may be null, a boolean or a number. A `!!str`-style tag decides instead.
fn scalar(text: &str, style: TScalarStyle, tag: Option<&Tag>) -> Value {
    if let Some(t) = tag.filter(|t| t.handle == "!!" || t.handle == "tag:yaml.org,2002:") {
        return match t.suffix.as_str() {
            "str" => Value::String(text.to_string()),
            "int" | "float" => number(text).unwrap_or_else(|| Value::String(text.to_string())),
            "bool" => Value::Bool(matches!(text, "true" | "True" | "TRUE")),
            "null" => Value::Null,
            _ => Value::String(text.to_string()),
        };
    }
    if style != TScalarStyle::Plain {
        return Value::String(text.to_string());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ => number(text).unwrap_or_else(|| Value::String(text.to_string())),
    }
}

/// A YAML 1.2 core-schema number, if `text` is one.
fn number(text: &str) -> Option<Value> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits(unsigned) {
        if let Ok(i) = text.parse::<i64>() {
            return Some(Value::from(i));
        }
        if let Ok(u) = text.parse::<u64>() {
            return Some(Value::from(u));
        }
    }
    if let Some(h) = text.strip_prefix("0x") {
        return i64::from_str_radix(h, 16).ok().map(Value::from);
    }
    if let Some(o) = text.strip_prefix("0o") {
        return i64::from_str_radix(o, 8).ok().map(Value::from);
    }
    let float_shape = {
        let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
            Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
            None => (unsigned, None),
        };
        let mantissa_ok = match mantissa.split_once('.') {
            Some((a, b)) => {
                (a.is_empty() || digits(a))
                    && (b.is_empty() || digits(b))
                    && !(a.is_empty() && b.is_empty())
            }
            None => digits(mantissa),
        };
        let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)));
        mantissa_ok && exponent_ok && (mantissa.contains('.') || exponent.is_some())
    };
    if float_shape {
        return text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number);
    }
    None
}

fn key_string(k: Value) -> String {
    match k {
        Value::String(s) => s,
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// `!Ref X` → `{"Ref": X}`; `!GetAtt A.B` → `{"Fn::GetAtt": ["A","B"]}`; `!Condition X` →
/// `{"Condition": X}`; any other `!Name v` → `{"Fn::Name": v}`. Standard `!!` tags were applied
/// to the scalar already.
fn tagged(tag: Option<&Tag>, inner: Value) -> Value {
    let Some(tag) = tag.filter(|t| t.handle == "!") else {
        return inner;
    };
    let (key, inner) = match tag.suffix.as_str() {
        "Ref" => ("Ref".to_string(), inner),
        "Condition" => ("Condition".to_string(), inner),
        "GetAtt" => {
            let v = match inner {
                Value::String(s) => match s.split_once('.') {
                    Some((a, b)) => Value::Array(vec![Value::from(a), Value::from(b)]),
                    None => Value::String(s),
                },
                other => other,
            };
            ("Fn::GetAtt".to_string(), v)
        }
        other => (format!("Fn::{other}"), inner),
    };
    let mut m = Map::new();
    m.insert(key, inner);
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_tags_become_long_form() {
        let v = parse_document(
            Path::new("t.yaml"),
            "a: !Ref Foo\nb: !GetAtt Fn.Arn\nc: !Sub '${X}-y'\nd: !If [C, 1, 2]\n",
        )
        .expect("parses");
        assert_eq!(
            v,
            json!({
                "a": {"Ref": "Foo"},
                "b": {"Fn::GetAtt": ["Fn", "Arn"]},
                "c": {"Fn::Sub": "${X}-y"},
                "d": {"Fn::If": ["C", 1, 2]},
            })
        );
    }

    #[test]
    fn numeric_keys_become_strings() {
        let v = parse_document(
            Path::new("t.yaml"),
            "responses:\n  200:\n    description: ok\n",
        )
        .expect("parses");
        assert_eq!(v, json!({"responses": {"200": {"description": "ok"}}}));
    }

    #[test]
    fn scalars_follow_the_core_schema() {
        let v = parse_document(
            Path::new("t.yaml"),
            "a: 1\nb: -2.5\nc: '3'\nd: yes\ne: ~\nf: true\ng: 1e3\nh: 0x1F\ni: !!str 42\nj: 1.0\nk: v1.2\n",
        )
        .expect("parses");
        assert_eq!(
            v,
            json!({"a": 1, "b": -2.5, "c": "3", "d": "yes", "e": null, "f": true, "g": 1000.0,
                   "h": 31, "i": "42", "j": 1.0, "k": "v1.2"})
        );
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let v = parse_document(
            Path::new("t.yaml"),
            "base: &b {x: 1, y: 2}\nuse: *b\nmerged:\n  <<: *b\n  y: 3\n",
        )
        .expect("parses");
        assert_eq!(v["use"], json!({"x": 1, "y": 2}));
        assert_eq!(v["merged"], json!({"x": 1, "y": 3}));
    }

    #[test]
    fn json_reads_too() {
        let v = parse_document(
            Path::new("t.json"),
            r#"{"a": [1, "two", {"b": null}], "c": "\u00e9\n"}"#,
        )
        .expect("parses");
        assert_eq!(v, json!({"a": [1, "two", {"b": null}], "c": "é\n"}));
    }

    #[test]
    fn positions_name_lines_and_columns() {
        let p = parse_with_positions(
            Path::new("t.yaml"),
            "paths:\n  /orders:\n    get:\n      responses: {}\n",
        )
        .expect("parses");
        assert_eq!(p.positions.find("/paths/~1orders/get"), Some((3, 5)));
        assert_eq!(
            p.positions.find("/paths/~1orders/get/responses/200/x"),
            Some((4, 7)),
            "a pointer into a value that is not there finds its nearest parent"
        );
    }

    #[test]
    fn a_key_written_twice_keeps_the_last_value_and_says_so() {
        let p = parse_with_positions(Path::new("t.yaml"), "a: 1\nb: 2\na: 3\n").expect("parses");
        assert_eq!(p.value, json!({"a": 3, "b": 2}));
        assert_eq!(p.warnings.len(), 1);
        assert_eq!(p.warnings[0].0, "/a");
        assert!(
            p.warnings[0].1.contains("lines 1 and 3"),
            "{:?}",
            p.warnings
        );
    }

    #[test]
    fn positions_of_a_document_read_without_them_are_indexed_when_asked() {
        let file = Path::new("lazy-positions.yaml");
        parse_document(file, "paths:\n  /orders:\n    get:\n      responses: {}\n")
            .expect("parses");
        let p = crate::load_error::positions_of(file).expect("indexed on demand");
        assert_eq!(p.find("/paths/~1orders/get"), Some((3, 5)));
        let mut e = LoadError::new(file, "/paths/~1orders/get/responses", "x");
        e.locate();
        assert_eq!(e.at, Some((4, 7)));
    }

    #[test]
    fn a_key_written_twice_is_reported_by_the_reading_without_positions_too() {
        take_read_warnings();
        let v = parse_document(Path::new("twice.yaml"), "a: 1\nb: {c: 1, c: 2}\n").expect("parses");
        assert_eq!(v, json!({"a": 1, "b": {"c": 2}}));
        let warnings = take_read_warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(warnings[0].pointer, "/b/c");
        assert!(
            warnings[0].message.contains("lines 2 and 2"),
            "{warnings:?}"
        );
    }

    #[test]
    fn yaml_errors_name_line() {
        let e = parse_document(Path::new("bad.yaml"), "a: [1, 2\nb: c\n").expect_err("fails");
        assert!(
            e.to_string().starts_with("bad.yaml: invalid YAML at line"),
            "{e}"
        );
    }
}
