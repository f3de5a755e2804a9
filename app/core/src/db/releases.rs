//! Releases: queued, claimed by the builder, and finished exactly once.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteExecutor};

use crate::domain::release::{ReleaseChoice, ReleaseStatus};

/// The most build log kept per release; the rest is cut with a marker.
pub const MAX_BUILD_LOG: i64 = 1_000_000;

#[derive(Debug, FromRow)]
pub struct ReleaseRow {
    pub id: i64,
    pub integration_id: i64,
    pub name: String,
    pub git_ref: String,
    pub commit_sha: Option<String>,
    pub status: ReleaseStatus,
    pub error: Option<String>,
    /// Empty when read by `resolve`, which is for what a tenant runs.
    pub build_log: String,
    pub run_command: Option<String>,
    pub manifest: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// What sandbox the build had.
    pub sandbox: Option<String>,
    /// Its checkout was removed because nothing used it (`db::retention`): it cannot be chosen.
    pub files_removed: bool,
}

/// Whether the release's checkout was removed, as a column.
macro_rules! files_removed {
    () => {
        "EXISTS (SELECT 1 FROM release_files_removed x WHERE x.release_id = releases.id) AS files_removed"
    };
}

/// A `ReleaseRow`'s columns, with `$log` for its build log.
macro_rules! columns {
    ($log:literal) => {
        concat!(
            "id, integration_id, name, git_ref, commit_sha, status, error, ",
            $log,
            ", run_command, manifest, created_at, started_at, finished_at, sandbox, ",
            files_removed!()
        )
    };
}

const COLUMNS: &str = columns!("build_log");

/// Which of an integration's releases is its newest successful build.
macro_rules! newest_succeeded {
    () => {
        "WHERE integration_id = ? AND status = 'succeeded' ORDER BY finished_at DESC, id DESC LIMIT 1"
    };
}

/// A release as lists show it: without its build log (up to 1 MB) and manifest.
#[derive(Clone, Debug, FromRow)]
pub struct ReleaseListRow {
    pub id: i64,
    pub integration_id: i64,
    pub name: String,
    pub git_ref: String,
    pub commit_sha: Option<String>,
    pub status: ReleaseStatus,
    pub error: Option<String>,
    pub run_command: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub files_removed: bool,
}

const LIST_COLUMNS: &str = concat!(
    "id, integration_id, name, git_ref, commit_sha, status, error, run_command, created_at, started_at, finished_at, ",
    files_removed!()
);

impl ReleaseRow {
    /// The release as lists show it.
    pub fn summary(&self) -> ReleaseListRow {
        ReleaseListRow {
            id: self.id,
            integration_id: self.integration_id,
            name: self.name.clone(),
            git_ref: self.git_ref.clone(),
            commit_sha: self.commit_sha.clone(),
            status: self.status,
            error: self.error.clone(),
            run_command: self.run_command.clone(),
            created_at: self.created_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
            files_removed: self.files_removed,
        }
    }
}

pub async fn insert_queued(
    db: impl SqliteExecutor<'_>,
    integration_id: i64,
    git_ref: &str,
    created_by: Option<i64>,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    insert_queued_as(db, integration_id, git_ref, git_ref, created_by, now).await
}

/// A queued release of `git_ref` whose name shows `label` (a push's build names the
/// branch and short commit it was pushed as, and builds the exact commit).
pub async fn insert_queued_as(
    db: impl SqliteExecutor<'_>,
    integration_id: i64,
    git_ref: &str,
    label: &str,
    created_by: Option<i64>,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    // Names read "v3 (main)": a sequence number within the integration and the label.
    sqlx::query_scalar(
        "INSERT INTO releases (integration_id, name, git_ref, status, created_by, created_at)
         VALUES (?1, 'v' || (SELECT count(*) + 1 FROM releases WHERE integration_id = ?1) || ' (' || ?5 || ')', ?2, 'queued', ?3, ?4)
         RETURNING id",
    )
    .bind(integration_id)
    .bind(git_ref)
    .bind(created_by)
    .bind(now)
    .bind(label)
    .fetch_one(db)
    .await
}

pub async fn get(db: impl SqliteExecutor<'_>, id: i64) -> sqlx::Result<Option<ReleaseRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM releases WHERE id = ?")).bind(id).fetch_optional(db).await
}

/// An integration's releases, newest first.
pub async fn list_for(db: impl SqliteExecutor<'_>, integration_id: i64) -> sqlx::Result<Vec<ReleaseListRow>> {
    sqlx::query_as(&format!("SELECT {LIST_COLUMNS} FROM releases WHERE integration_id = ? ORDER BY id DESC"))
        .bind(integration_id)
        .fetch_all(db)
        .await
}

/// The next queued release to build, fairly between organizations: of the
/// organizations with builds waiting, one with the fewest building now, its oldest.
pub async fn next_queued(db: impl SqliteExecutor<'_>) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "SELECT r.id FROM releases r JOIN integrations i ON i.id = r.integration_id
         WHERE r.status = 'queued'
         ORDER BY (SELECT count(*) FROM releases b JOIN integrations bi ON bi.id = b.integration_id
                   WHERE b.status = 'building' AND bi.organization_id = i.organization_id), r.id
         LIMIT 1",
    )
    .fetch_optional(db)
    .await
}

/// Marks a queued release to become its integration's default when it succeeds.
pub async fn make_default_on_success(db: impl SqliteExecutor<'_>, id: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE releases SET make_default = 1 WHERE id = ? AND status = 'queued'")
        .bind(id)
        .execute(db)
        .await
        .map(drop)
}

/// Moves a queued release to building; false when someone else got it first.
pub async fn claim(db: impl SqliteExecutor<'_>, id: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    sqlx::query("UPDATE releases SET status = 'building', started_at = ? WHERE id = ? AND status = 'queued'")
        .bind(now)
        .bind(id)
        .execute(db)
        .await
        .map(|r| r.rows_affected() == 1)
}

/// Records what sandbox a building release's build has.
pub async fn set_sandbox(db: impl SqliteExecutor<'_>, id: i64, sandbox: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE releases SET sandbox = ? WHERE id = ? AND status = 'building'")
        .bind(sandbox)
        .bind(id)
        .execute(db)
        .await
        .map(drop)
}

/// Appends to the build log of a release that is building, up to [`MAX_BUILD_LOG`].
pub async fn append_log(db: impl SqliteExecutor<'_>, id: i64, text: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE releases SET build_log = CASE
             WHEN length(build_log) >= ?3 THEN build_log
             WHEN length(build_log) + length(?2) > ?3 THEN build_log || ?2 || char(10) || '[build log cut at 1 MB]' || char(10)
             ELSE build_log || ?2 END
         WHERE id = ?1 AND status = 'building'",
    )
    .bind(id)
    .bind(text)
    .bind(MAX_BUILD_LOG)
    .execute(db)
    .await
    .map(drop)
}

pub struct Success<'a> {
    pub commit_sha: &'a str,
    pub run_command: &'a str,
    pub manifest_json: &'a str,
}

/// Records a successful build; a release marked to become the default (a push's,
/// when the integration says so) becomes it in the same transaction. Returns whether
/// it did.
pub async fn succeed(db: &sqlx::SqlitePool, id: i64, s: &Success<'_>, now: DateTime<Utc>) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE releases SET status = 'succeeded', commit_sha = ?, run_command = ?, manifest = ?, finished_at = ?
         WHERE id = ? AND status = 'building'",
    )
    .bind(s.commit_sha)
    .bind(s.run_command)
    .bind(s.manifest_json)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let made_default = sqlx::query(
        "UPDATE integrations SET default_release_id = ?1, updated_at = ?2
         WHERE id = (SELECT integration_id FROM releases WHERE id = ?1 AND make_default = 1 AND status = 'succeeded')
           AND NOT EXISTS (SELECT 1 FROM releases n WHERE n.integration_id = integrations.id AND n.id > ?1
                           AND n.make_default = 1 AND n.status = 'succeeded')",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    tx.commit().await?;
    Ok(made_default)
}

pub async fn fail(
    db: impl SqliteExecutor<'_>,
    id: i64,
    commit_sha: Option<&str>,
    error: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE releases SET status = 'failed', commit_sha = ?, error = ?, finished_at = ?
         WHERE id = ? AND status IN ('queued', 'building')",
    )
    .bind(commit_sha)
    .bind(error)
    .bind(now)
    .bind(id)
    .execute(db)
    .await
    .map(drop)
}

/// Builds that were under way when the hub stopped cannot be trusted: fail them.
pub async fn fail_interrupted(db: impl SqliteExecutor<'_>, now: DateTime<Utc>) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE releases SET status = 'failed', error = 'The hub stopped while this release was building. Build it again.',
             finished_at = ? WHERE status = 'building'",
    )
    .bind(now)
    .execute(db)
    .await
    .map(|r| r.rows_affected())
}

/// The newest successful build of an integration.
pub async fn latest_succeeded(db: impl SqliteExecutor<'_>, integration_id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(concat!("SELECT id FROM releases ", newest_succeeded!()))
        .bind(integration_id)
        .fetch_optional(db)
        .await
}

/// The release a tenant's choice means now. Every caller that needs "which release
/// does this tenant run" goes through here. One query, and without the build log
/// (up to 1 MB, and no caller of this shows it): `build_log` is empty.
pub async fn resolve(
    db: impl SqliteExecutor<'_>,
    integration_id: i64,
    choice: ReleaseChoice,
) -> sqlx::Result<Option<ReleaseRow>> {
    const RESOLVED: &str = concat!("SELECT ", columns!("'' AS build_log"), " FROM releases");
    let (condition, value) = match choice {
        ReleaseChoice::Specific(id) => ("WHERE id = ?", id),
        ReleaseChoice::Default => {
            ("WHERE id = (SELECT default_release_id FROM integrations WHERE id = ?)", integration_id)
        }
        ReleaseChoice::Latest => (newest_succeeded!(), integration_id),
    };
    let row: Option<ReleaseRow> =
        sqlx::query_as(&format!("{RESOLVED} {condition}")).bind(value).fetch_optional(db).await?;
    // A pinned release must belong to this integration, have built and still have its files.
    Ok(row.filter(|r| r.integration_id == integration_id && r.status == ReleaseStatus::Succeeded && !r.files_removed))
}
