//! Throttling of repeated failed sign-ins.

use chrono::{DateTime, Duration, Utc};

use super::fair_use::Limit;

/// How many failures within [`WINDOW`] lock an email out at one address.
pub const MAX_FAILURES: usize = 5;
/// How many failures within [`WINDOW`], whatever the email, lock an address out.
pub const MAX_FROM_ADDRESS: usize = 20;
/// How many failures within [`WINDOW`], from every address, lock an email out: slows a
/// guesser with many addresses, and stays far above what locks one address out, so an
/// attacker at one address cannot lock the owner out everywhere.
pub const MAX_FOR_EMAIL: usize = 100;
/// The window over which failures count.
pub const WINDOW: Duration = Duration::minutes(15);
/// Emails and passwords longer than this are refused before any work: not stored,
/// not hashed.
pub const MAX_EMAIL: usize = 254;
pub const MAX_PASSWORD: usize = 1024;

/// Decides whether a sign-in may be attempted now, given the times of the recent
/// failures that count against it and how many lock it. Returns how long to wait when
/// it may not: until enough failures have left the window that fewer than `max` remain.
pub fn retry_after(failures: &[DateTime<Utc>], max: usize, now: DateTime<Utc>) -> Option<Duration> {
    let limit = Limit { max: u32::try_from(max).unwrap_or(u32::MAX), window: WINDOW };
    limit.wait(failures, now)
}

/// "3 minutes", rounded up, for messages.
pub fn describe_wait(wait: Duration) -> String {
    let minutes = (wait.num_seconds() + 59) / 60;
    match minutes {
        ..=1 => "a minute".to_owned(),
        n => format!("{n} minutes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).single().expect("valid") + Duration::minutes(min)
    }

    #[test]
    fn four_failures_do_not_lock() {
        let f: Vec<_> = (0..4).map(at).collect();
        assert_eq!(retry_after(&f, MAX_FAILURES, at(5)), None);
    }

    #[test]
    fn five_failures_lock_until_the_oldest_leaves_the_window() {
        let f: Vec<_> = (0..5).map(at).collect();
        assert_eq!(retry_after(&f, MAX_FAILURES, at(5)), Some(Duration::minutes(10)));
        assert_eq!(retry_after(&f, MAX_FAILURES, at(14)), Some(Duration::minutes(1)));
        // At 15 the first failure left the window: only four remain.
        assert_eq!(retry_after(&f, MAX_FAILURES, at(15)), None);
    }

    #[test]
    fn more_failures_keep_the_lock_longer() {
        let f: Vec<_> = (0..7).map(at).collect();
        // The fifth most recent failure (at 2) decides: locked until 17.
        assert_eq!(retry_after(&f, MAX_FAILURES, at(7)), Some(Duration::minutes(10)));
    }

    #[test]
    fn old_failures_do_not_count() {
        let f: Vec<_> = (0..10).map(|m| at(m - 60)).collect();
        assert_eq!(retry_after(&f, MAX_FAILURES, at(0)), None);
    }

    #[test]
    fn waits_are_described_in_whole_minutes() {
        assert_eq!(describe_wait(Duration::seconds(30)), "a minute");
        assert_eq!(describe_wait(Duration::seconds(61)), "2 minutes");
        assert_eq!(describe_wait(Duration::minutes(14)), "14 minutes");
    }
}
