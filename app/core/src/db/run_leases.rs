//! Run leases (columns of the `runs` table): a running run is owned through a lease its
//! executor renews, and its program is recorded by identity.

use chrono::{DateTime, Utc};
use sqlx::SqliteExecutor;

/// Running runs whose lease ended before `now` (their hub stopped or hung), with the
/// identity of their program when it was recorded. A run from before leases has none,
/// and counts as lapsed.
pub async fn lapsed(db: impl SqliteExecutor<'_>, now: DateTime<Utc>) -> sqlx::Result<Vec<(i64, Option<String>)>> {
    sqlx::query_as(
        "SELECT id, process FROM runs WHERE phase = 'running' AND (lease_until IS NULL OR lease_until < ?) ORDER BY id",
    )
    .bind(now)
    .fetch_all(db)
    .await
}

/// When the first lease of a running run ends, if any run is running.
pub async fn next_lease_end(db: impl SqliteExecutor<'_>) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar("SELECT min(lease_until) FROM runs WHERE phase = 'running'").fetch_one(db).await
}

/// Marks a queued run as running, leased until `lease_until`, before its program is
/// started: a hub that stops between the two leaves a lease that lapses, never a
/// queued run that would start a second copy.
pub async fn start(
    db: impl SqliteExecutor<'_>,
    id: i64,
    env_names: &str,
    sandbox: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> sqlx::Result<bool> {
    sqlx::query(
        "UPDATE runs SET phase = 'running', started_at = ?, lease_until = ?, env_names = ?, sandbox = ?
         WHERE id = ? AND phase = 'queued'",
    )
    .bind(now)
    .bind(lease_until)
    .bind(env_names)
    .bind(sandbox)
    .bind(id)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// Records the started program: its process group and its identity.
pub async fn set_process(
    db: impl SqliteExecutor<'_>,
    id: i64,
    pid: Option<i32>,
    process: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE runs SET pid = ?, process = ? WHERE id = ? AND phase = 'running'")
        .bind(pid)
        .bind(process)
        .bind(id)
        .execute(db)
        .await
        .map(drop)
}

/// Extends a running run's lease; false when the run is no longer running (its lease
/// lapsed and it was failed), so its executor must stop the program.
pub async fn renew(db: impl SqliteExecutor<'_>, id: i64, until: DateTime<Utc>) -> sqlx::Result<bool> {
    sqlx::query("UPDATE runs SET lease_until = ? WHERE id = ? AND phase = 'running'")
        .bind(until)
        .bind(id)
        .execute(db)
        .await
        .map(|r| r.rows_affected() == 1)
}
