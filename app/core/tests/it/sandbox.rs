//! A hostile integration, built and run by the real builder and engine in the real
//! sandbox: every way out it tries is asserted closed, one by one, and the hub stays
//! healthy. Also: large context and webhook bundles, and PANDIUM.yaml links.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use hub_core::connectors::{Connectors, Registry};
use hub_core::db::audit::Actor;
use hub_core::db::{releases, run_logs, runs, tenants, Db, DB_FILE};
use hub_core::domain::fair_use::{FairUse, Limit};
use hub_core::domain::integration::IntegrationInput;
use hub_core::domain::release::{ReleaseChoice, ReleaseStatus};
use hub_core::domain::run::{Mode, Phase, TriggerKind};
use hub_core::domain::tenant::{SetupStep, Source};
use hub_core::engine::builder::Builder;
use hub_core::engine::runs::{Engine, Settings};
use hub_core::engine::sandbox::{Limits, Policy, Sandbox};
use hub_core::secrets::SecretKey;
use hub_core::service;
use hub_core::worker;
use serde_json::json;

use crate::git;

const MARKER: &str = "hub-secret-marker-7f3a";

/// The sandbox with small limits, so each limit is reached quickly, and its copy of
/// `/etc` (as the hub makes it) in `etc`.
fn strict(etc: &Path) -> Arc<Sandbox> {
    let mut policy = Policy::new(crate::helper());
    policy.etc_copy = Some(etc.to_path_buf());
    policy.limits = Limits {
        open_files: 256,
        processes: 64,
        file_size_mb: 8,
        cpu_secs: 120,
        memory_mb: 512,
        scratch_mb: 16,
        build_mb: 32,
    };
    let s = Sandbox::probe(policy);
    assert!(s.unavailable().is_none(), "{}", s.summary());
    Arc::new(s)
}

/// A temporary directory only its owner may enter (as `mktemp -d` makes them), so
/// the sandbox must reach the hub's files without walking their paths.
fn private_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).expect("chmod");
    dir
}

/// A repository with `files`, committed on `main`, readable by others (as a git
/// server would serve it: the sandbox clones it with its own uid).
fn repository(files: &[(&str, &str)]) -> tempfile::TempDir {
    let repo = crate::public_dir();
    git(repo.path(), &["init", "--quiet", "--initial-branch=main"]);
    for (name, text) in files {
        std::fs::write(repo.path().join(name), text).expect("write");
    }
    git(repo.path(), &["add", "--all"]);
    git(repo.path(), &["commit", "--quiet", "-m", "first"]);
    repo
}

struct Hub {
    db: Db,
    builder: Builder,
    engine: Engine,
    key: Arc<SecretKey>,
    data: tempfile::TempDir,
}

/// A hub on a real database file beside a real key file, as in production.
async fn hub(sandbox: Arc<Sandbox>) -> Hub {
    let data = private_dir();
    let db = Db::open(&data.path().join(DB_FILE)).await.expect("db");
    sqlx::query("INSERT INTO organizations (name, kind, created_at) VALUES ('Acme', 'company', '2026-01-01')")
        .execute(db.pool())
        .await
        .expect("org");
    std::fs::write(data.path().join("secret.key"), MARKER).expect("key");
    std::fs::write(data.path().join(".env"), format!("HUB_SECRET_KEY={MARKER}")).expect("env");
    let builder = Builder::new(db.clone(), data.path(), Duration::from_secs(120), sandbox.clone());
    let key = Arc::new(SecretKey::generate());
    let engine = Engine::new(
        db.clone(),
        key.clone(),
        Connectors::from(Registry { connectors: BTreeMap::new() }),
        "http://127.0.0.1:1",
        data.path(),
        &builder,
        Settings {
            default_timeout: Duration::from_secs(120),
            // A test sends a thousand webhook calls at once.
            fair_use: FairUse { webhooks_per_tenant: Limit::per_minute(10_000), ..FairUse::default() },
            ..Settings::default()
        },
    );
    Hub { db, builder, engine, key, data }
}

impl Hub {
    async fn release(&self, name: &str, repo: &Path) -> (i64, releases::ReleaseRow) {
        let input = IntegrationInput {
            name: name.into(),
            repository: repo.to_string_lossy().into_owned(),
            ..Default::default()
        };
        let integration = service::integrations::create(
            &self.db,
            &hub_core::egress::Egress::strict(),
            &Actor::System,
            1,
            input,
            Utc::now(),
        )
        .await
        .expect("created");
        (integration, crate::build(&self.db, &self.builder, integration, None).await)
    }

    async fn tenant(&self, integration: i64, name: &str) -> i64 {
        tenants::insert(
            self.db.pool(),
            &tenants::NewTenant {
                integration_id: integration,
                name,
                choice: ReleaseChoice::Latest,
                configs: "{}",
                source: Source::Hub,
                setup_step: SetupStep::Done,
                created_by: None,
            },
            Utc::now(),
        )
        .await
        .expect("tenant")
    }

    async fn run(&self, tenant: i64) -> runs::RunRow {
        service::runs::request(
            &self.db,
            &self.engine,
            &Actor::System,
            tenant,
            TriggerKind::Manual,
            Mode::Normal,
            None,
            Utc::now(),
        )
        .await
        .expect("trigger");
        worker::run_until_idle(&self.engine, Utc::now()).await.expect("ran");
        let filter = runs::RunFilter { tenant_id: Some(tenant), ..Default::default() };
        let id = runs::list(self.db.pool(), &filter, 1).await.expect("list")[0].id;
        runs::get(self.db.pool(), id).await.expect("get").expect("run")
    }

    async fn log(&self, run: i64) -> String {
        run_logs::log(self.db.pool(), run, 0).await.expect("log").0
    }

    /// The hub still answers: its database reads and writes.
    async fn healthy(&self) {
        sqlx::query("CREATE TABLE IF NOT EXISTS health (n)").execute(self.db.pool()).await.expect("the hub writes");
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM runs").fetch_one(self.db.pool()).await.expect("reads");
        assert!(n >= 0);
    }
}

/// Every attack the script reports, with its verdict; the script must have finished.
fn verdicts(log: &str) -> BTreeMap<String, String> {
    assert!(log.contains("ATTACK done"), "the hostile script did not finish:\n{log}");
    log.lines()
        .filter_map(|l| l.strip_prefix("ATTACK "))
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

const EXPECTED: &[&str] = &[
    "read_secret_key",
    "read_database",
    "read_dotenv",
    "read_other_release",
    "read_other_metadata",
    "read_dotenv_via_proc",
    "read_etc_beyond_its_list",
    "hub_environ",
    "hub_in_proc",
    "own_environment",
    "inherited_fds",
    "signal_hub",
    "ptrace_hub",
    "ptrace_seccomp",
    "new_user_namespace",
    "tiocsti",
    "fill_disk",
    "fill_shared_memory",
    "open_100k_files",
    "allocate_8gb",
    "setuid",
];

fn assert_all_blocked(verdicts: &BTreeMap<String, String>, phase: &str, as_root: bool) {
    let mut expected: Vec<String> = EXPECTED.iter().map(|e| format!("{phase}.{e}")).collect();
    if phase == "run" {
        expected.push("run.write_checkout".to_owned());
    } else {
        expected.push("build.fill_checkout".to_owned());
        expected.push("build.write_behind_the_copy".to_owned());
    }
    if as_root {
        expected.push(format!("{phase}.fork_bomb"));
        expected.push(format!("{phase}.hub_port"));
    }
    for name in &expected {
        assert_eq!(verdicts.get(name).map(String::as_str), Some("blocked"), "{name}: {verdicts:#?}");
    }
    for (name, verdict) in verdicts {
        assert_eq!(verdict, "blocked", "{name}");
    }
}

#[tokio::test]
async fn a_hostile_integration_reaches_nothing_in_its_build_or_its_runs() {
    let etc = tempfile::tempdir().expect("tempdir");
    let sandbox = strict(&etc.path().join("etc"));
    let hub = hub(sandbox.clone()).await;
    let as_root = nix::unistd::geteuid().is_root();
    // The hub's port, as a real listener on loopback.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("listen");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move { while listener.accept().await.is_ok() {} });

    // Another integration's release, and another tenant's metadata file.
    let other = repository(&[("PANDIUM.yaml", "version: 1\nrun: echo other\n"), ("secret.txt", MARKER)]);
    let (_, other_release) = hub.release("Other", other.path()).await;
    assert_eq!(other_release.status, ReleaseStatus::Succeeded, "{:?}", other_release.error);
    let other_metadata = hub.data.path().join("runs/999/metadata.json");
    std::fs::create_dir_all(other_metadata.parent().expect("dir")).expect("dir");
    std::fs::write(&other_metadata, MARKER).expect("metadata");

    let exe = std::env::current_exe().expect("exe");
    let targets = json!({
        "marker": MARKER,
        "secret_key": hub.data.path().join("secret.key"),
        "database": hub.data.path().join(DB_FILE),
        "dotenv": hub.data.path().join(".env"),
        "other_release": hub.builder.release_dir(other_release.id).join("secret.txt"),
        "other_metadata": other_metadata,
        "hub_pid": std::process::id(),
        "hub_exe": exe.file_name().expect("name").to_string_lossy(),
        "hub_port": port,
        "own_uid": as_root,
        "network_fenced": as_root,
    });
    let attack = include_str!("../fixtures/hostile/attack.py");
    let manifest = "version: 1\nbuild: python3 attack.py build\nrun: python3 attack.py run && sh run.sh\n";
    let repo = repository(&[
        ("PANDIUM.yaml", manifest),
        ("attack.py", attack),
        ("targets.json", &targets.to_string()),
        ("run.sh", "echo clean >&2\n"),
    ]);

    let (integration, release) = hub.release("Hostile", repo.path()).await;
    assert_eq!(release.status, ReleaseStatus::Succeeded, "{:?}\n{}", release.error, release.build_log);
    assert_all_blocked(&verdicts(&release.build_log), "build", as_root);
    assert!(release.sandbox.as_deref().is_some_and(|s| s.contains("bubblewrap")), "{:?}", release.sandbox);
    hub.healthy().await;

    let tenant = hub.tenant(integration, "victim").await;
    for attempt in 0..2 {
        let run = hub.run(tenant).await;
        let log = hub.log(run.id).await;
        assert_eq!(run.phase, Phase::Succeeded, "{:?}\n{log}", run.error);
        assert_all_blocked(&verdicts(&log), "run", as_root);
        // The checkout is what the release built: a run cannot poison the next one.
        assert!(log.ends_with("clean\n") && !log.contains("poisoned"), "attempt {attempt}: {log}");
        let sandbox = run.sandbox.unwrap_or_default();
        assert!(sandbox.contains("seccomp") && sandbox.contains("Landlock"), "{sandbox}");
        hub.healthy().await;
    }
    assert_eq!(std::fs::read_to_string(hub.data.path().join("secret.key")).expect("key"), MARKER);
}

#[tokio::test]
async fn a_manifest_that_is_a_link_is_refused_without_showing_its_target() {
    let sandbox = crate::sandbox();
    let hub = hub(sandbox).await;
    for target in [hub.data.path().join("secret.key"), "/dev/zero".into()] {
        let repo = repository(&[("run.sh", "true\n")]);
        std::os::unix::fs::symlink(&target, repo.path().join("PANDIUM.yaml")).expect("link");
        git(repo.path(), &["add", "--all"]);
        git(repo.path(), &["commit", "--quiet", "-m", "link"]);
        let (_, release) = hub.release(&format!("Link {}", target.display()), repo.path()).await;
        assert_eq!(release.status, ReleaseStatus::Failed);
        let error = release.error.unwrap_or_default();
        assert!(error.starts_with("PANDIUM.yaml is a symbolic link"), "{error}");
        assert!(!release.build_log.contains(MARKER) && !error.contains(MARKER));
        hub.healthy().await;
    }
    // A manifest that is the key's text itself (a plain scalar) is refused without
    // quoting it.
    let repo = repository(&[("PANDIUM.yaml", MARKER)]);
    let (_, release) = hub.release("Scalar", repo.path()).await;
    assert_eq!(release.status, ReleaseStatus::Failed);
    assert!(!release.error.unwrap_or_default().contains(MARKER) && !release.build_log.contains(MARKER));
    // Alias expansion is bounded: a billion laughs fails fast.
    let mut laughs = String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for (i, c) in ('b'..='j').enumerate() {
        let prev = char::from(b'a' + u8::try_from(i).expect("small"));
        laughs.push_str(&format!(
            "{c}: &{c} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
        ));
    }
    let repo = repository(&[("PANDIUM.yaml", &laughs)]);
    let (_, release) = hub.release("Laughs", repo.path()).await;
    assert_eq!(release.status, ReleaseStatus::Failed, "{:?}", release.error);
}

#[tokio::test]
async fn a_large_context_and_a_thousand_webhook_bodies_reach_the_program() {
    let hub = hub(crate::sandbox()).await;
    // The first run prints a 200 KB context; the next reads it from its file. Webhook
    // runs count their bodies.
    let script = r#"
if [ "$PAN_CTX_RUN_MODE" = webhook ]; then
  python3 - <<'EOF' >&2
import json, os
triggers = json.load(open(os.environ["PAN_CTX_RUN_TRIGGERS_FILE"]))
bodies = [open(t["payload"]["payload_file"]).read() for t in triggers]
print("bodies", len(bodies), "first", bodies[0], "last", bodies[-1])
EOF
elif [ -n "$PAN_CTX_LAST_SUCCESSFUL_RUN_STD_OUT_FILE" ]; then
  echo "inline=${#PAN_CTX_LAST_SUCCESSFUL_RUN_STD_OUT} file=$(wc -c < "$PAN_CTX_LAST_SUCCESSFUL_RUN_STD_OUT_FILE")" >&2
else
  python3 -c 'import json; print(json.dumps({"pad": "x" * 200000}))'
fi
"#;
    let repo = repository(&[("PANDIUM.yaml", "version: 1\nrun: sh run.sh\n"), ("run.sh", script)]);
    let (integration, release) = hub.release("Large", repo.path()).await;
    assert_eq!(release.status, ReleaseStatus::Succeeded, "{:?}", release.error);
    let tenant = hub.tenant(integration, "big").await;
    let first = hub.run(tenant).await;
    assert_eq!(first.phase, Phase::Succeeded, "{:?}", first.error);
    let second = hub.run(tenant).await;
    assert_eq!(second.phase, Phase::Succeeded, "{:?}", second.error);
    let log = hub.log(second.id).await;
    assert!(log.starts_with("inline=0 file=2000"), "{log}");

    let row = tenants::get(hub.db.pool(), tenant).await.expect("read").expect("tenant");
    let url = service::tenants::rotate_webhook(&hub.db, &hub.key, "http://hub", &Actor::System, &row, Utc::now())
        .await
        .expect("webhook url");
    let token = url.rsplit('/').next().expect("token");
    for n in 0..1000 {
        let body = format!("{{\"n\": {n}}}");
        service::runs::webhook(&hub.db, &hub.engine, token, body.as_bytes(), Some("application/json"), Utc::now())
            .await
            .expect("webhook");
    }
    worker::run_until_idle(&hub.engine, Utc::now()).await.expect("ran");
    let filter = runs::RunFilter { tenant_id: Some(tenant), ..Default::default() };
    let webhook_runs: Vec<_> = runs::list(hub.db.pool(), &filter, 10)
        .await
        .expect("list")
        .into_iter()
        .filter(|r| r.mode == Mode::Webhook)
        .collect();
    assert_eq!(webhook_runs.len(), 2, "a bundle is capped at 500 triggers");
    let mut logs = Vec::new();
    for r in &webhook_runs {
        assert_eq!(r.phase, Phase::Succeeded, "run {}", r.id);
        logs.push(hub.log(r.id).await);
    }
    logs.sort();
    assert_eq!(
        logs,
        vec![
            "bodies 500 first {\"n\": 0} last {\"n\": 499}\n".to_owned(),
            "bodies 500 first {\"n\": 500} last {\"n\": 999}\n".to_owned()
        ]
    );
    let waiting: i64 = sqlx::query_scalar("SELECT count(*) FROM run_triggers WHERE run_id IS NULL")
        .fetch_one(hub.db.pool())
        .await
        .expect("count");
    assert_eq!(waiting, 0, "no accepted trigger is left behind");
}

#[tokio::test]
async fn a_sandbox_that_cannot_be_built_fails_builds_and_runs_instead_of_running_bare() {
    let sandbox = Arc::new(Sandbox::probe(Policy::new("/nonexistent/helper".into())));
    assert!(sandbox.unavailable().is_some());
    let hub = hub(sandbox).await;
    let repo = repository(&[("PANDIUM.yaml", "version: 1\nrun: touch /tmp/ran-bare\n")]);
    let (_, release) = hub.release("Bare", repo.path()).await;
    assert_eq!(release.status, ReleaseStatus::Failed);
    assert!(release.error.unwrap_or_default().starts_with("sandbox unavailable: "));
}

#[tokio::test]
async fn a_repository_inside_the_hubs_data_directory_is_refused() {
    let hub = hub(crate::sandbox()).await;
    // The data directory itself, and a real repository moved into it.
    let inside = hub.data.path().join("smuggled");
    let repo = repository(&[("PANDIUM.yaml", "version: 1\nrun: true\n")]);
    std::fs::rename(repo.path(), &inside).expect("move");
    for path in [hub.data.path().to_path_buf(), inside] {
        let (_, release) = hub.release(&format!("Inside {}", path.display()), &path).await;
        assert_eq!(release.status, ReleaseStatus::Failed);
        let error = release.error.unwrap_or_default();
        assert!(
            error.contains("not be inside the hub's data directory") || error.starts_with("Cannot fetch"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn a_repository_the_sandbox_may_not_read_is_not_cloned_with_the_hubs_rights() {
    let hub = hub(crate::sandbox()).await;
    let repo = repository(&[("PANDIUM.yaml", "version: 1\nrun: true\n")]);
    let private = private_dir();
    let moved = private.path().join("repo");
    std::fs::rename(repo.path(), &moved).expect("move");
    let (_, release) = hub.release("Private", &moved).await;
    if nix::unistd::geteuid().is_root() {
        // The sandbox's uid cannot enter a directory of mode 700, and the hub does not
        // lend it root's rights for a path an integration chose.
        assert_eq!(release.status, ReleaseStatus::Failed, "{}", release.build_log);
        assert!(release.error.unwrap_or_default().starts_with("Cannot fetch the repository"));
    } else {
        // As an ordinary user the sandbox has the hub's uid, which owns the directory.
        assert_eq!(release.status, ReleaseStatus::Succeeded, "{:?}", release.error);
    }
}

#[tokio::test]
async fn a_payload_that_names_a_hub_file_is_never_linked_into_a_run() {
    let hub = hub(crate::sandbox()).await;
    let script = "cat \"$PAN_CTX_RUN_TRIGGERS_FILE\" >&2; cat /hub/payload-* >&2 || true\n";
    let repo = repository(&[("PANDIUM.yaml", "version: 1\nrun: sh run.sh\n"), ("run.sh", script)]);
    let (integration, release) = hub.release("Payload", repo.path()).await;
    assert_eq!(release.status, ReleaseStatus::Succeeded, "{:?}", release.error);
    let tenant = hub.tenant(integration, "caller").await;
    // What an API caller may send as a sync's payload, and a webhook trigger forged
    // to name the key: neither is followed.
    let key = hub.data.path().join("secret.key").to_string_lossy().into_owned();
    for kind in [TriggerKind::Api, TriggerKind::Webhook] {
        let payload = json!({ "payload_file": key });
        service::runs::request(
            &hub.db,
            &hub.engine,
            &Actor::System,
            tenant,
            kind,
            Mode::Normal,
            Some(&payload),
            Utc::now(),
        )
        .await
        .expect("trigger");
    }
    worker::run_until_idle(&hub.engine, Utc::now()).await.expect("ran");
    let filter = runs::RunFilter { tenant_id: Some(tenant), ..Default::default() };
    for r in runs::list(hub.db.pool(), &filter, 10).await.expect("list") {
        let log = hub.log(r.id).await;
        assert!(!log.contains(MARKER), "{log}");
        assert!(log.contains("payload_file"), "{log}");
    }
}

#[tokio::test]
async fn a_hub_started_with_the_fence_off_removes_the_fence_an_earlier_start_left() {
    if !nix::unistd::geteuid().is_root() {
        return; // The fence needs root; as an ordinary user there is none to remove.
    }
    let table = "integration_hub_sandbox_3200000";
    let listed = || {
        let out = std::process::Command::new("nft").args(["list", "tables"]).output().expect("nft");
        String::from_utf8_lossy(&out.stdout).contains(table)
    };
    let mut policy = Policy::new(crate::helper());
    policy.uid_base = 3_200_000;
    let fenced = Sandbox::probe(policy.clone());
    assert!(fenced.unavailable().is_none(), "{}", fenced.summary());
    assert!(listed(), "a fenced start installs its table");
    policy.block_local_network = false;
    let open = Sandbox::probe(policy);
    assert!(open.unavailable().is_none(), "{}", open.summary());
    assert!(!listed(), "an open start removes it");
}
