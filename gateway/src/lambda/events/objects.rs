//! The JSON objects events are made of, written from borrowed pairs as the old `Value`-built
//! events had them: which of a repeated name's values is kept, where, and `null` for none.

use indexmap::IndexMap;

use super::json::JsonWriter;
use super::Pair;

fn same_name(a: &str, b: &str, fold_case: bool) -> bool {
    if fold_case {
        a.eq_ignore_ascii_case(b)
    } else {
        a == b
    }
}

/// `headers` / `queryStringParameters` of a 1.0 event: each name once with its last value, in
/// the order of those last values; `null` when there are none (aws-behaviour §3a).
pub(super) fn last_values<K: AsRef<str>, V: AsRef<str>>(
    w: &mut JsonWriter,
    pairs: &[(K, V)],
    fold_case: bool,
) {
    if pairs.is_empty() {
        return w.null();
    }
    w.begin_object();
    for (i, (k, v)) in pairs.iter().enumerate() {
        let later = &pairs[i + 1..];
        if !later
            .iter()
            .any(|(n, _)| same_name(n.as_ref(), k.as_ref(), fold_case))
        {
            w.key(k.as_ref());
            w.string(v.as_ref());
        }
    }
    w.end_object();
}

/// `multiValueHeaders` / `multiValueQueryStringParameters`: each name once, as first seen,
/// with all its values; `null` when there are none.
pub(super) fn all_values<K: AsRef<str>, V: AsRef<str>>(
    w: &mut JsonWriter,
    pairs: &[(K, V)],
    fold_case: bool,
) {
    if pairs.is_empty() {
        return w.null();
    }
    w.begin_object();
    for (i, (k, _)) in pairs.iter().enumerate() {
        let k = k.as_ref();
        if pairs[..i]
            .iter()
            .any(|(n, _)| same_name(n.as_ref(), k, fold_case))
        {
            continue;
        }
        w.key(k);
        w.begin_array();
        for (_, v) in pairs[i..]
            .iter()
            .filter(|(n, _)| same_name(n.as_ref(), k, fold_case))
        {
            w.element();
            w.string(v.as_ref());
        }
        w.end_array();
    }
    w.end_object();
}

/// An object of `pairs` as collecting them into a map builds it (a repeated name keeps its first
/// place and takes its last value); `null` when there are none.
pub(super) fn object<K: AsRef<str>, V: AsRef<str>>(w: &mut JsonWriter, pairs: &[(K, V)]) {
    if pairs.is_empty() {
        return w.null();
    }
    w.begin_object();
    for (i, (k, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(n, _)| n.as_ref() == k.as_ref()) {
            continue;
        }
        let last = pairs[i..]
            .iter()
            .rev()
            .find(|(n, _)| n.as_ref() == k.as_ref())
            .map_or("", |(_, v)| v.as_ref());
        w.key(k.as_ref());
        w.string(last);
    }
    w.end_object();
}

/// Stage variables as an object; `null` when the stage has none.
pub(super) fn variables(w: &mut JsonWriter, vars: &IndexMap<String, String>) {
    if vars.is_empty() {
        return w.null();
    }
    w.begin_object();
    for (k, v) in vars {
        w.key(k);
        w.string(v);
    }
    w.end_object();
}

/// An authorizer's scopes: `null` when there are none.
pub(super) fn scopes(w: &mut JsonWriter, scopes: &[String]) {
    if scopes.is_empty() {
        return w.null();
    }
    strings(w, scopes.iter().map(String::as_str));
}

/// A list of strings.
pub(super) fn strings<'s>(w: &mut JsonWriter, items: impl IntoIterator<Item = &'s str>) {
    w.begin_array();
    for s in items {
        w.element();
        w.string(s);
    }
    w.end_array();
}

/// Pairs whose names are already distinct, as an object.
pub(super) fn pairs(w: &mut JsonWriter, pairs: &[Pair<'_>]) {
    w.begin_object();
    for (k, v) in pairs {
        w.key(k);
        w.string(v);
    }
    w.end_object();
}
