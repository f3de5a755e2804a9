//! Email addresses, parsed once at the edge.

use std::fmt;

/// A syntactically plausible email address, trimmed and lowercased.
///
/// This is deliberately not a full RFC 5322 parser: it rejects what is clearly not an
/// address (no `@`, spaces, an empty part, no dot in the domain) and leaves the rest to
/// the mail server, which is the only real judge.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("Enter an email address.")]
    Empty,
    #[error("Enter an email address like name@example.com.")]
    Malformed,
    #[error("That email address is too long (at most 254 characters).")]
    TooLong,
}

impl Email {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(EmailError::Empty);
        }
        if s.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = s.rsplit_once('@').ok_or(EmailError::Malformed)?;
        let bad_char = |c: char| c.is_whitespace() || c.is_control();
        if local.is_empty()
            || domain.is_empty()
            || s.chars().any(bad_char)
            || local.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains("..")
        {
            return Err(EmailError::Malformed);
        }
        Ok(Self(s.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<&str, EmailError>) {
        let got = Email::parse(input);
        assert_eq!(got.as_ref().map(Email::as_str), expected.as_ref().map(|s| *s), "{input:?}");
    }

    #[test]
    fn parses_and_normalises() {
        check("  Admin@Example.COM ", Ok("admin@example.com"));
        check("a.b+tag@sub.example.org", Ok("a.b+tag@sub.example.org"));
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        check("", Err(EmailError::Empty));
        check("   ", Err(EmailError::Empty));
        check("admin", Err(EmailError::Malformed));
        check("@example.com", Err(EmailError::Malformed));
        check("admin@", Err(EmailError::Malformed));
        check("admin@localhost", Err(EmailError::Malformed));
        check("ad min@example.com", Err(EmailError::Malformed));
        check("a@b@example.com", Err(EmailError::Malformed));
        check("admin@example..com", Err(EmailError::Malformed));
        check("admin@.example.com", Err(EmailError::Malformed));
    }
}
