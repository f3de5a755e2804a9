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
    assert!(CronExpr::parse("0 0 31 2 *").expect("parses").next_after(utc("2026-01-01T00:00:00Z"), Tz::UTC).is_none());
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
