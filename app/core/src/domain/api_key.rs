//! What a REST API key may do, and for how long.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// A key's scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "backend", derive(sqlx::Type), sqlx(type_name = "TEXT", rename_all = "snake_case"))]
#[serde(rename_all = "snake_case")]
pub enum KeyScope {
    /// Reads only (GET).
    Read,
    /// Reads and changes.
    Full,
}

impl KeyScope {
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "read" => Some(Self::Read),
            "full" => Some(Self::Full),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Full => "full",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::Read => "Read only",
            Self::Full => "Full access",
        }
    }
}

/// The days a key may be made to last.
pub const DAYS: (u32, u32) = (1, 3650);

/// When a key made at `now` to last `days` (empty: for ever) stops working.
pub fn expiry(days: &str, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, String> {
    let days = days.trim();
    if days.is_empty() {
        return Ok(None);
    }
    match days.parse::<u32>() {
        Ok(n) if (DAYS.0..=DAYS.1).contains(&n) => Ok(Some(now + Duration::days(i64::from(n)))),
        _ => Err(format!("Enter a whole number of days from {} to {}, or leave it empty.", DAYS.0, DAYS.1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_and_expiries_are_read_from_the_form() {
        assert_eq!(KeyScope::parse("read"), Some(KeyScope::Read));
        assert_eq!(KeyScope::parse(" full "), Some(KeyScope::Full));
        assert_eq!(KeyScope::parse("admin"), None);
        let now = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        assert_eq!(expiry("", now), Ok(None));
        assert_eq!(expiry("30", now), Ok(Some(now + Duration::days(30))));
        assert!(expiry("0", now).is_err() && expiry("forever", now).is_err());
    }
}
