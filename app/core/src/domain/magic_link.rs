//! How long a tenant's magic links stay valid: a hub-wide setting, from the day a
//! link was made (or last replaced). Without a setting, links do not expire.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The settings row's key.
pub const SETTING: &str = "magic_links";

/// The allowed number of days.
pub const DAYS: (u32, u32) = (1, 3650);

/// Why a link stopped working, as stored with its hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replaced {
    /// An admin made a new one.
    Replaced,
    /// The tenant was linked to another marketplace user (or unlinked).
    Relinked,
    /// It expired and the marketplace made a new one for its user.
    Expired,
}

impl Replaced {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Replaced => "replaced",
            Self::Relinked => "relinked",
            Self::Expired => "expired",
        }
    }
}

/// What an admin sets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkSettings {
    /// Days a link stays valid; `None`: for ever.
    #[serde(default)]
    pub days: Option<u32>,
}

impl LinkSettings {
    /// Reads the form's field: empty means links do not expire.
    pub fn parse(days: &str) -> Result<Self, String> {
        let days = days.trim();
        if days.is_empty() {
            return Ok(Self { days: None });
        }
        match days.parse::<u32>() {
            Ok(n) if (DAYS.0..=DAYS.1).contains(&n) => Ok(Self { days: Some(n) }),
            _ => Err(format!("Enter a whole number of days from {} to {}, or leave it empty.", DAYS.0, DAYS.1)),
        }
    }

    /// Reads the stored JSON; anything unreadable counts as no expiry.
    pub fn from_stored(json: Option<&str>) -> Self {
        json.and_then(|j| serde_json::from_str::<Self>(j).ok())
            .filter(|s| s.days.is_none_or(|d| (DAYS.0..=DAYS.1).contains(&d)))
            .unwrap_or_default()
    }

    /// When a link made at `issued` stops working, if it ever does.
    pub fn expires_at(&self, issued: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.days.map(|d| issued + Duration::days(i64::from(d)))
    }

    /// True when a link made at `issued` no longer works at `now`.
    pub fn expired(&self, issued: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
        issued.and_then(|i| self.expires_at(i)).is_some_and(|at| at <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_is_read_checked_and_applied_from_the_day_a_link_was_made() {
        assert_eq!(LinkSettings::parse(" "), Ok(LinkSettings { days: None }));
        assert_eq!(LinkSettings::parse("30"), Ok(LinkSettings { days: Some(30) }));
        for bad in ["0", "3651", "two", "-1", "1.5"] {
            assert!(LinkSettings::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(LinkSettings::from_stored(Some("{\"days\":0}")), LinkSettings::default());
        assert_eq!(LinkSettings::from_stored(Some("{\"days\":7}")).days, Some(7));
        let issued = DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        let week = LinkSettings { days: Some(7) };
        assert!(!week.expired(Some(issued), issued + Duration::days(7) - Duration::seconds(1)));
        assert!(week.expired(Some(issued), issued + Duration::days(7)));
        assert!(!LinkSettings::default().expired(Some(issued), issued + Duration::days(10_000)));
    }
}
