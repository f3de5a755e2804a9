//! Run triggers (the `run_triggers` table): every reason to run, waiting until the
//! dispatcher makes it part of a run.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteExecutor};

use crate::domain::run::{Mode, Phase, TriggerKind};

/// Adds a trigger that waits for its run; returns its id.
pub async fn insert_trigger(
    db: impl SqliteExecutor<'_>,
    tenant_id: i64,
    kind: TriggerKind,
    mode: Mode,
    payload: Option<&str>,
    created_by: Option<&str>,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO run_triggers (tenant_id, kind, mode, payload, created_by, created_at)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(tenant_id)
    .bind(kind.as_str())
    .bind(mode.as_str())
    .bind(payload)
    .bind(created_by)
    .bind(now)
    .fetch_one(db)
    .await
}

/// Tenants with waiting triggers and no queued or running run.
pub async fn ready_tenants(db: impl SqliteExecutor<'_>, limit: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT DISTINCT w.tenant_id FROM run_triggers w
         WHERE w.run_id IS NULL
           AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.tenant_id = w.tenant_id AND r.phase IN ('queued', 'running'))
         LIMIT ?",
    )
    .bind(limit)
    .fetch_all(db)
    .await
}

/// A trigger waiting for its run.
#[derive(Debug, FromRow)]
pub struct WaitingRow {
    pub id: i64,
    pub kind: TriggerKind,
    pub mode: Mode,
}

/// A tenant's waiting triggers, oldest first.
pub async fn waiting(db: impl SqliteExecutor<'_>, tenant_id: i64) -> sqlx::Result<Vec<WaitingRow>> {
    sqlx::query_as("SELECT id, kind, mode FROM run_triggers WHERE tenant_id = ? AND run_id IS NULL ORDER BY id")
        .bind(tenant_id)
        .fetch_all(db)
        .await
}

/// One of the triggers a run was made of.
#[derive(Debug, FromRow)]
pub struct TriggerRow {
    pub kind: TriggerKind,
    pub mode: Mode,
    pub payload: Option<String>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The triggers a run was made of, oldest first.
pub async fn triggers_of(db: impl SqliteExecutor<'_>, run_id: i64) -> sqlx::Result<Vec<TriggerRow>> {
    // A retry runs the triggers of its first try.
    sqlx::query_as(
        "SELECT kind, mode, payload, created_by, created_at FROM run_triggers
         WHERE run_id = (SELECT coalesce(first_run, id) FROM runs WHERE id = ?) ORDER BY id",
    )
    .bind(run_id)
    .fetch_all(db)
    .await
}

/// A trigger and, once it was made into one, its run (its latest try).
#[derive(Debug, FromRow)]
pub struct TriggerStatusRow {
    pub id: i64,
    pub tenant_id: i64,
    pub kind: TriggerKind,
    pub mode: Mode,
    pub created_at: DateTime<Utc>,
    pub run_id: Option<i64>,
    pub phase: Option<Phase>,
}

/// A trigger and its run's phase, by the trigger's id.
pub async fn trigger_status(db: impl SqliteExecutor<'_>, id: i64) -> sqlx::Result<Option<TriggerStatusRow>> {
    sqlx::query_as(
        // The run is the latest try of the trigger's run (a retry, after a platform
        // failure).
        "SELECT w.id, w.tenant_id, w.kind, w.mode, w.created_at, r.id AS run_id, r.phase
         FROM run_triggers w
         LEFT JOIN runs r ON r.id = (SELECT x.id FROM runs x WHERE x.id = w.run_id OR x.first_run = w.run_id
                                     ORDER BY x.attempt DESC LIMIT 1)
         WHERE w.id = ?",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}
