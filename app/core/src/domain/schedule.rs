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

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAY_NAMES: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

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

    /// The expression in plain words, e.g. "At 09:30, on Monday through Friday".
    pub fn describe(&self) -> String {
        let minutes = self.minute.values(0, 59);
        let hours = self.hour.values(0, 23);
        let time = match (minutes.as_slice(), hours.len()) {
            (m, 24) if m.len() == 60 => "Every minute".to_owned(),
            (m, 24) if m.len() > 1 && is_step(m, 0, 59) => format!("Every {} minutes", m[1] - m[0]),
            ([m], 24) => format!("At minute {m} of every hour"),
            (m, 24) => format!("At minutes {} of every hour", list(m, |v| v.to_string())),
            ([m], _) => format!("At {}", list(&hours, |h| format!("{h:02}:{m:02}"))),
            (m, _) if m.len() == 60 => format!("Every minute during hour {}", list(&hours, |h| format!("{h:02}"))),
            (m, _) => {
                format!("At minutes {} past hour {}", list(m, |v| v.to_string()), list(&hours, |h| format!("{h:02}")))
            }
        };
        let dom = ranges(&self.dom.values(1, 31), |v| v.to_string());
        let dow = ranges(&self.dow.values(0, 6), |v| DAY_NAMES[v as usize].to_owned());
        let day = match (self.dom.restricted, self.dow.restricted) {
            (true, true) => format!(", on day {dom} of the month and on every {dow}"),
            (true, false) => format!(", on day {dom} of the month"),
            (false, true) => format!(", on {dow}"),
            (false, false) => String::new(),
        };
        let month = if self.month.values(1, 12).len() == 12 {
            String::new()
        } else {
            format!(", in {}", ranges(&self.month.values(1, 12), |v| MONTH_NAMES[v as usize - 1].to_owned()))
        };
        format!("{time}{day}{month}")
    }
}

fn is_step(values: &[u32], min: u32, max: u32) -> bool {
    let step = values[1] - values[0];
    values[0] == min && values.windows(2).all(|w| w[1] - w[0] == step) && values[values.len() - 1] + step > max
}

fn list(values: &[u32], show: impl Fn(u32) -> String) -> String {
    let shown: Vec<String> = values.iter().map(|v| show(*v)).collect();
    match shown.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// "Monday through Friday", "1, 15 and 20 through 25".
fn ranges(values: &[u32], show: impl Fn(u32) -> String) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < values.len() {
        let mut j = i;
        while j + 1 < values.len() && values[j + 1] == values[j] + 1 {
            j += 1;
        }
        parts.push(if j - i >= 2 {
            format!("{} through {}", show(values[i]), show(values[j]))
        } else if j > i {
            format!("{} and {}", show(values[i]), show(values[j]))
        } else {
            show(values[i])
        });
        i = j + 1;
    }
    match parts.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// A time zone by its IANA name ("Europe/Berlin"); the message names the mistake.
pub fn parse_time_zone(name: &str) -> Result<Tz, CronError> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| CronError(format!("{name:?} is not a time zone; use a name like Europe/Berlin or UTC")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("rfc3339").with_timezone(&Utc)
    }

    fn next(expr: &str, tz: &str, after: &str, n: usize) -> Vec<String> {
        let e = CronExpr::parse(expr).expect("valid");
        let tz: Tz = tz.parse().expect("tz");
        e.upcoming(utc(after), tz, n).iter().map(|t| t.with_timezone(&tz).to_rfc3339()).collect()
    }

    #[test]
    fn day_of_month_or_day_of_week_when_both_are_restricted() {
        // "the 13th, and every Friday": 2026-02-13 is a Friday; 2026-03-13 too.
        assert_eq!(
            next("0 9 13 * 5", "UTC", "2026-02-01T00:00:00Z", 4),
            [
                "2026-02-06T09:00:00+00:00",
                "2026-02-13T09:00:00+00:00",
                "2026-02-20T09:00:00+00:00",
                "2026-02-27T09:00:00+00:00"
            ]
        );
        assert_eq!(
            next("0 9 14 * 5", "UTC", "2026-02-10T00:00:00Z", 2),
            ["2026-02-13T09:00:00+00:00", "2026-02-14T09:00:00+00:00"]
        );
        // With day of month left as `*`, only the day of week counts.
        assert_eq!(next("0 9 * * 5", "UTC", "2026-02-10T00:00:00Z", 1), ["2026-02-13T09:00:00+00:00"]);
        // `*/2` starts with `*`, so it is not "restricted": the AND rule applies.
        assert_eq!(next("0 9 */2 * 1", "UTC", "2026-02-01T00:00:00Z", 1), ["2026-02-09T09:00:00+00:00"]);
    }

    #[test]
    fn names_ranges_steps_lists_and_both_sundays() {
        let sun0 = next("0 0 * * 0", "UTC", "2026-02-01T00:00:00Z", 3);
        assert_eq!(sun0, next("0 0 * * 7", "UTC", "2026-02-01T00:00:00Z", 3));
        assert_eq!(sun0, next("0 0 * * SUN", "UTC", "2026-02-01T00:00:00Z", 3));
        assert_eq!(
            next("*/20 9-10 * jan-feb mon-fri", "UTC", "2026-02-27T10:30:00Z", 3),
            ["2026-02-27T10:40:00+00:00", "2027-01-01T09:00:00+00:00", "2027-01-01T09:20:00+00:00"]
        );
        assert_eq!(
            next("5,35 * * * *", "UTC", "2026-02-01T00:06:00Z", 2),
            ["2026-02-01T00:35:00+00:00", "2026-02-01T01:05:00+00:00"]
        );
        assert_eq!(
            next("10/20 * * * *", "UTC", "2026-02-01T00:00:00Z", 3),
            ["2026-02-01T00:10:00+00:00", "2026-02-01T00:30:00+00:00", "2026-02-01T00:50:00+00:00"]
        );
        assert_eq!(next("0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", 1), ["2028-02-29T00:00:00+00:00"]);
    }

    #[test]
    fn shortcuts() {
        assert_eq!(next("@hourly", "UTC", "2026-02-01T00:30:00Z", 1), ["2026-02-01T01:00:00+00:00"]);
        assert_eq!(next("@daily", "UTC", "2026-02-01T00:30:00Z", 1), ["2026-02-02T00:00:00+00:00"]);
        assert_eq!(next("@weekly", "UTC", "2026-02-02T00:30:00Z", 1), ["2026-02-08T00:00:00+00:00"]);
        assert_eq!(next("@monthly", "UTC", "2026-02-02T00:30:00Z", 1), ["2026-03-01T00:00:00+00:00"]);
        assert_eq!(next("@yearly", "UTC", "2026-02-02T00:30:00Z", 1), ["2027-01-01T00:00:00+00:00"]);
    }

    #[test]
    fn a_skipped_local_time_fires_after_the_gap() {
        // New York springs forward on 2026-03-08: 02:00 becomes 03:00.
        assert_eq!(
            next("30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", 3),
            ["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00", "2026-03-10T02:30:00-04:00"]
        );
        // Every quarter hour through the gap fires once at 03:00, then carries on.
        assert_eq!(
            next("*/15 * * * *", "America/New_York", "2026-03-08T06:40:00Z", 3),
            ["2026-03-08T01:45:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T03:15:00-04:00"]
        );
    }

    #[test]
    fn a_repeated_local_hour_fires_once() {
        // New York falls back on 2026-11-01: 01:00–01:59 happens twice.
        assert_eq!(
            next("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", 2),
            ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"]
        );
        // Starting inside the second pass of the hour does not fire it again.
        assert_eq!(next("30 1 * * *", "America/New_York", "2026-11-01T06:10:00Z", 1), ["2026-11-02T01:30:00-05:00"]);
        // Hourly crosses the change without a gap or a double.
        assert_eq!(
            next("0 * * * *", "America/New_York", "2026-11-01T04:30:00Z", 3),
            ["2026-11-01T01:00:00-04:00", "2026-11-01T02:00:00-05:00", "2026-11-01T03:00:00-05:00"]
        );
    }

    #[test]
    fn invalid_expressions_say_what_is_wrong() {
        for (expr, message) in [
            ("* * * *", "A cron expression has 5 fields (minute hour day-of-month month day-of-week); this one has 4."),
            ("60 * * * *", "minute must be from 0 to 59, not 60"),
            ("* 24 * * *", "hour must be from 0 to 23, not 24"),
            ("* * 0 * *", "day of month must be from 1 to 31, not 0"),
            ("* * * 13 *", "month must be from 1 to 12, not 13"),
            ("* * * * 8", "day of week must be from 0 to 7, not 8"),
            ("*/0 * * * *", "the step in the minute field must be at least 1"),
            ("5-1 * * * *", "the range 5-1 in the minute field runs backwards"),
            ("* * * foo *", "\"foo\" is not a valid month"),
            ("1,,2 * * * *", "the minute field has an empty list item"),
            ("@sometimes", "@sometimes is not a shortcut; use @yearly, @monthly, @weekly, @daily or @hourly"),
        ] {
            assert_eq!(CronExpr::parse(expr).expect_err(expr).0, message, "{expr}");
        }
        assert!(CronExpr::parse("0 0 31 2 *")
            .expect("parses")
            .next_after(utc("2026-01-01T00:00:00Z"), Tz::UTC)
            .is_none());
    }

    #[test]
    fn plain_language_readings() {
        for (expr, reading) in [
            ("* * * * *", "Every minute"),
            ("*/15 * * * *", "Every 15 minutes"),
            ("0 * * * *", "At minute 0 of every hour"),
            ("30 9 * * *", "At 09:30"),
            ("0 9,17 * * mon-fri", "At 09:00 and 17:00, on Monday through Friday"),
            ("0 9 13 * 5", "At 09:00, on day 13 of the month and on every Friday"),
            ("0 0 1 1,7 *", "At 00:00, on day 1 of the month, in January and July"),
        ] {
            assert_eq!(CronExpr::parse(expr).expect(expr).describe(), reading, "{expr}");
        }
    }

    #[test]
    fn presets_fire_on_their_interval_with_a_spread() {
        let after = utc("2026-02-01T10:07:00Z");
        assert_eq!(Preset::Hourly.next_after(after, Duration::zero()), utc("2026-02-01T11:00:00Z"));
        assert_eq!(Preset::Hourly.next_after(after, Duration::minutes(20)), utc("2026-02-01T10:20:00Z"));
        assert_eq!(Preset::Every15Minutes.next_after(after, Duration::minutes(61)), utc("2026-02-01T10:16:00Z"));
        assert_eq!(Preset::Daily.next_after(after, Duration::hours(3)), utc("2026-02-02T03:00:00Z"));
        for p in Preset::ALL {
            assert_eq!(Preset::parse(p.as_str()), Some(p));
            let n = p.next_after(after, Duration::minutes(7));
            assert!(n > after && n - after <= p.interval());
        }
    }

    #[test]
    fn time_zones_are_checked() {
        assert!(parse_time_zone("Europe/Berlin").is_ok());
        assert!(parse_time_zone("UTC").is_ok());
        assert!(parse_time_zone("Mars/Olympus").is_err());
    }
}
