use std::process::Command;

/// Runs the server binary with `vars` and returns its exit code and stderr.
fn start_with(vars: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_server"));
    cmd.current_dir(dir.path()).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd.env("HUB_DATA_DIR", dir.path().join("data"));
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("runs");
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn assert_one_clear_line(stderr: &str, needle: &str) {
    let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("error: ") && lines[0].contains(needle), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_malformed_address_stops_the_start_with_one_line() {
    let (code, stderr) = start_with(&[("HUB_ADDR", "not-an-address")]);
    assert_eq!(code, Some(2));
    assert_one_clear_line(&stderr, "HUB_ADDR");
}

#[test]
fn an_unusable_data_directory_stops_the_start_with_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A regular file where the directory should be: not even root can write into it.
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "x").expect("write");
    let bad = file.join("data");
    let (code, stderr) = start_with(&[("HUB_DATA_DIR", bad.to_str().expect("utf-8"))]);
    assert_eq!(code, Some(2));
    assert_one_clear_line(&stderr, "data directory");
}

#[test]
fn a_malformed_secret_key_stops_the_start_with_one_line() {
    let (code, stderr) = start_with(&[("HUB_SECRET_KEY", "too-short")]);
    assert_eq!(code, Some(2));
    assert_one_clear_line(&stderr, "HUB_SECRET_KEY");
}

#[test]
fn a_broken_connector_file_stops_the_start_with_its_path_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("good.yaml"), "name: good\ndisplay_name: Good\nauth: none\n").expect("write");
    std::fs::write(dir.path().join("broken.yaml"), "name: broken\ndisplay_name: Broken\nauth: magic\n").expect("write");
    let (code, stderr) = start_with(&[("HUB_CONNECTORS_DIR", dir.path().to_str().expect("utf-8"))]);
    assert_eq!(code, Some(2));
    assert_one_clear_line(&stderr, "broken.yaml:3:7: auth: unknown variant `magic`");
}

/// A hub data directory with one tenant whose release runs for a minute, and a manual
/// trigger waiting for it. Returns the tenant's id.
async fn prepare_long_run(data: &std::path::Path) -> i64 {
    use hub_core::db::{releases, tenants, Db, DB_FILE};
    use hub_core::domain::release::ReleaseChoice;
    use hub_core::domain::tenant::{SetupStep, Source};
    let db = Db::open(&data.join(DB_FILE)).await.expect("db");
    let now = chrono::Utc::now();
    let pool = db.pool();
    let admin = hub_core::domain::email::Email::parse("admin@example.com").expect("email");
    hub_core::auth::bootstrap(&db, "Acme", &admin, Some("a long enough password 1"), now).await.expect("admin");
    let integration: i64 = sqlx::query_scalar(
        "INSERT INTO integrations (organization_id, name, created_at, updated_at) VALUES (1, 'Long', ?, ?) RETURNING id",
    )
    .bind(now)
    .bind(now)
    .fetch_one(pool)
    .await
    .expect("integration");
    let release = releases::insert_queued(pool, integration, "main", None, now).await.expect("release");
    assert!(releases::claim(pool, release, now).await.expect("claim"));
    let success = releases::Success {
        commit_sha: "0000000",
        run_command: "echo started >&2; sleep 60",
        manifest_json: r#"{"version":"0.5","run":"sleep 60"}"#,
    };
    releases::succeed(pool, release, &success, now).await.expect("succeed");
    std::fs::create_dir_all(data.join("releases").join(release.to_string())).expect("checkout");
    let new = tenants::NewTenant {
        integration_id: integration,
        name: "acme",
        choice: ReleaseChoice::Latest,
        configs: "{}",
        source: Source::Hub,
        setup_step: SetupStep::Done,
        created_by: None,
    };
    let tenant = tenants::insert(pool, &new, now).await.expect("tenant");
    // Running on a daily schedule: the next slot is far away.
    sqlx::query("UPDATE tenants SET paused = 0, next_fire_at = ? WHERE id = ?")
        .bind(now + chrono::Duration::hours(20))
        .bind(tenant)
        .execute(pool)
        .await
        .expect("schedule");
    hub_core::db::run_triggers::insert_trigger(
        pool,
        tenant,
        hub_core::domain::run::TriggerKind::Manual,
        hub_core::domain::run::Mode::Normal,
        None,
        Some("test"),
        now,
    )
    .await
    .expect("trigger");
    db.pool().close().await;
    tenant
}

fn start_hub(dir: &std::path::Path) -> std::process::Child {
    let connectors = dir.join("connectors");
    std::fs::create_dir_all(&connectors).expect("connectors");
    Command::new(env!("CARGO_BIN_EXE_server"))
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HUB_DATA_DIR", dir.join("data"))
        .env("HUB_CONNECTORS_DIR", &connectors)
        .env("HUB_ADDR", "127.0.0.1:0")
        .env("HUB_DEMO", "off")
        // A short lease, so the next hub fails a run the last one left within seconds.
        .env("HUB_RUN_LEASE_SECS", "2")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("hub.log")).expect("log"))
        .spawn()
        .expect("the hub starts")
}

/// Polls the database until `query` (one integer) satisfies `ok`, for up to 30 s.
async fn wait_for(pool: &sqlx::SqlitePool, log: &std::path::Path, query: &str, ok: impl Fn(i64) -> bool) -> i64 {
    for _ in 0..300 {
        if let Ok(v) = sqlx::query_scalar::<_, i64>(query).fetch_one(pool).await {
            if ok(v) {
                return v;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let log = std::fs::read_to_string(log.join("hub.log")).unwrap_or_default();
    panic!("timed out waiting for: {query}\nthe hub said:\n{log}");
}

#[tokio::test]
async fn a_hub_stopped_mid_run_fails_the_run_when_its_lease_lapses_and_runs_nothing_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data");
    let tenant = prepare_long_run(&data).await;
    let db = hub_core::db::Db::open(&data.join(hub_core::db::DB_FILE)).await.expect("db");
    let pool = db.pool();

    let mut first = start_hub(dir.path());
    let pid =
        wait_for(pool, dir.path(), "SELECT coalesce(max(pid), 0) FROM runs WHERE phase = 'running'", |p| p > 0).await;
    // The hub dies without any chance to clean up; its run's sandbox dies with it
    // (bubblewrap's --die-with-parent), so nothing of the run is left behind.
    first.kill().expect("kill");
    first.wait().expect("reaped");
    let pgid = nix::unistd::Pid::from_raw(i32::try_from(pid).expect("pid"));
    let mut gone = false;
    for _ in 0..50 {
        if nix::sys::signal::killpg(pgid, None).is_err() {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let mut second = start_hub(dir.path());
    wait_for(pool, dir.path(), "SELECT count(*) FROM runs WHERE phase = 'failed_platform'", |n| n == 1).await;
    // Give the engine a moment in which a second run would have started.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let runs: i64 =
        sqlx::query_scalar("SELECT count(*) FROM runs WHERE attempt = 1").fetch_one(pool).await.expect("count");
    // The failure was the platform's: one retry of the same trigger waits (30 s).
    let retries: Vec<(String, i64)> =
        sqlx::query_as("SELECT phase, attempt FROM runs WHERE attempt > 1").fetch_all(pool).await.expect("retries");
    let next: Option<String> = sqlx::query_scalar("SELECT next_fire_at FROM tenants WHERE id = ?")
        .bind(tenant)
        .fetch_one(pool)
        .await
        .expect("tenant");
    second.kill().expect("kill");
    second.wait().expect("reaped");
    assert!(gone, "the old run's processes died with the hub");
    assert_eq!(runs, 1, "the trigger ran once");
    assert_eq!(retries, [("queued".to_owned(), 2)], "and waits for its retry");
    assert!(next.is_some(), "the schedule goes on");
}
