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

/// Tenants with waiting triggers and no queued or running run, fairly: a tenant's
/// owner is its marketplace user, else its organization, and each owner's k-th
/// waiting tenant comes after every owner's (k-1)-th, counting the runs the owner
/// already has in flight; oldest first among equals. So one organization or end user
/// with many waiting tenants cannot starve the others of the slots.
pub async fn ready_tenants(db: impl SqliteExecutor<'_>, limit: i64) -> sqlx::Result<Vec<i64>> {
    const OWNER: &str =
        "CASE WHEN t.external_user IS NOT NULL THEN 'u:' || t.external_user ELSE 'o:' || i.organization_id END";
    sqlx::query_scalar(&format!(
        "WITH ready AS (
             SELECT w.tenant_id, min(w.id) AS first FROM run_triggers w
             WHERE w.run_id IS NULL
               AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.tenant_id = w.tenant_id AND r.phase IN ('queued', 'running'))
             GROUP BY w.tenant_id
         ),
         waiting AS (
             SELECT r.tenant_id, r.first, {OWNER} AS owner
             FROM ready r JOIN tenants t ON t.id = r.tenant_id JOIN integrations i ON i.id = t.integration_id
         ),
         busy AS (
             SELECT {OWNER} AS owner, count(*) AS n
             FROM runs x JOIN tenants t ON t.id = x.tenant_id JOIN integrations i ON i.id = t.integration_id
             WHERE x.phase IN ('queued', 'running') GROUP BY 1
         ),
         turns AS (
             SELECT w.tenant_id, w.first,
                    coalesce(b.n, 0) + row_number() OVER (PARTITION BY w.owner ORDER BY w.first) AS turn
             FROM waiting w LEFT JOIN busy b ON b.owner = w.owner
         )
         SELECT tenant_id FROM turns ORDER BY turn, first LIMIT ?"
    ))
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

/// The waiting triggers of the tenants of `ids`, by tenant, oldest first.
pub async fn waiting_of(db: impl SqliteExecutor<'_>, ids: &[i64]) -> sqlx::Result<Vec<(i64, WaitingRow)>> {
    #[derive(FromRow)]
    struct Row {
        tenant_id: i64,
        #[sqlx(flatten)]
        waiting: WaitingRow,
    }
    let list = serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned());
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT tenant_id, id, kind, mode FROM run_triggers
         WHERE tenant_id IN (SELECT value FROM json_each(?)) AND run_id IS NULL ORDER BY tenant_id, id",
    )
    .bind(list)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.tenant_id, r.waiting)).collect())
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

/// When the triggers that count against a fair-use limit were made since `since`:
/// webhook calls to one tenant, the syncs one marketplace user asked for (by its
/// `created_by`), or those an organization's people and keys asked for.
pub enum Asked<'a> {
    Webhooks { tenant_id: i64 },
    By { created_by: &'a str },
    Organization { organization_id: i64 },
}

pub async fn asked_since(
    db: impl SqliteExecutor<'_>,
    asked: Asked<'_>,
    since: DateTime<Utc>,
) -> sqlx::Result<Vec<DateTime<Utc>>> {
    match asked {
        Asked::Webhooks { tenant_id } => {
            sqlx::query_scalar(
                "SELECT created_at FROM run_triggers WHERE tenant_id = ? AND kind = 'webhook' AND created_at > ?",
            )
            .bind(tenant_id)
            .bind(since)
            .fetch_all(db)
            .await
        }
        Asked::By { created_by } => {
            // A setup's init sync is not counted (`service::runs::request_setup_sync`).
            sqlx::query_scalar(
                "SELECT created_at FROM run_triggers WHERE created_by = ? AND created_at > ? AND mode <> 'init'",
            )
            .bind(created_by)
            .bind(since)
            .fetch_all(db)
            .await
        }
        Asked::Organization { organization_id } => {
            sqlx::query_scalar(
                "SELECT w.created_at FROM run_triggers w
                 JOIN tenants t ON t.id = w.tenant_id JOIN integrations i ON i.id = t.integration_id
                 WHERE w.created_at > ? AND w.kind IN ('manual', 'api') AND i.organization_id = ?
                   AND w.created_by IS NOT NULL AND w.created_by NOT LIKE 'marketplace %'",
            )
            .bind(since)
            .bind(organization_id)
            .fetch_all(db)
            .await
        }
    }
}
