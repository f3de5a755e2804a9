//! The load test: concurrent clients on console pages, server functions and the REST
//! API against the real binary (the release build), beside a `/healthz` baseline
//! measured the same way in the same run. Every request must be answered (none
//! stalls past 30 s); it prints, by kind, the requests, errors, stalls and p50/p99.
//! Then it fetches a static file 50 times over one kept-alive connection beside a new
//! connection each, and fails when the kept-alive p50 is over 10 ms (a transport
//! stall, such as a delayed ACK without TCP_NODELAY).
//!
//! ```text
//! cargo leptos build --release && cargo run -p server --example load_test -- \
//!     --hub target/release/server --clients 16 --seconds 60
//! ```
//! It exits 1 on any error, stalled request or transport stall. CI runs it for a few
//! seconds.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use hub_core::db::audit::Actor;
use hub_core::db::{Db, DB_FILE};

mod common;

const PASSWORD: &str = "load test password 1";

/// A static file of the site, as the browser loads it.
const STATIC_FILE: &str = "/pkg/hub.css";

/// What the clients ask for, in turn: (kind, method, path).
const MIX: &[(&str, &str, &str)] = &[
    ("console page", "GET", "/tenants"),
    ("console page", "GET", "/integrations"),
    ("console page", "GET", "/activity"),
    ("server function", "POST", "/api/current_user"),
    ("server function", "POST", "/api/company"),
    ("REST API", "GET", "/api/v2/tenants"),
    ("REST API", "GET", "/api/v2/integrations"),
];

#[tokio::main]
async fn main() {
    let (mut hub_path, mut clients, mut seconds) = ("target/release/server".to_owned(), 16usize, 60u64);
    for (flag, value) in common::flags() {
        match flag.as_str() {
            "--hub" => hub_path = value,
            "--clients" => clients = value.parse().expect("--clients N"),
            "--seconds" => seconds = value.parse().expect("--seconds N"),
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
    let cookie = sign_in(port).await;
    println!("load test: {clients} clients, {seconds} s of mixed requests after {} s of /healthz", seconds / 4);

    let quarter = Duration::from_secs((seconds / 4).max(1));
    let baseline = measure(port, clients, quarter, |_| ("/healthz", "GET", "/healthz"), "", "").await;
    let mixed = measure(port, clients, Duration::from_secs(seconds), |n| MIX[n % MIX.len()], &cookie, &key).await;
    // A browser fetches the CSS, JS and wasm over one kept-alive connection: each
    // answer must come at once, not after the client's delayed ACK (TCP_NODELAY).
    let kept = common::kept_alive(port, STATIC_FILE, 50).await;
    let mut fresh = Vec::new();
    for _ in 0..50 {
        let started = std::time::Instant::now();
        if matches!(common::http(port, "GET", STATIC_FILE, &[], "").await, Some(a) if a.status == 200) {
            fresh.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let _ = hub.kill();
    let _ = hub.wait();

    let mut failed = false;
    println!("{:<16} {:>8} {:>7} {:>8} {:>9} {:>9}", "kind", "requests", "errors", "stalled", "p50 ms", "p99 ms");
    for (kind, s) in baseline.iter().chain(mixed.iter()) {
        println!(
            "{kind:<16} {:>8} {:>7} {:>8} {:>9.1} {:>9.1}",
            s.times.len() + s.stalled,
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
    println!("{STATIC_FILE}, 50 one after another:");
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

type Pick = fn(usize) -> (&'static str, &'static str, &'static str);

/// `clients` tasks send requests for `length`, each taking the next of `pick`.
async fn measure(
    port: u16,
    clients: usize,
    length: Duration,
    pick: Pick,
    cookie: &str,
    key: &str,
) -> BTreeMap<&'static str, Stats> {
    let end = Instant::now() + length;
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (cookie, key) = (cookie.to_owned(), key.to_owned());
            tokio::spawn(async move {
                let mut out: BTreeMap<&'static str, Stats> = BTreeMap::new();
                let mut n = c;
                while Instant::now() < end {
                    let (kind, method, path) = pick(n);
                    n += 1;
                    let headers =
                        [("Cookie", cookie.as_str()), ("X-API-Key", key.as_str()), ("Accept", "application/json")];
                    let started = Instant::now();
                    let answer = common::http(port, method, path, &headers, "").await;
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
