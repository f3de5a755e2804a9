//! Tenants (one customer's installed instance of an integration): the row, its setup
//! steps, configuration, schedule, release choice, marketplace owner and metadata.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteExecutor};

use crate::domain::release::ReleaseChoice;
use crate::domain::run::Phase;
use crate::domain::tenant::{SetupStep, Source};

#[derive(Debug, FromRow)]
pub struct TenantBriefRow {
    pub id: i64,
    pub name: String,
    pub release_choice: String,
    pub release_id: Option<i64>,
    pub release_name: Option<String>,
    pub paused: bool,
    pub created_at: DateTime<Utc>,
}

impl TenantBriefRow {
    pub fn choice(&self) -> Option<ReleaseChoice> {
        ReleaseChoice::from_parts(&self.release_choice, self.release_id)
    }
}

/// The tenants of an integration that are not archived, by name.
pub async fn list_for_integration(
    db: impl SqliteExecutor<'_>,
    integration_id: i64,
) -> sqlx::Result<Vec<TenantBriefRow>> {
    sqlx::query_as(
        "SELECT t.id, t.name, t.release_choice, t.release_id, r.name AS release_name, t.paused, t.created_at
         FROM tenants t LEFT JOIN releases r ON r.id = t.release_id
         WHERE t.integration_id = ? AND t.archived = 0
         ORDER BY t.name",
    )
    .bind(integration_id)
    .fetch_all(db)
    .await
}

#[derive(Debug, FromRow)]
pub struct TenantRow {
    pub id: i64,
    pub integration_id: i64,
    pub integration_name: String,
    pub organization_id: i64,
    pub name: String,
    pub release_choice: String,
    pub release_id: Option<i64>,
    pub configs: String,
    pub dynamic_options: String,
    pub schedule_kind: String,
    pub schedule: String,
    pub timezone: String,
    pub paused: bool,
    pub archived: bool,
    pub source: Source,
    pub setup_step: SetupStep,
    pub draft: Option<String>,
    pub next_fire_at: Option<DateTime<Utc>>,
    pub last_run_phase: Option<Phase>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The marketplace user (`sub`) the tenant belongs to, with the name and email
    /// their token gave.
    pub external_user: Option<String>,
    pub external_name: Option<String>,
    pub external_email: Option<String>,
}

impl TenantRow {
    pub fn choice(&self) -> Option<ReleaseChoice> {
        ReleaseChoice::from_parts(&self.release_choice, self.release_id)
    }

    pub fn step(&self) -> SetupStep {
        self.setup_step
    }
}

/// The select of a `TenantRow`, to which a query adds its WHERE clause.
const TENANT_ROW: &str = "SELECT t.id, t.integration_id, i.name AS integration_name, i.organization_id, t.name,
        t.release_choice, t.release_id, t.configs, t.dynamic_options, t.schedule_kind, t.schedule, t.timezone,
        t.paused, t.archived, t.source, t.setup_step, t.draft, t.next_fire_at, t.last_run_phase, t.last_run_at,
        t.created_at, t.updated_at, t.external_user, t.external_name, t.external_email
    FROM tenants t JOIN integrations i ON i.id = t.integration_id";

pub async fn get(db: impl SqliteExecutor<'_>, id: i64) -> sqlx::Result<Option<TenantRow>> {
    sqlx::query_as(&format!("{TENANT_ROW} WHERE t.id = ?")).bind(id).fetch_optional(db).await
}

/// The tenants of `ids` that exist, in no particular order.
pub async fn get_many(db: impl SqliteExecutor<'_>, ids: &[i64]) -> sqlx::Result<Vec<TenantRow>> {
    let list = serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned());
    sqlx::query_as(&format!("{TENANT_ROW} WHERE t.id IN (SELECT value FROM json_each(?))"))
        .bind(list)
        .fetch_all(db)
        .await
}

/// Which of `names` the integration's tenants (archived ones too) already use.
pub async fn names_taken(
    db: impl SqliteExecutor<'_>,
    integration_id: i64,
    names: &[String],
) -> sqlx::Result<Vec<String>> {
    let list = serde_json::to_string(names).unwrap_or_else(|_| "[]".to_owned());
    sqlx::query_scalar("SELECT name FROM tenants WHERE integration_id = ? AND name IN (SELECT value FROM json_each(?))")
        .bind(integration_id)
        .bind(list)
        .fetch_all(db)
        .await
}

/// When one marketplace user's installs (uninstalled ones too) since `since` were made.
pub async fn installed_since(
    db: impl SqliteExecutor<'_>,
    sub: &str,
    since: DateTime<Utc>,
) -> sqlx::Result<Vec<DateTime<Utc>>> {
    sqlx::query_scalar(
        "SELECT created_at FROM tenants WHERE external_user = ? AND source = 'marketplace' AND created_at > ?",
    )
    .bind(sub)
    .bind(since)
    .fetch_all(db)
    .await
}

/// The live tenants of one marketplace user, oldest first.
pub async fn of_external(db: impl SqliteExecutor<'_>, sub: &str) -> sqlx::Result<Vec<TenantRow>> {
    sqlx::query_as(&format!("{TENANT_ROW} WHERE t.external_user = ? AND t.archived = 0 ORDER BY t.id"))
        .bind(sub)
        .fetch_all(db)
        .await
}

/// Links the tenant to a marketplace user (or with `None` unlinks it).
pub async fn set_external(
    db: impl SqliteExecutor<'_>,
    id: i64,
    user: Option<(&str, Option<&str>, Option<&str>)>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let (sub, name, email) = user.map_or((None, None, None), |(s, n, e)| (Some(s), n, e));
    sqlx::query(
        "UPDATE tenants SET external_user = ?, external_name = ?, external_email = ?, updated_at = ?
         WHERE id = ? AND archived = 0",
    )
    .bind(sub)
    .bind(name)
    .bind(email)
    .bind(now)
    .bind(id)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

pub struct NewTenant<'a> {
    pub integration_id: i64,
    pub name: &'a str,
    pub choice: ReleaseChoice,
    pub configs: &'a str,
    pub source: Source,
    pub setup_step: SetupStep,
    pub created_by: Option<i64>,
}

/// A new tenant, paused and on the daily preset until its schedule is saved.
pub async fn insert(db: impl SqliteExecutor<'_>, t: &NewTenant<'_>, now: DateTime<Utc>) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO tenants (integration_id, name, release_choice, release_id, configs, source, setup_step,
                              created_by, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(t.integration_id)
    .bind(t.name)
    .bind(t.choice.kind())
    .bind(t.choice.release_id())
    .bind(t.configs)
    .bind(t.source.as_str())
    .bind(t.setup_step.as_str())
    .bind(t.created_by)
    .bind(now)
    .bind(now)
    .fetch_one(db)
    .await
}

pub async fn set_step(db: impl SqliteExecutor<'_>, id: i64, step: SetupStep, now: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query("UPDATE tenants SET setup_step = ?, updated_at = ? WHERE id = ?")
        .bind(step.as_str())
        .bind(now)
        .bind(id)
        .execute(db)
        .await
        .map(drop)
}

/// What the admin last typed into a step that failed (`None` clears it).
pub async fn set_draft(db: impl SqliteExecutor<'_>, id: i64, draft: Option<&str>) -> sqlx::Result<()> {
    sqlx::query("UPDATE tenants SET draft = ? WHERE id = ?").bind(draft).bind(id).execute(db).await.map(drop)
}

pub async fn set_configs(
    db: impl SqliteExecutor<'_>,
    id: i64,
    configs: &str,
    step: SetupStep,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE tenants SET configs = ?, setup_step = ?, updated_at = ? WHERE id = ?")
        .bind(configs)
        .bind(step.as_str())
        .bind(now)
        .bind(id)
        .execute(db)
        .await
        .map(drop)
}

pub struct ScheduleUpdate<'a> {
    pub kind: &'a str,
    pub schedule: &'a str,
    pub timezone: &'a str,
    pub paused: bool,
    /// `None` while paused.
    pub next_fire_at: Option<DateTime<Utc>>,
    pub step: SetupStep,
}

pub async fn set_schedule(
    db: impl SqliteExecutor<'_>,
    id: i64,
    s: &ScheduleUpdate<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE tenants SET schedule_kind = ?, schedule = ?, timezone = ?, paused = ?, next_fire_at = ?,
                setup_step = ?, updated_at = ?
         WHERE id = ?",
    )
    .bind(s.kind)
    .bind(s.schedule)
    .bind(s.timezone)
    .bind(s.paused)
    .bind(s.next_fire_at)
    .bind(s.step.as_str())
    .bind(now)
    .bind(id)
    .execute(db)
    .await
    .map(drop)
}

/// Archives a tenant: it leaves the list and never runs again.
pub async fn archive(db: impl SqliteExecutor<'_>, id: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    sqlx::query("UPDATE tenants SET archived = 1, next_fire_at = NULL, updated_at = ? WHERE id = ? AND archived = 0")
        .bind(now)
        .bind(id)
        .execute(db)
        .await
        .map(|r| r.rows_affected() == 1)
}

/// Changes the release choice (Settings → Version).
pub async fn set_release_choice(
    db: impl SqliteExecutor<'_>,
    id: i64,
    choice: ReleaseChoice,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE tenants SET release_choice = ?, release_id = ?, updated_at = ? WHERE id = ?")
        .bind(choice.kind())
        .bind(choice.release_id())
        .bind(now)
        .bind(id)
        .execute(db)
        .await
        .map(drop)
}

/// A page of live tenants (of one integration when given) for the REST API, sorted by
/// `sort` (a column the caller has checked against its allow-list), and how many match.
pub async fn page(
    db: &sqlx::SqlitePool,
    integration: Option<i64>,
    sort: (&'static str, bool),
    limit: i64,
    skip: i64,
) -> sqlx::Result<(Vec<TenantRow>, i64)> {
    let (column, desc) = sort;
    let dir = if desc { "DESC" } else { "ASC" };
    let sql = format!(
        "{TENANT_ROW}
         WHERE t.archived = 0 AND (?1 IS NULL OR t.integration_id = ?1)
         ORDER BY t.{column} {dir}, t.id {dir} LIMIT ?2 OFFSET ?3"
    );
    let rows = sqlx::query_as(&sql).bind(integration).bind(limit).bind(skip).fetch_all(db);
    // The count and the page on two connections at once: in turn, each waited for a
    // connection under load.
    let (total, rows) = tokio::try_join!(super::tenant_list::live_count(db, None, integration), rows)?;
    Ok((rows, total))
}

/// Replaces the tenant's metadata (already checked by the caller).
pub async fn set_metadata(
    db: impl SqliteExecutor<'_>,
    id: i64,
    metadata: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE tenants SET metadata = ?, updated_at = ? WHERE id = ?")
        .bind(metadata)
        .bind(now)
        .bind(id)
        .execute(db)
        .await
        .map(drop)
}

pub async fn metadata(db: impl SqliteExecutor<'_>, id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT metadata FROM tenants WHERE id = ?").bind(id).fetch_optional(db).await
}
