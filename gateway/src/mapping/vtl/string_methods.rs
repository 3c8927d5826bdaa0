//! `java.lang.String` methods templates call. Indexes count UTF-16 code units, as Java does.

use super::value::{Thrown, Value};

fn utf16(s: &str) -> Vec<u16> {
    s.encode_utf16().collect()
}

fn from_utf16(u: &[u16]) -> String {
    String::from_utf16_lossy(u)
}

fn int_arg(v: &Value) -> Result<i64, Thrown> {
    v.as_i64()
        .ok_or_else(|| Thrown(format!("expected a number, got {}", v.render())))
}

fn find(hay: &[u16], needle: &[u16], from: usize) -> Option<usize> {
    if needle.is_empty() {
        return (from <= hay.len()).then_some(from);
    }
    (from..hay.len().saturating_sub(needle.len() - 1)).find(|&i| hay[i..].starts_with(needle))
}

/// Compile a Java regular expression (the common subset Rust's `regex` shares).
pub(super) fn java_regex(pattern: &str) -> Result<regex::Regex, Thrown> {
    regex::Regex::new(pattern).map_err(|e| {
        Thrown(format!(
            "`{pattern}` is not a supported regular expression: {e}"
        ))
    })
}

/// Java's replacement syntax (`$1`, `\$`) in Rust's (`${1}`, `$$`).
fn java_replacement(r: &str) -> String {
    let mut out = String::with_capacity(r.len());
    let mut chars = r.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => {}
            },
            '$' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    out.push_str("$$");
                } else {
                    out.push_str(&format!("${{{digits}}}"));
                }
            }
            _ => out.push(c),
        }
    }
    out
}

pub(super) fn call(s: &str, name: &str, args: &[Value]) -> Result<Option<Value>, Thrown> {
    let text = |v: &Value| v.render();
    let v = match (name, args) {
        ("length", []) => Value::Int(s.encode_utf16().count() as i64),
        ("isEmpty", []) => Value::Bool(s.is_empty()),
        ("toLowerCase", []) => Value::str(s.to_lowercase()),
        ("toUpperCase", []) => Value::str(s.to_uppercase()),
        ("trim", []) => Value::str(s.trim_matches(|c: char| c <= ' ')),
        ("contains", [x]) => Value::Bool(s.contains(text(x).as_str())),
        ("startsWith", [x]) => Value::Bool(s.starts_with(text(x).as_str())),
        ("endsWith", [x]) => Value::Bool(s.ends_with(text(x).as_str())),
        ("equalsIgnoreCase", [x]) => {
            Value::Bool(matches!(x, Value::Str(_)) && s.to_lowercase() == text(x).to_lowercase())
        }
        ("concat", [x]) => Value::str(format!("{s}{}", text(x))),
        ("replace", [a, b]) => Value::str(s.replace(text(a).as_str(), text(b).as_str())),
        ("replaceAll", [a, b]) => Value::str(
            java_regex(&text(a))?
                .replace_all(s, java_replacement(&text(b)).as_str())
                .into_owned(),
        ),
        ("replaceFirst", [a, b]) => Value::str(
            java_regex(&text(a))?
                .replace(s, java_replacement(&text(b)).as_str())
                .into_owned(),
        ),
        ("matches", [a]) => Value::Bool(java_regex(&format!("^(?:{})$", text(a)))?.is_match(s)),
        ("split", [a]) => {
            let re = java_regex(&text(a))?;
            let mut parts: Vec<&str> = re.split(s).collect();
            // Java drops trailing empty strings.
            while parts.len() > 1 && parts.last() == Some(&"") {
                parts.pop();
            }
            Value::list(parts.into_iter().map(Value::str).collect())
        }
        ("indexOf", [x]) | ("indexOf", [x, _]) | ("lastIndexOf", [x]) => {
            let hay = utf16(s);
            let needle = utf16(&text(x));
            let found = if name == "lastIndexOf" {
                (0..=hay.len().saturating_sub(needle.len()))
                    .rev()
                    .find(|&i| hay[i..].starts_with(&needle))
            } else {
                let from = match args.get(1) {
                    Some(f) => int_arg(f)?.max(0) as usize,
                    None => 0,
                };
                find(&hay, &needle, from)
            };
            Value::Int(found.map_or(-1, |i| i as i64))
        }
        ("charAt", [i]) => {
            let u = utf16(s);
            let i = int_arg(i)?;
            match usize::try_from(i).ok().and_then(|i| u.get(i)) {
                Some(c) => Value::str(from_utf16(&[*c])),
                None => {
                    return Err(Thrown(format!(
                        "charAt({i}) is out of range for a string of {}",
                        u.len()
                    )))
                }
            }
        }
        ("substring", [a]) | ("substring", [a, _]) => {
            let u = utf16(s);
            let from = int_arg(a)?;
            let to = match args.get(1) {
                Some(b) => int_arg(b)?,
                None => u.len() as i64,
            };
            if from < 0 || to > u.len() as i64 || from > to {
                return Err(Thrown(format!(
                    "substring({from}, {to}) is out of range for a string of {}",
                    u.len()
                )));
            }
            Value::str(from_utf16(&u[from as usize..to as usize]))
        }
        ("compareTo", [x]) => {
            let (a, b) = (utf16(s), utf16(&text(x)));
            let diff = a
                .iter()
                .zip(b.iter())
                .find(|(p, q)| p != q)
                .map(|(p, q)| i64::from(*p) - i64::from(*q))
                .unwrap_or(a.len() as i64 - b.len() as i64);
            Value::Int(diff)
        }
        ("getBytes", []) => {
            Value::list(s.bytes().map(|b| Value::Int(i64::from(b as i8))).collect())
        }
        _ => return Ok(None),
    };
    Ok(Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call_str(s: &str, name: &str, args: &[Value]) -> String {
        call(s, name, args)
            .expect("no exception")
            .expect("method exists")
            .render()
    }

    #[test]
    fn java_replacements() {
        assert_eq!(
            call_str(
                "a-b",
                "replaceAll",
                &[Value::str("(\\w)-(\\w)"), Value::str("$2+$1")]
            ),
            "b+a"
        );
        assert_eq!(
            call_str("x", "replaceAll", &[Value::str("x"), Value::str("\\$")]),
            "$"
        );
    }

    #[test]
    fn utf16_indexes() {
        assert_eq!(call_str("é😀x", "length", &[]), "4");
        assert_eq!(call_str("é😀x", "substring", &[Value::Int(3)]), "x");
        assert_eq!(call_str("a,b,,", "split", &[Value::str(",")]), "[a, b]");
    }
}
