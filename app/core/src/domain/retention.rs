//! How long the hub keeps what grows with use, and the checks on the settings form.
//!
//! Run logs are kept for `log_days` after their run finished and a tenant keeps its
//! newest `runs_per_tenant` finished runs; the rest of the pruning is fixed (see
//! [`FIXED`]). Audit entries are never pruned.

use serde::{Deserialize, Serialize};

/// The settings row's key.
pub const SETTING: &str = "retention";

pub const LOG_DAYS: (u32, u32) = (1, 3650);
pub const RUNS_PER_TENANT: (u32, u32) = (10, 1_000_000);

/// What an operator sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    /// Days a finished run's log is kept (its run stays, marked as pruned).
    pub log_days: u32,
    /// Finished runs a tenant keeps, newest first; older ones go with their log and triggers.
    pub runs_per_tenant: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Self { log_days: 30, runs_per_tenant: 1000 }
    }
}

/// What is pruned on a fixed schedule, in words for the settings page.
pub const FIXED: &[(&str, &str)] = &[
    ("Webhook bodies", "Deleted when their run has finished, and any left unclaimed after a day."),
    (
        "Release checkouts",
        "Removed a week after build when no tenant chooses the release and it is neither the default nor the latest.",
    ),
    (
        "Webhook deliveries and sent mail",
        "Kept as long as run logs, counted from when they were delivered or given up.",
    ),
    ("Sign-in failures, expired sessions and OAuth2 states", "Deleted a day after they stop counting."),
    ("Audit entries", "Kept for ever."),
];

impl Retention {
    /// Reads the settings form. Errors are `(field, message)` pairs.
    pub fn parse(log_days: &str, runs_per_tenant: &str) -> Result<Self, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let log_days = number(log_days, "log_days", "Days to keep run logs", LOG_DAYS, &mut errors);
        let runs = number(runs_per_tenant, "runs_per_tenant", "Runs kept per tenant", RUNS_PER_TENANT, &mut errors);
        match (log_days, runs) {
            (Some(log_days), Some(runs_per_tenant)) if errors.is_empty() => Ok(Self { log_days, runs_per_tenant }),
            _ => Err(errors),
        }
    }

    /// Reads the stored JSON; anything unreadable or out of range counts as the default.
    pub fn from_stored(json: Option<&str>) -> Self {
        let in_range = |r: &Self| {
            (LOG_DAYS.0..=LOG_DAYS.1).contains(&r.log_days)
                && (RUNS_PER_TENANT.0..=RUNS_PER_TENANT.1).contains(&r.runs_per_tenant)
        };
        json.and_then(|j| serde_json::from_str::<Self>(j).ok()).filter(in_range).unwrap_or_default()
    }
}

fn number(
    text: &str,
    field: &'static str,
    label: &str,
    (min, max): (u32, u32),
    errors: &mut Vec<(&'static str, String)>,
) -> Option<u32> {
    let text = text.trim();
    if text.is_empty() {
        errors.push((field, format!("{label} is required.")));
        return None;
    }
    let n = text.parse::<u32>().ok().filter(|n| (min..=max).contains(n));
    if n.is_none() {
        errors.push((field, format!("{label} must be a whole number from {min} to {max}.")));
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_whole_numbers_in_range() {
        assert_eq!(Retention::parse(" 7 ", "50"), Ok(Retention { log_days: 7, runs_per_tenant: 50 }));
        assert_eq!(Retention::parse("3650", "1000000").map(|r| r.log_days), Ok(3650));
    }

    #[test]
    fn names_each_bad_field() {
        let errors = Retention::parse("0", "").expect_err("both bad");
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0], ("log_days", "Days to keep run logs must be a whole number from 1 to 3650.".to_owned()));
        assert_eq!(errors[1], ("runs_per_tenant", "Runs kept per tenant is required.".to_owned()));
        assert_eq!(Retention::parse("30", "9").expect_err("too few runs")[0].0, "runs_per_tenant");
        assert_eq!(Retention::parse("2.5", "100").expect_err("not whole")[0].0, "log_days");
    }

    #[test]
    fn a_stored_value_out_of_range_reads_as_the_default() {
        assert_eq!(Retention::from_stored(None), Retention::default());
        assert_eq!(Retention::from_stored(Some("not json")), Retention::default());
        assert_eq!(Retention::from_stored(Some(r#"{"log_days":0,"runs_per_tenant":100}"#)), Retention::default());
        let kept = Retention::from_stored(Some(r#"{"log_days":5,"runs_per_tenant":100}"#));
        assert_eq!(kept, Retention { log_days: 5, runs_per_tenant: 100 });
    }
}
