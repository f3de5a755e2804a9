//! Fair use: how often one marketplace user, one organization or one tenant's webhook
//! senders may ask the hub for work. Each limit counts what was asked within a window
//! and, once reached, says how long to wait.

use chrono::{DateTime, Duration, Utc};

/// At most `max` within `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window: Duration,
}

impl Limit {
    pub const fn per_hour(max: u32) -> Self {
        Self { max, window: Duration::hours(1) }
    }

    pub const fn per_minute(max: u32) -> Self {
        Self { max, window: Duration::minutes(1) }
    }

    /// The start of the window that ends at `now`: what was asked since counts.
    pub fn since(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - self.window
    }

    /// How long to wait before asking again, given the times (any order) of what was
    /// asked (only those within the window count); `None` while under the limit. The
    /// sign-in throttle keeps the same rule.
    pub fn wait(&self, asked: &[DateTime<Utc>], now: DateTime<Utc>) -> Option<Duration> {
        let max = usize::try_from(self.max).unwrap_or(usize::MAX);
        let mut recent: Vec<_> = asked.iter().copied().filter(|t| now - *t < self.window).collect();
        if recent.len() < max {
            return None;
        }
        recent.sort_unstable();
        // Once enough of the oldest leave the window, one more fits.
        let wait = recent[recent.len() - max] + self.window - now;
        (wait > Duration::zero()).then_some(wait)
    }
}

/// The limits in force (operator settings, `HUB_LIMIT_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FairUse {
    /// Installs one marketplace user makes (uninstalled ones count too).
    pub installs_per_user: Limit,
    /// Syncs one marketplace user asks for.
    pub runs_per_user: Limit,
    /// Syncs an organization's people and API keys ask for (not its marketplace users).
    pub runs_per_organization: Limit,
    /// Inbound webhook calls one tenant takes.
    pub webhooks_per_tenant: Limit,
}

impl Default for FairUse {
    fn default() -> Self {
        Self {
            installs_per_user: Limit::per_hour(20),
            runs_per_user: Limit::per_hour(60),
            runs_per_organization: Limit::per_hour(3600),
            webhooks_per_tenant: Limit::per_minute(120),
        }
    }
}

/// "3 minutes" or "40 seconds", rounded up, for messages.
pub fn describe_wait(wait: Duration) -> String {
    let seconds = wait.num_seconds().max(1);
    if seconds < 60 {
        return format!("{seconds} second{}", if seconds == 1 { "" } else { "s" });
    }
    let minutes = (seconds + 59) / 60;
    format!("{minutes} minute{}", if minutes == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("time")
    }

    #[test]
    fn a_limit_lets_the_allowed_number_through_then_says_when_one_more_fits() {
        let limit = Limit::per_minute(3);
        let asked = [at(0), at(10), at(20)];
        assert_eq!(limit.wait(&asked[..2], at(30)), None);
        assert_eq!(limit.wait(&asked, at(30)), Some(Duration::seconds(30)), "the oldest leaves at 60 s");
        assert_eq!(limit.wait(&asked, at(60)), None, "it has left");
        // Older than the window: not counted.
        assert_eq!(limit.wait(&[at(-100), at(-90), at(0)], at(30)), None);
        assert_eq!(describe_wait(Duration::seconds(30)), "30 seconds");
        assert_eq!(describe_wait(Duration::seconds(61)), "2 minutes");
        assert_eq!(describe_wait(Duration::zero()), "1 second");
    }
}
