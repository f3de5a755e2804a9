//! Connections (a tenant × a connector, the `connections` table): status, sealed
//! credentials and the magic link token.

use crate::domain::connector::{AuthKind, ConnectionStatus};
use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteExecutor};

/// A tenant's connection with its connector's definition.
#[derive(Debug, FromRow)]
pub struct ConnectionRow {
    pub connector_name: String,
    pub display_name: String,
    pub auth: AuthKind,
    pub definition: String,
    pub info: String,
    pub status: ConnectionStatus,
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

/// A connection found by its magic link token.
#[derive(Debug, FromRow)]
pub struct MagicRow {
    pub connection_id: i64,
    pub tenant_id: i64,
    pub connector_name: String,
    pub status: ConnectionStatus,
    pub integration_name: String,
    pub archived: bool,
}

/// The connection whose magic link token this is, with its tenant's state.
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
