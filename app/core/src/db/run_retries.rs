//! Retries (columns of the `runs` table): the next attempt of a run the platform
//! failed, a new run of the same triggers that waits before it may start.

use chrono::{DateTime, Utc};
use sqlx::SqliteExecutor;

/// Which try of its triggers run `id` is.
pub async fn attempt(db: impl SqliteExecutor<'_>, id: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT attempt FROM runs WHERE id = ?").bind(id).fetch_optional(db).await
}

/// Retries whose wait is over by `now`, oldest first, at most `limit`.
pub async fn due_retries(db: impl SqliteExecutor<'_>, now: DateTime<Utc>, limit: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT id FROM runs WHERE phase IN ('queued', 'running') AND phase = 'queued'
           AND not_before IS NOT NULL AND not_before <= ? ORDER BY not_before, id LIMIT ?",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// Takes a due retry for one executor: false when another dispatcher took it.
pub async fn claim_retry(db: impl SqliteExecutor<'_>, id: i64) -> sqlx::Result<bool> {
    sqlx::query("UPDATE runs SET not_before = NULL WHERE id = ? AND phase = 'queued' AND not_before IS NOT NULL")
        .bind(id)
        .execute(db)
        .await
        .map(|r| r.rows_affected() == 1)
}

/// When the first waiting retry may start, if one waits.
pub async fn next_retry(db: impl SqliteExecutor<'_>) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar("SELECT min(not_before) FROM runs WHERE phase = 'queued' AND not_before IS NOT NULL")
        .fetch_one(db)
        .await
}

/// Queues the next attempt of run `id` (which the platform failed), to start at
/// `not_before`, unless `max_attempts` were made or its tenant is archived. The new run
/// keeps the first attempt's triggers. Returns the new run.
pub async fn retry(
    tx: &mut sqlx::SqliteConnection,
    id: i64,
    max_attempts: i64,
    not_before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<i64>> {
    let inserted: Result<Option<i64>, sqlx::Error> = sqlx::query_scalar(
        "INSERT INTO runs (tenant_id, integration_id, release_id, mode, phase, queued_at, scheduled,
                           attempt, first_run, not_before)
         SELECT r.tenant_id, r.integration_id, r.release_id, r.mode, 'queued', ?, r.scheduled,
                r.attempt + 1, coalesce(r.first_run, r.id), ?
         FROM runs r JOIN tenants t ON t.id = r.tenant_id
         WHERE r.id = ? AND r.attempt < ? AND NOT t.archived
         RETURNING id",
    )
    .bind(now)
    .bind(not_before)
    .bind(id)
    .bind(max_attempts)
    .fetch_optional(&mut *tx)
    .await;
    match inserted {
        Ok(id) => Ok(id),
        // `runs_one_active`: the tenant has another run already; its triggers wait.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
        Err(e) => Err(e),
    }
}
