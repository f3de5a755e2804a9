//! Runs (the `runs` table): made from waiting triggers, started, finished onto their
//! tenant, listed and read; and the tenants the scheduler must fire or that failed.
//!
//! It is one file because these queries share the `runs` table's columns and its
//! indexes; triggers and log lines (tables of their own), leases and retries are in
//! the modules beside it.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, QueryBuilder, Sqlite, SqliteExecutor};

use crate::domain::run::{Mode, Phase};

/// Whether the tenant has a queued or running run.
pub async fn has_active(db: impl SqliteExecutor<'_>, tenant_id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM runs WHERE tenant_id = ? AND phase IN ('queued', 'running'))")
        .bind(tenant_id)
        .fetch_one(db)
        .await
}

pub struct NewRun<'a> {
    pub tenant_id: i64,
    pub integration_id: i64,
    pub release_id: Option<i64>,
    pub mode: Mode,
    pub scheduled: bool,
    pub triggers: &'a [i64],
}

/// Makes a queued run of the given waiting triggers. Returns `None`, having changed
/// nothing, when the tenant already has an active run or a trigger was taken
/// meanwhile: a trigger never goes into two runs. (With nothing to roll back, many
/// runs can be made in one transaction without a savepoint each.)
pub async fn create(
    tx: &mut sqlx::SqliteConnection,
    run: &NewRun<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<i64>> {
    // `runs_one_active`: a tenant with an active run gets no second one.
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO runs (tenant_id, integration_id, release_id, mode, phase, queued_at, scheduled)
         VALUES (?, ?, ?, ?, 'queued', ?, ?) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(run.tenant_id)
    .bind(run.integration_id)
    .bind(run.release_id)
    .bind(run.mode.as_str())
    .bind(now)
    .bind(run.scheduled)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = inserted else { return Ok(None) };
    let mut q: QueryBuilder<Sqlite> = QueryBuilder::new("UPDATE run_triggers SET run_id = ");
    q.push_bind(id).push(" WHERE run_id IS NULL AND id IN (");
    let mut list = q.separated(", ");
    for t in run.triggers {
        list.push_bind(*t);
    }
    q.push(")");
    let taken = q.build().execute(&mut *tx).await?.rows_affected();
    if taken != run.triggers.len() as u64 {
        // A trigger was taken meanwhile: the run is undone, with what it took.
        sqlx::query("UPDATE run_triggers SET run_id = NULL WHERE run_id = ?").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM runs WHERE id = ?").bind(id).execute(&mut *tx).await?;
        return Ok(None);
    }
    Ok(Some(id))
}

/// Records a scheduled slot that came while a run was going: a finished run in phase
/// `skipped`, with the reason.
pub async fn insert_skipped(
    db: impl SqliteExecutor<'_>,
    tenant_id: i64,
    integration_id: i64,
    reason: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO runs (tenant_id, integration_id, mode, phase, queued_at, finished_at, scheduled, error)
         VALUES (?, ?, 'normal', 'skipped', ?, ?, 1, ?) RETURNING id",
    )
    .bind(tenant_id)
    .bind(integration_id)
    .bind(now)
    .bind(now)
    .bind(reason)
    .fetch_one(db)
    .await
}

/// Queued runs that a stop left unstarted, oldest first. Retries are not among them:
/// only a dispatcher's `run_retries::claim_retry` hands a retry to an executor, so
/// that two executors never prepare the same run's files.
pub async fn queued(db: impl SqliteExecutor<'_>) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "SELECT id FROM runs WHERE phase IN ('queued', 'running') AND phase = 'queued' AND not_before IS NULL
         ORDER BY id",
    )
    .fetch_all(db)
    .await
}

/// How a run ended.
pub struct Outcome<'a> {
    pub phase: Phase,
    pub exit_code: Option<i32>,
    pub stdout_context: Option<&'a str>,
    pub error: Option<&'a str>,
    pub log_truncated: bool,
    /// What a successful run leaves on its tenant.
    pub kept: Option<Kept<'a>>,
}

/// What a successful run leaves for the tenant: the context for the next run, and
/// (from an init run) the dynamic configuration options, and the metadata.
pub struct Kept<'a> {
    pub context: Option<&'a str>,
    pub dynamic_options: Option<&'a str>,
    pub metadata: Option<&'a str>,
}

/// Finishes an active run and copies its phase onto the tenant. Returns false when
/// the run was not active (finished already).
pub async fn finish(
    tx: &mut sqlx::SqliteConnection,
    id: i64,
    o: &Outcome<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE runs SET phase = ?, finished_at = ?, exit_code = ?, stdout_context = ?, error = ?, log_truncated = ?,
                started_at = coalesce(started_at, ?)
         WHERE id = ? AND phase IN ('queued', 'running')",
    )
    .bind(o.phase.as_str())
    .bind(now)
    .bind(o.exit_code)
    .bind(o.stdout_context)
    .bind(o.error)
    .bind(o.log_truncated)
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if done {
        let kept = o.kept.as_ref();
        sqlx::query(
            "UPDATE tenants SET last_run_phase = ?, last_run_at = ?,
                    context = CASE WHEN ? THEN ? ELSE context END,
                    dynamic_options = coalesce(?, dynamic_options), metadata = coalesce(?, metadata)
             WHERE id = (SELECT tenant_id FROM runs WHERE id = ?)",
        )
        .bind(o.phase.as_str())
        .bind(now)
        .bind(kept.is_some())
        .bind(kept.and_then(|k| k.context))
        .bind(kept.and_then(|k| k.dynamic_options))
        .bind(kept.and_then(|k| k.metadata))
        .bind(id)
        .execute(&mut *tx)
        .await?;
    }
    Ok(done)
}

/// What a run needs to start, with what its tenant's previous runs left (one
/// statement: it is read before every run).
#[derive(Debug, FromRow)]
pub struct LaunchRow {
    pub id: i64,
    pub tenant_id: i64,
    pub tenant_name: String,
    pub integration_id: i64,
    pub integration_name: String,
    pub run_timeout_secs: Option<i64>,
    pub release_id: Option<i64>,
    pub mode: Mode,
    pub configs: String,
    pub metadata: String,
    /// The tenant's context as its last successful run printed it (the next run's
    /// input; the run's own record keeps it masked).
    pub context: Option<String>,
    /// How many of the tenant's connections are connected.
    pub connected: i64,
    /// The last finished run before this one (skipped slots do not count).
    pub last_started_at: Option<DateTime<Utc>>,
    pub last_finished_at: Option<DateTime<Utc>>,
    pub last_phase: Option<Phase>,
    /// The last successful run before this one.
    pub ok_started_at: Option<DateTime<Utc>>,
    pub ok_finished_at: Option<DateTime<Utc>>,
    pub had_success: bool,
}

/// What run `id` starts with. The last runs are found through the tenant's own runs
/// (`+p.phase` keeps the planner off the index of every run by phase, which it would
/// scan back through every tenant's successes to find this one's).
pub async fn launch(db: impl SqliteExecutor<'_>, id: i64) -> sqlx::Result<Option<LaunchRow>> {
    sqlx::query_as(
        "SELECT r.id, r.tenant_id, t.name AS tenant_name, t.integration_id, i.name AS integration_name,
                i.run_timeout_secs, r.release_id, r.mode, t.configs, t.metadata, t.context,
                (SELECT count(*) FROM connections c WHERE c.tenant_id = t.id AND c.status = 'connected') AS connected,
                l.started_at AS last_started_at, l.finished_at AS last_finished_at, l.phase AS last_phase,
                s.started_at AS ok_started_at, s.finished_at AS ok_finished_at,
                s.id IS NOT NULL AS had_success
         FROM runs r JOIN tenants t ON t.id = r.tenant_id JOIN integrations i ON i.id = t.integration_id
         LEFT JOIN runs l ON l.id = (SELECT p.id FROM runs p WHERE p.tenant_id = r.tenant_id AND p.id < r.id
                                       AND p.finished_at IS NOT NULL AND p.phase <> 'skipped' ORDER BY p.id DESC LIMIT 1)
         LEFT JOIN runs s ON s.id = (SELECT p.id FROM runs p WHERE p.tenant_id = r.tenant_id AND p.id < r.id
                                       AND +p.phase = 'succeeded' ORDER BY p.id DESC LIMIT 1)
         WHERE r.id = ?",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

/// A tenant the scheduler must fire.
#[derive(Debug, FromRow)]
pub struct DueRow {
    pub id: i64,
    pub integration_id: i64,
    pub schedule_kind: String,
    pub schedule: String,
    pub timezone: String,
    pub next_fire_at: DateTime<Utc>,
}

/// Running tenants whose next fire time has come, earliest first.
pub async fn due(db: impl SqliteExecutor<'_>, now: DateTime<Utc>, limit: i64) -> sqlx::Result<Vec<DueRow>> {
    sqlx::query_as(
        "SELECT id, integration_id, schedule_kind, schedule, timezone, next_fire_at FROM tenants
         WHERE next_fire_at IS NOT NULL AND next_fire_at <= ?
         ORDER BY next_fire_at LIMIT ?",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// The earliest next fire time of any running tenant.
pub async fn next_wake(db: impl SqliteExecutor<'_>) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar("SELECT next_fire_at FROM tenants WHERE next_fire_at IS NOT NULL ORDER BY next_fire_at LIMIT 1")
        .fetch_optional(db)
        .await
}

/// Moves a tenant's next fire time on, unless its schedule changed meanwhile.
pub async fn advance(
    db: impl SqliteExecutor<'_>,
    tenant_id: i64,
    fired: DateTime<Utc>,
    next: Option<DateTime<Utc>>,
) -> sqlx::Result<bool> {
    sqlx::query("UPDATE tenants SET next_fire_at = ? WHERE id = ? AND next_fire_at = ?")
        .bind(next)
        .bind(tenant_id)
        .bind(fired)
        .execute(db)
        .await
        .map(|r| r.rows_affected() == 1)
}

/// One run in a list.
#[derive(Debug, FromRow)]
pub struct RunListRow {
    pub id: i64,
    pub tenant_id: i64,
    pub tenant_name: String,
    pub integration_id: i64,
    pub integration_name: String,
    pub mode: Mode,
    pub phase: Phase,
    pub scheduled: bool,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The kinds of its triggers, comma-separated.
    pub trigger_kinds: Option<String>,
    /// Which try of its triggers this run is (1 for the first).
    pub attempt: i64,
    /// For a retry, the run of the first try.
    pub first_run: Option<i64>,
}

/// What the Activity page filters on.
#[derive(Clone, Debug, Default)]
pub struct RunFilter {
    pub phase: Option<Phase>,
    /// `failed`: any failed phase.
    pub failed: bool,
    pub integration_id: Option<i64>,
    pub tenant_id: Option<i64>,
    /// Only integrations of this organization.
    pub organization: Option<i64>,
    /// Runs with an id below this one (the next page).
    pub before: Option<i64>,
}

/// Runs newest first, filtered.
pub async fn list(db: impl SqliteExecutor<'_>, f: &RunFilter, limit: i64) -> sqlx::Result<Vec<RunListRow>> {
    let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
        "SELECT r.id, r.tenant_id, t.name AS tenant_name, t.integration_id, i.name AS integration_name, r.mode,
                r.phase, r.scheduled, r.queued_at, r.started_at, r.finished_at, r.attempt, r.first_run,
                (SELECT group_concat(kind) FROM run_triggers g WHERE g.run_id = coalesce(r.first_run, r.id))
                    AS trigger_kinds
         FROM runs r JOIN tenants t ON t.id = r.tenant_id JOIN integrations i ON i.id = t.integration_id
         WHERE 1 = 1",
    );
    if let Some(p) = f.phase {
        q.push(" AND r.phase = ").push_bind(p);
    }
    if f.failed {
        q.push(" AND r.phase LIKE 'failed%'");
    }
    if let Some(i) = f.integration_id {
        q.push(" AND r.integration_id = ").push_bind(i);
    }
    if let Some(t) = f.tenant_id {
        q.push(" AND r.tenant_id = ").push_bind(t);
    }
    if let Some(o) = f.organization {
        q.push(" AND i.organization_id = ").push_bind(o);
    }
    if let Some(b) = f.before {
        q.push(" AND r.id < ").push_bind(b);
    }
    q.push(" ORDER BY r.id DESC LIMIT ").push_bind(limit);
    q.build_query_as().fetch_all(db).await
}

/// One run in full, without its log.
#[derive(Debug, FromRow)]
pub struct RunRow {
    pub id: i64,
    pub tenant_id: i64,
    pub tenant_name: String,
    pub integration_id: i64,
    pub integration_name: String,
    pub organization_id: i64,
    pub release_name: Option<String>,
    pub mode: Mode,
    pub phase: Phase,
    pub scheduled: bool,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub exit_code: Option<i32>,
    pub stdout_context: Option<String>,
    pub log_bytes: i64,
    pub log_truncated: bool,
    pub error: Option<String>,
    pub env_names: Option<String>,
    /// What sandbox the run had.
    pub sandbox: Option<String>,
    /// Which try of its triggers this run is (1 for the first).
    pub attempt: i64,
    /// For a retry, the run of the first try.
    pub first_run: Option<i64>,
    /// When retention deleted the run's log.
    pub log_removed_at: Option<DateTime<Utc>>,
}

/// The select of a `RunRow`, to which a query adds its WHERE clause.
const RUN_ROW: &str = "SELECT r.id, r.tenant_id, t.name AS tenant_name, t.integration_id, i.name AS integration_name,
        i.organization_id, rel.name AS release_name, r.mode, r.phase, r.scheduled, r.queued_at, r.started_at,
        r.finished_at, r.exit_code, r.stdout_context, r.log_bytes, r.log_truncated, r.error, r.env_names, r.sandbox,
        r.attempt, r.first_run, r.log_removed_at
    FROM runs r JOIN tenants t ON t.id = r.tenant_id JOIN integrations i ON i.id = t.integration_id
    LEFT JOIN releases rel ON rel.id = r.release_id";

pub async fn get(db: impl SqliteExecutor<'_>, id: i64) -> sqlx::Result<Option<RunRow>> {
    sqlx::query_as(&format!("{RUN_ROW} WHERE r.id = ?")).bind(id).fetch_optional(db).await
}

/// A tenant whose last run failed.
#[derive(Debug, FromRow)]
pub struct FailingRow {
    pub id: i64,
    pub name: String,
    pub integration_name: String,
    pub last_run_phase: Phase,
    pub last_run_at: Option<DateTime<Utc>>,
}

/// Live tenants whose last run failed, by name.
pub async fn failing_tenants(
    db: impl SqliteExecutor<'_>,
    organization: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<FailingRow>> {
    let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
        "SELECT t.id, t.name, i.name AS integration_name, t.last_run_phase, t.last_run_at
         FROM tenants t JOIN integrations i ON i.id = t.integration_id
         WHERE t.archived = 0 AND t.last_run_phase LIKE 'failed%'",
    );
    if let Some(o) = organization {
        q.push(" AND i.organization_id = ").push_bind(o);
    }
    q.push(" ORDER BY t.name LIMIT ").push_bind(limit);
    q.build_query_as().fetch_all(db).await
}

/// A page of one tenant's runs for the REST API, sorted by `sort` (a column the caller
/// has checked against its allow-list), and how many there are.
pub async fn page(
    db: &sqlx::SqlitePool,
    tenant_id: i64,
    sort: (&'static str, bool),
    limit: i64,
    skip: i64,
) -> sqlx::Result<(Vec<RunRow>, i64)> {
    let total: i64 =
        sqlx::query_scalar("SELECT count(*) FROM runs WHERE tenant_id = ?").bind(tenant_id).fetch_one(db).await?;
    let (column, desc) = sort;
    let dir = if desc { "DESC" } else { "ASC" };
    let rows = sqlx::query_as(&format!(
        "{RUN_ROW}
         WHERE r.tenant_id = ?1
         ORDER BY r.{column} {dir}, r.id {dir} LIMIT ?2 OFFSET ?3"
    ))
    .bind(tenant_id)
    .bind(limit)
    .bind(skip)
    .fetch_all(db)
    .await?;
    Ok((rows, total))
}

/// What a run's events name: its tenant, its integration and its mode.
#[derive(Debug, FromRow)]
pub struct RunNames {
    pub tenant_id: i64,
    pub tenant_name: String,
    pub integration_id: i64,
    pub integration_name: String,
    pub mode: Mode,
}

pub async fn names(db: impl SqliteExecutor<'_>, run_id: i64) -> sqlx::Result<Option<RunNames>> {
    sqlx::query_as(
        "SELECT t.id AS tenant_id, t.name AS tenant_name, i.id AS integration_id, i.name AS integration_name, r.mode
         FROM runs r JOIN tenants t ON t.id = r.tenant_id JOIN integrations i ON i.id = r.integration_id
         WHERE r.id = ?",
    )
    .bind(run_id)
    .fetch_optional(db)
    .await
}
