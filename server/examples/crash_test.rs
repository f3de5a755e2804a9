//! The crash test: the real hub binary under a steady stream of REST sync requests,
//! killed with SIGKILL at random moments and started again, many times. At the end,
//! from the hub's own database:
//! - every request answered 202 was taken by exactly one run that reached a final
//!   outcome (after its retries): none lost;
//! - no trigger has two runs whose program exited 0: none doubled;
//! - no tenant ever had two runs at once (their start and finish times never overlap);
//! - nothing is left queued, running or waiting;
//! - every run either succeeded or was cut short by a kill (the program never fails).
//!
//! ```text
//! cargo build -p server && cargo run -p server --example crash_test -- \
//!     --hub target/debug/server --kills 20 --seconds 40 --tenants 4 --seed 7
//! ```
//! It prints its figures and exits 1 when a check fails. CI runs it with small sizes.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use chrono::Utc;
use hub_core::db::audit::Actor;
use hub_core::db::{releases, tenants, Db, DB_FILE};
use hub_core::domain::release::ReleaseChoice;
use hub_core::domain::tenant::{SetupStep, Source};

mod common;

/// What the integration does: a little work, then a line that says it finished.
const PROGRAM: &str = "echo started >&2; i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done; echo finished >&2";

struct Args {
    hub: PathBuf,
    kills: u32,
    /// How long requests are sent for, spread over the kills.
    seconds: u64,
    tenants: usize,
    seed: u64,
}

fn args() -> Args {
    let mut a = Args {
        hub: common::binary("target/debug/server"),
        kills: 20,
        seconds: 40,
        tenants: 4,
        seed: u64::from(std::process::id()) ^ u64::from(Utc::now().timestamp_subsec_nanos()),
    };
    for (flag, value) in common::flags() {
        match flag.as_str() {
            "--hub" => a.hub = common::binary(&value),
            "--kills" => a.kills = value.parse().expect("--kills N"),
            "--seconds" => a.seconds = value.parse().expect("--seconds N"),
            "--tenants" => a.tenants = value.parse().expect("--tenants N"),
            "--seed" => a.seed = value.parse().expect("--seed N"),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

/// A small random number source (xorshift), seeded so a run can be repeated.
struct Random(u64);

impl Random {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

#[tokio::main]
async fn main() {
    let args = args();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data");
    let (key, tenant_ids) = prepare(&data, args.tenants).await;
    let port = common::free_port();
    let mut random = Random(args.seed.max(1));
    println!(
        "crash test: seed {}, {} kills, {} s of requests, {} tenants",
        args.seed, args.kills, args.seconds, args.tenants
    );

    let started = Instant::now();
    let mut hub = start(&args.hub, dir.path(), port).await;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let sender = tokio::spawn(send_requests(port, key, tenant_ids.clone(), stop_rx));
    let between = Duration::from_millis(args.seconds * 1000 / u64::from(args.kills.max(1)));
    for _ in 0..args.kills {
        let wait = between / 2 + Duration::from_millis(random.below(between.as_millis() as u64));
        tokio::time::sleep(wait).await;
        hub.kill().expect("SIGKILL");
        hub.wait().expect("reaped");
        hub = start(&args.hub, dir.path(), port).await;
    }
    let _ = stop_tx.send(true);
    let sent = sender.await.expect("sender");

    // The last hub finishes what is left: retries, waiting triggers.
    let db = Db::open(&data.join(DB_FILE)).await.expect("db");
    let sending = started.elapsed();
    let settled = settle(&db, Duration::from_secs(120)).await;
    hub.kill().expect("stop");
    hub.wait().expect("reaped");
    let report = check(&db, &sent.accepted).await;
    println!(
        "requests sent {}, answered 202 {}, refused while the hub was down {}, in {:.1} s (settled {:.1} s later)",
        sent.sent,
        sent.accepted.len(),
        sent.refused,
        sending.as_secs_f64(),
        (started.elapsed() - sending).as_secs_f64()
    );
    let phases: Vec<(String, i64)> = sqlx::query_as("SELECT phase, count(*) FROM runs GROUP BY phase ORDER BY phase")
        .fetch_all(db.pool())
        .await
        .expect("phases");
    let found_exited: i64 = sqlx::query_scalar("SELECT count(*) FROM runs WHERE error LIKE '%not run again%'")
        .fetch_one(db.pool())
        .await
        .expect("n");
    println!("runs by outcome {phases:?}; recorded from the exit mark after a kill {found_exited}");
    // Anything else is the integration's own failure: show what its log said.
    let failures: Vec<(String, Option<i64>, String)> = sqlx::query_as(
        "SELECT coalesce(r.error, ''), r.exit_code, coalesce(group_concat(c.text, ''), '') FROM runs r
         LEFT JOIN run_log_chunks c ON c.run_id = r.id
         WHERE r.phase NOT IN ('succeeded', 'failed_platform') GROUP BY r.id LIMIT 5",
    )
    .fetch_all(db.pool())
    .await
    .expect("failures");
    for (error, code, log) in failures {
        println!("  exit {code:?}: {error} Its log: {:?}", log.chars().take(400).collect::<String>());
    }
    println!(
        "runs {}, of them retries {}, programs that exited 0 {}, runs cut short by a kill {}",
        report.runs, report.retries, report.completed, report.cut_short
    );
    println!(
        "lost {}, doubled {}, overlapping runs {}, left queued/running/waiting {}{}",
        report.lost,
        report.doubled,
        report.overlaps,
        report.left,
        if settled { "" } else { " (did not settle within 120 s)" }
    );
    let log = std::fs::read_to_string(dir.path().join("hub.log")).unwrap_or_default();
    // The program never fails on its own: any other failure is the hub's.
    let unexpected =
        phases.iter().filter(|(p, _)| p != "succeeded" && p != "failed_platform").map(|(_, n)| n).sum::<i64>();
    let ok = report.lost == 0
        && report.doubled == 0
        && report.overlaps == 0
        && report.left == 0
        && unexpected == 0
        && settled;
    if !ok {
        eprintln!("the last hub said:\n{}", log.lines().rev().take(40).collect::<Vec<_>>().join("\n"));
        std::process::exit(1);
    }
    assert!(!sent.accepted.is_empty(), "no request was accepted");
    println!("crash test passed");
}

/// A data directory with an admin, one integration whose release runs [`PROGRAM`],
/// `n` tenants of it and an API key. Returns the key and the tenants.
async fn prepare(data: &Path, n: usize) -> (String, Vec<i64>) {
    let db = Db::open(&data.join(DB_FILE)).await.expect("db");
    let now = Utc::now();
    let pool = db.pool();
    let admin = hub_core::domain::email::Email::parse("admin@example.com").expect("email");
    hub_core::auth::bootstrap(&db, "Acme", &admin, Some("a long enough password 1"), now).await.expect("admin");
    let integration: i64 = sqlx::query_scalar(
        "INSERT INTO integrations (organization_id, name, created_at, updated_at) VALUES (1, 'Crash', ?, ?) RETURNING id",
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
        run_command: PROGRAM,
        manifest_json: r#"{"version":"0.5","run":"sh run.sh"}"#,
    };
    releases::succeed(pool, release, &success, now).await.expect("succeed");
    let checkout = data.join("releases").join(release.to_string());
    std::fs::create_dir_all(&checkout).expect("checkout");
    let mut ids = Vec::new();
    for i in 0..n {
        let name = format!("tenant-{i}");
        let new = tenants::NewTenant {
            integration_id: integration,
            name: &name,
            choice: ReleaseChoice::Latest,
            configs: "{}",
            source: Source::Hub,
            setup_step: SetupStep::Done,
            created_by: None,
        };
        ids.push(tenants::insert(pool, &new, now).await.expect("tenant"));
    }
    let (_, key) = hub_core::service::api_keys::create(
        &db,
        &Actor::System,
        &hub_core::service::api_keys::NewKeyInput::full("crash test"),
        now,
    )
    .await
    .expect("key");
    db.pool().close().await;
    (key, ids)
}

/// Starts the hub with a short lease (a lapsed one is found within seconds) and
/// retries a second apart.
async fn start(binary: &Path, dir: &Path, port: u16) -> Child {
    let vars = [
        ("HUB_DEMO", "off"),
        ("HUB_RUN_LEASE_SECS", "2"),
        ("HUB_RUN_RETRY_SECS", "1"),
        ("HUB_RUN_RETRIES", "10"),
        // The test asks for syncs as fast as it can, far past the fair-use default.
        ("HUB_LIMIT_RUNS_PER_ORGANIZATION", "1000000"),
    ];
    common::start(binary, dir, port, &vars).await
}

struct Sent {
    sent: u64,
    refused: u64,
    /// The trigger of each request answered 202.
    accepted: Vec<i64>,
}

/// Sends sync requests to the tenants in turn, one every few milliseconds, until told
/// to stop; a request the hub could not answer (it was down) is counted, not retried.
async fn send_requests(port: u16, key: String, tenants: Vec<i64>, stop: tokio::sync::watch::Receiver<bool>) -> Sent {
    let mut out = Sent { sent: 0, refused: 0, accepted: Vec::new() };
    let mut i = 0usize;
    while !*stop.borrow() {
        let tenant = tenants[i % tenants.len()];
        i += 1;
        out.sent += 1;
        let path = format!("/api/v2/tenants/{tenant}/sync");
        match common::http(port, "POST", &path, &[("X-API-Key", &key)], "").await {
            Some(a) if a.status == 202 => {
                let v: serde_json::Value = serde_json::from_str(&a.body).expect("JSON answer");
                out.accepted.push(v["trigger_id"].as_i64().expect("trigger_id"));
            }
            Some(a) => panic!("POST {path} answered {}: {}", a.status, a.body),
            None => out.refused += 1,
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    out
}

/// Waits until nothing is queued, running or waiting; false if that never came.
async fn settle(db: &Db, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if left(db).await == 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

async fn left(db: &Db) -> i64 {
    sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM runs WHERE phase IN ('queued', 'running'))
              + (SELECT count(*) FROM run_triggers WHERE run_id IS NULL)",
    )
    .fetch_one(db.pool())
    .await
    .expect("left")
}

#[derive(Default)]
struct Report {
    runs: usize,
    retries: usize,
    completed: usize,
    cut_short: usize,
    lost: usize,
    doubled: usize,
    overlaps: usize,
    left: i64,
}

#[derive(sqlx::FromRow)]
struct Run {
    id: i64,
    tenant_id: i64,
    phase: String,
    exit_code: Option<i64>,
    started_at: Option<chrono::DateTime<Utc>>,
    finished_at: Option<chrono::DateTime<Utc>>,
    attempt: i64,
    first_run: Option<i64>,
}

async fn check(db: &Db, accepted: &[i64]) -> Report {
    let pool = db.pool();
    let runs: Vec<Run> = sqlx::query_as(
        "SELECT id, tenant_id, phase, exit_code, started_at, finished_at, attempt, first_run FROM runs ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .expect("runs");
    let taken: HashMap<i64, Option<i64>> = sqlx::query_as("SELECT id, run_id FROM run_triggers")
        .fetch_all(pool)
        .await
        .expect("triggers")
        .into_iter()
        .collect();
    // Each first run's attempts, in order.
    let mut chains: BTreeMap<i64, Vec<&Run>> = BTreeMap::new();
    for r in &runs {
        chains.entry(r.first_run.unwrap_or(r.id)).or_default().push(r);
    }
    let mut report = Report {
        runs: runs.len(),
        retries: runs.iter().filter(|r| r.attempt > 1).count(),
        completed: runs.iter().filter(|r| r.exit_code == Some(0)).count(),
        cut_short: runs.iter().filter(|r| r.phase == "failed_platform").count(),
        left: left(db).await,
        ..Report::default()
    };
    for trigger in accepted {
        let chain = taken.get(trigger).copied().flatten().and_then(|run| chains.get(&run));
        let Some(chain) = chain else {
            report.lost += 1;
            continue;
        };
        let last = chain.last().expect("a chain has a run");
        if matches!(last.phase.as_str(), "queued" | "running") {
            report.lost += 1;
        }
        if chain.iter().filter(|r| r.exit_code == Some(0)).count() > 1 {
            report.doubled += 1;
        }
    }
    let mut by_tenant: BTreeMap<i64, Vec<&Run>> = BTreeMap::new();
    for r in runs.iter().filter(|r| r.started_at.is_some()) {
        by_tenant.entry(r.tenant_id).or_default().push(r);
    }
    for list in by_tenant.values_mut() {
        list.sort_by_key(|r| r.started_at);
        for pair in list.windows(2) {
            if pair[0].finished_at.is_none_or(|end| pair[1].started_at.is_some_and(|next| next < end)) {
                report.overlaps += 1;
            }
        }
    }
    report
}
