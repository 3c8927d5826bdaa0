//! The JSON objects events are made of, written from borrowed pairs as the old `Value`-built
//! events had them: which of a repeated name's values is kept, where, and `null` for none.

use indexmap::IndexMap;
use serde::ser::{Serialize, SerializeMap, Serializer};

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
pub(super) struct LastValues<'s, K, V> {
    pub(super) pairs: &'s [(K, V)],
    pub(super) fold_case: bool,
}

impl<K: AsRef<str>, V: AsRef<str>> Serialize for LastValues<'_, K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.pairs.is_empty() {
            return s.serialize_none();
        }
        let mut m = s.serialize_map(None)?;
        for (i, (k, v)) in self.pairs.iter().enumerate() {
            let later = &self.pairs[i + 1..];
            if !later
                .iter()
                .any(|(n, _)| same_name(n.as_ref(), k.as_ref(), self.fold_case))
            {
                m.serialize_entry(k.as_ref(), v.as_ref())?;
            }
        }
        m.end()
    }
}

/// `multiValueHeaders` / `multiValueQueryStringParameters`: each name once, as first seen,
/// with all its values; `null` when there are none.
pub(super) struct AllValues<'s, K, V> {
    pub(super) pairs: &'s [(K, V)],
    pub(super) fold_case: bool,
}

impl<K: AsRef<str>, V: AsRef<str>> Serialize for AllValues<'_, K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.pairs.is_empty() {
            return s.serialize_none();
        }
        let mut m = s.serialize_map(None)?;
        for (i, (k, _)) in self.pairs.iter().enumerate() {
            let k = k.as_ref();
            if self.pairs[..i]
                .iter()
                .any(|(n, _)| same_name(n.as_ref(), k, self.fold_case))
            {
                continue;
            }
            let values = ValuesOf {
                pairs: &self.pairs[i..],
                name: k,
                fold_case: self.fold_case,
            };
            m.serialize_entry(k, &values)?;
        }
        m.end()
    }
}

/// The values of one name, as a list written without collecting them first.
struct ValuesOf<'s, 'n, K, V> {
    pairs: &'s [(K, V)],
    name: &'n str,
    fold_case: bool,
}

impl<K: AsRef<str>, V: AsRef<str>> Serialize for ValuesOf<'_, '_, K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            self.pairs
                .iter()
                .filter(|(n, _)| same_name(n.as_ref(), self.name, self.fold_case))
                .map(|(_, v)| v.as_ref()),
        )
    }
}

/// An object of `pairs` as collecting them into a map builds it (a repeated name keeps its first
/// place and takes its last value); `null` when there are none.
pub(super) struct Object<'s, K, V>(pub(super) &'s [(K, V)]);

impl<K: AsRef<str>, V: AsRef<str>> Serialize for Object<'_, K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_empty() {
            return s.serialize_none();
        }
        let mut m = s.serialize_map(None)?;
        for (i, (k, _)) in self.0.iter().enumerate() {
            if self.0[..i].iter().any(|(n, _)| n.as_ref() == k.as_ref()) {
                continue;
            }
            let last = self.0[i..]
                .iter()
                .rev()
                .find(|(n, _)| n.as_ref() == k.as_ref())
                .map_or("", |(_, v)| v.as_ref());
            m.serialize_entry(k.as_ref(), last)?;
        }
        m.end()
    }
}

/// Stage variables as an object; `null` when the stage has none.
pub(super) struct Variables<'s>(pub(super) &'s IndexMap<String, String>);

impl Serialize for Variables<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_empty() {
            return s.serialize_none();
        }
        s.collect_map(self.0.iter())
    }
}

/// An authorizer's scopes: `null` when there are none.
pub(super) struct Scopes<'s>(pub(super) &'s [String]);

impl Serialize for Scopes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_empty() {
            s.serialize_none()
        } else {
            s.collect_seq(self.0)
        }
    }
}

/// Pairs whose names are already distinct, as an object.
pub(super) struct Pairs<'s, 'a>(pub(super) &'s [Pair<'a>]);

impl Serialize for Pairs<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

/// An object of one entry.
pub(super) struct One<'k, V>(pub(super) &'k str, pub(super) V);

impl<V: Serialize> Serialize for One<'_, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(self.0, &self.1)?;
        m.end()
    }
}
