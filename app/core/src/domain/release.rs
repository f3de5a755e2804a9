//! Releases: their build status, and which release a tenant's choice means.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "backend", derive(sqlx::Type), sqlx(type_name = "TEXT", rename_all = "snake_case"))]
pub enum ReleaseStatus {
    Queued,
    Building,
    Succeeded,
    Failed,
}

impl ReleaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Building => "building",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Queued, Self::Building, Self::Succeeded, Self::Failed].into_iter().find(|k| k.as_str() == s)
    }

    /// Queued and building releases are still on their way.
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

/// Which release a tenant runs: one pinned release, or a channel that follows the
/// integration's default release or its newest successful build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "release_id", rename_all = "snake_case")]
pub enum ReleaseChoice {
    Specific(i64),
    Default,
    Latest,
}

impl ReleaseChoice {
    /// From the two columns that store it.
    pub fn from_parts(kind: &str, release_id: Option<i64>) -> Option<Self> {
        match (kind, release_id) {
            ("specific", Some(id)) => Some(Self::Specific(id)),
            ("default", _) => Some(Self::Default),
            ("latest", _) => Some(Self::Latest),
            _ => None,
        }
    }

    pub fn kind(self) -> &'static str {
        match self {
            Self::Specific(_) => "specific",
            Self::Default => "default",
            Self::Latest => "latest",
        }
    }

    pub fn release_id(self) -> Option<i64> {
        match self {
            Self::Specific(id) => Some(id),
            _ => None,
        }
    }

    /// How the choice reads in a list: "Pinned: v2 (main)", "Default channel",
    /// "Latest channel". `None` (a stored value the hub does not know) reads "Unknown".
    pub fn label(choice: Option<Self>, pinned_name: Option<&str>) -> String {
        match choice {
            Some(Self::Specific(_)) => format!("Pinned: {}", pinned_name.unwrap_or("a release that is gone")),
            Some(Self::Default) => "Default channel".to_owned(),
            Some(Self::Latest) => "Latest channel".to_owned(),
            None => "Unknown".to_owned(),
        }
    }

    /// How the choice reads on a tenant's page, with the release it means now:
    /// "Pinned: v2 (main)", "Default channel (now v2 (main))".
    pub fn describe(choice: Option<Self>, resolved: Option<&str>) -> String {
        let now = resolved.map_or_else(|| "no release yet".to_owned(), |r| format!("now {r}"));
        match choice {
            Some(Self::Specific(_)) => Self::label(choice, resolved),
            Some(Self::Default) => format!("Default channel ({now})"),
            Some(Self::Latest) => format!("Latest channel ({now})"),
            None => "Unknown".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_round_trip_through_their_columns() {
        for c in [ReleaseChoice::Specific(7), ReleaseChoice::Default, ReleaseChoice::Latest] {
            assert_eq!(ReleaseChoice::from_parts(c.kind(), c.release_id()), Some(c));
        }
        assert_eq!(ReleaseChoice::from_parts("specific", None), None);
        assert_eq!(ReleaseChoice::from_parts("other", None), None);
    }
}
