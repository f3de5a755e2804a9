use super::*;

#[test]
fn names_follow_the_rules() {
    for ok in ["a", "acme-slack", "x1", &"a".repeat(63)] {
        assert_eq!(check_name(ok), Ok(()), "{ok}");
    }
    for bad in ["", "-a", "a-", "Acme", "a_b", "a b", "ä", &"a".repeat(64)] {
        assert!(check_name(bad).is_err(), "{bad}");
    }
    assert_eq!(check_name(&"a".repeat(64)), Err("At most 63 characters; this has 64.".to_owned()));
}

#[test]
fn step_one_reads_the_release_choice() {
    let input = |mode: &str, id: &str, channel: &str| NewTenantInput {
        name: " acme ".into(),
        release_mode: mode.into(),
        release_id: id.into(),
        channel: channel.into(),
    };
    assert_eq!(input("specific", "4", "").validate(), Ok(("acme".into(), ReleaseChoice::Specific(4))));
    assert_eq!(input("channel", "", "latest").validate(), Ok(("acme".into(), ReleaseChoice::Latest)));
    assert_eq!(input("channel", "", "default").validate(), Ok(("acme".into(), ReleaseChoice::Default)));
    assert_eq!(input("specific", "", "").validate().expect_err("refused").field, "release_id");
    assert_eq!(input("channel", "", "beta").validate().expect_err("refused").field, "channel");
}

#[test]
fn schedules_round_trip_through_their_columns() {
    let simple = ScheduleInput { kind: "simple".into(), preset: "hourly".into(), ..Default::default() };
    let s = simple.parse().expect("valid");
    let (k, v, tz) = s.to_parts();
    assert_eq!(Schedule::from_parts(k, &v, &tz), Some(s));
    let adv = ScheduleInput {
        kind: "advanced".into(),
        cron: "30 9 * * mon-fri".into(),
        timezone: "Europe/Berlin".into(),
        ..Default::default()
    };
    let s = adv.parse().expect("valid");
    let (k, v, tz) = s.to_parts();
    assert_eq!(Schedule::from_parts(k, &v, &tz), Some(s.clone()));
    assert_eq!(s.to_input().timezone, "Europe/Berlin");
    let bad = ScheduleInput { kind: "advanced".into(), cron: "61 * * * *".into(), ..Default::default() };
    assert_eq!(bad.parse().expect_err("refused").field, "cron");
    let tz = ScheduleInput {
        kind: "advanced".into(),
        cron: "* * * * *".into(),
        timezone: "Mars/Base".into(),
        ..Default::default()
    };
    assert_eq!(tz.parse().expect_err("refused").field, "timezone");
    let never = ScheduleInput { kind: "advanced".into(), cron: "0 0 31 2 *".into(), ..Default::default() };
    assert_eq!(never.parse().expect_err("refused").message, "This expression never fires: no such date exists.");
    let step = ScheduleInput { kind: "advanced".into(), cron: "59/4294967295 * * * *".into(), ..Default::default() };
    assert!(step.parse().is_ok(), "a huge step means the start value only");
    let blank_zone = ScheduleInput { kind: "advanced".into(), cron: "0 * * * *".into(), ..Default::default() };
    assert!(blank_zone.parse().is_ok(), "no time zone means UTC");
}

#[test]
fn presets_spread_tenants_over_the_interval() {
    let s = Schedule::Preset(Preset::Hourly);
    let after = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").expect("time").with_timezone(&Utc);
    let minutes: std::collections::BTreeSet<u32> =
        (1..=1000).map(|id| chrono::Timelike::minute(&s.next_after(after, id).expect("fires"))).collect();
    assert!(minutes.len() > 50, "1000 hourly tenants use {} distinct minutes", minutes.len());
    assert_eq!(s.next_after(after, 7), s.next_after(after, 7));
}
