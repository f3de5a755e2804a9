//! The load test: concurrent clients on console pages (the tenants list, a tenant, a
//! run), server functions and the REST API against the real binary (the release
//! build), beside `/healthz` and a static file measured the same way in the same run.
//! The hub first gets `--tenants N` more tenants (1,000 unless told; a finished run for
//! every tenth), written straight into its database. Every request must be answered
//! (none stalls past 30 s); it prints, by kind, the requests, requests per second,
//! errors, stalls and p50/p99. Then it fetches a static file 50 times over one
//! kept-alive connection beside a new connection each, and fails when the kept-alive
//! p50 is over 10 ms (a transport stall, such as a delayed ACK without TCP_NODELAY).
//!
//! ```text
//! cargo leptos build --release --split --precompress && cargo run -p server --example load_test -- \
//!     --hub target/release/server --clients 50 --seconds 60 --tenants 100000
//! ```
//! It exits 1 on any error, stalled request or transport stall. CI runs it for a few
//! seconds with the 1,000 tenants.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use hub_core::db::audit::Actor;
use hub_core::db::{Db, DB_FILE};

mod common;

const PASSWORD: &str = "load test password 1";

/// One request of the mix: its kind (a line of the table), method, path and form body.
#[derive(Clone)]
struct Ask {
    kind: &'static str,
    method: &'static str,
    path: String,
    body: String,
}

fn ask(kind: &'static str, method: &'static str, path: &str, body: &str) -> Ask {
    Ask { kind, method, path: path.to_owned(), body: body.to_owned() }
}

/// What the clients ask for, in turn.
fn mix(tenant: i64, run: Option<i64>, static_file: &str) -> Vec<Ask> {
    let mut mix = vec![
        ask("tenants list", "GET", "/tenants", ""),
        ask("tenants list", "GET", "/tenants?q=cust-0777", ""),
        ask("tenant page", "GET", &format!("/tenants/{tenant}"), ""),
        ask("console page", "GET", "/integrations", ""),
        ask("console page", "GET", "/activity", ""),
        ask("server function", "POST", "/api/current_user", ""),
        ask("server function", "POST", "/api/tenant", &format!("id={tenant}")),
        ask("REST API", "GET", "/api/v2/tenants", ""),
        ask("REST API", "GET", "/api/v2/integrations", ""),
        ask("static file", "GET", static_file, ""),
    ];
    if let Some(run) = run {
        mix.push(ask("run page", "GET", &format!("/runs/{run}"), ""));
    }
    mix
}

#[tokio::main]
async fn main() {
    let (mut hub_path, mut clients, mut seconds, mut tenants) =
        ("target/release/server".to_owned(), 16usize, 60u64, 1_000i64);
    for (flag, value) in common::flags() {
        match flag.as_str() {
            "--hub" => hub_path = value,
            "--clients" => clients = value.parse().expect("--clients N"),
            "--seconds" => seconds = value.parse().expect("--seconds N"),
            "--tenants" => tenants = value.parse().expect("--tenants N"),
            other => panic!("unknown flag {other}"),
        }
    }
    let binary = common::binary(&hub_path);
    let dir = tempfile::tempdir().expect("tempdir");
    let port = common::free_port();
    // The demo data: sample integrations and tenants, their releases built.
    let vars = [("HUB_DEMO", "on"), ("HUB_ADMIN_EMAIL", "admin@example.com"), ("HUB_ADMIN_PASSWORD", PASSWORD)];
    // Run from the repository's root: its site, connectors and sample integrations.
    let root = std::env::current_dir().expect("cwd");
    let path = |p: &str| root.join(p).to_string_lossy().into_owned();
    let (site, connectors, samples) = (path("target/site"), path("connectors"), path("samples"));
    let more =
        [("LEPTOS_SITE_ROOT", site.as_str()), ("HUB_CONNECTORS_DIR", &connectors), ("HUB_SAMPLES_DIR", &samples)];
    let vars: Vec<(&str, &str)> = vars.into_iter().chain(more).collect();
    let mut hub = common::start(&binary, dir.path(), port, &vars).await;

    let db = Db::open(&dir.path().join("data").join(DB_FILE)).await.expect("db");
    let (_, key) = hub_core::service::api_keys::create(
        &db,
        &Actor::System,
        &hub_core::service::api_keys::NewKeyInput::full("load test"),
        Utc::now(),
    )
    .await
    .expect("key");
    if tenants > 0 {
        let started = Instant::now();
        fill(&db, tenants).await;
        println!("filled {tenants} more tenants in {:.1} s", started.elapsed().as_secs_f64());
    }
    let tenant: i64 = sqlx::query_scalar("SELECT id FROM tenants ORDER BY id DESC LIMIT 1")
        .fetch_one(db.pool())
        .await
        .expect("the tenants were filled");
    let run: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM runs WHERE finished_at IS NOT NULL")
        .fetch_one(db.pool())
        .await
        .expect("runs");
    let cookie = sign_in(port).await;
    let static_file = stylesheet(port).await;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenants").fetch_one(db.pool()).await.expect("count");
    println!(
        "load test: {clients} clients, {seconds} s of mixed requests after {} s of /healthz; {total} tenants",
        seconds / 4
    );

    let quarter = Duration::from_secs((seconds / 4).max(1));
    let healthz = Arc::new(vec![ask("/healthz", "GET", "/healthz", "")]);
    let baseline = measure(port, clients, quarter, healthz, "", "").await;
    let mixed =
        measure(port, clients, Duration::from_secs(seconds), Arc::new(mix(tenant, run, &static_file)), &cookie, &key)
            .await;
    // A browser fetches the CSS, JS and wasm over one kept-alive connection: each
    // answer must come at once, not after the client's delayed ACK (TCP_NODELAY).
    let kept = common::kept_alive(port, &static_file, 50).await;
    let mut fresh = Vec::new();
    for _ in 0..50 {
        let started = std::time::Instant::now();
        if matches!(common::http(port, "GET", &static_file, &[], "").await, Some(a) if a.status == 200) {
            fresh.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let _ = hub.kill();
    let _ = hub.wait();

    let mut failed = false;
    println!(
        "{:<16} {:>8} {:>9} {:>7} {:>8} {:>9} {:>9}",
        "kind", "requests", "per s", "errors", "stalled", "p50 ms", "p99 ms"
    );
    let rows = baseline.iter().map(|r| (r, quarter)).chain(mixed.iter().map(|r| (r, Duration::from_secs(seconds))));
    for ((kind, s), length) in rows {
        let requests = s.times.len() + s.errors.len() + s.stalled;
        println!(
            "{kind:<16} {:>8} {:>9.0} {:>7} {:>8} {:>9.1} {:>9.1}",
            requests,
            requests as f64 / length.as_secs_f64(),
            s.errors.len(),
            s.stalled,
            percentile(&s.times, 50),
            percentile(&s.times, 99)
        );
        failed |= !s.errors.is_empty() || s.stalled > 0;
        if let Some(e) = s.errors.first() {
            println!("  first error: {e}");
        }
    }
    println!("{static_file}, 50 one after another:");
    match &kept {
        Some(t) => println!(
            "  over one kept-alive connection: p50 {:.2} ms, p99 {:.2} ms",
            percentile(t, 50),
            percentile(t, 99)
        ),
        None => println!("  over one kept-alive connection: the answers were not whole 200s"),
    }
    println!(
        "  a new connection each:          p50 {:.2} ms, p99 {:.2} ms",
        percentile(&fresh, 50),
        percentile(&fresh, 99)
    );
    // A delayed ACK stalls an answer for about 40 ms; anything near that is a stall.
    if kept.as_ref().is_none_or(|t| percentile(t, 50) > 10.0) {
        println!("  a kept-alive answer waited: is TCP_NODELAY set on accepted connections?");
        failed = true;
    }
    if failed {
        std::process::exit(1);
    }
    println!("load test passed");
}

/// Signs in through the login server function, as a form without JavaScript does.
async fn sign_in(port: u16) -> String {
    let body = format!("email=admin%40example.com&password={}", PASSWORD.replace(' ', "+"));
    let form = [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "text/html")];
    let a = common::http(port, "POST", "/api/login", &form, &body).await.expect("login answered");
    let cookie = a
        .head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: ").or_else(|| l.strip_prefix("Set-Cookie: ")))
        .unwrap_or_else(|| panic!("no session cookie: {} {}", a.status, a.body));
    cookie.split(';').next().expect("pair").to_owned()
}

#[derive(Default)]
struct Stats {
    /// Milliseconds of each answered request.
    times: Vec<f64>,
    errors: Vec<String>,
    stalled: usize,
}

/// `clients` tasks send requests for `length`, each taking the next of `asks` in turn.
async fn measure(
    port: u16,
    clients: usize,
    length: Duration,
    asks: Arc<Vec<Ask>>,
    cookie: &str,
    key: &str,
) -> BTreeMap<&'static str, Stats> {
    let end = Instant::now() + length;
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (cookie, key, asks) = (cookie.to_owned(), key.to_owned(), asks.clone());
            tokio::spawn(async move {
                let mut out: BTreeMap<&'static str, Stats> = BTreeMap::new();
                let mut n = c;
                while Instant::now() < end {
                    let Ask { kind, method, path, body } = &asks[n % asks.len()];
                    let (kind, method) = (*kind, *method);
                    n += 1;
                    let headers = [
                        ("Cookie", cookie.as_str()),
                        ("X-API-Key", key.as_str()),
                        ("Accept", "application/json"),
                        ("Content-Type", "application/x-www-form-urlencoded"),
                    ];
                    let started = Instant::now();
                    let answer = common::http(port, method, path, &headers, body).await;
                    let stats = out.entry(kind).or_default();
                    match answer {
                        Some(a) if (200..300).contains(&a.status) => {
                            stats.times.push(started.elapsed().as_secs_f64() * 1000.0);
                        }
                        Some(a) => {
                            let body: String = a.body.chars().take(200).collect();
                            stats.errors.push(format!("{method} {path}: {} {body}", a.status));
                        }
                        None => stats.stalled += 1,
                    }
                }
                out
            })
        })
        .collect();
    let mut total: BTreeMap<&'static str, Stats> = BTreeMap::new();
    for task in tasks {
        for (kind, s) in task.await.expect("client") {
            let t = total.entry(kind).or_default();
            t.times.extend(s.times);
            t.errors.extend(s.errors);
            t.stalled += s.stalled;
        }
    }
    total
}

fn percentile(times: &[f64], p: usize) -> f64 {
    if times.is_empty() {
        return 0.0;
    }
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

/// The stylesheet the sign-in page links (its name carries a content hash in a release
/// build): a static file of the site, as the browser loads it.
async fn stylesheet(port: u16) -> String {
    let page = common::http(port, "GET", "/login", &[], "").await.expect("the sign-in page");
    let href = page.body.split("<link").find(|tag| tag.contains(r#"rel="stylesheet""#)).and_then(|tag| {
        let start = tag.find(r#"href=""#)? + r#"href=""#.len();
        tag[start..].split('"').next().map(str::to_owned)
    });
    href.expect("the sign-in page links a stylesheet")
}

/// `count` more tenants on the first integration, paused (the load is the console's,
/// not the engine's), each with a connection, and a finished run for every tenth; in
/// one transaction, beside the running hub.
async fn fill(db: &Db, count: i64) {
    let now = Utc::now();
    let integration: i64 = sqlx::query_scalar("SELECT id FROM integrations ORDER BY id LIMIT 1")
        .fetch_one(db.pool())
        .await
        .expect("integration");
    let connector: String = sqlx::query_scalar("SELECT name FROM connectors ORDER BY name LIMIT 1")
        .fetch_one(db.pool())
        .await
        .expect("connector");
    let mut tx = db.pool().begin().await.expect("tx");
    for n in 0..count {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO tenants (integration_id, name, release_choice, configs, schedule_kind, schedule, paused,
                                  source, setup_step, created_at, updated_at)
             VALUES (?, ?, 'latest', '{}', 'preset', 'hourly', 1, 'hub', 'done', ?, ?) RETURNING id",
        )
        .bind(integration)
        .bind(format!("cust-{n:06}"))
        .bind(now)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .expect("tenant");
        sqlx::query(
            "INSERT INTO connections (tenant_id, connector_name, status, status_changed_at, magic_token)
             VALUES (?, ?, 'disconnected', ?, ?)",
        )
        .bind(id)
        .bind(&connector)
        .bind(now)
        .bind(format!("load-test-link-{id}"))
        .execute(&mut *tx)
        .await
        .expect("connection");
        if n % 10 == 0 {
            let started = now - chrono::Duration::seconds(n);
            sqlx::query(
                "INSERT INTO runs (tenant_id, mode, phase, queued_at, started_at, finished_at, exit_code)
                 VALUES (?, 'normal', 'succeeded', ?, ?, ?, 0)",
            )
            .bind(id)
            .bind(started)
            .bind(started)
            .bind(started + chrono::Duration::seconds(2))
            .execute(&mut *tx)
            .await
            .expect("run");
        }
    }
    tx.commit().await.expect("commit");
    sqlx::query("ANALYZE").execute(db.pool()).await.expect("analyze");
}
