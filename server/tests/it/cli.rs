//! The binary's commands: `manifest check` against what a build of the same file
//! says, and `api-key create`, `build --wait` and `sync --wait` against a hub serving
//! on loopback with its engine running.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use chrono::Utc;
use hub_core::db::audit::Actor;
use hub_core::domain::integration::IntegrationInput;
use hub_core::service;
use hub_core::worker::{self, Clock};
use serde_json::{json, Value};

fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A repository the sandbox can read (as a git server would serve it), with one
/// commit of `manifest` as PANDIUM.yaml.
fn repository(manifest: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    git(dir.path(), &["init", "--quiet", "--initial-branch=main"]);
    std::fs::write(dir.path().join("PANDIUM.yaml"), manifest).expect("manifest");
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "--quiet", "-m", "first"]);
    dir
}

/// The binary with `args` and `env`, to its end (within two minutes).
async fn cli(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_server"));
    cmd.args(args).envs(env.iter().copied()).kill_on_drop(true);
    tokio::time::timeout(Duration::from_secs(120), cmd.output()).await.expect("ended within two minutes").expect("ran")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// An integration of the repository at `repo`, built once; its release's error.
async fn built(state: &app::api::ctx::AppState, name: &str, repo: &Path) -> (i64, Option<String>) {
    let input = IntegrationInput { name: name.into(), repository: repo.to_string_lossy().into(), ..Default::default() };
    let egress = hub_core::egress::Egress::strict();
    let id =
        service::integrations::create(&state.db, &egress, &Actor::System, 1, input, Utc::now()).await.expect("made");
    let scope = service::Scope::All;
    let release =
        service::integrations::build_release(&state.db, &state.builder, &Actor::System, scope, id, None, Utc::now())
            .await
            .expect("queued");
    worker::run_until_idle(&state.builder, Utc::now()).await.expect("built");
    let row = service::integrations::release_of(&state.db, scope, id, release).await.expect("release");
    (id, row.error)
}

#[tokio::test]
async fn manifest_check_says_what_a_build_of_the_same_file_says() {
    let (prepared, _dir) = crate::http::prepared(false).await;
    let broken = "version: 1.0\nrun: python3 main.py\nconfigs:\n  schema:\n    type: object\n    properties: [1, 2\n";
    let repo = repository(broken);
    let (_, error) = built(&prepared.state, "Broken", repo.path()).await;
    let error = error.expect("the build failed");
    assert!(error.contains("line ") && error.contains("column "), "{error}");
    let checked = cli(&["manifest", "check", &repo.path().to_string_lossy()], &[]).await;
    assert_eq!(checked.status.code(), Some(1), "{}", stderr(&checked));
    assert_eq!(stdout(&checked).trim(), error);

    // A field the hub refuses, with its path.
    let wrong = repository("version: 1.0\nrun: 5\nconnectors: slack\n");
    let (_, error) = built(&prepared.state, "Wrong", wrong.path()).await;
    let checked = cli(&["manifest", "check", &wrong.path().join("PANDIUM.yaml").to_string_lossy()], &[]).await;
    assert_eq!((checked.status.code(), stdout(&checked).trim().to_owned()), (Some(1), error.expect("failed")));

    let good = repository("version: 1.0\nrun: python3 main.py\n");
    let checked = cli(&["manifest", "check", &good.path().to_string_lossy()], &[]).await;
    assert_eq!(checked.status.code(), Some(0), "{}", stdout(&checked));
    assert!(stdout(&checked).contains("valid"), "{}", stdout(&checked));
    let missing = cli(&["manifest", "check", "/nonexistent/PANDIUM.yaml"], &[]).await;
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).starts_with("error: cannot read"), "{}", stderr(&missing));
}

#[tokio::test]
async fn sync_wait_exits_with_the_runs_outcome_and_build_wait_with_the_builds() {
    let (prepared, dir) = crate::http::prepared(false).await;
    let state = prepared.state.clone();
    let ok = repository("version: 1.0\nrun: \"echo working >&2; echo done\"\n");
    let failing = repository("version: 1.0\nrun: \"echo broken >&2; exit 3\"\n");
    let (ok_id, error) = built(&state, "Works", ok.path()).await;
    assert_eq!(error, None);
    let (failing_id, error) = built(&state, "Fails", failing.path()).await;
    assert_eq!(error, None);

    // The hub on loopback, its engine and builder running as in the binary.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let router = prepared.router.clone();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let server = tokio::spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>()).await
    });
    let engine = tokio::spawn(worker::run(state.engine.clone(), Clock::system(), until(stopped.clone())));
    let builder = tokio::spawn(worker::run(state.builder.clone(), Clock::system(), until(stopped)));

    // A key made on the hub's database from the command line.
    let data = dir.path().to_string_lossy().into_owned();
    let made = cli(&["api-key", "create", "cli tests"], &[("HUB_DATA_DIR", &data)]).await;
    assert_eq!(made.status.code(), Some(0), "{}", stderr(&made));
    let key = stdout(&made).trim().to_owned();
    assert!(key.starts_with("hub_"), "{key}");
    let env = [("HUB_URL", url.as_str()), ("HUB_API_KEY", key.as_str())];

    let client = reqwest::Client::new();
    let mut tenants = Vec::new();
    for (name, integration) in [("works", ok_id), ("fails", failing_id)] {
        let body = json!({ "name": name, "integration_id": integration, "release": { "channel": "latest" } });
        let r = client
            .post(format!("{url}/api/v2/tenants"))
            .header("X-API-Key", &key)
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await;
        let made: Value = serde_json::from_str(&r.expect("sent").text().await.expect("text")).expect("json");
        tenants.push(made["id"].as_i64().unwrap_or_else(|| panic!("a tenant: {made}")).to_string());
    }

    let good = cli(&["sync", &tenants[0], "--wait"], &env).await;
    assert_eq!(good.status.code(), Some(0), "{}\n{}", stdout(&good), stderr(&good));
    assert!(stdout(&good).contains("working"), "the log is followed: {}", stdout(&good));
    assert!(stdout(&good).contains("Succeeded"), "{}", stdout(&good));

    let bad = cli(&["sync", &tenants[1], "--wait", "--json"], &env).await;
    assert_eq!(bad.status.code(), Some(1), "{}\n{}", stdout(&bad), stderr(&bad));
    assert!(stderr(&bad).contains("broken") && stderr(&bad).contains("code 3"), "{}", stderr(&bad));
    let run: Value = serde_json::from_str(&stdout(&bad)).expect("--json prints the run");
    assert_eq!(run["phase"], "failed_integration");

    let listed = cli(&["tenants", "list"], &env).await;
    assert!(stdout(&listed).contains("works") && stdout(&listed).contains("fails"), "{}", stdout(&listed));
    let build = cli(&["build", &ok_id.to_string(), "--wait"], &env).await;
    assert_eq!(build.status.code(), Some(0), "{}\n{}", stdout(&build), stderr(&build));
    assert!(stdout(&build).contains("Build succeeded"), "{}", stdout(&build));
    let no_ref = cli(&["build", &ok_id.to_string(), "--ref", "no-such-branch", "--wait"], &env).await;
    assert_eq!(no_ref.status.code(), Some(1), "{}", stderr(&no_ref));

    let set = cli(&["metadata", "set", &tenants[0], r#"{"cursor": "c1"}"#], &env).await;
    assert_eq!(set.status.code(), Some(0), "{}", stderr(&set));
    let got = cli(&["metadata", "get", &tenants[0], "--json"], &env).await;
    assert_eq!(serde_json::from_str::<Value>(&stdout(&got)).expect("json"), json!({ "cursor": "c1" }));

    // Refusals are one line each, with a non-zero status.
    let wrong_key = cli(&["tenants", "list"], &[("HUB_URL", url.as_str()), ("HUB_API_KEY", "hub_wrong")]).await;
    assert_eq!(wrong_key.status.code(), Some(2));
    assert_eq!(stderr(&wrong_key).lines().count(), 1, "{}", stderr(&wrong_key));
    assert!(stderr(&wrong_key).starts_with("error: 401"), "{}", stderr(&wrong_key));
    let unknown = cli(&["sync", "999999"], &env).await;
    assert!(stderr(&unknown).starts_with("error: 404"), "{}", stderr(&unknown));

    let _ = stop.send(true);
    let _ = engine.await;
    let _ = builder.await;
    server.abort();
}

/// A tenant of `integration` on its latest release, with `configs`; its run in `mode`,
/// as the hub makes it: the run's log, its context as shown, and the context kept.
struct HubRun {
    log: String,
    shown: Option<String>,
    phase: String,
}

async fn hub_run(state: &app::api::ctx::AppState, tenant: i64, mode: hub_core::domain::run::Mode) -> HubRun {
    use hub_core::domain::run::TriggerKind;
    let trigger = service::runs::request(
        &state.db,
        &state.engine,
        &Actor::System,
        tenant,
        TriggerKind::Manual,
        mode,
        None,
        Utc::now(),
    )
    .await
    .expect("asked");
    worker::run_until_idle(&state.engine, Utc::now()).await.expect("ran");
    let run = service::runs::trigger_status(&state.db, trigger).await.expect("trigger").run_id.expect("a run");
    let at = hub_core::db::run_logs::LogAt::From(0);
    let (row, window) = service::runs::with_log(&state.db, service::Scope::All, run, at).await.expect("run");
    HubRun { log: window.text, shown: row.stdout_context, phase: row.phase.as_str().to_owned() }
}

/// `run-local --json` of a release's checkout: the log (stderr without the sandbox's
/// line) and what it says a hub would keep.
async fn local_run(dir: &Path, args: &[&str]) -> (String, Value, Option<i32>) {
    let mut all = vec!["run-local", dir.to_str().expect("path"), "--json"];
    all.extend_from_slice(args);
    let connectors = format!("{}/../connectors", env!("CARGO_MANIFEST_DIR"));
    let out = cli(&all, &[("HUB_CONNECTORS_DIR", &connectors), ("HUB_DATA_DIR", "/nonexistent")]).await;
    let err = stderr(&out);
    let log = err.split_once('\n').map_or(String::new(), |(_, rest)| rest.to_owned());
    let kept = serde_json::from_str(&stdout(&out)).unwrap_or_else(|_| panic!("JSON: {}\n{err}", stdout(&out)));
    (log, kept, out.status.code())
}

/// A paused tenant of `integration` on its latest release, with `configs`, and the
/// release's checkout.
async fn tenant(
    state: &app::api::ctx::AppState,
    data: &Path,
    integration: i64,
    name: &str,
    configs: Value,
) -> (i64, std::path::PathBuf) {
    use hub_core::domain::release::ReleaseChoice;
    use hub_core::domain::tenant::{NewTenantInput, ScheduleInput};
    let new = NewTenantInput {
        name: name.into(),
        release_mode: "channel".into(),
        channel: "latest".into(),
        ..Default::default()
    };
    let schedule = ScheduleInput { kind: "simple".into(), preset: "daily".into(), ..Default::default() };
    let (db, engine) = (&state.db, &state.engine);
    let t = service::tenant_patch::create_complete(
        db,
        engine,
        &Actor::System,
        integration,
        &new,
        Some(configs),
        &schedule,
        true,
        Utc::now(),
    )
    .await
    .expect("tenant");
    let release = service::integrations::channel(db, service::Scope::All, integration, ReleaseChoice::Latest)
        .await
        .expect("read")
        .expect("a release");
    (t.id, data.join("releases").join(release.id.to_string()))
}

#[tokio::test]
async fn run_local_prints_what_the_hubs_run_of_the_same_release_does() {
    use hub_core::domain::run::Mode;
    let (prepared, dir) = crate::http::prepared(true).await;
    let state = prepared.state.clone();
    worker::run_until_idle(&state.builder, Utc::now()).await.expect("built");
    let data = dir.path();
    // Counter Sync: a first run, then one that reads the first's context.
    let (counter, checkout) = tenant(&state, data, 1, "acme", json!({ "greeting": "Hi", "step": 3 })).await;
    let first = hub_run(&state, counter, Mode::Normal).await;
    let (log, kept, code) =
        local_run(&checkout, &["--tenant", "acme", "--config", "greeting=Hi", "--config", "step=3"]).await;
    assert_eq!((first.phase.as_str(), code), ("succeeded", Some(0)));
    assert_eq!(log.trim(), first.log.trim());
    assert_eq!(kept["context"].as_str(), first.shown.as_deref());
    let context = tempfile::NamedTempFile::new().expect("file");
    std::fs::write(context.path(), first.shown.as_deref().expect("context")).expect("written");
    let second = hub_run(&state, counter, Mode::Normal).await;
    let ctx = context.path().to_str().expect("path");
    let (log, kept, _) =
        local_run(&checkout, &["--tenant", "acme", "--config", "greeting=Hi", "--config", "step=3", "--context", ctx])
            .await;
    assert!(second.log.contains("counter is now 6"), "{}", second.log);
    assert_eq!((log.trim(), kept["context"].as_str()), (second.log.trim(), second.shown.as_deref()));

    // Pokémon of the Day: an init run's options, then a run that fails until configured.
    let (pokemon, checkout) = tenant(&state, data, 2, "trainer", json!({})).await;
    let init = hub_run(&state, pokemon, Mode::Init).await;
    let (log, kept, code) = local_run(&checkout, &["--tenant", "trainer", "--mode", "init"]).await;
    assert_eq!((init.phase.as_str(), code), ("succeeded", Some(0)));
    assert_eq!(log.trim(), init.log.trim());
    let options: Value = serde_json::from_str(init.shown.as_deref().expect("options")).expect("json");
    assert_eq!(kept["options"], options);
    assert!(options["pokemon_types"].is_array(), "{options}");
    // A normal run with a choice from those options, as the tenant's form offers it.
    let choice = hub_core::service::tenant_patch::Patch {
        configs: Some(json!({ "pokemon_type": "water", "pokemon": "psyduck" })),
        ..Default::default()
    };
    hub_core::service::tenant_patch::update(&state.db, &state.engine, &Actor::System, pokemon, choice, Utc::now())
        .await
        .expect("configured");
    let picked = hub_run(&state, pokemon, Mode::Normal).await;
    let file = tempfile::NamedTempFile::new().expect("file");
    std::fs::write(file.path(), options.to_string()).expect("written");
    let path = file.path().to_str().expect("path");
    let args =
        ["--tenant", "trainer", "--options", path, "--config", "pokemon_type=water", "--config", "pokemon=psyduck"];
    let (log, kept, _) = local_run(&checkout, &args).await;
    assert!(picked.log.contains("Psyduck"), "{}", picked.log);
    assert_eq!((log.trim(), kept["context"].as_str()), (picked.log.trim(), picked.shown.as_deref()));

    // Slack Notifier, not connected: both fail alike; a token given is masked.
    let (slack, checkout) = tenant(&state, data, 3, "team", json!({})).await;
    let failed = hub_run(&state, slack, Mode::Normal).await;
    let (log, kept, code) = local_run(&checkout, &["--tenant", "team"]).await;
    assert_eq!(
        (failed.phase.as_str(), code, kept["succeeded"].as_bool()),
        ("failed_integration", Some(1), Some(false))
    );
    assert_eq!(log.trim(), failed.log.trim());
    let (log, _, _) = local_run(
        &checkout,
        &[
            "--secret",
            "slack.access_token=xoxb-very-secret",
            "--config",
            "api_base_url=http://127.0.0.1:1/xoxb-very-secret",
        ],
    )
    .await;
    assert!(log.contains("Posting to") && !log.contains("xoxb-very-secret"), "{log}");
}
