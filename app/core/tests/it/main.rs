//! Integration tests of the backend against a real SQLite database.

mod accounts;
mod auth;
mod builder;
mod console_connectors;
mod db;
mod engine;
mod form;
mod git_servers;
mod manifest;
mod marketplace;
mod repository;
mod sandbox;
mod settings;

use std::sync::{Arc, OnceLock};

use chrono::Utc;
use hub_core::db::audit::Actor;
use hub_core::db::{releases, Db, DB_FILE};
use hub_core::engine::builder::Builder;
use hub_core::engine::sandbox::{Policy, Sandbox};
use hub_core::{service, worker};

/// A database like production's: a file in WAL mode, opened by `Db::open` with its
/// busy timeout and its pool of several connections, so that locking and the rule
/// for transactions that read then write (`Db::begin_write`) are exercised. The
/// directory holds the file: keep it for as long as the database is used.
pub async fn file_db() -> (Db, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join(DB_FILE)).await.expect("db");
    (db, dir)
}

/// Queues a build of `integration` (of `git_ref`, or its branch) as an admin would,
/// builds until nothing waits, and returns the release.
pub async fn build(db: &Db, builder: &Builder, integration: i64, git_ref: Option<&str>) -> releases::ReleaseRow {
    let scope = service::Scope::All;
    let id = service::integrations::build_release(db, builder, &Actor::System, scope, integration, git_ref, Utc::now())
        .await
        .expect("queued");
    worker::run_until_idle(builder, Utc::now()).await.expect("built");
    releases::get(db.pool(), id).await.expect("db").expect("release")
}

/// Runs git in `dir` as a test author would; returns its stdout.
pub fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A temporary directory others may read, for a repository the sandbox clones with
/// its own uid (as a git server would serve it).
pub fn public_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

/// This crate's sandbox helper (`HUB_TEST_SANDBOX_HELPER` names a copy, for a run of
/// the tests as another user who cannot reach the build directory).
pub fn helper() -> std::path::PathBuf {
    std::env::var_os("HUB_TEST_SANDBOX_HELPER").map_or_else(|| env!("CARGO_BIN_EXE_sandbox-helper").into(), Into::into)
}

/// The real sandbox, with this crate's helper executable, probed once. A machine
/// where it cannot be built fails the tests that need it, with the reason.
pub fn sandbox() -> Arc<Sandbox> {
    static SANDBOX: OnceLock<Arc<Sandbox>> = OnceLock::new();
    SANDBOX
        .get_or_init(|| {
            // As the hub has it: a prepared /etc (whose passwd names the sandbox's uids).
            let mut policy = Policy::new(helper());
            policy.etc_copy = Some(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("sandbox-etc"));
            let s = Sandbox::probe(policy);
            assert!(s.unavailable().is_none(), "{}", s.summary());
            Arc::new(s)
        })
        .clone()
}
