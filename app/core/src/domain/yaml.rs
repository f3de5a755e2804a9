//! The one place that parses YAML, so the parser crate can be swapped. Errors carry
//! the line and column (both counted from 1) where the parser stopped.

use std::fmt;

use serde::de::DeserializeOwned;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlError {
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "line {l}, column {c}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for YamlError {}

/// Parses `text` into `T`; shape errors (a list where a map belongs, an unknown key)
/// are reported with their position too.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    serde_yaml::from_str(text).map_err(|e| {
        let location = e.location();
        let full = e.to_string();
        // The parser appends " at line L column C"; the position is kept separately.
        let message = match full.find(" at line ") {
            Some(i) if location.is_some() => full[..i].to_owned(),
            _ => full,
        };
        YamlError {
            line: location.as_ref().map(serde_yaml::Location::line),
            column: location.as_ref().map(serde_yaml::Location::column),
            message,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn syntax_errors_have_positions() {
        let err = from_str::<BTreeMap<String, String>>("a: b\n  c: d\n").expect_err("broken");
        assert_eq!((err.line, err.column), (Some(2), Some(4)), "{err}");
        assert!(err.message.contains("mapping values are not allowed"), "{err}");
        assert!(!err.message.contains(" at line "), "{}", err.message);
    }
}
