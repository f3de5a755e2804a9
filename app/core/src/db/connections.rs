//! Connections (a tenant × a connector, the `connections` table): status, sealed
//! credentials and the magic link (its token's hash, `magic_token`, and the token
//! sealed, `magic_sealed`), and the links that were replaced.

use crate::domain::connector::{AuthKind, ConnectionStatus};
use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteExecutor};

/// A tenant's connection with its connector's definition.
#[derive(Debug, FromRow)]
pub struct ConnectionRow {
    pub connection_id: i64,
    pub connector_name: String,
    pub display_name: String,
    pub auth: AuthKind,
    pub definition: String,
    pub info: String,
    pub status: ConnectionStatus,
    pub status_reason: Option<String>,
    pub status_changed_at: DateTime<Utc>,
    /// The magic link's token, sealed.
    pub magic_sealed: Option<Vec<u8>>,
    pub magic_issued_at: Option<DateTime<Utc>>,
    pub credentials: Option<Vec<u8>>,
}

impl ConnectionRow {
    /// Connected, or a connector that needs no credentials: nothing to connect or
    /// disconnect.
    pub fn settled(&self) -> bool {
        self.status == ConnectionStatus::Connected || self.auth == AuthKind::None
    }
}

/// The connections of a tenant, in the integration's connector order.
pub async fn connections(db: impl SqliteExecutor<'_>, tenant_id: i64) -> sqlx::Result<Vec<ConnectionRow>> {
    sqlx::query_as(
        "SELECT c.id AS connection_id, c.connector_name, k.display_name, k.auth, k.definition, k.info, c.status, c.status_reason,
                c.status_changed_at, c.magic_sealed, c.magic_issued_at, c.credentials
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

/// A magic link as stored: its token's hash and the token sealed.
pub struct StoredLink<'a> {
    pub hash: &'a str,
    pub sealed: &'a [u8],
}

/// A tenant's connection to one connector, disconnected, with its magic link.
pub async fn insert_connection(
    db: impl SqliteExecutor<'_>,
    tenant_id: i64,
    connector: &str,
    link: &StoredLink<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO connections (tenant_id, connector_name, status, status_changed_at, magic_token, magic_sealed,
                                  magic_issued_at)
         VALUES (?, ?, 'disconnected', ?, ?, ?, ?)",
    )
    .bind(tenant_id)
    .bind(connector)
    .bind(now)
    .bind(link.hash)
    .bind(link.sealed)
    .bind(now)
    .execute(db)
    .await
    .map(drop)
}

/// Gives a connection a new magic link, remembering the old one's hash as replaced
/// (`reason`: replaced, relinked, expired), and ends OAuth2 flows the old one started.
/// Returns false when there is no such connection.
pub async fn replace_link(
    db: &mut sqlx::SqliteConnection,
    connection_id: i64,
    link: &StoredLink<'_>,
    reason: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let old: Option<String> = sqlx::query_scalar("SELECT magic_token FROM connections WHERE id = ?")
        .bind(connection_id)
        .fetch_optional(&mut *db)
        .await?;
    let Some(old) = old else { return Ok(false) };
    sqlx::query("INSERT OR REPLACE INTO replaced_magic_links (hash, replaced_at, reason) VALUES (?, ?, ?)")
        .bind(&old)
        .bind(now)
        .bind(reason)
        .execute(&mut *db)
        .await?;
    sqlx::query("UPDATE connections SET magic_token = ?, magic_sealed = ?, magic_issued_at = ? WHERE id = ?")
        .bind(link.hash)
        .bind(link.sealed)
        .bind(now)
        .bind(connection_id)
        .execute(&mut *db)
        .await?;
    sqlx::query("DELETE FROM oauth_states WHERE connection_id = ?").bind(connection_id).execute(&mut *db).await?;
    Ok(true)
}

/// When and why the link whose token has this hash was replaced.
pub async fn replaced(db: impl SqliteExecutor<'_>, hash: &str) -> sqlx::Result<Option<(DateTime<Utc>, String)>> {
    sqlx::query_as("SELECT replaced_at, reason FROM replaced_magic_links WHERE hash = ?")
        .bind(hash)
        .fetch_optional(db)
        .await
}

/// Connections whose token is still in clear (made before links were sealed).
pub async fn clear_links(db: impl SqliteExecutor<'_>) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as("SELECT id, magic_token FROM connections WHERE magic_sealed IS NULL").fetch_all(db).await
}

/// Replaces a clear token by its hash and sealed copy, keeping the link working.
pub async fn seal_link(
    db: impl SqliteExecutor<'_>,
    connection_id: i64,
    link: &StoredLink<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE connections SET magic_token = ?, magic_sealed = ?, magic_issued_at = coalesce(magic_issued_at, ?)
         WHERE id = ? AND magic_sealed IS NULL",
    )
    .bind(link.hash)
    .bind(link.sealed)
    .bind(now)
    .bind(connection_id)
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

/// A connection found by its magic link token.
#[derive(Debug, FromRow)]
pub struct MagicRow {
    pub connection_id: i64,
    pub tenant_id: i64,
    pub connector_name: String,
    pub status: ConnectionStatus,
    pub integration_name: String,
    pub archived: bool,
    pub magic_sealed: Option<Vec<u8>>,
    pub magic_issued_at: Option<DateTime<Utc>>,
    /// The hash of the link's token.
    pub link_hash: String,
}

const MAGIC_ROW: &str = "SELECT c.id AS connection_id, c.tenant_id, c.connector_name, c.status,
        i.name AS integration_name, t.archived, c.magic_sealed, c.magic_issued_at, c.magic_token AS link_hash
    FROM connections c JOIN tenants t ON t.id = c.tenant_id JOIN integrations i ON i.id = t.integration_id";

/// The connection whose magic link token has this hash, with its tenant's state.
pub async fn by_magic_hash(db: impl SqliteExecutor<'_>, hash: &str) -> sqlx::Result<Option<MagicRow>> {
    sqlx::query_as(&format!("{MAGIC_ROW} WHERE c.magic_token = ? AND c.magic_sealed IS NOT NULL"))
        .bind(hash)
        .fetch_optional(db)
        .await
}

/// A connection with its tenant's state, by id.
pub async fn magic_row(db: impl SqliteExecutor<'_>, connection_id: i64) -> sqlx::Result<Option<MagicRow>> {
    sqlx::query_as(&format!("{MAGIC_ROW} WHERE c.id = ?")).bind(connection_id).fetch_optional(db).await
}

/// The id of a tenant's connection to `connector`.
pub async fn connection_id(db: impl SqliteExecutor<'_>, tenant_id: i64, connector: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT id FROM connections WHERE tenant_id = ? AND connector_name = ?")
        .bind(tenant_id)
        .bind(connector)
        .fetch_optional(db)
        .await
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

/// Replaces the sealed tokens after a refresh, leaving the status as it is, only
/// while the stored ones are still `before` (what the refresh started from; a
/// sealing is never the same twice). Returns false when they changed meanwhile.
pub async fn store_refreshed(
    db: impl SqliteExecutor<'_>,
    tenant_id: i64,
    connector: &str,
    sealed: &[u8],
    before: &[u8],
) -> sqlx::Result<bool> {
    sqlx::query("UPDATE connections SET credentials = ? WHERE tenant_id = ? AND connector_name = ? AND credentials = ?")
        .bind(sealed)
        .bind(tenant_id)
        .bind(connector)
        .bind(before)
        .execute(db)
        .await
        .map(|r| r.rows_affected() == 1)
}

/// Marks a connection as failed with the reason, keeping its credentials, only while
/// the stored credentials are still `before` (what the failed refresh started from).
pub async fn mark_error(
    db: impl SqliteExecutor<'_>,
    tenant_id: i64,
    connector: &str,
    before: &[u8],
    reason: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE connections SET status = 'error', status_reason = ?, status_changed_at = ?
         WHERE tenant_id = ? AND connector_name = ? AND credentials = ?",
    )
    .bind(reason)
    .bind(now)
    .bind(tenant_id)
    .bind(connector)
    .bind(before)
    .execute(db)
    .await
    .map(drop)
}

/// Removes the credentials; the magic link stays.
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
