//! Errors found while loading API definitions and templates.
//!
//! Every error names the file and a JSON pointer into it, so a user can jump straight to the
//! offending value: `openapi/orders.yaml: /paths/~1orders/get/x-amazon-apigateway-integration/type: ...`.
//! Loading collects every error it can find instead of stopping at the first one.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in one file, at one place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadError {
    pub file: PathBuf,
    /// RFC 6901 JSON pointer into the file ("" is the whole document).
    pub pointer: String,
    pub message: String,
}

impl LoadError {
    pub fn new(file: &Path, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: file.to_path_buf(),
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pointer.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}: {}: {}",
                self.file.display(),
                self.pointer,
                self.message
            )
        }
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
    token.replace('~', "~0").replace('/', "~1")
}

/// `base` + `/token`, escaping the token.
pub(crate) fn pointer_join(base: &str, token: &str) -> String {
    format!("{base}/{}", escape_pointer_token(token))
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
    serde_path_to_error::deserialize::<_, T>(value.clone()).map_err(|e| {
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
