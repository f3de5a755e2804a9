//! Benchmarks of the run engine, each against a baseline measured in the same run:
//!
//! 1. dispatch throughput: runs of a no-op integration through the engine's own loop,
//!    every one fully recorded, in the sandbox and without it, against a bare loop
//!    that spawns the same command with the same concurrency, with the CPU time each
//!    spends in this process per run;
//! 2. sandbox overhead: one process at a time, a sandboxed start of `true` against a
//!    bare one (mean and p50 of each, and the difference);
//! 3. scheduling accuracy: tenants on `* * * * *`, the delay from the slot to the
//!    process start (p50, p99);
//! 4. idle cost: CPU time and resident memory of a hub engine with 100,000 scheduled
//!    tenants and nothing due, against one with none.
//!
//! `cargo bench -p hub-core --features backend --bench engine` (add `-- quick` for
//! smaller numbers, and a part's name to run only that part). Figures go to stdout.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Timelike, Utc};
use hub_core::connectors::{Connectors, Registry};
use hub_core::db::audit::Actor;
use hub_core::db::{releases, Db, DB_FILE};
use hub_core::domain::run::{Mode, TriggerKind};
use hub_core::engine::builder::Builder;
use hub_core::engine::runs::{Engine, Settings};
use hub_core::engine::sandbox::{Job, Mount, Policy, Sandbox};
use hub_core::secrets::SecretKey;
use hub_core::service;
use hub_core::worker::{self, Clock};

const NOOP: &str = "true";

struct Bench {
    db: Db,
    engine: Engine,
    _dir: tempfile::TempDir,
}

/// A hub on a real database file with one integration whose release runs `NOOP`.
async fn bench(max_concurrent: usize, sandbox: Arc<Sandbox>) -> Bench {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join(DB_FILE)).await.expect("db");
    let now = Utc::now();
    let pool = db.pool();
    sqlx::query("INSERT INTO organizations (name, kind, created_at) VALUES ('Acme', 'company', '2026-01-01')")
        .execute(pool)
        .await
        .expect("org");
    sqlx::query("INSERT INTO integrations (organization_id, name, created_at, updated_at) VALUES (1, 'Bench', ?, ?)")
        .bind(now)
        .bind(now)
        .execute(pool)
        .await
        .expect("integration");
    let release = releases::insert_queued(pool, 1, "main", None, now).await.expect("release");
    releases::claim(pool, release, now).await.expect("claim");
    let success = releases::Success { commit_sha: "0", run_command: NOOP, manifest_json: "{}" };
    releases::succeed(pool, release, &success, now).await.expect("succeed");
    std::fs::create_dir_all(dir.path().join("releases").join(release.to_string())).expect("checkout");
    let settings = Settings { max_concurrent, ..Settings::default() };
    let engine = Engine::new(
        db.clone(),
        Arc::new(SecretKey::generate()),
        Connectors::from(Registry::default()),
        "http://127.0.0.1:1",
        dir.path(),
        &Builder::new(db.clone(), dir.path(), Duration::from_secs(60), sandbox),
        settings,
    );
    Bench { db, engine, _dir: dir }
}

impl Bench {
    /// Adds `n` live tenants of the integration with the given schedule.
    async fn tenants(&self, n: usize, kind: &str, schedule: &str, next: impl Fn(i64) -> Option<DateTime<Utc>>) {
        let mut tx = self.db.pool().begin().await.expect("tx");
        let now = Utc::now();
        for i in 0..n {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO tenants (integration_id, name, release_choice, source, schedule_kind, schedule, paused,
                                      created_at, updated_at)
                 VALUES (1, ?, 'latest', 'hub', ?, ?, 0, ?, ?) RETURNING id",
            )
            .bind(format!("tenant-{i}"))
            .bind(kind)
            .bind(schedule)
            .bind(now)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .expect("tenant");
            sqlx::query("UPDATE tenants SET next_fire_at = ? WHERE id = ?")
                .bind(next(id))
                .bind(id)
                .execute(&mut *tx)
                .await
                .expect("next");
        }
        tx.commit().await.expect("commit");
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Runs of a no-op integration through the engine, against a bare loop spawning the
/// same command in the same sandbox (or none), with the same concurrency.
async fn dispatch(n: usize, concurrency: usize) {
    let etc = tempfile::tempdir().expect("tempdir");
    let sandbox = sandbox(etc.path());
    println!("dispatch: {n} no-op runs, {concurrency} at a time; {}", sandbox.summary());
    let off = Arc::new(Sandbox::off());
    let (plain_engine, plain_engine_cpu) = engine_rate(n, concurrency, off.clone()).await;
    let (plain_bare, plain_bare_cpu) = bare_rate(n, concurrency, &off).await;
    let (boxed_engine, boxed_engine_cpu) = engine_rate(n, concurrency, sandbox.clone()).await;
    let (boxed_bare, boxed_bare_cpu) = bare_rate(n, concurrency, &sandbox).await;
    println!(
        "                        engine (the hub's CPU a run)   bare loop (its CPU a run)   ratio (aim: at least 0.5)"
    );
    let row = |name: &str, e: f64, ec: f64, b: f64, bc: f64| {
        println!("  {name:<20} {e:8.1} runs/s ({ec:5.2} ms)     {b:8.1} runs/s ({bc:5.2} ms)      {:.2}", e / b);
    };
    row("sandbox off", plain_engine, plain_engine_cpu, plain_bare, plain_bare_cpu);
    row("sandbox on", boxed_engine, boxed_engine_cpu, boxed_bare, boxed_bare_cpu);
    // The sandbox's share: of the wall time a sandboxed engine spends per run, what
    // the sandbox's start adds to a bare spawn.
    let per = |rate: f64| 1000.0 / rate;
    println!(
        "  per run: engine with the sandbox {:.2} ms, of which the sandbox's start {:.2} ms ({:.0}%) and the engine {:.2} ms",
        per(boxed_engine),
        per(boxed_bare) - per(plain_bare),
        (per(boxed_bare) - per(plain_bare)) / per(boxed_engine) * 100.0,
        per(boxed_engine) - per(boxed_bare),
    );
}

/// The sandbox as the hub makes it, with its copy of `/etc` under `dir`.
fn sandbox(dir: &std::path::Path) -> Arc<Sandbox> {
    let mut policy = Policy::new(env!("CARGO_BIN_EXE_sandbox-helper").into());
    policy.etc_copy = Some(dir.join("etc"));
    Arc::new(Sandbox::probe(policy))
}

/// Runs per second through the engine's own loop, and the hub's CPU ms per run.
async fn engine_rate(n: usize, concurrency: usize, sandbox: Arc<Sandbox>) -> (f64, f64) {
    let b = bench(concurrency, sandbox).await;
    b.tenants(n, "preset", "daily", |_| None).await;
    for id in 1..=n as i64 {
        service::runs::request(
            &b.db,
            &b.engine,
            &Actor::System,
            id,
            TriggerKind::Manual,
            Mode::Normal,
            None,
            Utc::now(),
        )
        .await
        .expect("trigger");
    }
    // The engine's own loop, as the hub runs it: each finished run wakes it to start
    // the next. Done when every run is recorded as succeeded.
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (cpu_before, _) = cpu_and_rss();
    let started = Instant::now();
    let loop_task = tokio::spawn(worker::run(b.engine.clone(), Clock::system(), async move {
        let _ = stop_rx.await;
    }));
    loop {
        let done: i64 = sqlx::query_scalar("SELECT count(*) FROM runs WHERE phase = 'succeeded'")
            .fetch_one(b.db.pool())
            .await
            .expect("count");
        if done as usize == n {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "the runs did not finish");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let engine_secs = started.elapsed().as_secs_f64();
    let engine_cpu = cpu_and_rss().0 - cpu_before;
    let _ = stop_tx.send(());
    let _ = loop_task.await;
    (n as f64 / engine_secs, engine_cpu / n as f64 * 1000.0)
}

/// Runs per second of a bare loop spawning the no-op in `sandbox` (each with a uid of
/// its own, as runs have), and the hub's CPU ms per run.
async fn bare_rate(n: usize, concurrency: usize, sandbox: &Arc<Sandbox>) -> (f64, f64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let slots = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let (cpu_before, _) = cpu_and_rss();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        let permit = slots.clone().acquire_owned().await.expect("permit");
        let lease = sandbox.lease();
        let mounts = [Mount::read_only(dir.path(), "/app")];
        let job = Job { argv: &["/bin/sh", "-c", NOOP], mounts: &mounts, env: &[], uid: lease.uid(), tmpfs: None };
        let mut cmd = tokio::process::Command::from(sandbox.command(&job).expect("command"));
        tasks.push(tokio::spawn(async move {
            let status = cmd.status().await;
            drop((permit, lease));
            status.expect("spawned").success()
        }));
    }
    for t in tasks {
        assert!(t.await.expect("task"));
    }
    let bare_secs = started.elapsed().as_secs_f64();
    let bare_cpu = cpu_and_rss().0 - cpu_before;
    (n as f64 / bare_secs, bare_cpu / n as f64 * 1000.0)
}

/// One process at a time: a sandboxed start of `true` (helper, bubblewrap, Landlock,
/// seccomp) against a bare one, in milliseconds from spawn to exit.
async fn overhead(n: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let sandbox = sandbox(dir.path());
    let off = Sandbox::off();
    let mounts = [Mount::read_only(dir.path(), "/app")];
    let time = |s: &Sandbox, uid: Option<u32>| {
        let job = Job { argv: &["/bin/sh", "-c", NOOP], mounts: &mounts, env: &[], uid, tmpfs: None };
        let mut cmd = s.command(&job).expect("command");
        let started = Instant::now();
        assert!(cmd.status().expect("spawned").success(), "{}", s.summary());
        started.elapsed().as_secs_f64() * 1000.0
    };
    let lease = sandbox.lease();
    let (mut boxed, mut bare) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        boxed.push(time(&sandbox, lease.uid()));
        bare.push(time(&off, None));
    }
    let stats = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v.iter().sum::<f64>() / v.len() as f64, percentile(v, 0.5), percentile(v, 0.99))
    };
    let ((bm, b50, b99), (um, u50, u99)) = (stats(&mut boxed), stats(&mut bare));
    println!("sandbox overhead: {n} starts of `sh -c true`, one at a time");
    println!("  sandboxed: mean {bm:.2} ms, p50 {b50:.2} ms, p99 {b99:.2} ms");
    println!("  bare:      mean {um:.2} ms, p50 {u50:.2} ms, p99 {u99:.2} ms");
    println!("  overhead per run: {:.2} ms (p50 {:.2} ms; aim: under 10 ms)", bm - um, b50 - u50);
}

/// Tenants on `* * * * *` under the real loop: the delay from each slot to the start
/// of its process.
async fn accuracy(n: usize, concurrency: usize) {
    let b = bench(concurrency, Arc::new(Sandbox::off())).await;
    let now = Utc::now();
    let next_minute =
        now.with_second(0).and_then(|t| t.with_nanosecond(0)).expect("minute") + chrono::Duration::minutes(1);
    b.tenants(n, "cron", "* * * * *", |_| Some(next_minute)).await;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let engine = b.engine.clone();
    let loop_task = tokio::spawn(worker::run(engine, Clock::system(), async move {
        let _ = stop_rx.await;
    }));
    println!("accuracy: {n} tenants on * * * * *, {concurrency} runs at a time; waiting for {next_minute}");
    let until = next_minute + chrono::Duration::seconds(50);
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let done: i64 = sqlx::query_scalar("SELECT count(*) FROM runs WHERE phase = 'succeeded'")
            .fetch_one(b.db.pool())
            .await
            .expect("n");
        if done as usize >= n || Utc::now() > until {
            break;
        }
    }
    let _ = stop_tx.send(());
    let _ = loop_task.await;
    let starts: Vec<DateTime<Utc>> = sqlx::query_scalar("SELECT started_at FROM runs WHERE started_at IS NOT NULL")
        .fetch_all(b.db.pool())
        .await
        .expect("runs");
    let mut delays: Vec<f64> =
        starts.iter().map(|s| (*s - next_minute).num_microseconds().unwrap_or(0) as f64 / 1e6).collect();
    delays.sort_by(f64::total_cmp);
    if delays.is_empty() {
        println!("  no run started");
        return;
    }
    println!(
        "  {} of {n} started; slot → process start: p50 {:.3} s, p99 {:.3} s, max {:.3} s (aim: p99 under 1 s)",
        delays.len(),
        percentile(&delays, 0.5),
        percentile(&delays, 0.99),
        delays[delays.len() - 1]
    );
    // Where a run's time goes: made (queued) → started → finished, in milliseconds.
    let spans: Vec<(DateTime<Utc>, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT queued_at, started_at, finished_at FROM runs WHERE started_at IS NOT NULL AND finished_at IS NOT NULL",
    )
    .fetch_all(b.db.pool())
    .await
    .expect("spans");
    let ms = |d: chrono::Duration| d.num_microseconds().unwrap_or(0) as f64 / 1000.0;
    let mut waited: Vec<f64> = spans.iter().map(|(q, s, _)| ms(*s - *q)).collect();
    let mut ran: Vec<f64> = spans.iter().map(|(_, s, f)| ms(*f - *s)).collect();
    waited.sort_by(f64::total_cmp);
    ran.sort_by(f64::total_cmp);
    if !waited.is_empty() {
        println!(
            "  made → started: p50 {:.1} ms, p99 {:.1} ms; started → recorded: p50 {:.1} ms, p99 {:.1} ms",
            percentile(&waited, 0.5),
            percentile(&waited, 0.99),
            percentile(&ran, 0.5),
            percentile(&ran, 0.99)
        );
    }
}

fn cpu_and_rss() -> (f64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name: utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    // Clock ticks are 100 per second on Linux.
    (ticks / 100.0, rss)
}

/// The engine's loop with `n` scheduled tenants and nothing due, for `secs` seconds.
async fn idle(n: usize, secs: u64) {
    let b = bench(8, Arc::new(Sandbox::off())).await;
    // Every tenant fires daily at an hour twelve hours away: scheduled, not due.
    let hour = (Utc::now().hour() + 12) % 24;
    let cron = format!("0 {hour} * * *");
    let schedule = hub_core::domain::tenant::Schedule::from_parts("cron", &cron, "UTC").expect("cron");
    let now = Utc::now();
    b.tenants(n, "cron", &cron, |id| schedule.next_after(now, id)).await;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let loop_task = tokio::spawn(worker::run(b.engine.clone(), Clock::system(), async move {
        let _ = stop_rx.await;
    }));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (cpu0, _) = cpu_and_rss();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let (cpu1, rss) = cpu_and_rss();
    let _ = stop_tx.send(());
    let _ = loop_task.await;
    let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM runs").fetch_one(b.db.pool()).await.expect("n");
    println!(
        "idle: {n:>6} scheduled tenants for {secs} s: CPU {:.2}% of one core, resident memory {:.1} MB, {runs} runs",
        (cpu1 - cpu0) / secs as f64 * 100.0,
        rss as f64 / 1024.0
    );
    drop(b);
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "quick");
    // A part's name (`idle`, `overhead`, `dispatch`, `accuracy`) runs only that part.
    let parts = ["idle", "overhead", "dispatch", "accuracy"];
    let chosen: Vec<&str> = parts.into_iter().filter(|p| args.iter().any(|a| a == p)).collect();
    let part = |p: &str| chosen.is_empty() || chosen.contains(&p);
    let (runs, tenants, idle_tenants, idle_secs) = if quick { (100, 200, 10_000, 3) } else { (500, 1000, 100_000, 10) };
    // Idle first, while the process is small: the baseline with no tenants, then the
    // 100,000 (each in its own database; memory already taken is not given back).
    if part("idle") {
        idle(0, idle_secs).await;
        idle(idle_tenants, idle_secs).await;
    }
    if part("overhead") {
        overhead(if quick { 50 } else { 200 }).await;
    }
    if part("dispatch") {
        dispatch(runs, 8).await;
    }
    if part("accuracy") {
        accuracy(tenants, 32).await;
    }
}
