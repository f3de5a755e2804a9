//! The janitor: prunes what grows with use, by the retention settings
//! (`domain::retention`), a batch of each kind a step, and measures the disk the hub
//! uses for the settings page.
//!
//! Run logs older than the setting go (the run stays, marked), a tenant's finished
//! runs beyond its newest N go with their triggers, delivered webhooks and mail go
//! after as long, spent sign-in records after a day, webhook bodies no work names
//! after a day, and release checkouts nothing uses a week after their build. Audit
//! entries stay.

use std::collections::HashSet;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};

use crate::db::retention::{self as store, StoredBytes};
use crate::db::{webhooks, Db, DbError};
use crate::domain::retention::{Retention, SETTING};
use crate::worker::{Signal, Step, Worker};

/// Rows of one kind a step deletes at most.
pub const BATCH: i64 = 500;
/// Release checkouts a step removes at most.
const CHECKOUTS: i64 = 20;
/// How often the janitor looks when nothing is left to prune.
pub const EVERY: Duration = Duration::hours(1);
/// How long a release's checkout is kept after its build when nothing uses it.
pub const CHECKOUT_GRACE: Duration = Duration::days(7);
/// How long a spent sign-in record, or a webhook body no work names, is kept.
pub const SPENT_GRACE: Duration = Duration::days(1);

#[derive(Clone, Debug)]
pub struct Janitor {
    db: Db,
    /// The database file, for its size.
    database: PathBuf,
    releases_dir: PathBuf,
    webhooks_dir: PathBuf,
    signal: Signal,
}

/// What one step removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub logs: u64,
    pub runs: u64,
    pub deliveries: u64,
    pub sign_ins: u64,
    pub checkouts: u64,
    pub bodies: u64,
}

/// The disk the hub uses, in bytes, by kind.
#[derive(Clone, Debug, Default)]
pub struct DiskUse {
    /// The database file with its write-ahead log.
    pub database: u64,
    pub stored: StoredBytes,
    pub checkouts: u64,
    pub webhook_bodies: u64,
}

impl Janitor {
    pub fn new(db: Db, database: PathBuf, releases_dir: PathBuf, webhooks_dir: PathBuf) -> Self {
        Self { db, database, releases_dir, webhooks_dir, signal: Signal::default() }
    }

    /// Asks for a step now (the settings changed).
    pub fn wake(&self) {
        self.signal.raise();
    }

    /// The retention settings in force.
    pub async fn settings(&self) -> Result<Retention, DbError> {
        Ok(Retention::from_stored(webhooks::setting(self.db.pool(), SETTING).await?.as_deref()))
    }

    /// Prunes one batch of each kind due by `now`.
    pub async fn prune(&self, now: DateTime<Utc>) -> Result<Pruned, DbError> {
        let r = self.settings().await?;
        let kept_from = now - Duration::days(i64::from(r.log_days));
        let pool = self.db.pool();
        let mut pruned = Pruned { logs: store::drop_old_logs(pool, kept_from, BATCH, now).await?, ..Pruned::default() };
        let keep = i64::from(r.runs_per_tenant);
        for tenant in store::crowded_tenants(pool, keep).await? {
            pruned.runs += store::drop_extra_runs(&self.db, tenant, keep, BATCH).await?;
        }
        pruned.deliveries = store::drop_old_deliveries(pool, kept_from, BATCH).await?;
        pruned.sign_ins = store::drop_spent_sign_ins(pool, now - SPENT_GRACE, BATCH).await?;
        for id in store::unused_checkouts(pool, now - CHECKOUT_GRACE, CHECKOUTS).await? {
            if store::mark_removed(&self.db, id, now - CHECKOUT_GRACE, now).await? {
                self.remove_checkout(id).await;
                pruned.checkouts += 1;
            }
        }
        pruned.bodies = self.drop_unclaimed_bodies(now).await?;
        Ok(pruned)
    }

    /// A release's checkout folder (as the builder makes it).
    fn checkout(&self, release_id: i64) -> PathBuf {
        self.releases_dir.join(release_id.to_string())
    }

    async fn remove_checkout(&self, release_id: i64) {
        let dir = self.checkout(release_id);
        let removed = tokio::task::spawn_blocking(move || remove_tree(&dir)).await.map_err(io::Error::other);
        if let Err(e) = removed.and_then(|r| r) {
            tracing::warn!(release = release_id, "cannot remove the unused checkout: {e}");
        }
    }

    /// Removes webhook bodies that no waiting or active trigger names and that are older
    /// than a day (a body is written just before its trigger).
    async fn drop_unclaimed_bodies(&self, now: DateTime<Utc>) -> Result<u64, DbError> {
        let named: HashSet<PathBuf> =
            store::bodies_in_use(self.db.pool()).await?.into_iter().map(PathBuf::from).collect();
        let dir = self.webhooks_dir.clone();
        let before = std::time::SystemTime::from(now - SPENT_GRACE);
        let removed = tokio::task::spawn_blocking(move || {
            let Ok(entries) = std::fs::read_dir(&dir) else { return 0 };
            let mut removed = 0;
            for entry in entries.flatten() {
                let path = entry.path();
                let old = entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| t < before);
                let in_use = named.contains(&path);
                if old && !in_use && std::fs::remove_file(&path).is_ok() {
                    removed += 1;
                }
            }
            removed
        })
        .await
        .unwrap_or(0);
        Ok(removed)
    }

    /// Measures the disk the hub uses (walks the checkouts and webhook bodies).
    pub async fn disk_use(&self) -> Result<DiskUse, DbError> {
        let stored = store::stored_bytes(self.db.pool()).await?;
        let (releases, hooks, db) = (self.releases_dir.clone(), self.webhooks_dir.clone(), self.database.clone());
        let (database, checkouts, webhook_bodies) = tokio::task::spawn_blocking(move || {
            let wal = db.with_extension("sqlite3-wal");
            let file = |p: &Path| std::fs::symlink_metadata(p).map_or(0, |m| m.len());
            (file(&db) + file(&wal), tree_size(&releases), tree_size(&hooks))
        })
        .await
        .unwrap_or_default();
        Ok(DiskUse { database, stored, checkouts, webhook_bodies })
    }
}

impl Worker for Janitor {
    const NAME: &'static str = "janitor";

    /// Finishes removing the checkouts a stop left marked but still on disk.
    async fn start(&self, _now: DateTime<Utc>) -> Result<(), DbError> {
        for id in store::removed_releases(self.db.pool()).await? {
            if self.checkout(id).exists() {
                self.remove_checkout(id).await;
            }
        }
        Ok(())
    }

    async fn step(&self, now: DateTime<Utc>) -> Result<Step, DbError> {
        let p = self.prune(now).await?;
        if p != Pruned::default() {
            tracing::info!(
                logs = p.logs,
                runs = p.runs,
                deliveries = p.deliveries,
                sign_ins = p.sign_ins,
                checkouts = p.checkouts,
                bodies = p.bodies,
                "pruned by the retention settings"
            );
        }
        let full = [p.logs, p.deliveries, p.sign_ins].iter().any(|&n| n >= BATCH as u64)
            || p.runs >= BATCH as u64
            || p.checkouts >= CHECKOUTS as u64;
        Ok(if full { Step::more() } else { Step::idle(Some(now + EVERY)) })
    }

    fn signal(&self) -> &Signal {
        &self.signal
    }
}

/// Removes a directory tree without following links, making read-only directories
/// the build left writable first.
fn remove_tree(dir: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            open_up(dir);
            std::fs::remove_dir_all(dir)
        }
        other => other,
    }
}

fn open_up(dir: &Path) {
    let Ok(meta) = std::fs::symlink_metadata(dir) else { return };
    if !meta.is_dir() {
        return;
    }
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(meta.permissions().mode() | 0o700));
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        open_up(&entry.path());
    }
}

/// The bytes of the regular files under `dir`, links not followed.
fn tree_size(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match entry.metadata() {
                Ok(m) if m.is_dir() => stack.push(entry.path()),
                Ok(m) if m.is_file() => total += m.len(),
                _ => {}
            }
        }
    }
    total
}
