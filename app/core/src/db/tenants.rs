//! Tenants (one customer's installed instance of an integration) and their
//! connections (tenant × connector).

use chrono::{DateTime, Utc};
use sqlx::{FromRow, QueryBuilder, Sqlite, SqliteExecutor};

use crate::domain::release::ReleaseChoice;
use crate::domain::tenant::{ListQuery, SetupStep, SortOrder, Source, StateFilter, PAGE_SIZE};

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
    pub source: String,
    pub setup_step: String,
    pub draft: Option<String>,
    pub next_fire_at: Option<DateTime<Utc>>,
    pub last_run_phase: Option<String>,
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
        SetupStep::parse(&self.setup_step).unwrap_or(SetupStep::Done)
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

/// Whether the integration has a tenant (live or archived) with this name.
pub async fn name_taken(db: impl SqliteExecutor<'_>, integration_id: i64, name: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tenants WHERE integration_id = ? AND name = ?)")
        .bind(integration_id)
        .bind(name)
        .fetch_one(db)
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

#[derive(Debug, FromRow)]
pub struct ConnectionRow {
    pub connector_name: String,
    pub display_name: String,
    pub auth: String,
    pub definition: String,
    pub info: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub status_changed_at: DateTime<Utc>,
    pub magic_token: String,
    pub credentials: Option<Vec<u8>>,
}

/// The connections of a tenant, in the integration's connector order.
pub async fn connections(db: impl SqliteExecutor<'_>, tenant_id: i64) -> sqlx::Result<Vec<ConnectionRow>> {
    sqlx::query_as(
        "SELECT c.connector_name, k.display_name, k.auth, k.definition, k.info, c.status, c.status_reason,
                c.status_changed_at, c.magic_token, c.credentials
         FROM connections c
         JOIN tenants t ON t.id = c.tenant_id
         JOIN connectors k ON k.name = c.connector_name
         LEFT JOIN integration_connectors ic ON ic.integration_id = t.integration_id AND ic.connector_name = c.connector_name
         WHERE c.tenant_id = ?
         ORDER BY ic.position, c.connector_name",
    )
    .bind(tenant_id)
    .fetch_all(db)
    .await
}

/// A tenant's connection to one connector, disconnected, with its magic link token.
pub async fn insert_connection(
    db: impl SqliteExecutor<'_>,
    tenant_id: i64,
    connector: &str,
    magic_token: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO connections (tenant_id, connector_name, status, status_changed_at, magic_token)
         VALUES (?, ?, 'disconnected', ?, ?)",
    )
    .bind(tenant_id)
    .bind(connector)
    .bind(now)
    .bind(magic_token)
    .execute(db)
    .await
    .map(drop)
}

/// Stores sealed credentials and marks the connection connected.
pub async fn connect(
    db: impl SqliteExecutor<'_>,
    tenant_id: i64,
    connector: &str,
    sealed: &[u8],
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    sqlx::query(
        "UPDATE connections SET credentials = ?, status = 'connected', status_reason = NULL, status_changed_at = ?
         WHERE tenant_id = ? AND connector_name = ?",
    )
    .bind(sealed)
    .bind(now)
    .bind(tenant_id)
    .bind(connector)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// One row of the tenants list.
#[derive(Debug, FromRow)]
pub struct TenantListRow {
    pub id: i64,
    pub name: String,
    pub integration_id: i64,
    pub integration_name: String,
    pub release_choice: String,
    pub release_id: Option<i64>,
    pub release_name: Option<String>,
    pub schedule_kind: String,
    pub schedule: String,
    pub timezone: String,
    pub paused: bool,
    pub setup_step: String,
    pub source: String,
    pub last_run_phase: Option<String>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub next_fire_at: Option<DateTime<Utc>>,
    pub disconnected: i64,
}

impl TenantListRow {
    pub fn choice(&self) -> Option<ReleaseChoice> {
        ReleaseChoice::from_parts(&self.release_choice, self.release_id)
    }
}

/// The phases that count as a failed run.
const FAILED: &str = "t.last_run_phase LIKE 'failed%'";

fn filters<'a>(b: &mut QueryBuilder<'a, Sqlite>, q: &'a ListQuery, organization: Option<i64>) {
    b.push(" WHERE t.archived = 0");
    if let Some(org) = organization {
        b.push(" AND t.integration_id IN (SELECT id FROM integrations WHERE organization_id = ")
            .push_bind(org)
            .push(")");
    }
    if let Some(i) = q.integration {
        b.push(" AND t.integration_id = ").push_bind(i);
    }
    if !q.q.is_empty() {
        // `instr` is a plain substring test: no LIKE wildcards to escape.
        b.push(" AND instr(t.name, ").push_bind(q.q.to_lowercase()).push(") > 0");
    }
    match q.state {
        Some(StateFilter::Paused) => b.push(" AND t.paused = 1"),
        Some(StateFilter::Running) => b.push(" AND t.paused = 0"),
        Some(StateFilter::NotConnected) => b.push(" AND t.disconnected > 0"),
        Some(StateFilter::LastRunFailed) => b.push(" AND ").push(FAILED),
        Some(StateFilter::Unfinished) => b.push(" AND t.setup_step <> 'done'"),
        None => b,
    };
}

/// One page of the tenants list (only `organization`'s when given), how many tenants
/// match in all, and the page shown (the query's, kept within the pages there are).
pub async fn list(
    db: &sqlx::SqlitePool,
    q: &ListQuery,
    organization: Option<i64>,
) -> sqlx::Result<(Vec<TenantListRow>, i64, i64)> {
    let mut count = QueryBuilder::new("SELECT count(*) FROM tenants t");
    filters(&mut count, q, organization);
    let total: i64 = count.build_query_scalar().fetch_one(db).await?;
    // A page past the end shows the last one.
    let last_page = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let page = q.page.clamp(1, last_page);

    let mut b = QueryBuilder::new(
        "SELECT t.id, t.name, t.integration_id, i.name AS integration_name, t.release_choice, t.release_id,
                r.name AS release_name, t.schedule_kind, t.schedule, t.timezone, t.paused, t.setup_step, t.source,
                t.last_run_phase, t.last_run_at, t.next_fire_at, t.disconnected
         FROM tenants t
         JOIN integrations i ON i.id = t.integration_id
         LEFT JOIN releases r ON r.id = t.release_id",
    );
    filters(&mut b, q, organization);
    b.push(match q.sort {
        SortOrder::Name => " ORDER BY t.name, t.id",
        SortOrder::NameDesc => " ORDER BY t.name DESC, t.id DESC",
        SortOrder::Integration => " ORDER BY t.integration_id, t.name",
        SortOrder::Newest => " ORDER BY t.id DESC",
        // NULLs (never run) sort last in descending order, and the index serves it.
        SortOrder::LastRun => " ORDER BY t.last_run_at DESC, t.id DESC",
    });
    b.push(" LIMIT ").push_bind(PAGE_SIZE).push(" OFFSET ").push_bind((page - 1) * PAGE_SIZE);
    let rows = b.build_query_as().fetch_all(db).await?;
    Ok((rows, total, page))
}

/// A connection found by its magic link token.
#[derive(Debug, FromRow)]
pub struct MagicRow {
    pub connection_id: i64,
    pub tenant_id: i64,
    pub connector_name: String,
    pub status: String,
    pub integration_name: String,
    pub archived: bool,
}

pub async fn by_magic_token(db: impl SqliteExecutor<'_>, token: &str) -> sqlx::Result<Option<MagicRow>> {
    sqlx::query_as(
        "SELECT c.id AS connection_id, c.tenant_id, c.connector_name, c.status, i.name AS integration_name, t.archived
         FROM connections c JOIN tenants t ON t.id = c.tenant_id JOIN integrations i ON i.id = t.integration_id
         WHERE c.magic_token = ?",
    )
    .bind(token)
    .fetch_optional(db)
    .await
}

pub async fn insert_oauth_state(
    db: impl SqliteExecutor<'_>,
    state_hash: &str,
    connection_id: i64,
    sealed_verifier: &[u8],
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO oauth_states (state_hash, connection_id, verifier, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(state_hash)
    .bind(connection_id)
    .bind(sealed_verifier)
    .bind(now)
    .bind(expires_at)
    .execute(db)
    .await
    .map(drop)
}

/// A started authorization, claimed by its callback.
#[derive(Debug, FromRow)]
pub struct ClaimedState {
    pub magic_token: String,
    pub verifier: Vec<u8>,
}

/// Marks a state used and returns it, when it exists, was not used and has not
/// expired; in one statement, so two callbacks with the same state cannot both win.
pub async fn claim_oauth_state(
    db: &sqlx::SqlitePool,
    state_hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<ClaimedState>> {
    let claimed: Option<(i64, Vec<u8>)> = sqlx::query_as(
        "UPDATE oauth_states SET used_at = ?1
         WHERE state_hash = ?2 AND used_at IS NULL AND expires_at > ?1
         RETURNING connection_id, verifier",
    )
    .bind(now)
    .bind(state_hash)
    .fetch_optional(db)
    .await?;
    // Old attempts are of no use to anyone: drop them while here.
    sqlx::query("DELETE FROM oauth_states WHERE expires_at < ?")
        .bind(now - chrono::Duration::days(1))
        .execute(db)
        .await?;
    let Some((connection_id, verifier)) = claimed else { return Ok(None) };
    let token: String = sqlx::query_scalar("SELECT magic_token FROM connections WHERE id = ?")
        .bind(connection_id)
        .fetch_one(db)
        .await?;
    Ok(Some(ClaimedState { magic_token: token, verifier }))
}

/// The sealed credentials of a connection, when it has any.
pub async fn credentials(
    db: impl SqliteExecutor<'_>,
    tenant_id: i64,
    connector: &str,
) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar("SELECT credentials FROM connections WHERE tenant_id = ? AND connector_name = ?")
        .bind(tenant_id)
        .bind(connector)
        .fetch_optional(db)
        .await
        .map(Option::flatten)
}

/// Replaces the sealed tokens after a refresh, leaving the status as it is.
pub async fn store_refreshed(
    db: impl SqliteExecutor<'_>,
    tenant_id: i64,
    connector: &str,
    sealed: &[u8],
) -> sqlx::Result<()> {
    sqlx::query("UPDATE connections SET credentials = ? WHERE tenant_id = ? AND connector_name = ?")
        .bind(sealed)
        .bind(tenant_id)
        .bind(connector)
        .execute(db)
        .await
        .map(drop)
}

/// Marks a connection as failed with the reason, keeping its credentials.
pub async fn mark_error(
    db: impl SqliteExecutor<'_>,
    tenant_id: i64,
    connector: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE connections SET status = 'error', status_reason = ?, status_changed_at = ?
         WHERE tenant_id = ? AND connector_name = ?",
    )
    .bind(reason)
    .bind(now)
    .bind(tenant_id)
    .bind(connector)
    .execute(db)
    .await
    .map(drop)
}

/// Removes the credentials; the magic link token stays.
pub async fn disconnect(
    db: impl SqliteExecutor<'_>,
    tenant_id: i64,
    connector: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    sqlx::query(
        "UPDATE connections SET credentials = NULL, status = 'disconnected', status_reason = NULL, status_changed_at = ?
         WHERE tenant_id = ? AND connector_name = ?",
    )
    .bind(now)
    .bind(tenant_id)
    .bind(connector)
    .execute(db)
    .await
    .map(|r| r.rows_affected() == 1)
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

/// Sets the tenant's inbound webhook token (its hash, and sealed for showing again).
pub async fn set_webhook(db: impl SqliteExecutor<'_>, id: i64, hash: &str, sealed: &[u8]) -> sqlx::Result<bool> {
    let done = sqlx::query("UPDATE tenants SET webhook_hash = ?, webhook_sealed = ? WHERE id = ? AND NOT archived")
        .bind(hash)
        .bind(sealed)
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The sealed webhook token of a tenant, when it has one.
pub async fn webhook_sealed(db: impl SqliteExecutor<'_>, id: i64) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar("SELECT webhook_sealed FROM tenants WHERE id = ?")
        .bind(id)
        .fetch_optional(db)
        .await
        .map(Option::flatten)
}

/// The live tenant whose webhook token has this hash.
pub async fn by_webhook_hash(db: impl SqliteExecutor<'_>, hash: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT id FROM tenants WHERE webhook_hash = ? AND NOT archived")
        .bind(hash)
        .fetch_optional(db)
        .await
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
    let total: i64 =
        sqlx::query_scalar("SELECT count(*) FROM tenants WHERE archived = 0 AND (?1 IS NULL OR integration_id = ?1)")
            .bind(integration)
            .fetch_one(db)
            .await?;
    let (column, desc) = sort;
    let dir = if desc { "DESC" } else { "ASC" };
    let rows = sqlx::query_as(&format!(
        "{TENANT_ROW}
         WHERE t.archived = 0 AND (?1 IS NULL OR t.integration_id = ?1)
         ORDER BY t.{column} {dir}, t.id {dir} LIMIT ?2 OFFSET ?3"
    ))
    .bind(integration)
    .bind(limit)
    .bind(skip)
    .fetch_all(db)
    .await?;
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
