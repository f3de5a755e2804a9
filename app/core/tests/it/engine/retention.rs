//! Retention with the time passed in: what the janitor prunes, and what it keeps.

use chrono::{DateTime, Duration, Utc};
use hub_core::db::audit::Actor;
use hub_core::db::{releases, run_logs, run_triggers, runs, tenants, DB_FILE};
use hub_core::domain::release::{ReleaseChoice, ReleaseStatus};
use hub_core::domain::run::{Mode, TriggerKind};
use hub_core::engine::janitor::{Janitor, BATCH};
use hub_core::engine::runs::Settings;
use hub_core::service::{self, retention, Scope, ServiceError};
use hub_core::worker;

use super::{hub, Hub, COUNTER};
use crate::git;

fn janitor(hub: &Hub) -> Janitor {
    let data = hub.data.path();
    Janitor::new(hub.db.clone(), hub._dirs.1.path().join(DB_FILE), data.join("releases"), hub.engine.webhooks_dir())
}

async fn count(hub: &Hub, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(hub.db.pool()).await.expect("count")
}

/// A finished run of the hub's tenant, made as the dispatcher and executor would leave
/// it, with a line of log, finished at `at`.
async fn finished_run(hub: &Hub, at: DateTime<Utc>) -> i64 {
    let id = hub.queued_run(None, at).await;
    run_logs::append_log(&mut hub.db.pool().acquire().await.expect("connection"), id, 0, "a line of log\n", at)
        .await
        .expect("log");
    sqlx::query("UPDATE runs SET phase = 'succeeded', started_at = ?, finished_at = ? WHERE id = ?")
        .bind(at)
        .bind(at)
        .bind(id)
        .execute(hub.db.pool())
        .await
        .expect("finish");
    id
}

#[tokio::test]
async fn logs_are_kept_for_the_days_set_and_their_runs_stay() {
    let hub = hub(COUNTER, None, Settings::default()).await;
    let janitor = janitor(&hub);
    let first = hub.run(Mode::Normal).await;
    let second = hub.run(Mode::Normal).await;
    assert!(first.log_bytes > 0 && second.log_bytes > 0);

    let now = Utc::now();
    assert_eq!(janitor.prune(now + Duration::days(29)).await.expect("pruned").logs, 0);
    assert!(!hub.log(first.id).await.is_empty());
    assert_eq!(janitor.prune(now + Duration::days(31)).await.expect("pruned").logs, 2);
    for id in [first.id, second.id] {
        assert_eq!(hub.log(id).await, "", "the log of run {id} is gone");
        let run = runs::get(hub.db.pool(), id).await.expect("db").expect("the run stays");
        assert!(run.log_removed_at.is_some());
        assert!(run.log_bytes > 0, "the run still says how long its log was");
    }
    assert_eq!(count(&hub, "SELECT count(*) FROM run_log_chunks").await, 0);

    // A shorter setting applies at the janitor's next step.
    let third = hub.run(Mode::Normal).await;
    let audit = count(&hub, "SELECT count(*) FROM audit_log").await;
    let saved = retention::save(&hub.db, &Actor::System, "1", "1000", now).await.expect("saved");
    assert_eq!(saved.log_days, 1);
    assert_eq!(janitor.prune(now + Duration::hours(23)).await.expect("pruned").logs, 0);
    worker::run_until_idle(&janitor, now + Duration::hours(25)).await.expect("idle");
    assert_eq!(hub.log(third.id).await, "");
    assert_eq!(count(&hub, "SELECT count(*) FROM runs").await, 3, "runs stay");
    assert_eq!(count(&hub, "SELECT count(*) FROM audit_log").await, audit + 1, "audit entries are kept");
}

#[tokio::test]
async fn a_bad_setting_is_refused_by_field_and_the_old_one_stays() {
    let hub = hub(COUNTER, None, Settings::default()).await;
    let janitor = janitor(&hub);
    let Err(ServiceError::InvalidFields(errors)) =
        retention::save(&hub.db, &Actor::System, "0", "ten", Utc::now()).await
    else {
        panic!("a bad setting is refused");
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["log_days", "runs_per_tenant"]);
    assert_eq!(janitor.settings().await.expect("settings"), retention::Retention::default());
}

#[tokio::test]
async fn a_tenant_keeps_its_newest_runs_and_the_first_try_of_a_kept_retry() {
    let hub = hub(COUNTER, None, Settings::default()).await;
    let janitor = janitor(&hub);
    let start = Utc::now() - Duration::hours(1);
    let mut ids = Vec::new();
    for i in 0..14 {
        ids.push(finished_run(&hub, start + Duration::seconds(i)).await);
    }
    // The newest run is a retry of the oldest (only a test makes such a gap): the oldest stays.
    sqlx::query("UPDATE runs SET attempt = 2, first_run = ? WHERE id = ?")
        .bind(ids[0])
        .bind(ids[13])
        .execute(hub.db.pool())
        .await
        .expect("retry");
    // A queued run counts among the newest but is never pruned.
    let queued = hub.queued_run(None, Utc::now()).await;
    retention::save(&hub.db, &Actor::System, "30", "10", Utc::now()).await.expect("saved");

    let pruned = janitor.prune(Utc::now()).await.expect("pruned");
    assert_eq!(pruned.runs, 4, "15 runs, 10 kept, the oldest held by its retry");
    let left: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM runs ORDER BY id").fetch_all(hub.db.pool()).await.expect("ids");
    let mut expected = vec![ids[0]];
    expected.extend(&ids[5..]);
    expected.push(queued);
    assert_eq!(left, expected);
    for gone in &ids[1..5] {
        assert!(run_triggers::triggers_of(hub.db.pool(), *gone).await.expect("db").is_empty());
    }
    assert_eq!(count(&hub, "SELECT count(*) FROM run_triggers WHERE run_id IS NOT NULL").await, 11);
    // Nothing more is due.
    assert_eq!(janitor.prune(Utc::now()).await.expect("pruned").runs, 0);
}

#[tokio::test]
async fn unused_checkouts_go_a_week_after_their_build_and_cannot_be_chosen() {
    let hub = hub(COUNTER, None, Settings::default()).await;
    let janitor = janitor(&hub);
    let old = hub.release().await;
    let repo = hub._dirs.0.path();
    std::fs::write(repo.join("NOTES"), "second\n").expect("write");
    git(repo, &["add", "--all"]);
    git(repo, &["commit", "--quiet", "-m", "second"]);
    let builder = hub_core::engine::builder::Builder::new(
        hub.db.clone(),
        hub.data.path(),
        std::time::Duration::from_secs(60),
        crate::sandbox(),
    );
    let newer = crate::build(&hub.db, &builder, hub.integration, None).await;
    assert_eq!(newer.status, ReleaseStatus::Succeeded, "{}", newer.build_log);
    let dir = |id: i64| hub.data.path().join("releases").join(id.to_string());
    assert!(dir(old).is_dir() && dir(newer.id).is_dir());

    // Pinned by the tenant: kept however old.
    tenants::set_release_choice(hub.db.pool(), hub.tenant, ReleaseChoice::Specific(old), Utc::now())
        .await
        .expect("pin");
    let later = Utc::now() + Duration::days(8);
    assert_eq!(janitor.prune(later).await.expect("pruned").checkouts, 0);
    // Chosen by nobody, and neither the default nor the latest: kept for a week, then removed.
    tenants::set_release_choice(hub.db.pool(), hub.tenant, ReleaseChoice::Latest, Utc::now()).await.expect("latest");
    assert_eq!(janitor.prune(Utc::now() + Duration::days(6)).await.expect("pruned").checkouts, 0);
    assert_eq!(janitor.prune(later).await.expect("pruned").checkouts, 1);
    assert!(!dir(old).exists(), "the unused checkout is gone");
    assert!(dir(newer.id).is_dir(), "the latest stays");
    let row = releases::get(hub.db.pool(), old).await.expect("db").expect("the release stays");
    assert!(row.files_removed);

    // It can no longer be chosen or made the default.
    let chosen = releases::resolve(hub.db.pool(), hub.integration, ReleaseChoice::Specific(old)).await.expect("db");
    assert!(chosen.is_none());
    let default = service::integrations::set_default(&hub.db, &Actor::System, Scope::All, hub.integration, old, later);
    assert!(matches!(default.await, Err(ServiceError::Conflict(_))));
    // The default is kept even when it is not the latest.
    service::integrations::set_default(&hub.db, &Actor::System, Scope::All, hub.integration, newer.id, later)
        .await
        .expect("default");
    assert_eq!(janitor.prune(later + Duration::days(30)).await.expect("pruned").checkouts, 0);
}

#[tokio::test]
async fn webhook_bodies_stay_while_work_names_them_and_strays_go_after_a_day() {
    let hub = hub(COUNTER, None, Settings::default()).await;
    let janitor = janitor(&hub);
    let now = Utc::now();
    let waiting = hub.engine.keep_webhook_body(b"{\"order\":1}", Some("application/json")).await.expect("kept");
    service::runs::request(
        &hub.db,
        &hub.engine,
        &Actor::System,
        hub.tenant,
        TriggerKind::Webhook,
        Mode::Webhook,
        Some(&waiting),
        now,
    )
    .await
    .expect("trigger");
    let stray = hub.engine.keep_webhook_body(b"{\"order\":2}", None).await.expect("kept");
    let path = |v: &serde_json::Value| std::path::PathBuf::from(v["payload_file"].as_str().expect("file"));

    assert_eq!(janitor.prune(now).await.expect("pruned").bodies, 0, "a fresh stray may be about to get its trigger");
    assert_eq!(janitor.prune(now + Duration::days(2)).await.expect("pruned").bodies, 1);
    assert!(!path(&stray).exists());
    assert!(path(&waiting).exists(), "a waiting trigger still names it");
}

#[tokio::test]
async fn spent_sign_ins_and_old_deliveries_go_in_batches() {
    let hub = hub(COUNTER, None, Settings::default()).await;
    let janitor = janitor(&hub);
    let now = Utc::now();
    let old = now - Duration::days(2);
    let n = BATCH + 100;
    sqlx::query(
        "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ?)
         INSERT INTO login_failures (email, failed_at) SELECT 'x' || i || '@example.com', ? FROM k",
    )
    .bind(n)
    .bind(old)
    .execute(hub.db.pool())
    .await
    .expect("failures");
    hub_core::db::users::record_failure(hub.db.pool(), "fresh@example.com", "", now).await.expect("fresh");
    for (status, finished) in [("delivered", now - Duration::days(31)), ("failed", now - Duration::days(29))] {
        sqlx::query(
            "INSERT INTO webhook_deliveries (event, payload, url, status, created_at, finished_at)
             VALUES ('run.finished', '{}', 'http://127.0.0.1:9/', ?, ?, ?)",
        )
        .bind(status)
        .bind(finished)
        .bind(finished)
        .execute(hub.db.pool())
        .await
        .expect("delivery");
    }

    let first = janitor.prune(now).await.expect("pruned");
    assert_eq!(first.sign_ins, BATCH as u64, "one batch a step");
    assert_eq!(first.deliveries, 1, "only the one finished more than 30 days ago");
    worker::run_until_idle(&janitor, now).await.expect("idle");
    assert_eq!(count(&hub, "SELECT count(*) FROM login_failures").await, 1, "the fresh failure still counts");
    assert_eq!(count(&hub, "SELECT count(*) FROM webhook_deliveries").await, 1);
}

#[tokio::test]
async fn disk_use_is_measured_by_kind() {
    let hub = hub(COUNTER, None, Settings::default()).await;
    let janitor = janitor(&hub);
    let run = hub.run(Mode::Normal).await;
    let d = retention::disk_use(&janitor).await.expect("measured");
    assert!(d.database > 0);
    assert_eq!(d.stored.run_logs, run.log_bytes);
    assert!(d.stored.build_logs > 0);
    assert!(d.checkouts > 0, "the release's checkout");
    assert_eq!(d.webhook_bodies, 0);
    assert_eq!(d.stored.runs, 1);
}
