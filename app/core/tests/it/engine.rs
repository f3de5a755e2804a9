//! The run engine with real processes, and its scheduler with the time passed in.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use hub_core::connectors::{Connectors, Loaded, Registry, Source};
use hub_core::db::audit::Actor;
use hub_core::db::{connections, connectors, run_leases, run_logs, run_retries, run_triggers, runs, tenants, Db};
use hub_core::domain::connector::Connector;
use hub_core::domain::integration::IntegrationInput;
use hub_core::domain::release::{ReleaseChoice, ReleaseStatus};
use hub_core::domain::run::{Mode, Phase, TriggerKind};
use hub_core::domain::tenant::{self, SetupStep};
use hub_core::engine::builder::Builder;
use hub_core::engine::process::Identity;
use hub_core::engine::runs::{Engine, Settings, LEASE};
use hub_core::engine::sandbox::Sandbox;
use hub_core::secrets::SecretKey;
use hub_core::service;
use hub_core::service::runs::LogAt;
use hub_core::worker::{self, Clock};

use crate::git;

mod retention;

struct Hub {
    db: Db,
    engine: Engine,
    key: Arc<SecretKey>,
    tenant: i64,
    integration: i64,
    /// The hub's data directory (releases, runs' files).
    data: tempfile::TempDir,
    /// The repository and the database's directory.
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

const STRIPE: &str =
    "name: stripe\ndisplay_name: Stripe\nauth: api_key\nfields:\n  - { name: api_key, label: API key, secret: true }\n";
/// An OAuth2 connector with a per-connection parameter and a kept token value.
const SHOP: &str = "name: shop\ndisplay_name: Shop\nauth: oauth2\nparameters: [{ name: shop, label: Shop, pattern: '[a-z]+' }]\noauth2:\n  authorize_url: https://{shop}.shop.example/authorize\n  token_url: https://{shop}.shop.example/token\n  client_id: id\n  token_fields: [instance_url]\napi_base_url: '{instance_url}/api/{shop}'\n";

/// A hub with one integration whose release runs `script` (a shell script), and one
/// tenant of it with `configs`.
async fn hub(script: &str, metadata_schema: Option<&str>, settings: Settings) -> Hub {
    hub_in(script, metadata_schema, settings, crate::sandbox()).await
}

/// [`hub`] with its builds and runs in `sandbox`.
async fn hub_in(script: &str, metadata_schema: Option<&str>, settings: Settings, sandbox: Arc<Sandbox>) -> Hub {
    let (db, db_dir) = crate::file_db().await;
    let (stripe, missing) = Connector::parse(STRIPE, |_| None).expect("connector");
    connectors::upsert(db.pool(), &stripe, &missing, Utc::now()).await.expect("stored");
    let (shop, _) = Connector::parse(SHOP, |_| None).expect("connector");
    connectors::upsert(db.pool(), &shop, &[], Utc::now()).await.expect("stored");
    sqlx::query("INSERT INTO organizations (name, kind, created_at) VALUES ('Acme', 'company', '2026-01-01')")
        .execute(db.pool())
        .await
        .expect("org");
    let data = tempfile::tempdir().expect("tempdir");
    let repo = crate::public_dir();
    git(repo.path(), &["init", "--quiet", "--initial-branch=main"]);
    let mut manifest = "version: 0.5\nrun: sh run.sh\nconnectors: [stripe]\n".to_owned();
    if let Some(m) = metadata_schema {
        manifest.push_str(m);
    }
    std::fs::write(repo.path().join("PANDIUM.yaml"), manifest).expect("write");
    std::fs::write(repo.path().join("run.sh"), script).expect("write");
    git(repo.path(), &["add", "--all"]);
    git(repo.path(), &["commit", "--quiet", "-m", "first"]);

    let builder = Builder::new(db.clone(), data.path(), Duration::from_secs(60), sandbox);
    let input = IntegrationInput {
        name: "Engine test".into(),
        connectors: vec!["stripe".into()],
        repository: repo.path().to_string_lossy().into_owned(),
        ..Default::default()
    };
    let integration =
        service::integrations::create(&db, &hub_core::egress::Egress::strict(), &Actor::System, 1, input, Utc::now())
            .await
            .expect("created");
    let built = crate::build(&db, &builder, integration, None).await;
    assert_eq!(built.status, ReleaseStatus::Succeeded, "{:?}\n{}", built.error, built.build_log);
    let tenant = tenants::insert(
        db.pool(),
        &tenants::NewTenant {
            integration_id: integration,
            name: "acme",
            choice: ReleaseChoice::Latest,
            configs: r#"{"greeting":"hi","on":true}"#,
            source: tenant::Source::Hub,
            setup_step: SetupStep::Done,
            created_by: None,
        },
        Utc::now(),
    )
    .await
    .expect("tenant");
    let link = connections::StoredLink { hash: "magic-hash", sealed: b"sealed" };
    connections::insert_connection(db.pool(), tenant, "stripe", &link, Utc::now()).await.expect("connection");
    let key = Arc::new(SecretKey::generate());
    let mut map = BTreeMap::new();
    for c in [stripe, shop] {
        let source = Source::File(PathBuf::from(format!("{}.yaml", c.name)));
        map.insert(c.name.clone(), Loaded { connector: c, source, missing_vars: Vec::new() });
    }
    let registry = Connectors::from(Registry { connectors: map });
    let engine = Engine::new(db.clone(), key.clone(), registry, "http://127.0.0.1:1", data.path(), &builder, settings);
    Hub { db, engine, key, tenant, integration, data, _dirs: (repo, db_dir) }
}

impl Hub {
    /// Asks for a run of `tenant` as the front doors do; returns the trigger.
    async fn ask(&self, tenant: i64, kind: TriggerKind, mode: Mode, now: DateTime<Utc>) -> i64 {
        service::runs::request(&self.db, &self.engine, &Actor::System, tenant, kind, mode, None, now)
            .await
            .expect("trigger")
    }

    /// A queued run of the hub's tenant, made from one manual trigger as the
    /// dispatcher makes it, but not started.
    async fn queued_run(&self, release_id: Option<i64>, now: DateTime<Utc>) -> i64 {
        let manual = self.ask(self.tenant, TriggerKind::Manual, Mode::Normal, now).await;
        let mut tx = self.db.pool().begin().await.expect("tx");
        let new = runs::NewRun {
            tenant_id: self.tenant,
            integration_id: self.integration,
            release_id,
            mode: Mode::Normal,
            scheduled: false,
            triggers: &[manual],
        };
        let id = runs::create(&mut tx, &new, now).await.expect("create").expect("run");
        tx.commit().await.expect("commit");
        id
    }

    /// Asks for a run and runs it to its end; returns the run.
    async fn run(&self, mode: Mode) -> runs::RunRow {
        self.ask(self.tenant, TriggerKind::Manual, mode, Utc::now()).await;
        worker::run_until_idle(&self.engine, Utc::now()).await.expect("ran");
        self.last_run().await
    }

    /// The integration's built release.
    async fn release(&self) -> i64 {
        sqlx::query_scalar("SELECT id FROM releases WHERE integration_id = ? AND status = 'succeeded'")
            .bind(self.integration)
            .fetch_one(self.db.pool())
            .await
            .expect("release")
    }

    async fn last_run(&self) -> runs::RunRow {
        let filter = runs::RunFilter { tenant_id: Some(self.tenant), ..Default::default() };
        let id = runs::list(self.db.pool(), &filter, 1).await.expect("list")[0].id;
        runs::get(self.db.pool(), id).await.expect("get").expect("run")
    }

    async fn log(&self, run: i64) -> String {
        run_logs::log(self.db.pool(), run, 0).await.expect("log").0
    }

    async fn tenant_column(&self, column: &str) -> Option<String> {
        sqlx::query_scalar(&format!("SELECT {column} FROM tenants WHERE id = ?"))
            .bind(self.tenant)
            .fetch_one(self.db.pool())
            .await
            .expect("tenant")
    }
}

fn phase(r: &runs::RunRow) -> Phase {
    r.phase
}

const COUNTER: &str = r#"
prev="$PAN_CTX_LAST_SUCCESSFUL_RUN_STD_OUT"
n=$(printf '%s' "$prev" | sed -n 's/.*"n": *\([0-9]*\).*/\1/p')
n=$(( ${n:-0} + 1 ))
echo "mode=$PAN_CTX_RUN_MODE last=$PAN_CTX_LAST_RUN_PHASE greeting=$PAN_CFG_GREETING on=$PAN_CFG_ON" >&2
echo "triggers=$PAN_CTX_RUN_TRIGGERS" >&2
echo "some progress on stdout"
echo "{\"n\": $n}"
"#;

#[tokio::test]
async fn context_is_handed_from_run_to_run() {
    let hub = hub(COUNTER, None, Settings::default()).await;
    let first = hub.run(Mode::Normal).await;
    assert_eq!(phase(&first), Phase::Succeeded, "{:?}", first.error);
    assert_eq!(first.stdout_context.as_deref(), Some(r#"{"n": 1}"#));
    let log = hub.log(first.id).await;
    assert!(log.contains("mode=normal last= greeting=hi on=true"), "{log}");
    assert!(log.contains(r#""type":"manual""#), "{log}");
    let second = hub.run(Mode::Normal).await;
    assert_eq!(second.stdout_context.as_deref(), Some(r#"{"n": 2}"#));
    assert!(hub.log(second.id).await.contains("last=Succeeded"));
    assert_eq!(hub.tenant_column("last_run_phase").await.as_deref(), Some("succeeded"));
    let names = second.env_names.unwrap_or_default();
    for name in [
        "PAN_CFG_GREETING",
        "PAN_CTX_TENANT_NAME",
        "PAN_CTX_LAST_SUCCESSFUL_RUN_STD_OUT",
        "PAN_CTX_TENANT_METADATA_FILE",
    ] {
        assert!(names.contains(name), "{name} missing from {names}");
    }
}

#[tokio::test]
async fn an_init_run_output_becomes_the_dynamic_options() {
    let script = r#"
if [ "$PAN_CTX_RUN_MODE" = init ]; then
  echo '{"users":[{"const":"U1","title":"Ann"}],"foods":{"sweet":["cake"]}}'
else
  echo '{"ok":true}'
fi
"#;
    let hub = hub(script, None, Settings::default()).await;
    let run = hub.run(Mode::Init).await;
    assert_eq!(phase(&run), Phase::Succeeded);
    let options: serde_json::Value =
        serde_json::from_str(&hub.tenant_column("dynamic_options").await.unwrap_or_default()).expect("json");
    assert_eq!(options["users"][0]["const"], "U1");
    assert_eq!(options["foods"]["sweet"][0], "cake");
    // A normal run leaves the options alone.
    hub.run(Mode::Normal).await;
    assert!(hub.tenant_column("dynamic_options").await.unwrap_or_default().contains("U1"));
}

#[tokio::test]
async fn a_non_zero_exit_is_an_integration_issue() {
    let hub = hub("echo 'cannot reach the API' >&2\nexit 3\n", None, Settings::default()).await;
    let run = hub.run(Mode::Normal).await;
    assert_eq!(phase(&run), Phase::FailedIntegration);
    assert_eq!(run.exit_code, Some(3));
    assert!(hub.log(run.id).await.contains("cannot reach the API"));
    assert_eq!(hub.tenant_column("last_run_phase").await.as_deref(), Some("failed_integration"));
}

#[tokio::test]
async fn a_program_that_never_ends_is_killed_at_the_limit_with_its_children() {
    let marker = std::env::temp_dir().join(format!("hub-engine-timeout-{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let script = format!("echo started >&2\n(sleep 3; touch {}) &\nsleep 600\n", marker.display());
    let hub = hub(&script, None, Settings::default()).await;
    sqlx::query("UPDATE integrations SET run_timeout_secs = 1 WHERE id = ?")
        .bind(hub.integration)
        .execute(hub.db.pool())
        .await
        .expect("limit");
    let started = std::time::Instant::now();
    let run = hub.run(Mode::Normal).await;
    assert_eq!(phase(&run), Phase::FailedTimeout);
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    assert!(hub.log(run.id).await.contains("started"));
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(!marker.exists(), "a child of the run survived the kill");
}

fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_hundred_megabytes_of_stderr_is_capped_and_memory_stays_flat() {
    let script = "yes 'a line of log output that repeats' | head -c 104857600 >&2\necho '{\"done\":true}'\n";
    let hub = hub(script, None, Settings::default()).await;
    let before = peak_rss_kb();
    let run = hub.run(Mode::Normal).await;
    let grown_mb = peak_rss_kb().saturating_sub(before) / 1024;
    assert_eq!(phase(&run), Phase::Succeeded);
    assert!(run.log_truncated);
    let cap = i64::try_from(hub_core::engine::output::LOG_CAP).expect("cap");
    assert!(run.log_bytes > cap - 100 && run.log_bytes < cap + 1000, "{} bytes kept", run.log_bytes);
    assert!(hub.log(run.id).await.ends_with("bytes after that were not kept.]\n"));
    assert_eq!(run.stdout_context.as_deref(), Some(r#"{"done":true}"#));
    // Had the output been held, the peak would have grown by more than its 100 MB. What
    // may grow: the kept 10 MB (in the database's page cache, and read back above)
    // and the other tests of this binary running at the same time.
    assert!(grown_mb < 80, "peak memory grew by {grown_mb} MB");
}

#[tokio::test]
async fn output_that_is_not_utf8_is_kept_readable() {
    let hub = hub("printf 'caf\\351 ol\\342\\202\\254\\n' >&2\nprintf '\\377\\n'\n", None, Settings::default()).await;
    let run = hub.run(Mode::Normal).await;
    assert_eq!(phase(&run), Phase::Succeeded);
    assert_eq!(hub.log(run.id).await, "caf\u{fffd} ol€\n");
    assert_eq!(run.stdout_context, None);
}

#[tokio::test]
async fn a_last_line_that_is_not_json_leaves_no_context() {
    let script = "echo '{\"early\":1}'\necho 'all done'\nenv >&2\n";
    let hub = hub(script, None, Settings::default()).await;
    let first = hub.run(Mode::Normal).await;
    assert_eq!(phase(&first), Phase::Succeeded);
    assert_eq!(first.stdout_context, None);
    let second = hub.run(Mode::Normal).await;
    let log = hub.log(second.id).await;
    assert!(!log.contains("PAN_CTX_LAST_SUCCESSFUL_RUN_STD_OUT"), "{log}");
    assert!(log.contains("PAN_CTX_LAST_SUCCESSFUL_RUN_START_TIME"), "{log}");
    // Exactly the documented environment: nothing of the hub's own.
    for line in log.lines().filter(|l| l.contains('=')) {
        let name = line.split('=').next().unwrap_or_default();
        assert!(
            name.starts_with("PAN_")
                || ["PATH", "LANG", "HOME", "TMPDIR", "PWD", "SHLVL", "_", "OLDPWD"].contains(&name),
            "unexpected variable {name}"
        );
    }
}

#[tokio::test]
async fn a_secret_printed_to_stderr_is_masked() {
    let hub = hub("echo \"using key $PAN_SEC_STRIPE_API_KEY now\" >&2\n", None, Settings::default()).await;
    let sealed = hub.key.encrypt(br#"{"api_key":"sk_live_abcdef123456"}"#);
    connections::connect(hub.db.pool(), hub.tenant, "stripe", &sealed, Utc::now()).await.expect("connect");
    let run = hub.run(Mode::Normal).await;
    assert_eq!(phase(&run), Phase::Succeeded);
    let log = hub.log(run.id).await;
    assert_eq!(log, "using key ******** now\n");
    assert!(run.env_names.unwrap_or_default().contains("PAN_SEC_STRIPE_API_KEY"));
}

#[tokio::test]
async fn an_oauth2_connections_parameters_and_kept_token_values_reach_the_run() {
    let hub = hub("env | grep '^PAN_SEC_SHOP' | sort >&2\n", None, Settings::default()).await;
    let link = connections::StoredLink { hash: "shop-link", sealed: b"sealed" };
    connections::insert_connection(hub.db.pool(), hub.tenant, "shop", &link, Utc::now()).await.expect("connection");
    let tokens = hub_core::oauth::OAuthTokens {
        access_token: "at-shop-0123456789".into(),
        expires_at: Some(Utc::now() + chrono::Duration::hours(2)),
        parameters: BTreeMap::from([("shop".to_owned(), "acme".to_owned())]),
        fields: BTreeMap::from([("instance_url".to_owned(), "https://eu7.instance.example".to_owned())]),
        ..Default::default()
    };
    let sealed = hub.key.encrypt(serde_json::to_string(&tokens).expect("json").as_bytes());
    connections::connect(hub.db.pool(), hub.tenant, "shop", &sealed, Utc::now()).await.expect("connect");
    let run = hub.run(Mode::Normal).await;
    assert_eq!(phase(&run), Phase::Succeeded, "{:?}", run.error);
    // The token and the kept value are masked in the log; the shop's name is not secret.
    assert_eq!(
        hub.log(run.id).await,
        "PAN_SEC_SHOP_API_BASE_URL=********/api/acme\nPAN_SEC_SHOP_INSTANCE_URL=********\n\
         PAN_SEC_SHOP_OAUTH_ACCESS_TOKEN=********\nPAN_SEC_SHOP_SHOP=acme\n"
    );
}

#[tokio::test]
async fn a_secret_in_the_context_is_masked_on_the_run_and_kept_for_the_next_run() {
    let script = r#"echo "seen=$PAN_CTX_LAST_SUCCESSFUL_RUN_STD_OUT" >&2
echo "{\"key\": \"$PAN_SEC_STRIPE_API_KEY\"}"
"#;
    let hub = hub(script, None, Settings::default()).await;
    let sealed = hub.key.encrypt(br#"{"api_key":"sk_live_abcdef123456"}"#);
    connections::connect(hub.db.pool(), hub.tenant, "stripe", &sealed, Utc::now()).await.expect("connect");
    let first = hub.run(Mode::Normal).await;
    assert_eq!(phase(&first), Phase::Succeeded, "{:?}", first.error);
    assert_eq!(first.stdout_context.as_deref(), Some(r#"{"key": "********"}"#));
    // The program gets back what it printed (its log masks it again).
    let second = hub.run(Mode::Normal).await;
    assert_eq!(hub.log(second.id).await, "seen={\"key\": \"********\"}\n");
    assert_eq!(hub.tenant_column("context").await.as_deref(), Some(r#"{"key": "sk_live_abcdef123456"}"#));
}

#[tokio::test]
async fn an_ordinary_python_program_has_its_standard_library_and_tls_roots() {
    let script = r#"python3 - <<'PY'
import json, os, socket, sqlite3, ssl, tempfile
roots = ssl.create_default_context().cert_store_stats()["x509_ca"]
db = sqlite3.connect(os.path.join(tempfile.gettempdir(), "t.db"))
db.execute("create table t (x)")
names = len(socket.getaddrinfo("localhost", 80)) > 0
print(json.dumps({"roots": roots > 0, "home": os.environ["HOME"], "names": names}))
PY
"#;
    let hub = hub(script, None, Settings::default()).await;
    let run = hub.run(Mode::Normal).await;
    assert_eq!(phase(&run), Phase::Succeeded, "{:?} {}", run.error, hub.log(run.id).await);
    let home = hub_core::engine::sandbox::SCRATCH;
    assert_eq!(run.stdout_context, Some(format!(r#"{{"roots": true, "home": "{home}", "names": true}}"#)));
}

#[tokio::test]
async fn metadata_the_run_writes_is_checked_and_kept() {
    let schema = "metadata_schema:\n  schema: { type: object, properties: { cursor: { type: string } } }\n";
    let script = "echo \"{\\\"cursor\\\": $CURSOR}\" > \"$PAN_CTX_TENANT_METADATA_FILE\"\n";
    let hub = hub(&format!("CURSOR='\"abc\"'\n{script}"), Some(schema), Settings::default()).await;
    let run = hub.run(Mode::Normal).await;
    assert_eq!(phase(&run), Phase::Succeeded, "{:?}", run.error);
    assert_eq!(hub.tenant_column("metadata").await.as_deref(), Some(r#"{"cursor":"abc"}"#));

    let hub = self::hub(&format!("CURSOR=5\n{script}"), Some(schema), Settings::default()).await;
    let run = hub.run(Mode::Normal).await;
    assert_eq!(phase(&run), Phase::FailedMetadata);
    assert!(run.error.unwrap_or_default().contains("metadata.cursor must be of type string"));
    assert_eq!(hub.tenant_column("metadata").await.as_deref(), Some("{}"));
}

#[tokio::test]
async fn a_command_that_cannot_start_is_a_platform_issue() {
    let hub = hub("true\n", None, Settings::default()).await;
    // No release: the default channel points nowhere.
    sqlx::query("UPDATE integrations SET default_release_id = NULL WHERE id = ?")
        .bind(hub.integration)
        .execute(hub.db.pool())
        .await
        .expect("no default");
    sqlx::query("UPDATE tenants SET release_choice = 'default' WHERE id = ?")
        .bind(hub.tenant)
        .execute(hub.db.pool())
        .await
        .expect("default channel");
    let run = hub.run(Mode::Normal).await;
    assert_eq!(phase(&run), Phase::FailedPlatform);
    assert!(run.error.unwrap_or_default().contains("no successful release"));
}

// --- The scheduler, with the time passed in ---------------------------------------

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single().expect("time")
}

async fn set_schedule(hub: &Hub, kind: &str, schedule: &str, tz: &str, next: Option<DateTime<Utc>>) {
    sqlx::query(
        "UPDATE tenants SET schedule_kind = ?, schedule = ?, timezone = ?, paused = ?, next_fire_at = ? WHERE id = ?",
    )
    .bind(kind)
    .bind(schedule)
    .bind(tz)
    .bind(next.is_none())
    .bind(next)
    .bind(hub.tenant)
    .execute(hub.db.pool())
    .await
    .expect("schedule");
}

async fn next_fire(hub: &Hub) -> Option<DateTime<Utc>> {
    sqlx::query_scalar("SELECT next_fire_at FROM tenants WHERE id = ?")
        .bind(hub.tenant)
        .fetch_one(hub.db.pool())
        .await
        .expect("next")
}

async fn waiting(hub: &Hub) -> Vec<String> {
    run_triggers::waiting(hub.db.pool(), hub.tenant)
        .await
        .expect("waiting")
        .into_iter()
        .map(|w| w.kind.as_str().to_owned())
        .collect()
}

#[tokio::test]
async fn a_due_tenant_fires_once_and_moves_to_its_next_slot() {
    let hub = hub("true\n", None, Settings::default()).await;
    set_schedule(&hub, "cron", "*/15 * * * *", "UTC", Some(at(2026, 11, 22, 10, 0))).await;
    // Not yet due.
    let wake = hub.engine.fire_due(at(2026, 11, 22, 9, 59)).await.expect("tick");
    assert_eq!(wake, Some(at(2026, 11, 22, 10, 0)));
    assert!(waiting(&hub).await.is_empty());
    hub.engine.fire_due(at(2026, 11, 22, 10, 0)).await.expect("tick");
    assert_eq!(waiting(&hub).await, vec!["schedule"]);
    assert_eq!(next_fire(&hub).await, Some(at(2026, 11, 22, 10, 15)));
    // The same instant again fires nothing more.
    hub.engine.fire_due(at(2026, 11, 22, 10, 0)).await.expect("tick");
    assert_eq!(waiting(&hub).await.len(), 1);
}

#[tokio::test]
async fn after_downtime_missed_slots_run_once() {
    let hub = hub("true\n", None, Settings::default()).await;
    set_schedule(&hub, "cron", "*/5 * * * *", "UTC", Some(at(2026, 11, 22, 6, 0))).await;
    // The hub was down for four hours: 48 slots were missed.
    hub.engine.fire_due(at(2026, 11, 22, 10, 2)).await.expect("tick");
    assert_eq!(waiting(&hub).await, vec!["schedule"]);
    assert_eq!(next_fire(&hub).await, Some(at(2026, 11, 22, 10, 5)));
    worker::run_until_idle(&hub.engine, at(2026, 11, 22, 10, 2)).await.expect("ran");
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM runs").fetch_one(hub.db.pool()).await.expect("count");
    assert_eq!(total, 1);
}

#[tokio::test]
async fn a_slot_during_a_run_is_bundled_and_the_skip_is_shown() {
    let hub = hub("true\n", None, Settings::default()).await;
    set_schedule(&hub, "cron", "* * * * *", "UTC", Some(at(2026, 11, 22, 10, 0))).await;
    // A manual run is in progress (made, not yet executed).
    let active = hub.queued_run(None, Utc::now()).await;
    // Two slots and an API call arrive meanwhile.
    hub.engine.fire_due(at(2026, 11, 22, 10, 0)).await.expect("tick");
    hub.engine.fire_due(at(2026, 11, 22, 10, 1)).await.expect("tick");
    hub.ask(hub.tenant, TriggerKind::Api, Mode::Normal, Utc::now()).await;
    assert_eq!(waiting(&hub).await, vec!["schedule", "schedule", "api"]);
    // No second run while the first is active: dispatch makes nothing.
    assert!(hub.engine.dispatch(Utc::now()).await.expect("dispatch").is_empty());
    let skipped: i64 = sqlx::query_scalar("SELECT count(*) FROM runs WHERE phase = 'skipped'")
        .fetch_one(hub.db.pool())
        .await
        .expect("n");
    assert_eq!(skipped, 2);
    hub.engine.execute(active).await;
    worker::run_until_idle(&hub.engine, at(2026, 11, 22, 10, 1)).await.expect("ran");
    // The two scheduled slots ran together, the API trigger on its own.
    let rows: Vec<(bool, String)> =
        sqlx::query_as("SELECT r.scheduled, group_concat(t.kind) FROM runs r JOIN run_triggers t ON t.run_id = r.id GROUP BY r.id ORDER BY r.id")
            .fetch_all(hub.db.pool())
            .await
            .expect("runs");
    assert_eq!(
        rows,
        vec![(false, "manual".to_owned()), (true, "schedule,schedule".to_owned()), (false, "api".to_owned())]
    );
}

#[tokio::test]
async fn a_paused_tenant_never_fires_and_an_unpause_takes_effect_at_once() {
    let hub = hub("true\n", None, Settings::default()).await;
    set_schedule(&hub, "preset", "every_5_minutes", "UTC", None).await;
    assert_eq!(hub.engine.fire_due(at(2030, 1, 1, 0, 0)).await.expect("tick"), None);
    assert!(waiting(&hub).await.is_empty());
    // Unpausing through the service sets the next fire time.
    let t = tenants::get(hub.db.pool(), hub.tenant).await.expect("get").expect("tenant");
    let input = hub_core::domain::tenant::ScheduleInput {
        kind: "simple".into(),
        preset: "every_5_minutes".into(),
        cron: String::new(),
        timezone: "UTC".into(),
    };
    let now = at(2026, 11, 22, 10, 0);
    service::tenants::save_schedule(&hub.db, &Actor::System, &t, &input, false, now).await.expect("saved");
    let next = next_fire(&hub).await.expect("a running tenant has a next fire time");
    assert!(next > now && next <= now + chrono::Duration::minutes(5), "{next}");
    assert_eq!(hub.engine.fire_due(now).await.expect("tick"), Some(next));
    hub.engine.fire_due(next).await.expect("tick");
    assert_eq!(waiting(&hub).await, vec!["schedule"]);
}

#[tokio::test]
async fn cron_in_a_daylight_saving_zone_fires_at_valid_local_times_once() {
    let hub = hub("true\n", None, Settings::default()).await;
    // 02:30 in Berlin does not exist on 29 March 2026 and happens twice on 25 October.
    set_schedule(&hub, "cron", "30 2 * * *", "Europe/Berlin", Some(at(2026, 3, 28, 1, 30))).await;
    hub.engine.fire_due(at(2026, 3, 28, 1, 30)).await.expect("tick");
    // The skipped local time fires at the next valid instant, 03:00 CEST.
    assert_eq!(next_fire(&hub).await, Some(at(2026, 3, 29, 1, 0)));
    hub.engine.fire_due(at(2026, 3, 29, 1, 0)).await.expect("tick");
    assert_eq!(next_fire(&hub).await, Some(at(2026, 3, 30, 0, 30)));

    set_schedule(&hub, "cron", "30 2 * * *", "Europe/Berlin", Some(at(2026, 10, 25, 0, 30))).await;
    hub.engine.fire_due(at(2026, 10, 25, 0, 30)).await.expect("tick");
    // The repeated hour fires once: the next slot is the next day, 02:30 CET.
    assert_eq!(next_fire(&hub).await, Some(at(2026, 10, 26, 1, 30)));
}

#[tokio::test]
async fn concurrent_dispatchers_never_make_two_runs_of_one_trigger() {
    let hub = hub("true\n", None, Settings::default()).await;
    hub.ask(hub.tenant, TriggerKind::Manual, Mode::Normal, Utc::now()).await;
    let (a, b) = tokio::join!(hub.engine.dispatch(Utc::now()), hub.engine.dispatch(Utc::now()));
    let tasks: Vec<_> = a.expect("a").into_iter().chain(b.expect("b")).collect();
    assert_eq!(tasks.len(), 1);
    for t in tasks {
        t.await.expect("run");
    }
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM runs").fetch_one(hub.db.pool()).await.expect("count");
    assert_eq!(total, 1);
}

// --- Leases: runs whose hub stopped or hung ---------------------------------------

/// A run of the hub's tenant, made and marked running (leased from `now`) as the
/// executor does just before it starts the program, with `process` as its program.
async fn leased_run(hub: &Hub, now: DateTime<Utc>, process: Option<&Identity>) -> i64 {
    let id = hub.queued_run(Some(hub.release().await), now).await;
    let lease = chrono::Duration::from_std(LEASE).expect("lease");
    assert!(run_leases::start(hub.db.pool(), id, "[]", "test", now, now + lease).await.expect("start"));
    if let Some(p) = process {
        run_leases::set_process(hub.db.pool(), id, Some(p.pid()), Some(&p.to_text())).await.expect("process");
    }
    id
}

/// A program in a process group of its own, as a run's would be.
fn program() -> (std::process::Child, Identity) {
    let mut cmd = Command::new("sh");
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd.args(["-c", "sleep 60"]).spawn().expect("spawn");
    let identity = Identity::of(i32::try_from(child.id()).expect("pid")).expect("identity");
    (child, identity)
}

/// Whether process group `pgid` has no live member within a few seconds (a killed
/// process dies when the kernel next runs it; a zombie is dead).
async fn group_ends(pgid: i32) -> bool {
    let live = || {
        std::fs::read_dir("/proc").into_iter().flatten().flatten().any(|e| {
            let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, r)| r).split_whitespace().collect();
            fields.get(2).and_then(|g| g.parse::<i32>().ok()) == Some(pgid) && fields.first() != Some(&"Z")
        })
    };
    for _ in 0..100 {
        if !live() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn run_count(hub: &Hub) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM runs").fetch_one(hub.db.pool()).await.expect("count")
}

#[tokio::test]
async fn a_run_whose_lease_lapses_is_failed_and_its_program_killed_without_a_restart() {
    let hub = hub("true\n", None, Settings::default()).await;
    let now = Utc::now();
    let (mut child, identity) = program();
    let id = leased_run(&hub, now, Some(&identity)).await;
    let lease = chrono::Duration::from_std(LEASE).expect("lease");

    // While the lease holds, nothing happens to the run or its program.
    worker::run_until_idle(&hub.engine, now + lease - chrono::Duration::seconds(1)).await.expect("step");
    assert_eq!(runs::get(hub.db.pool(), id).await.expect("get").expect("run").phase, Phase::Running);
    assert!(identity.is_alive());
    // Once it lapses, the engine's next step fails the run and kills the program.
    worker::run_until_idle(&hub.engine, now + lease + chrono::Duration::seconds(1)).await.expect("step");
    let run = runs::get(hub.db.pool(), id).await.expect("get").expect("run");
    assert_eq!(run.phase, Phase::FailedPlatform);
    assert!(run.error.as_deref().is_some_and(|e| e.contains("lease")), "{:?}", run.error);
    assert!(!child.wait().expect("wait").success(), "the program was killed");
    // A platform failure is tried again as a new run of the same triggers, after a
    // wait (30 s for the first retry): not before.
    let lapsed = now + lease + chrono::Duration::seconds(1);
    worker::run_until_idle(&hub.engine, lapsed + chrono::Duration::seconds(29)).await.expect("step");
    let retry = hub.last_run().await;
    assert_eq!((retry.phase, retry.attempt, retry.first_run), (Phase::Queued, 2, Some(id)));
    worker::run_until_idle(&hub.engine, lapsed + chrono::Duration::seconds(31)).await.expect("step");
    let retry = runs::get(hub.db.pool(), retry.id).await.expect("get").expect("run");
    assert_eq!(retry.phase, Phase::Succeeded, "{:?}", retry.error);
    // It ran the first try's trigger, and the trigger reports the retry's outcome.
    let detail =
        service::runs::detail(&hub.db, service::Scope::All, retry.id, service::runs::LogAt::End).await.expect("detail");
    assert_eq!(detail.triggers.iter().map(|t| t.kind).collect::<Vec<_>>(), [TriggerKind::Manual]);
    let trigger: i64 = sqlx::query_scalar("SELECT id FROM run_triggers WHERE run_id = ?")
        .bind(id)
        .fetch_one(hub.db.pool())
        .await
        .expect("trigger");
    let status = service::runs::trigger_status(&hub.db, trigger).await.expect("status");
    assert_eq!((status.run_id, status.phase), (Some(retry.id), Some(Phase::Succeeded)));
    assert_eq!(run_count(&hub).await, 2);
}

#[tokio::test]
async fn a_run_whose_program_had_exited_when_its_hub_stopped_is_recorded_and_not_run_again() {
    let hub = hub("true\n", None, Settings::default()).await;
    let now = Utc::now();
    let lease = chrono::Duration::from_std(LEASE).expect("lease");
    // Runs left running by a hub that stopped: one whose program had exited 0, one
    // whose program had exited 4, and one whose program was killed as the hub stopped
    // (137, a shell's code for SIGKILL). Each left its code in the run's exit mark.
    let mut ended = Vec::new();
    for code in ["0", "4", "137"] {
        let id = leased_run(&hub, now, None).await;
        let dir = hub.data.path().join("runs").join(id.to_string());
        std::fs::create_dir_all(&dir).expect("run dir");
        std::fs::write(dir.join("exit"), format!("{code}\n")).expect("mark");
        assert_eq!(hub.engine.sweep(now + lease + chrono::Duration::seconds(1)).await.expect("sweep"), [id]);
        assert!(!dir.exists(), "the run's files are removed");
        ended.push(runs::get(hub.db.pool(), id).await.expect("get").expect("run"));
    }
    assert_eq!((ended[0].phase, ended[0].exit_code), (Phase::Succeeded, Some(0)));
    assert_eq!((ended[1].phase, ended[1].exit_code), (Phase::FailedIntegration, Some(4)));
    assert!(ended[0].error.as_deref().is_some_and(|e| e.contains("not run again")), "{:?}", ended[0].error);
    // The killed one was cut short by the platform: it is tried again.
    assert_eq!((ended[2].phase, ended[2].exit_code), (Phase::FailedPlatform, None));
    worker::run_until_idle(&hub.engine, now + chrono::Duration::hours(2)).await.expect("step");
    let retry = hub.last_run().await;
    assert_eq!((retry.phase, retry.attempt, retry.first_run), (Phase::Succeeded, 2, Some(ended[2].id)));
    // The finished ones are not, however long one waits.
    assert_eq!(run_count(&hub).await, 4);
}

#[tokio::test]
async fn a_retry_due_when_a_hub_starts_is_handed_to_one_executor() {
    let hub = hub("true\n", None, Settings::default()).await;
    let now = Utc::now();
    let lease = chrono::Duration::from_std(LEASE).expect("lease");
    let first = leased_run(&hub, now, None).await;
    let lapsed = now + lease + chrono::Duration::seconds(1);
    assert_eq!(hub.engine.sweep(lapsed).await.expect("sweep"), [first]);
    let retry = hub.last_run().await;
    // A hub that starts once the retry is due leaves it to the dispatcher, which
    // claims it: start does not hand it out as well.
    let later = lapsed + chrono::Duration::seconds(31);
    assert!(runs::queued(hub.db.pool()).await.expect("queued").is_empty());
    assert_eq!(run_retries::due_retries(hub.db.pool(), later, 10).await.expect("due"), [retry.id]);
    worker::Worker::start(&hub.engine, later).await.expect("start");
    worker::run_until_idle(&hub.engine, later).await.expect("ran");
    let retry = runs::get(hub.db.pool(), retry.id).await.expect("get").expect("run");
    assert_eq!((retry.phase, retry.attempt), (Phase::Succeeded, 2), "{:?}", retry.error);
    assert_eq!(run_count(&hub).await, 2);
}

#[tokio::test]
async fn a_program_that_asks_to_be_tried_again_is_retried_with_backoff_a_bounded_number_of_times() {
    let hub = hub("echo 'the API said 503' >&2\nexit 75\n", None, Settings::default()).await;
    let queued = hub.run(Mode::Normal).await;
    assert_eq!((queued.phase, queued.attempt), (Phase::Queued, 2), "the retry waits");
    let first = runs::get(hub.db.pool(), queued.first_run.expect("first")).await.expect("get").expect("run");
    assert_eq!((first.phase, first.exit_code), (Phase::FailedIntegration, Some(75)));
    assert_eq!(first.error.as_deref(), Some("The program asked to be tried again (exit code 75)."));
    let ended = first.finished_at.expect("finished");
    // The first retry waits 30 s, the second 60 s; then no more (2 retries by default).
    worker::run_until_idle(&hub.engine, ended + chrono::Duration::seconds(29)).await.expect("step");
    assert_eq!(hub.last_run().await.id, queued.id);
    worker::run_until_idle(&hub.engine, ended + chrono::Duration::seconds(31)).await.expect("step");
    let second = runs::get(hub.db.pool(), queued.id).await.expect("get").expect("run");
    assert_eq!((second.phase, second.attempt, second.first_run), (Phase::FailedIntegration, 2, Some(first.id)));
    let later = second.finished_at.expect("finished") + chrono::Duration::seconds(61);
    worker::run_until_idle(&hub.engine, later).await.expect("step");
    worker::run_until_idle(&hub.engine, later + chrono::Duration::hours(1)).await.expect("step");
    let third = hub.last_run().await;
    assert_eq!((third.phase, third.attempt), (Phase::FailedIntegration, 3));
    assert_eq!(run_count(&hub).await, 3);
    assert!(hub.log(third.id).await.contains("the API said 503"));
}

#[tokio::test]
async fn a_program_ended_by_a_signal_is_reported_with_the_signal() {
    let hub = hub("echo going >&2\nkill -TERM $$\n", None, Settings::default()).await;
    let run = hub.run(Mode::Normal).await;
    assert_eq!((run.phase, run.exit_code), (Phase::FailedIntegration, Some(143)));
    assert_eq!(run.error.as_deref(), Some("The program exited with code 143 (a shell's code for signal 15)."));
    assert!(hub.log(run.id).await.contains("going"));
}

#[tokio::test]
async fn platform_failures_are_retried_a_bounded_number_of_times_and_integration_failures_never() {
    let settings = Settings { retries: 1, ..Settings::default() };
    let hub = hub("exit 3\n", None, settings).await;
    // The integration's own failure: no retry.
    assert_eq!(hub.run(Mode::Normal).await.phase, Phase::FailedIntegration);
    assert_eq!(run_count(&hub).await, 1);
    // A platform failure (a lapsed lease) is retried once; the retry's lease lapses too.
    let now = Utc::now();
    let lease = chrono::Duration::from_std(LEASE).expect("lease");
    let first = leased_run(&hub, now, None).await;
    let at = now + lease + chrono::Duration::seconds(1);
    hub.engine.sweep(at).await.expect("sweep");
    let retry = hub.last_run().await;
    assert_eq!((retry.phase, retry.attempt, retry.first_run), (Phase::Queued, 2, Some(first)));
    // The retry starts (as a dispatcher claims it), and its hub stops too.
    assert!(run_retries::claim_retry(hub.db.pool(), retry.id).await.expect("claim"));
    assert!(run_leases::start(hub.db.pool(), retry.id, "[]", "test", at, at + lease).await.expect("start"));
    hub.engine.sweep(at + lease + lease).await.expect("sweep");
    let retry = runs::get(hub.db.pool(), retry.id).await.expect("get").expect("run");
    assert_eq!(retry.phase, Phase::FailedPlatform);
    // No third try: the one retry allowed was made.
    assert_eq!(run_count(&hub).await, 3);
    worker::run_until_idle(&hub.engine, at + chrono::Duration::hours(2)).await.expect("step");
    assert_eq!(run_count(&hub).await, 3);
}

#[tokio::test]
async fn a_pid_given_to_another_process_is_never_killed() {
    let hub = hub("true\n", None, Settings::default()).await;
    let now = Utc::now();
    let (mut child, identity) = program();
    // The run's program had this pid, but started at another time: the live process
    // with the pid now is not the run's.
    let text = identity.to_text();
    let (rest, start) = text.rsplit_once(' ').expect("start");
    let other = Identity::parse(&format!("{rest} {}", start.parse::<u64>().expect("ticks") + 1)).expect("identity");
    let id = leased_run(&hub, now, Some(&other)).await;
    let lapsed = now + chrono::Duration::from_std(LEASE).expect("lease") + chrono::Duration::seconds(1);
    assert_eq!(hub.engine.recover(lapsed).await.expect("recover"), Vec::<i64>::new());
    assert_eq!(runs::get(hub.db.pool(), id).await.expect("get").expect("run").phase, Phase::FailedPlatform);
    assert!(identity.is_alive(), "the unrelated process was left alone");
    child.kill().expect("kill");
    child.wait().expect("wait");
}

#[tokio::test]
async fn a_stop_between_the_running_mark_and_the_spawn_never_runs_the_program_twice() {
    let hub = hub("true\n", None, Settings::default()).await;
    let now = Utc::now();
    // The hub stopped right after marking the run running, before its program started.
    let id = leased_run(&hub, now, None).await;
    // On the next start the run is not queued again (a second copy could start).
    assert_eq!(hub.engine.recover(now).await.expect("recover"), Vec::<i64>::new());
    worker::run_until_idle(&hub.engine, now).await.expect("step");
    assert_eq!(run_count(&hub).await, 1);
    // Its lease lapses, and the run is failed; its triggers get one new try, later.
    let lapsed = now + chrono::Duration::from_std(LEASE).expect("lease") + chrono::Duration::seconds(1);
    worker::run_until_idle(&hub.engine, lapsed).await.expect("step");
    assert_eq!(runs::get(hub.db.pool(), id).await.expect("get").expect("run").phase, Phase::FailedPlatform);
    let retry = hub.last_run().await;
    assert_eq!((retry.phase, retry.attempt, run_count(&hub).await), (Phase::Queued, 2, 2));
}

#[tokio::test]
async fn a_log_write_that_fails_mid_run_stops_the_program_and_frees_the_tenant() {
    // Writes to its log, leaves a child in the background, then waits for `go-acme`
    // (never written in the first run). Outside the sandbox, whose namespace would end
    // the child with the program: here only a kill of the whole group does.
    let script = format!("echo working >&2\nsleep 600 &\n{WAIT_FOR_GO}");
    // Without the sandbox the uid does not matter, and the second pass of these tests
    // (as nobody, with a HOME it may not write) cannot clone outside the sandbox.
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    let hub = hub_in(&script, None, Settings::default(), Arc::new(Sandbox::off())).await;
    // The log's table is away while the run goes: its first log write fails.
    sqlx::query("ALTER TABLE run_log_chunks RENAME TO run_log_chunks_away")
        .execute(hub.db.pool())
        .await
        .expect("rename");
    let retry = tokio::time::timeout(PATIENCE, hub.run(Mode::Normal)).await.expect("the run ended");
    assert_eq!((retry.phase, retry.attempt), (Phase::Queued, 2), "a retry waits: {:?}", retry.error);
    let run = runs::get(hub.db.pool(), retry.first_run.expect("first")).await.expect("get").expect("run");
    assert_eq!(run.phase, Phase::FailedPlatform);
    let process: Option<String> = sqlx::query_scalar("SELECT process FROM runs WHERE id = ?")
        .bind(run.id)
        .fetch_one(hub.db.pool())
        .await
        .expect("process");
    let process = Identity::parse(&process.expect("recorded")).expect("identity");
    assert!(!process.is_alive(), "the program was stopped");
    assert!(group_ends(process.pid()).await, "and everything it started");
    // A failure of the hub is tried again: with the log back, the retry goes to the end.
    sqlx::query("ALTER TABLE run_log_chunks_away RENAME TO run_log_chunks")
        .execute(hub.db.pool())
        .await
        .expect("rename");
    let release = hub.release().await;
    std::fs::write(hub.data.path().join("releases").join(release.to_string()).join("go-acme"), "").expect("go");
    let later = Utc::now() + chrono::Duration::seconds(31);
    tokio::time::timeout(PATIENCE, worker::run_until_idle(&hub.engine, later)).await.expect("in time").expect("ran");
    let again = hub.last_run().await;
    assert_eq!((again.phase, again.attempt), (Phase::Succeeded, 2), "{:?}", again.error);
}

// --- The cap on runs at the same time (`HUB_MAX_RUNS`) ----------------------------

/// A run that waits until the test puts `go-<tenant name>` into the release's
/// checkout (its working directory), then succeeds.
const WAIT_FOR_GO: &str = r#"while [ ! -e "go-$PAN_CTX_TENANT_NAME" ]; do sleep 0.05; done
echo '{"done": true}'
"#;

/// How long the test waits for a run it let go to end: a guard against a hang, never
/// a pause.
const PATIENCE: Duration = Duration::from_secs(60);

/// The tenants with a run not yet ended (queued or running), in the runs' order.
async fn active_tenants(hub: &Hub) -> Vec<i64> {
    sqlx::query_scalar("SELECT tenant_id FROM runs WHERE phase IN ('queued', 'running') ORDER BY id")
        .fetch_all(hub.db.pool())
        .await
        .expect("active")
}

/// The tenants whose triggers wait with no run made for them yet.
async fn waiting_tenants(hub: &Hub) -> Vec<i64> {
    sqlx::query_scalar("SELECT DISTINCT tenant_id FROM run_triggers WHERE run_id IS NULL ORDER BY tenant_id")
        .fetch_all(hub.db.pool())
        .await
        .expect("waiting")
}

/// Sends on `ended` when each of the started runs has ended (a run's task returns
/// after its slot is free again).
fn watch(started: Vec<tokio::task::JoinHandle<()>>, ended: &tokio::sync::mpsc::UnboundedSender<()>) {
    for task in started {
        let ended = ended.clone();
        tokio::spawn(async move {
            task.await.expect("run task");
            let _ = ended.send(());
        });
    }
}

async fn next_end(ended: &mut tokio::sync::mpsc::UnboundedReceiver<()>) {
    tokio::time::timeout(PATIENCE, ended.recv()).await.expect("a run let go ends").expect("watching");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_runs_go_at_once_than_the_cap_and_the_others_wait_for_a_free_slot() {
    // `HUB_MAX_RUNS` is the engine's `max_concurrent`.
    const MAX: usize = 2;
    let hub = hub(WAIT_FOR_GO, None, Settings { max_concurrent: MAX, ..Settings::default() }).await;
    // Should the test go wrong, a run ends at its time limit rather than never.
    sqlx::query("UPDATE integrations SET run_timeout_secs = 120 WHERE id = ?")
        .bind(hub.integration)
        .execute(hub.db.pool())
        .await
        .expect("limit");
    let release: i64 = sqlx::query_scalar("SELECT id FROM releases WHERE integration_id = ? AND status = 'succeeded'")
        .bind(hub.integration)
        .fetch_one(hub.db.pool())
        .await
        .expect("release");
    let checkout = hub.data.path().join("releases").join(release.to_string());
    assert!(checkout.join("run.sh").is_file(), "the checkout is at {}", checkout.display());
    let go = |name: &str| std::fs::write(checkout.join(format!("go-{name}")), "").expect("go");

    // Four tenants, each with a trigger waiting.
    let mut ours = vec![(hub.tenant, "acme".to_owned())];
    for name in ["beta", "gamma", "delta"] {
        let new = tenants::NewTenant {
            integration_id: hub.integration,
            name,
            choice: ReleaseChoice::Latest,
            configs: "{}",
            source: tenant::Source::Hub,
            setup_step: SetupStep::Done,
            created_by: None,
        };
        let id = tenants::insert(hub.db.pool(), &new, Utc::now()).await.expect("tenant");
        ours.push((id, name.to_owned()));
    }
    let name_of = |id: i64| ours.iter().find(|t| t.0 == id).map(|t| t.1.clone()).expect("a tenant of the test");
    for (id, _) in &ours {
        hub.ask(*id, TriggerKind::Manual, Mode::Normal, Utc::now()).await;
    }

    // Only MAX runs are made and started; the other tenants' triggers wait.
    let (ended_tx, mut ended) = tokio::sync::mpsc::unbounded_channel();
    let started = hub.engine.dispatch(Utc::now()).await.expect("dispatch");
    assert_eq!(started.len(), MAX);
    watch(started, &ended_tx);
    let active = active_tenants(&hub).await;
    assert_eq!(active.len(), MAX, "{active:?}");
    assert_eq!(waiting_tenants(&hub).await.len(), ours.len() - MAX);
    // While every slot is taken, dispatching again starts nothing.
    assert!(hub.engine.dispatch(Utc::now()).await.expect("dispatch").is_empty());
    assert_eq!(active_tenants(&hub).await, active);
    assert_eq!(waiting_tenants(&hub).await.len(), ours.len() - MAX);

    // One run ends: its slot goes to one waiting tenant, and only one.
    let first = active[0];
    go(&name_of(first));
    next_end(&mut ended).await;
    let phase_of_first: String = sqlx::query_scalar("SELECT phase FROM runs WHERE tenant_id = ?")
        .bind(first)
        .fetch_one(hub.db.pool())
        .await
        .expect("run");
    assert_eq!(phase_of_first, "succeeded");
    assert_eq!(active_tenants(&hub).await, active[1..].to_vec());
    let started = hub.engine.dispatch(Utc::now()).await.expect("dispatch");
    assert_eq!(started.len(), 1);
    watch(started, &ended_tx);
    let now_active = active_tenants(&hub).await;
    assert_eq!(now_active.len(), MAX, "{now_active:?}");
    assert!(!now_active.contains(&first));
    assert_eq!(waiting_tenants(&hub).await.len(), ours.len() - MAX - 1);
    assert!(hub.engine.dispatch(Utc::now()).await.expect("dispatch").is_empty());

    // Every run may end now: the last waiting tenant gets a slot as one frees.
    for (_, name) in &ours {
        go(name);
    }
    for _ in 0..MAX {
        next_end(&mut ended).await;
    }
    tokio::time::timeout(PATIENCE, worker::run_until_idle(&hub.engine, Utc::now()))
        .await
        .expect("in time")
        .expect("ran");

    // One run for each tenant, each succeeded, and never more than MAX at once.
    type Span = (i64, String, Option<DateTime<Utc>>, Option<DateTime<Utc>>);
    let runs: Vec<Span> = sqlx::query_as("SELECT tenant_id, phase, started_at, finished_at FROM runs ORDER BY id")
        .fetch_all(hub.db.pool())
        .await
        .expect("runs");
    let mut ran: Vec<i64> = runs.iter().map(|r| r.0).collect();
    ran.sort_unstable();
    let mut all: Vec<i64> = ours.iter().map(|t| t.0).collect();
    all.sort_unstable();
    assert_eq!(ran, all);
    assert!(runs.iter().all(|r| r.1 == "succeeded"), "{runs:?}");
    assert!(waiting_tenants(&hub).await.is_empty());
    let spans: Vec<(DateTime<Utc>, DateTime<Utc>)> =
        runs.iter().map(|r| (r.2.expect("started"), r.3.expect("finished"))).collect();
    for (start, _) in &spans {
        let at_once = spans.iter().filter(|(s, f)| s <= start && start < f).count();
        assert!(at_once <= MAX, "{at_once} runs went at once: {spans:?}");
    }
}

// --- Reads of large logs -------------------------------------------------------------

#[tokio::test]
async fn the_end_of_a_long_log_is_read_without_reading_the_rest() {
    let hub = hub("echo start >&2\n", None, Settings::default()).await;
    let run = hub.run(Mode::Normal).await;
    // 10 MB more, in 40 pieces of 256 KB, each piece's lines naming it.
    let mut whole = hub.log(run.id).await;
    for n in 0..40 {
        let line = format!("piece {n:02} é\n");
        let piece = line.repeat(256 * 1024 / line.len());
        run_logs::append_log(
            &mut hub.db.pool().acquire().await.expect("connection"),
            run.id,
            1 + n,
            &piece,
            Utc::now(),
        )
        .await
        .expect("append");
        whole.push_str(&piece);
    }
    let tail = run_logs::tail(hub.db.pool(), run.id, 4096).await.expect("tail");
    assert!(tail.len() <= 4096 && tail.len() > 4090, "{}", tail.len());
    assert!(whole.ends_with(&tail));
    // The run page's end of the log: whole pieces, 1 MB and at most a piece more (the
    // pieces are a little under 256 KB: five of them).
    let (db, id) = (&hub.db, run.id);
    let window = |at| async move { service::runs::detail(db, service::Scope::All, id, at).await.expect("detail").log };
    let shown = service::runs::LOG_SHOWN;
    let end = window(LogAt::End).await;
    assert!(end.text.len() >= shown && end.text.len() < shown + 256 * 1024, "{}", end.text.len());
    assert!(whole.ends_with(&end.text) && end.text.starts_with("piece"));
    assert_eq!((end.pieces, end.earlier, end.later), (Some((36, 40)), true, false));
    // Earlier: the window just before, which joins it.
    let before = window(LogAt::Before(36)).await;
    assert_eq!((before.pieces, before.earlier, before.later), (Some((31, 35)), true, true));
    assert!(whole.contains(&format!("{}{}", before.text, end.text)));
    // Later from there: the same window as the end. From the start: the first line on.
    assert_eq!(window(LogAt::From(36)).await, end);
    let start = window(LogAt::From(0)).await;
    assert!(start.text.starts_with("start\npiece 00") && !start.earlier && start.later);
    // Past either end: nothing, with the way back.
    let past = window(LogAt::From(99)).await;
    assert_eq!((past.text.as_str(), past.earlier, past.later), ("", true, false));
    // A short log is read whole.
    let short = hub.run(Mode::Normal).await;
    assert_eq!(run_logs::tail(hub.db.pool(), short.id, 4096).await.expect("tail"), hub.log(short.id).await);
}

#[tokio::test]
async fn an_inbound_webhook_body_is_deleted_once_its_run_has_finished() {
    let hub = hub("test -s \"$(printf '%s' \"$PAN_CTX_RUN_TRIGGERS\" | sed -n 's/.*\"payload_file\": *\"\\([^\"]*\\)\".*/\\1/p')\"\n", None, Settings::default()).await;
    let row = tenants::get(hub.db.pool(), hub.tenant).await.expect("read").expect("tenant");
    let url = service::tenants::rotate_webhook(&hub.db, &hub.key, "http://hub", &Actor::System, &row, Utc::now())
        .await
        .expect("webhook url");
    let token = url.rsplit('/').next().expect("token");
    service::runs::webhook(&hub.db, &hub.engine, token, b"{\"order\": 1}", Some("application/json"), Utc::now())
        .await
        .expect("webhook");
    let bodies = || std::fs::read_dir(hub.data.path().join("webhooks")).map_or(0, |d| d.count());
    assert_eq!(bodies(), 1, "kept until its run");
    worker::run_until_idle(&hub.engine, Utc::now()).await.expect("ran");
    // The run saw the body (its program checks the file is there and not empty).
    let run = hub.last_run().await;
    assert_eq!(run.phase, Phase::Succeeded, "{:?}\n{}", run.error, hub.log(run.id).await);
    assert_eq!(bodies(), 0, "deleted once the run finished");
}

#[tokio::test]
async fn a_run_is_stamped_with_the_engine_clock() {
    let hub = hub("echo '{\"ok\": true}'\n", None, Settings::default()).await;
    let t = at(2030, 1, 2, 3, 4);
    let engine = hub.engine.clone().with_clock(Clock::from_fn(move || t));
    hub.ask(hub.tenant, TriggerKind::Manual, Mode::Normal, t).await;
    worker::run_until_idle(&engine, t).await.expect("ran");
    let run = hub.last_run().await;
    assert_eq!(run.phase, Phase::Succeeded, "{:?}", run.error);
    assert_eq!((run.queued_at, run.started_at, run.finished_at), (t, Some(t), Some(t)));
}

#[tokio::test]
async fn a_run_that_loses_its_race_is_never_made_and_leaves_its_triggers_waiting() {
    let hub = hub("exit 0\n", None, Settings::default()).await;
    let now = Utc::now();
    let active = hub.queued_run(None, now).await;
    let runs_of = |tenant: i64| {
        let db = hub.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM runs WHERE tenant_id = ?")
                .bind(tenant)
                .fetch_one(db.pool())
                .await
                .expect("count")
        }
    };
    let run_of = |trigger: i64| {
        let db = hub.db.clone();
        async move {
            sqlx::query_scalar::<_, Option<i64>>("SELECT run_id FROM run_triggers WHERE id = ?")
                .bind(trigger)
                .fetch_one(db.pool())
                .await
                .expect("trigger")
        }
    };
    let make = |tenant: i64, triggers: Vec<i64>| {
        let db = hub.db.clone();
        let integration = hub.integration;
        async move {
            let mut tx = db.pool().begin().await.expect("tx");
            let new = runs::NewRun {
                tenant_id: tenant,
                integration_id: integration,
                release_id: None,
                mode: Mode::Normal,
                scheduled: false,
                triggers: &triggers,
            };
            let made = runs::create(&mut tx, &new, now).await.expect("create");
            tx.commit().await.expect("commit");
            made
        }
    };

    // The tenant has a run already: no second one, and the new trigger still waits.
    let waiting = hub.ask(hub.tenant, TriggerKind::Manual, Mode::Normal, now).await;
    assert_eq!(make(hub.tenant, vec![waiting]).await, None);
    assert_eq!(runs_of(hub.tenant).await, 1);
    assert_eq!(run_of(waiting).await, None);

    // One of the triggers was taken meanwhile: the run is undone with what it took.
    let other = tenants::insert(
        hub.db.pool(),
        &tenants::NewTenant {
            integration_id: hub.integration,
            name: "beta",
            choice: ReleaseChoice::Latest,
            configs: "{}",
            source: tenant::Source::Hub,
            setup_step: SetupStep::Done,
            created_by: None,
        },
        now,
    )
    .await
    .expect("tenant");
    let first = hub.ask(other, TriggerKind::Manual, Mode::Normal, now).await;
    let second = hub.ask(other, TriggerKind::Manual, Mode::Normal, now).await;
    sqlx::query("UPDATE run_triggers SET run_id = ? WHERE id = ?")
        .bind(active)
        .bind(second)
        .execute(hub.db.pool())
        .await
        .expect("taken");
    assert_eq!(make(other, vec![first, second]).await, None);
    assert_eq!(runs_of(other).await, 0);
    assert_eq!(run_of(first).await, None);
    assert_eq!(run_of(second).await, Some(active));

    // Untaken, it is made.
    assert!(make(other, vec![first]).await.is_some());
    assert_eq!(runs_of(other).await, 1);
}

#[tokio::test]
async fn the_slots_go_round_the_owners_so_one_with_many_waiting_tenants_starves_nobody() {
    let hub = hub("exit 0\n", None, Settings::default()).await;
    // Ann (a marketplace user) has five tenants waiting, asked for first; Bob has one;
    // the organization's own tenant (acme, the hub's) has one, asked for last.
    let mut owned = Vec::new();
    for (name, owner) in
        [("ann-1", "ann"), ("ann-2", "ann"), ("ann-3", "ann"), ("ann-4", "ann"), ("ann-5", "ann"), ("bob-1", "bob")]
    {
        let new = tenants::NewTenant {
            integration_id: hub.integration,
            name,
            choice: ReleaseChoice::Latest,
            configs: "{}",
            source: tenant::Source::Marketplace,
            setup_step: SetupStep::Done,
            created_by: None,
        };
        let id = tenants::insert(hub.db.pool(), &new, Utc::now()).await.expect("tenant");
        tenants::set_external(hub.db.pool(), id, Some((owner, None, None)), Utc::now()).await.expect("owned");
        owned.push((id, name));
    }
    owned.push((hub.tenant, "acme"));
    let mut triggers = Vec::new();
    for (id, _) in &owned {
        triggers.push(hub.ask(*id, TriggerKind::Manual, Mode::Normal, Utc::now()).await);
    }
    let name = |id: i64| owned.iter().find(|t| t.0 == id).map(|t| t.1).expect("ours");
    let next = |n: i64| {
        let db = hub.db.clone();
        async move {
            let ids = run_triggers::ready_tenants(db.pool(), n).await.expect("ready");
            ids.into_iter().map(name).collect::<Vec<_>>()
        }
    };
    // Three slots: one for each owner, though Ann's five were asked for first.
    assert_eq!(next(3).await, ["ann-1", "bob-1", "acme"]);
    assert_eq!(next(7).await, ["ann-1", "bob-1", "acme", "ann-2", "ann-3", "ann-4", "ann-5"]);

    // With a run of Ann's in flight, her next tenant waits behind the others.
    let mut tx = hub.db.pool().begin().await.expect("tx");
    let new = runs::NewRun {
        tenant_id: owned[0].0,
        integration_id: hub.integration,
        release_id: None,
        mode: Mode::Normal,
        scheduled: false,
        triggers: &triggers[..1],
    };
    runs::create(&mut tx, &new, Utc::now()).await.expect("create").expect("run");
    tx.commit().await.expect("commit");
    assert_eq!(next(3).await, ["bob-1", "acme", "ann-2"]);
}
