//! How fast the tenants list renders on the server with 100,000 tenants.
//!
//! Fills a fresh hub's SQLite file with tenants (spread over 20 integrations, some
//! running, some with a failed last run, half with a connector not connected), signs
//! in, and renders `/tenants` through the real router (session check, query, server
//! render of the whole page) for each kind of list request: the first page, a deep
//! page, a search, each filter and each order. The baseline, measured in the same run
//! with the same requests, is a hub with 1,000 tenants.
//!
//! Run: `cargo bench -p server --bench tenant_list` (optional arguments: the large
//! count, then the number of renders per request; defaults 100000 and 200).

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use chrono::Utc;
use http_body_util::BodyExt;
use hub_core::db::audit::Actor;
use hub_core::db::{releases, Db};
use hub_core::domain::integration::IntegrationInput;
use hub_core::domain::manifest::Manifest;
use hub_core::service;
use tower::ServiceExt;

const INTEGRATIONS: i64 = 20;
const PASSWORD: &str = "bench password 1234";

const REQUESTS: [(&str, &str); 9] = [
    ("first page, by name", "/tenants"),
    ("page 40, by name", "/tenants?page=40"),
    ("search by name", "/tenants?q=cust-0777"),
    ("one integration", "/tenants?integration=7"),
    ("running", "/tenants?state=running"),
    ("not connected", "/tenants?state=not_connected"),
    ("last run failed", "/tenants?state=failed"),
    ("newest first", "/tenants?sort=newest"),
    ("most recent run", "/tenants?sort=last_run"),
];

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let large: i64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let renders: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(200);

    println!("tenants list server render, {renders} renders per request (2 tokio workers)\n");
    let baseline = measure(1_000, renders).await;
    let big = measure(large, renders).await;
    println!("{:<22} {:>16} {:>16} {:>16} {:>16}", "request", "1k p50 ms", "1k p99 ms", "large p50 ms", "large p99 ms");
    for ((name, small), (_, large)) in baseline.iter().zip(&big) {
        println!("{name:<22} {:>16.2} {:>16.2} {:>16.2} {:>16.2}", ms(small.0), ms(small.1), ms(large.0), ms(large.1));
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// p50 and p99 of each request on a hub with `tenants` tenants.
async fn measure(tenants: i64, renders: usize) -> Vec<(&'static str, (Duration, Duration))> {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_string_lossy().into_owned();
    let connectors = format!("{}/../connectors", env!("CARGO_MANIFEST_DIR"));
    let config = server::config::Config::from_vars(|k| match k {
        "HUB_DATA_DIR" => Some(data.clone()),
        // The in-process hub is a test binary: the sandbox's helper is the real one.
        "HUB_SANDBOX_HELPER" => Some(env!("CARGO_BIN_EXE_server").to_owned()),
        "HUB_ADMIN_EMAIL" => Some("admin@example.com".to_owned()),
        "HUB_ADMIN_PASSWORD" => Some(PASSWORD.to_owned()),
        "HUB_CONNECTORS_DIR" => Some(connectors.clone()),
        "HUB_DEMO" => Some("off".to_owned()),
        _ => None,
    })
    .expect("config");
    let prepared = server::startup::prepare(&config).await.expect("hub");
    let started = Instant::now();
    fill(&prepared.state.db, tenants).await;
    println!("filled {tenants} tenants in {:.1} s", started.elapsed().as_secs_f64());
    let router = prepared.router;
    let cookie = sign_in(&router).await;

    let mut out = Vec::new();
    for (name, path) in REQUESTS {
        // Warm the page cache and the statement cache first.
        for _ in 0..5 {
            render(&router, path, &cookie).await;
        }
        let mut times = Vec::with_capacity(renders);
        for _ in 0..renders {
            let t = Instant::now();
            render(&router, path, &cookie).await;
            times.push(t.elapsed());
        }
        times.sort();
        let pick = |q: f64| times[((times.len() as f64 * q).ceil() as usize).saturating_sub(1).min(times.len() - 1)];
        out.push((name, (pick(0.50), pick(0.99))));
    }
    out
}

async fn render(router: &Router, path: &str, cookie: &str) {
    let req = Request::get(path).header(header::COOKIE, cookie).body(Body::empty()).expect("request");
    let resp = router.clone().oneshot(req).await.expect("answer");
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    assert!(body.len() > 1000 && std::str::from_utf8(&body).is_ok_and(|b| b.contains("Tenants")), "{path}");
}

async fn sign_in(router: &Router) -> String {
    let req = Request::post("/api/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(Body::from("email=admin%40example.com&password=bench+password+1234"))
        .expect("request");
    let resp = router.clone().oneshot(req).await.expect("answer");
    let cookie = resp.headers().get(header::SET_COOKIE).expect("signed in").to_str().expect("ascii");
    cookie.split(';').next().expect("pair").to_owned()
}

/// Integrations with a successful release each, then `count` tenants over them, in
/// one transaction: running every fifth, a failed last run every fiftieth, a
/// connection for each (connected for even ids).
async fn fill(db: &Db, count: i64) {
    let now = Utc::now();
    let manifest =
        serde_json::to_string(&Manifest::parse("version: 1.0\nrun: ./sync\nconnectors: [stripe]\n").expect("manifest"))
            .expect("json");
    for i in 1..=INTEGRATIONS {
        let input = IntegrationInput {
            name: format!("Integration {i:02}"),
            repository: "/srv/git/bench".into(),
            connectors: vec!["stripe".into()],
            ..Default::default()
        };
        let id = service::integrations::create(db, &hub_core::egress::Egress::strict(), &Actor::System, 1, input, now)
            .await
            .expect("integration");
        let release = releases::insert_queued(db.pool(), id, "main", None, now).await.expect("release");
        releases::claim(db.pool(), release, now).await.expect("claim");
        let ok = releases::Success { commit_sha: "0123456789ab", run_command: "./sync", manifest_json: &manifest };
        releases::succeed(db.pool(), release, &ok, now).await.expect("built");
        service::integrations::set_default(db, &Actor::System, service::Scope::All, id, release, now)
            .await
            .expect("default");
    }
    let mut tx = db.pool().begin().await.expect("tx");
    for n in 0..count {
        let integration = n % INTEGRATIONS + 1;
        let running = n % 5 == 0;
        let failed = n % 50 == 7;
        let last_run = (n % 3 == 0).then(|| now - chrono::Duration::seconds(n));
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO tenants (integration_id, name, release_choice, configs, schedule_kind, schedule, paused,
                                  source, setup_step, last_run_phase, last_run_at, created_at, updated_at)
             VALUES (?, ?, 'default', '{}', 'preset', 'hourly', ?, 'hub', 'done', ?, ?, ?, ?) RETURNING id",
        )
        .bind(integration)
        .bind(format!("cust-{n:06}"))
        .bind(!running)
        .bind(if failed { Some("failed_integration") } else { last_run.map(|_| "succeeded") })
        .bind(if failed { Some(now) } else { last_run })
        .bind(now)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .expect("tenant");
        sqlx::query(
            "INSERT INTO connections (tenant_id, connector_name, status, status_changed_at, magic_token)
             VALUES (?, 'stripe', ?, ?, ?)",
        )
        .bind(id)
        .bind(if id % 2 == 0 { "connected" } else { "disconnected" })
        .bind(now)
        .bind(format!("bench-token-{id}"))
        .execute(&mut *tx)
        .await
        .expect("connection");
    }
    tx.commit().await.expect("commit");
    sqlx::query("ANALYZE").execute(db.pool()).await.expect("analyze");
}
