//! Errors found while loading API definitions and templates.
//!
//! Every error names the file and a JSON pointer into it, so a user can jump straight to the
//! offending value: `openapi/orders.yaml: /paths/~1orders/get/x-amazon-apigateway-integration/type: ...`.
//! Loading collects every error it can find instead of stopping at the first one.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Where each value of a document was written: JSON pointer → (line, column), both from 1.
#[derive(Debug, Default, Clone)]
pub struct Positions(HashMap<String, (usize, usize)>);

impl Positions {
    /// The position of `pointer`, or of the nearest value that contains it.
    pub fn find(&self, pointer: &str) -> Option<(usize, usize)> {
        let mut p = pointer;
        loop {
            if let Some(at) = self.0.get(p) {
                return Some(*at);
            }
            p = &p[..p.rfind('/')?];
        }
    }
}

impl Positions {
    pub fn new(map: HashMap<String, (usize, usize)>) -> Self {
        Positions(map)
    }
}

/// What the registry knows of a document: its positions, or the text to index them from (and
/// the reader that can) until a diagnostic first asks.
enum Known {
    Indexed(Arc<Positions>),
    Text(Arc<str>, Indexer),
}

/// Indexes a document's positions from its text.
pub(crate) type Indexer = fn(&Path, &str) -> Option<Positions>;

/// Every document read so far, by path: diagnostics look positions up here.
fn registry() -> &'static Mutex<HashMap<PathBuf, Known>> {
    static R: OnceLock<Mutex<HashMap<PathBuf, Known>>> = OnceLock::new();
    R.get_or_init(Default::default)
}

/// Keep where `file`'s values were written (its latest reading replaces an earlier one).
pub(crate) fn remember_positions(file: &Path, positions: Arc<Positions>) {
    registry()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(file.to_path_buf(), Known::Indexed(positions));
}

/// Keep `file`'s text, to index its positions from if a diagnostic asks.
pub(crate) fn remember_text(file: &Path, text: &str, index: Indexer) {
    registry()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(file.to_path_buf(), Known::Text(Arc::from(text), index));
}

/// The positions of the last version of `file` that was read.
pub(crate) fn positions_of(file: &Path) -> Option<Arc<Positions>> {
    let mut registry = registry().lock().unwrap_or_else(|p| p.into_inner());
    let known = registry.get_mut(file)?;
    match known {
        Known::Indexed(p) => Some(Arc::clone(p)),
        Known::Text(text, index) => {
            let positions = Arc::new(index(file, text)?);
            *known = Known::Indexed(Arc::clone(&positions));
            Some(positions)
        }
    }
}

/// What stands in for a value a template could not resolve (a parameter without a value, a
/// name it does not define): visible wherever it ends up, and recognised by [`unresolved_in`]
/// so what depends on it can fail alone.
const UNRESOLVED_PREFIX: &str = "${tollgate:unresolved:";

pub(crate) fn unresolved_marker(name: &str) -> String {
    format!("{UNRESOLVED_PREFIX}{name}}}")
}

/// The name an unresolved value stands for, if `text` contains one.
pub(crate) fn unresolved_in(text: &str) -> Option<&str> {
    let start = text.find(UNRESOLVED_PREFIX)? + UNRESOLVED_PREFIX.len();
    let rest = &text[start..];
    Some(&rest[..rest.find('}')?])
}

/// One problem in one file, at one place: an error that stops a load, or a warning.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadError {
    pub file: PathBuf,
    /// RFC 6901 JSON pointer into the file ("" is the whole document).
    pub pointer: String,
    pub message: String,
    /// The line and column the pointer names, when the file's positions are known.
    pub at: Option<(usize, usize)>,
}

impl LoadError {
    pub fn new(file: &Path, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: file.to_path_buf(),
            pointer: pointer.into(),
            message: message.into(),
            at: None,
        }
    }

    /// Fill in the line and column from where the file's values were written.
    pub fn locate(&mut self) {
        // The whole document has no one line worth naming.
        if self.at.is_none() && !self.pointer.is_empty() {
            self.at = positions_of(&self.file).and_then(|p| p.find(&self.pointer));
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, col)) = self.at {
            write!(f, ":{line}:{col}")?;
        }
        if !self.pointer.is_empty() {
            write!(f, ": {}", self.pointer)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// All the problems found in one load.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadErrors(pub Vec<LoadError>);

impl LoadErrors {
    pub fn push(&mut self, e: LoadError) {
        self.0.push(e);
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn iter(&self) -> impl Iterator<Item = &LoadError> {
        self.0.iter()
    }
    pub fn extend(&mut self, other: LoadErrors) {
        self.0.extend(other.0);
    }
    /// Fill in every error's line and column.
    pub fn locate(&mut self) {
        self.0.iter_mut().for_each(LoadError::locate);
    }
    /// `Ok(value)` when nothing was collected.
    pub fn into_result<T>(self, value: T) -> Result<T, LoadErrors> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl From<LoadError> for LoadErrors {
    fn from(e: LoadError) -> Self {
        LoadErrors(vec![e])
    }
}

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadErrors {}

/// Escape one reference token for a JSON pointer (`~` → `~0`, `/` → `~1`).
pub(crate) fn escape_pointer_token(token: &str) -> String {
    let mut out = String::with_capacity(token.len());
    push_token(&mut out, token);
    out
}

/// `base` + `/token`, escaping the token: one allocation (a load joins hundreds of thousands).
pub(crate) fn pointer_join(base: &str, token: &str) -> String {
    let mut out = String::with_capacity(base.len() + 1 + token.len());
    out.push_str(base);
    out.push('/');
    push_token(&mut out, token);
    out
}

fn push_token(out: &mut String, token: &str) {
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
}

/// Turn a `serde_path_to_error` path into JSON pointer tokens appended to `base`.
pub(crate) fn pointer_from_serde_path(base: &str, path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = base.to_string();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out = pointer_join(&out, &index.to_string()),
            Segment::Map { key } => out = pointer_join(&out, key),
            Segment::Enum { variant } => out = pointer_join(&out, variant),
            Segment::Unknown => {}
        }
    }
    out
}

/// Deserialize `value` as `T`, reporting failures at the exact pointer inside it.
pub(crate) fn deserialize_at<T: serde::de::DeserializeOwned>(
    file: &Path,
    pointer: &str,
    value: &serde_json::Value,
) -> Result<T, LoadError> {
    // Deserialized from the borrowed value: no copy of what may be a whole document.
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let at = pointer_from_serde_path(pointer, e.path());
        LoadError::new(file, at, e.into_inner().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_and_pointer() {
        let e = LoadError::new(
            Path::new("openapi/orders.yaml"),
            pointer_join("/paths", "/orders"),
            "boom",
        );
        assert_eq!(e.to_string(), "openapi/orders.yaml: /paths/~1orders: boom");
    }

    #[test]
    fn pointer_escapes_tilde_before_slash() {
        assert_eq!(escape_pointer_token("a~/b"), "a~0~1b");
    }
}
