//! Values a template works with, and the Java methods templates call on them.
//!
//! Velocity runs on Java objects; API Gateway hands templates Java strings, numbers, `LinkedHashMap`s
//! and json-smart `JSONArray`s. Those classes decide how a value prints: a map prints Java-style
//! `{a=1, b=x}`, a list built in the template `[1, x]`, and a JSON array from `$input.path` or
//! `$util.parseJson` prints as JSON (aws-behaviour §7).

use std::cell::RefCell;
use std::fmt::Write as _;
use std::rc::Rc;

use indexmap::IndexMap;

/// A template object that is not plain data (`$input`, `$util`).
pub trait Host {
    fn property(&self, name: &str) -> Option<Value>;
    /// `Ok(None)`: no such method (the reference is then null).
    fn call(&self, name: &str, args: &[Value]) -> Result<Option<Value>, String>;
    fn render(&self) -> String;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// `java.util.ArrayList`: prints `[a, b]`.
    Java,
    /// json-smart `JSONArray`: prints as JSON.
    Json,
}

pub(crate) type List = Rc<RefCell<Vec<Value>>>;
pub(crate) type Map = Rc<RefCell<IndexMap<String, Value>>>;

#[derive(Clone)]
pub enum Value {
    Null,
    /// What a `void` method returns: null, but it prints as nothing.
    Void,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Rc<str>),
    List(List, ListKind),
    Map(Map),
    /// A map entry from `entrySet()`: prints `key=value`.
    Entry(Rc<(String, Value)>),
    Host(Rc<dyn Host>),
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render())
    }
}

/// How deep printing and comparing go into nested collections.
const MAX_DEPTH: usize = 64;
/// The most elements a template may put in one collection.
const MAX_ELEMENTS: usize = 1_000_000;

/// A method call that failed the way a Java method throws: the template fails (API Gateway
/// answers 500).
#[derive(Debug)]
pub struct Thrown(pub String);

impl Value {
    pub fn str(s: impl Into<Rc<str>>) -> Value {
        Value::Str(s.into())
    }

    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(RefCell::new(items)), ListKind::Java)
    }

    pub fn map(entries: IndexMap<String, Value>) -> Value {
        Value::Map(Rc::new(RefCell::new(entries)))
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null | Value::Void)
    }

    /// Velocity 1.7's truth: null and `false` are false, everything else (even "") is true.
    pub fn truthy(&self) -> bool {
        !matches!(self, Value::Null | Value::Void | Value::Bool(false))
    }

    /// `toString()` as Java prints it.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        out
    }

    pub fn render_into(&self, out: &mut String) {
        self.render_depth(out, 0)
    }

    /// Collections may contain themselves (`$list.add($list)`): Java prints `(this Collection)`
    /// for the direct case; deeper cycles are cut off here rather than overflowing the stack.
    fn render_depth(&self, out: &mut String, depth: usize) {
        if depth > MAX_DEPTH {
            out.push_str("...");
            return;
        }
        match self {
            Value::Null => out.push_str("null"),
            Value::Void => {}
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Float(f) => out.push_str(&java_double(*f)),
            Value::Str(s) => out.push_str(s),
            Value::List(_, ListKind::Json) => out.push_str(&self.to_json().to_string()),
            Value::List(items, ListKind::Java) => {
                out.push('[');
                for (i, v) in items.borrow().iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    match v {
                        Value::List(inner, _) if Rc::ptr_eq(inner, items) => {
                            out.push_str("(this Collection)")
                        }
                        _ => v.render_depth(out, depth + 1),
                    }
                }
                out.push(']');
            }
            Value::Map(m) => {
                out.push('{');
                for (i, (k, v)) in m.borrow().iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(k);
                    out.push('=');
                    match v {
                        Value::Map(inner) if Rc::ptr_eq(inner, m) => out.push_str("(this Map)"),
                        _ => v.render_depth(out, depth + 1),
                    }
                }
                out.push('}');
            }
            Value::Entry(e) => {
                out.push_str(&e.0);
                out.push('=');
                e.1.render_depth(out, depth + 1);
            }
            Value::Host(h) => out.push_str(&h.render()),
        }
    }

    /// The value as JSON (for JSON arrays and `$input.json`).
    pub fn to_json(&self) -> serde_json::Value {
        self.to_json_depth(0)
    }

    fn to_json_depth(&self, depth: usize) -> serde_json::Value {
        use serde_json::Value as J;
        if depth > MAX_DEPTH {
            return J::Null;
        }
        match self {
            Value::Null | Value::Void => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(n) => J::from(*n),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.to_string()),
            Value::List(items, _) => J::Array(
                items
                    .borrow()
                    .iter()
                    .map(|v| v.to_json_depth(depth + 1))
                    .collect(),
            ),
            Value::Map(m) => J::Object(
                m.borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json_depth(depth + 1)))
                    .collect(),
            ),
            Value::Entry(e) => J::String(format!("{}={}", e.0, e.1.render())),
            Value::Host(h) => J::String(h.render()),
        }
    }

    /// JSON as API Gateway's JSONPath returns it: objects as maps, arrays as JSON arrays.
    pub fn from_json(v: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        match v {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(0.0)),
            },
            J::String(s) => Value::str(s.as_str()),
            J::Array(a) => Value::List(
                Rc::new(RefCell::new(a.iter().map(Value::from_json).collect())),
                ListKind::Json,
            ),
            J::Object(o) => Value::map(
                o.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v)))
                    .collect(),
            ),
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            Value::Float(f) => Some(*f as i64),
            _ => None,
        }
    }

    /// Velocity's `==`: numbers by value, same-kind values by `equals`, different kinds by
    /// their printed form.
    pub fn velocity_eq(&self, other: &Value) -> bool {
        self.eq_depth(other, 0)
    }

    fn eq_depth(&self, other: &Value, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        match (self, other) {
            (a, b) if a.is_null() || b.is_null() => a.is_null() && b.is_null(),
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                self.as_f64() == other.as_f64()
            }
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::List(a, _), Value::List(b, _)) => {
                let (a, b) = (a.borrow(), b.borrow());
                a.len() == b.len()
                    && a.iter()
                        .zip(b.iter())
                        .all(|(x, y)| x.java_eq_depth(y, depth + 1))
            }
            (Value::Map(a), Value::Map(b)) => {
                let (a, b) = (a.borrow(), b.borrow());
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| b.get(k).is_some_and(|w| v.java_eq_depth(w, depth + 1)))
            }
            _ => self.render() == other.render(),
        }
    }

    /// Java's `equals` (no cross-type comparison: `Integer(1).equals(Long(1))` aside).
    pub fn java_equals(&self, other: &Value) -> bool {
        self.java_eq_depth(other, 0)
    }

    fn java_eq_depth(&self, other: &Value, depth: usize) -> bool {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::Int(_), Value::Float(_)) | (Value::Float(_), Value::Int(_)) => false,
            (Value::Str(_), Value::Str(_))
            | (Value::Bool(_), Value::Bool(_))
            | (Value::Null, Value::Null)
            | (Value::List(..), Value::List(..))
            | (Value::Map(_), Value::Map(_)) => self.eq_depth(other, depth),
            _ => false,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(n) => Some(*n as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// A property: a map's entry, a host's property, or a bean getter (`getX()` / `isX()`).
    pub fn property(&self, name: &str) -> Result<Value, Thrown> {
        match self {
            Value::Map(m) => Ok(m.borrow().get(name).cloned().unwrap_or(Value::Null)),
            Value::Host(h) => Ok(h.property(name).unwrap_or(Value::Null)),
            Value::Null | Value::Void => Ok(Value::Null),
            _ => {
                let mut cap = String::with_capacity(name.len() + 3);
                let mut chars = name.chars();
                if let Some(first) = chars.next() {
                    cap.extend(first.to_uppercase());
                    cap.push_str(chars.as_str());
                }
                for prefix in ["get", "is"] {
                    if let Some(v) = self.call(&format!("{prefix}{cap}"), &[])? {
                        return Ok(v);
                    }
                }
                Ok(Value::Null)
            }
        }
    }

    /// `obj[index]`: a list element or a map entry.
    pub fn index(&self, idx: &Value) -> Result<Value, Thrown> {
        match (self, idx) {
            (Value::List(items, _), i) => {
                let items = items.borrow();
                let Some(i) = i.as_i64() else {
                    return Ok(Value::Null);
                };
                let len = items.len() as i64;
                // Velocity 1.7 counts negative indexes from the end.
                let at = if i < 0 { len + i } else { i };
                if at < 0 || at >= len {
                    return Err(Thrown(format!(
                        "index {i} is out of bounds for a list of {len}"
                    )));
                }
                Ok(items[at as usize].clone())
            }
            (Value::Map(m), k) => Ok(m.borrow().get(&k.render()).cloned().unwrap_or(Value::Null)),
            (Value::Host(h), k) => Ok(h
                .call("get", std::slice::from_ref(k))
                .map_err(Thrown)?
                .unwrap_or(Value::Null)),
            _ => Ok(Value::Null),
        }
    }

    /// Call a Java method. `Ok(None)` when the object has no such method.
    pub fn call(&self, name: &str, args: &[Value]) -> Result<Option<Value>, Thrown> {
        let any = |v: Value| Ok(Some(v));
        // Methods every Java object has.
        match (name, args) {
            ("toString", []) => return any(Value::str(self.render())),
            ("equals", [o]) => return any(Value::Bool(self.java_equals(o))),
            ("hashCode", []) => {
                let h = self
                    .render()
                    .encode_utf16()
                    .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32));
                return any(Value::Int(i64::from(h)));
            }
            _ => {}
        }
        match self {
            Value::Str(s) => super::string_methods::call(s, name, args),
            Value::Int(_) | Value::Float(_) => Ok(number_method(self, name, args)),
            Value::Bool(b) => Ok(match (name, args) {
                ("booleanValue", []) => Some(Value::Bool(*b)),
                _ => None,
            }),
            Value::List(items, _) => list_method(items, name, args),
            Value::Map(m) => map_method(m, name, args),
            Value::Entry(e) => Ok(match (name, args) {
                ("getKey", []) => Some(Value::str(e.0.as_str())),
                ("getValue", []) => Some(e.1.clone()),
                _ => None,
            }),
            Value::Host(h) => h.call(name, args).map_err(Thrown),
            Value::Null | Value::Void => Ok(None),
        }
    }
}

fn number_method(v: &Value, name: &str, args: &[Value]) -> Option<Value> {
    let f = v.as_f64()?;
    Some(match (name, args) {
        ("intValue", []) | ("longValue", []) => Value::Int(f as i64),
        ("doubleValue", []) | ("floatValue", []) => Value::Float(f),
        ("compareTo", [o]) => {
            let o = o.as_f64()?;
            Value::Int(if f < o {
                -1
            } else if f > o {
                1
            } else {
                0
            })
        }
        _ => return None,
    })
}

fn list_method(items: &List, name: &str, args: &[Value]) -> Result<Option<Value>, Thrown> {
    let index_arg = |v: &Value, len: usize, inclusive: bool| -> Result<usize, Thrown> {
        let i = v
            .as_i64()
            .ok_or_else(|| Thrown(format!("{} is not an index", v.render())))?;
        let max = if inclusive {
            len
        } else {
            len.saturating_sub(1)
        };
        if i < 0 || (i as usize) > max || (!inclusive && len == 0) {
            return Err(Thrown(format!(
                "index {i} is out of bounds for a list of {len}"
            )));
        }
        Ok(i as usize)
    };
    let v = match (name, args) {
        ("size", []) => Value::Int(items.borrow().len() as i64),
        ("isEmpty", []) => Value::Bool(items.borrow().is_empty()),
        ("get", [i]) => {
            let list = items.borrow();
            let at = index_arg(i, list.len(), false)?;
            list[at].clone()
        }
        ("contains", [x]) => Value::Bool(items.borrow().iter().any(|v| v.java_equals(x))),
        ("indexOf", [x]) => Value::Int(
            items
                .borrow()
                .iter()
                .position(|v| v.java_equals(x))
                .map_or(-1, |p| p as i64),
        ),
        ("add", [_]) | ("add", [_, _]) | ("addAll", _) if items.borrow().len() >= MAX_ELEMENTS => {
            return Err(Thrown(format!(
                "a list may hold at most {MAX_ELEMENTS} elements"
            )));
        }
        ("add", [x]) => {
            items.borrow_mut().push(x.clone());
            Value::Bool(true)
        }
        ("add", [i, x]) => {
            let len = items.borrow().len();
            let at = index_arg(i, len, true)?;
            items.borrow_mut().insert(at, x.clone());
            Value::Void
        }
        ("set", [i, x]) => {
            let len = items.borrow().len();
            let at = index_arg(i, len, false)?;
            std::mem::replace(&mut items.borrow_mut()[at], x.clone())
        }
        ("remove", [Value::Int(i)]) => {
            let len = items.borrow().len();
            let at = index_arg(&Value::Int(*i), len, false)?;
            items.borrow_mut().remove(at)
        }
        ("remove", [x]) => {
            let pos = items.borrow().iter().position(|v| v.java_equals(x));
            if let Some(p) = pos {
                items.borrow_mut().remove(p);
            }
            Value::Bool(pos.is_some())
        }
        ("addAll", [Value::List(other, _)]) => {
            let add: Vec<Value> = other.borrow().clone();
            let changed = !add.is_empty();
            items.borrow_mut().extend(add);
            Value::Bool(changed)
        }
        ("clear", []) => {
            items.borrow_mut().clear();
            Value::Void
        }
        ("subList", [a, b]) => {
            let list = items.borrow();
            let from = index_arg(a, list.len(), true)?;
            let to = index_arg(b, list.len(), true)?;
            if from > to {
                return Err(Thrown(format!("subList({from}, {to}): from is after to")));
            }
            Value::list(list[from..to].to_vec())
        }
        _ => return Ok(None),
    };
    Ok(Some(v))
}

fn map_method(m: &Map, name: &str, args: &[Value]) -> Result<Option<Value>, Thrown> {
    let v = match (name, args) {
        ("get", [k]) => m.borrow().get(&k.render()).cloned().unwrap_or(Value::Null),
        ("put", [_, _]) | ("putAll", _) if m.borrow().len() >= MAX_ELEMENTS => {
            return Err(Thrown(format!(
                "a map may hold at most {MAX_ELEMENTS} entries"
            )));
        }
        ("put", [k, v]) => m
            .borrow_mut()
            .insert(k.render(), v.clone())
            .unwrap_or(Value::Null),
        ("containsKey", [k]) => Value::Bool(m.borrow().contains_key(&k.render())),
        ("containsValue", [x]) => Value::Bool(m.borrow().values().any(|v| v.java_equals(x))),
        ("size", []) => Value::Int(m.borrow().len() as i64),
        ("isEmpty", []) => Value::Bool(m.borrow().is_empty()),
        ("keySet", []) => Value::list(m.borrow().keys().map(|k| Value::str(k.as_str())).collect()),
        ("values", []) => Value::list(m.borrow().values().cloned().collect()),
        ("entrySet", []) => Value::list(
            m.borrow()
                .iter()
                .map(|(k, v)| Value::Entry(Rc::new((k.clone(), v.clone()))))
                .collect(),
        ),
        ("remove", [k]) => m
            .borrow_mut()
            .shift_remove(&k.render())
            .unwrap_or(Value::Null),
        ("putAll", [Value::Map(other)]) => {
            let add: Vec<(String, Value)> = other
                .borrow()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            m.borrow_mut().extend(add);
            Value::Void
        }
        ("clear", []) => {
            m.borrow_mut().clear();
            Value::Void
        }
        _ => return Ok(None),
    };
    Ok(Some(v))
}

/// `Double.toString`: decimal between 10^-3 and 10^7, otherwise `d.dddE±n`, always with a
/// fractional digit.
pub(crate) fn java_double(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let abs = f.abs();
    if (1e-3..1e7).contains(&abs) {
        let s = format!("{f}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        // Rust's `{:e}` gives the shortest digits that round-trip, as Java does.
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.to_string()
        } else {
            format!("{mantissa}.0")
        };
        format!("{mantissa}E{exp}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_like_java() {
        assert_eq!(java_double(1.0), "1.0");
        assert_eq!(java_double(2.5), "2.5");
        assert_eq!(java_double(1e7), "1.0E7");
        assert_eq!(java_double(1.5e10), "1.5E10");
        assert_eq!(java_double(0.0001), "1.0E-4");
        assert_eq!(java_double(0.001), "0.001");
        assert_eq!(java_double(-3.25), "-3.25");
    }

    #[test]
    fn maps_print_java_style_and_json_arrays_as_json() {
        let v = Value::from_json(&serde_json::json!({"a": [1, {"b": "x"}], "c": {"d": null}}));
        assert_eq!(v.render(), r#"{a=[1,{"b":"x"}], c={d=null}}"#);
    }
}
