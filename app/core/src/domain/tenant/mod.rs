//! Tenants: the name rules, the release choice as typed, the sync schedule as typed,
//! what an unfinished tenant still lacks, and the tenants list's query. The browser and
//! the server check them with this same code. It is one file because each part is a
//! short type of what a tenant page posts or puts in its URL.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::integration::FieldError;
use super::release::ReleaseChoice;
use super::schedule::{parse_time_zone, CronExpr, Preset};

/// The longest tenant name.
pub const NAME_MAX: usize = 63;

/// DOMAIN.md's rules: at most 63 characters; lowercase letters, digits and `-`, not
/// at either end.
pub fn check_name(name: &str) -> Result<(), String> {
    let count = name.chars().count();
    if name.is_empty() {
        return Err("Give the tenant a name.".to_owned());
    }
    if count > NAME_MAX {
        return Err(format!("At most {NAME_MAX} characters; this has {count}."));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')) {
        return Err(format!("Use lowercase letters, digits and '-' only; {c:?} is not allowed."));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err("A name cannot start or end with '-'.".to_owned());
    }
    Ok(())
}

/// Where a tenant came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "backend", derive(sqlx::Type), sqlx(type_name = "TEXT", rename_all = "snake_case"))]
pub enum Source {
    Hub,
    Marketplace,
    Api,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hub => "hub",
            Self::Marketplace => "marketplace",
            Self::Api => "api",
        }
    }
}

/// Step 1 of the creation flow, as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewTenantInput {
    pub name: String,
    /// `specific` or `channel`.
    pub release_mode: String,
    /// The release id, for `specific`.
    pub release_id: String,
    /// `default` or `latest`, for `channel`.
    pub channel: String,
}

/// The release choice as a form posts it: a specific release or a channel.
fn release_choice(mode: &str, release_id: &str, channel: &str) -> Result<ReleaseChoice, FieldError> {
    match mode {
        "specific" => match release_id.trim().parse::<i64>() {
            Ok(id) => Ok(ReleaseChoice::Specific(id)),
            Err(_) => Err(field("release_id", "Choose a release.")),
        },
        "channel" | "" => match channel {
            "default" | "" => Ok(ReleaseChoice::Default),
            "latest" => Ok(ReleaseChoice::Latest),
            other => Err(field("channel", format!("{other:?} is not a channel; choose Default or Latest."))),
        },
        other => Err(field("release_mode", format!("{other:?} is not a release choice."))),
    }
}

/// Settings → Version, as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VersionInput {
    pub release_mode: String,
    pub release_id: String,
    pub channel: String,
}

impl VersionInput {
    pub fn choice(&self) -> Result<ReleaseChoice, FieldError> {
        release_choice(&self.release_mode, &self.release_id, &self.channel)
    }

    /// As the form shows a stored choice.
    pub fn of(choice: ReleaseChoice) -> Self {
        let (mode, id, channel) = match choice {
            ReleaseChoice::Specific(id) => ("specific", id.to_string(), "default"),
            ReleaseChoice::Default => ("channel", String::new(), "default"),
            ReleaseChoice::Latest => ("channel", String::new(), "latest"),
        };
        Self { release_mode: mode.into(), release_id: id, channel: channel.into() }
    }
}

impl NewTenantInput {
    /// The trimmed name and the release choice, or the first broken rule.
    pub fn validate(&self) -> Result<(String, ReleaseChoice), FieldError> {
        let name = self.name.trim().to_owned();
        check_name(&name).map_err(|m| field("name", m))?;
        Ok((name, release_choice(&self.release_mode, &self.release_id, &self.channel)?))
    }

    /// The form's values as text, to show them again after a failed plain POST.
    pub fn kept(&self) -> Vec<(String, String)> {
        vec![
            ("name".into(), self.name.clone()),
            ("release_mode".into(), self.release_mode.clone()),
            ("release_id".into(), self.release_id.clone()),
            ("channel".into(), self.channel.clone()),
        ]
    }
}

fn field(name: &str, message: impl Into<String>) -> FieldError {
    FieldError { field: name.to_owned(), message: message.into() }
}

/// A tenant's sync schedule.
#[derive(Clone, Debug, PartialEq)]
pub enum Schedule {
    Preset(Preset),
    Cron { expr: CronExpr, tz: Tz },
}

/// The schedule form as typed: simple (a preset) or advanced (cron and time zone).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScheduleInput {
    /// `simple` or `advanced`.
    pub kind: String,
    pub preset: String,
    pub cron: String,
    pub timezone: String,
}

impl ScheduleInput {
    pub fn parse(&self) -> Result<Schedule, FieldError> {
        match self.kind.as_str() {
            "advanced" => {
                let expr = CronExpr::parse(&self.cron).map_err(|e| field("cron", e.0))?;
                let tz_name = if self.timezone.trim().is_empty() { "UTC" } else { self.timezone.trim() };
                let tz = parse_time_zone(tz_name).map_err(|e| field("timezone", e.0))?;
                // A date that never comes (`0 0 31 2 *`) would leave a running tenant idle forever.
                let start = DateTime::<Utc>::from_timestamp(946_684_800, 0).unwrap_or_default();
                if expr.next_after(start, tz).is_none() {
                    return Err(field("cron", "This expression never fires: no such date exists."));
                }
                Ok(Schedule::Cron { expr, tz })
            }
            "simple" | "" => Preset::parse(&self.preset)
                .map(Schedule::Preset)
                .ok_or_else(|| field("preset", "Choose how often the tenant syncs.")),
            other => Err(field("kind", format!("{other:?} is not a schedule type."))),
        }
    }

    /// The form's values as text, to show them again after a failed plain POST.
    pub fn kept(&self) -> Vec<(String, String)> {
        vec![
            ("kind".into(), self.kind.clone()),
            ("preset".into(), self.preset.clone()),
            ("cron".into(), self.cron.clone()),
            ("timezone".into(), self.timezone.clone()),
        ]
    }
}

impl Schedule {
    /// From the three columns that store it.
    pub fn from_parts(kind: &str, schedule: &str, timezone: &str) -> Option<Self> {
        match kind {
            "preset" => Preset::parse(schedule).map(Self::Preset),
            "cron" => Some(Self::Cron { expr: CronExpr::parse(schedule).ok()?, tz: parse_time_zone(timezone).ok()? }),
            _ => None,
        }
    }

    /// The (kind, schedule, timezone) columns.
    pub fn to_parts(&self) -> (&'static str, String, String) {
        match self {
            Self::Preset(p) => ("preset", p.as_str().to_owned(), "UTC".to_owned()),
            Self::Cron { expr, tz } => ("cron", expr.to_string(), tz.name().to_owned()),
        }
    }

    /// As the form shows it.
    pub fn to_input(&self) -> ScheduleInput {
        match self {
            Self::Preset(p) => ScheduleInput {
                kind: "simple".into(),
                preset: p.as_str().into(),
                cron: String::new(),
                timezone: "UTC".into(),
            },
            Self::Cron { expr, tz } => ScheduleInput {
                kind: "advanced".into(),
                preset: Preset::Daily.as_str().into(),
                cron: expr.to_string(),
                timezone: tz.name().into(),
            },
        }
    }

    /// In plain words: "Every hour", "At 09:30, on Monday through Friday (Europe/Berlin)".
    pub fn describe(&self) -> String {
        match self {
            Self::Preset(p) => p.label().to_owned(),
            Self::Cron { expr, tz } => format!("{} ({})", expr.describe(), tz.name()),
        }
    }

    /// The first fire time strictly after `after`. Presets are spread by the tenant's
    /// id so that many tenants on one preset do not all start at the same instant;
    /// cron expressions fire exactly when they say.
    pub fn next_after(&self, after: DateTime<Utc>, tenant_id: i64) -> Option<DateTime<Utc>> {
        match self {
            Self::Preset(p) => Some(p.next_after(after, spread(tenant_id, p.interval()))),
            Self::Cron { expr, tz } => expr.next_after(after, *tz),
        }
    }
}

/// A stable offset within `interval` for a tenant: the id scrambled (a 64-bit mix) so
/// that consecutive ids land far apart, in whole seconds.
fn spread(tenant_id: i64, interval: Duration) -> Duration {
    let mut x = tenant_id as u64;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    let secs = interval.num_seconds().max(1) as u64;
    Duration::seconds((x % secs) as i64)
}

/// The steps of the creation flow after Create.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "backend", derive(sqlx::Type), sqlx(type_name = "TEXT", rename_all = "snake_case"))]
pub enum SetupStep {
    Credentials,
    Configuration,
    Schedule,
    Done,
}

impl SetupStep {
    pub const FLOW: [Self; 3] = [Self::Credentials, Self::Configuration, Self::Schedule];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Credentials => "credentials",
            Self::Configuration => "configuration",
            Self::Schedule => "schedule",
            Self::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Credentials, Self::Configuration, Self::Schedule, Self::Done].into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Credentials => "Credentials",
            Self::Configuration => "Configuration",
            Self::Schedule => "Sync schedule",
            Self::Done => "Done",
        }
    }

    /// The step after this one.
    pub fn next(self) -> Self {
        match self {
            Self::Credentials => Self::Configuration,
            Self::Configuration => Self::Schedule,
            Self::Schedule | Self::Done => Self::Done,
        }
    }

    /// Later steps never move a tenant back: the furthest of the two.
    pub fn furthest(self, other: Self) -> Self {
        let rank = |s: Self| match s {
            Self::Credentials => 0,
            Self::Configuration => 1,
            Self::Schedule => 2,
            Self::Done => 3,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

/// The tenants list's state filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateFilter {
    Paused,
    Running,
    NotConnected,
    LastRunFailed,
    Unfinished,
}

impl StateFilter {
    pub const ALL: [Self; 5] = [Self::Paused, Self::Running, Self::NotConnected, Self::LastRunFailed, Self::Unfinished];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Paused => "paused",
            Self::Running => "running",
            Self::NotConnected => "not_connected",
            Self::LastRunFailed => "failed",
            Self::Unfinished => "unfinished",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Paused => "Paused",
            Self::Running => "Running",
            Self::NotConnected => "Not connected",
            Self::LastRunFailed => "Last run failed",
            Self::Unfinished => "Setup unfinished",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The tenants list's orders.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    #[default]
    Name,
    NameDesc,
    Integration,
    Newest,
    LastRun,
}

impl SortOrder {
    pub const ALL: [Self; 5] = [Self::Name, Self::NameDesc, Self::Integration, Self::Newest, Self::LastRun];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::NameDesc => "-name",
            Self::Integration => "integration",
            Self::Newest => "newest",
            Self::LastRun => "last_run",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Name => "Name, A to Z",
            Self::NameDesc => "Name, Z to A",
            Self::Integration => "Integration",
            Self::Newest => "Newest first",
            Self::LastRun => "Most recent run",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Rows per page of the tenants list.
pub const PAGE_SIZE: i64 = 25;

/// The tenants list's search, filters, order and page: all of it lives in the URL.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListQuery {
    pub q: String,
    pub integration: Option<i64>,
    pub state: Option<StateFilter>,
    pub sort: SortOrder,
    /// From 1.
    pub page: i64,
}

impl ListQuery {
    /// From the URL's query parameters; anything unreadable falls back to the default.
    pub fn from_params(get: impl Fn(&str) -> Option<String>) -> Self {
        Self {
            q: get("q").map(|s| s.trim().to_owned()).unwrap_or_default(),
            integration: get("integration").and_then(|s| s.parse().ok()),
            state: get("state").as_deref().and_then(StateFilter::parse),
            sort: get("sort").as_deref().and_then(SortOrder::parse).unwrap_or_default(),
            // Far past any real page, but safe to multiply by the page size.
            page: get("page").and_then(|s| s.parse::<i64>().ok()).map_or(1, |p| p.clamp(1, 1_000_000_000)),
        }
    }

    /// This query as a URL of the list, with `page` instead of its own.
    pub fn url(&self, page: i64) -> String {
        let mut parts = Vec::new();
        if !self.q.is_empty() {
            parts.push(format!("q={}", encode(&self.q)));
        }
        if let Some(i) = self.integration {
            parts.push(format!("integration={i}"));
        }
        if let Some(s) = self.state {
            parts.push(format!("state={}", s.as_str()));
        }
        if self.sort != SortOrder::Name {
            parts.push(format!("sort={}", encode(self.sort.as_str())));
        }
        if page > 1 {
            parts.push(format!("page={page}"));
        }
        if parts.is_empty() {
            "/tenants".to_owned()
        } else {
            format!("/tenants?{}", parts.join("&"))
        }
    }
}

/// Percent-encoding for a query value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests;
