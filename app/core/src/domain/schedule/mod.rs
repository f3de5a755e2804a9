//! Sync schedules: the simple presets, and standard 5-field crontab expressions read
//! the way crontab(5) reads them, evaluated in a time zone with daylight saving.
//!
//! Crontab's rules, which differ from several Rust cron crates:
//! - fields are minute, hour, day of month, month, day of week; no seconds;
//! - names (`jan`, `mon`), ranges, steps and lists; `0` and `7` are both Sunday;
//! - when both day of month and day of week are restricted (neither starts with `*`),
//!   a day matches if **either** matches; otherwise both must.
//!
//! Daylight saving: a local time that is skipped (spring forward) fires at the first
//! valid instant after the gap; a local time that happens twice (fall back) fires once,
//! at its first occurrence.

use std::fmt;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

mod describe;

/// The simple schedules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    Every5Minutes,
    Every15Minutes,
    Every30Minutes,
    Hourly,
    Every6Hours,
    Every12Hours,
    Daily,
    Weekly,
}

impl Preset {
    pub const ALL: [Self; 8] = [
        Self::Every5Minutes,
        Self::Every15Minutes,
        Self::Every30Minutes,
        Self::Hourly,
        Self::Every6Hours,
        Self::Every12Hours,
        Self::Daily,
        Self::Weekly,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Every5Minutes => "every_5_minutes",
            Self::Every15Minutes => "every_15_minutes",
            Self::Every30Minutes => "every_30_minutes",
            Self::Hourly => "hourly",
            Self::Every6Hours => "every_6_hours",
            Self::Every12Hours => "every_12_hours",
            Self::Daily => "daily",
            Self::Weekly => "weekly",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Every5Minutes => "Every 5 minutes",
            Self::Every15Minutes => "Every 15 minutes",
            Self::Every30Minutes => "Every 30 minutes",
            Self::Hourly => "Every hour",
            Self::Every6Hours => "Every 6 hours",
            Self::Every12Hours => "Every 12 hours",
            Self::Daily => "Every day",
            Self::Weekly => "Every week",
        }
    }

    pub fn interval(self) -> Duration {
        match self {
            Self::Every5Minutes => Duration::minutes(5),
            Self::Every15Minutes => Duration::minutes(15),
            Self::Every30Minutes => Duration::minutes(30),
            Self::Hourly => Duration::hours(1),
            Self::Every6Hours => Duration::hours(6),
            Self::Every12Hours => Duration::hours(12),
            Self::Daily => Duration::days(1),
            Self::Weekly => Duration::weeks(1),
        }
    }

    /// The first slot strictly after `after`. Slots are the interval's multiples since
    /// the Unix epoch shifted by `offset` (taken modulo the interval), so that many
    /// tenants with different offsets spread over the interval instead of all firing
    /// at the same instant.
    pub fn next_after(self, after: DateTime<Utc>, offset: Duration) -> DateTime<Utc> {
        let step = self.interval().num_seconds();
        let offset = offset.num_seconds().rem_euclid(step);
        let t = after.timestamp() - offset;
        let next = (t.div_euclid(step) + 1) * step + offset;
        DateTime::from_timestamp(next, 0).unwrap_or(after)
    }
}

/// Why a cron expression was refused; the message is shown next to the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CronError(pub String);

/// One field's allowed values as a bit set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Field {
    bits: u64,
    /// The field did not start with `*` (crontab's test for "restricted").
    restricted: bool,
}

impl Field {
    fn has(self, v: u32) -> bool {
        v < 64 && self.bits & (1 << v) != 0
    }

    fn values(self, min: u32, max: u32) -> Vec<u32> {
        (min..=max).filter(|v| self.has(*v)).collect()
    }
}

struct Spec {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MINUTE: Spec = Spec { name: "minute", min: 0, max: 59, names: &[] };
const HOUR: Spec = Spec { name: "hour", min: 0, max: 23, names: &[] };
const DOM: Spec = Spec { name: "day of month", min: 1, max: 31, names: &[] };
const MONTH: Spec = Spec {
    name: "month",
    min: 1,
    max: 12,
    names: &["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
};
// 7 is accepted and folded onto 0: both are Sunday.
const DOW: Spec =
    Spec { name: "day of week", min: 0, max: 7, names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"] };

/// A parsed 5-field crontab expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CronExpr {
    source: String,
    minute: Field,
    hour: Field,
    dom: Field,
    month: Field,
    dow: Field,
}

impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

fn value(spec: &Spec, text: &str) -> Result<u32, CronError> {
    let lower = text.to_ascii_lowercase();
    if let Some(i) = spec.names.iter().position(|n| *n == lower) {
        let base = if spec.min == 1 { 1 } else { 0 };
        return Ok(u32::try_from(i).unwrap_or(0) + base);
    }
    let v: u32 = text.parse().map_err(|_| CronError(format!("{text:?} is not a valid {}", spec.name)))?;
    if v < spec.min || v > spec.max {
        return Err(CronError(format!("{} must be from {} to {}, not {v}", spec.name, spec.min, spec.max)));
    }
    Ok(v)
}

fn field(spec: &Spec, text: &str) -> Result<Field, CronError> {
    let mut bits = 0u64;
    for item in text.split(',') {
        if item.is_empty() {
            return Err(CronError(format!("the {} field has an empty list item", spec.name)));
        }
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let step: u32 =
                    s.parse().map_err(|_| CronError(format!("{s:?} is not a step in the {} field", spec.name)))?;
                if step == 0 {
                    return Err(CronError(format!("the step in the {} field must be at least 1", spec.name)));
                }
                (r, step)
            }
            None => (item, 1),
        };
        let (lo, hi) = if range == "*" {
            (spec.min, spec.max)
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (value(spec, a)?, value(spec, b)?);
            if a > b {
                return Err(CronError(format!("the range {range} in the {} field runs backwards", spec.name)));
            }
            (a, b)
        } else {
            let a = value(spec, range)?;
            // `a/step` means from a to the end, stepping; a plain value is just itself.
            (a, if item.contains('/') { spec.max } else { a })
        };
        let mut v = lo;
        while v <= hi {
            bits |= 1 << v;
            match v.checked_add(step) {
                Some(next) => v = next,
                None => break,
            }
        }
    }
    Ok(Field { bits, restricted: !text.starts_with('*') })
}

impl CronExpr {
    pub fn parse(input: &str) -> Result<Self, CronError> {
        let text = input.trim();
        let expanded = match text.to_ascii_lowercase().as_str() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other if other.starts_with('@') => {
                return Err(CronError(format!(
                    "{text} is not a shortcut; use @yearly, @monthly, @weekly, @daily or @hourly"
                )))
            }
            _ => text,
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        if parts.len() != 5 {
            return Err(CronError(format!(
                "A cron expression has 5 fields (minute hour day-of-month month day-of-week); this one has {}.",
                parts.len()
            )));
        }
        let mut dow = field(&DOW, parts[4])?;
        if dow.has(7) {
            dow.bits = (dow.bits & !(1 << 7)) | 1;
        }
        Ok(Self {
            source: text.to_owned(),
            minute: field(&MINUTE, parts[0])?,
            hour: field(&HOUR, parts[1])?,
            dom: field(&DOM, parts[2])?,
            month: field(&MONTH, parts[3])?,
            dow,
        })
    }

    fn day_matches(&self, date: NaiveDate) -> bool {
        let dom = self.dom.has(date.day());
        let dow = self.dow.has(date.weekday().num_days_from_sunday());
        if self.dom.restricted && self.dow.restricted {
            dom || dow
        } else {
            dom && dow
        }
    }

    /// The first local wall-clock minute at or after `from` that the expression names.
    fn next_local(&self, from: NaiveDateTime) -> Option<NaiveDateTime> {
        let mut t = from;
        // Four years always contain every month/day combination that can exist.
        let limit = from + Duration::days(366 * 4 + 1);
        while t <= limit {
            if !self.month.has(t.month()) {
                let (y, m) = if t.month() == 12 { (t.year() + 1, 1) } else { (t.year(), t.month() + 1) };
                t = NaiveDate::from_ymd_opt(y, m, 1)?.and_hms_opt(0, 0, 0)?;
                continue;
            }
            if !self.day_matches(t.date()) {
                t = t.date().succ_opt()?.and_hms_opt(0, 0, 0)?;
                continue;
            }
            if !self.hour.has(t.hour()) {
                t = t.date().and_hms_opt(t.hour(), 0, 0)? + Duration::hours(1);
                continue;
            }
            if !self.minute.has(t.minute()) {
                t += Duration::minutes(1);
                continue;
            }
            return Some(t);
        }
        None
    }

    /// The first fire time strictly after `after`, in `tz`.
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let local = after.with_timezone(&tz).naive_local();
        let mut from = local.with_second(0)?.with_nanosecond(0)? + Duration::minutes(1);
        loop {
            let candidate = self.next_local(from)?;
            match tz.from_local_datetime(&candidate) {
                LocalResult::Single(t) if t.with_timezone(&Utc) > after => return Some(t.with_timezone(&Utc)),
                // A repeated local time fires at its first occurrence only.
                LocalResult::Ambiguous(first, _) if first.with_timezone(&Utc) > after => {
                    return Some(first.with_timezone(&Utc))
                }
                LocalResult::None => {
                    // Skipped by a spring-forward: fire at the first valid instant after the gap.
                    let mut probe = candidate;
                    for _ in 0..(24 * 60) {
                        probe += Duration::minutes(1);
                        if let Some(t) = tz.from_local_datetime(&probe).earliest() {
                            let t = t.with_timezone(&Utc);
                            if t > after {
                                return Some(t);
                            }
                            break;
                        }
                    }
                }
                _ => {}
            }
            from = candidate + Duration::minutes(1);
        }
    }

    /// The next `n` fire times after `after`.
    pub fn upcoming(&self, after: DateTime<Utc>, tz: Tz, n: usize) -> Vec<DateTime<Utc>> {
        let mut out = Vec::with_capacity(n);
        let mut t = after;
        while out.len() < n {
            match self.next_after(t, tz) {
                Some(next) => {
                    out.push(next);
                    t = next;
                }
                None => break,
            }
        }
        out
    }
}

/// A time zone by its IANA name ("Europe/Berlin"); the message names the mistake.
/// Every time zone name `parse_time_zone` takes (trimmed of spaces).
pub fn time_zone_names() -> impl Iterator<Item = &'static str> {
    chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())
}

pub fn parse_time_zone(name: &str) -> Result<Tz, CronError> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| CronError(format!("{name:?} is not a time zone; use a name like Europe/Berlin or UTC")))
}

#[cfg(test)]
mod tests;
