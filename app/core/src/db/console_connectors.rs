//! Connectors an admin enabled from the catalogue or wrote in the console.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteExecutor};

#[derive(Clone, Debug, FromRow)]
pub struct ConsoleConnectorRow {
    pub name: String,
    /// `catalogue` or `custom`.
    pub origin: String,
    /// The YAML of a custom connector.
    pub definition: String,
    pub client_id: String,
    /// Sealed with the hub key.
    pub client_secret: Option<Vec<u8>>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

const COLUMNS: &str = "name, origin, definition, client_id, client_secret, updated_at, updated_by";

pub async fn all(db: impl SqliteExecutor<'_>) -> sqlx::Result<Vec<ConsoleConnectorRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM console_connectors ORDER BY name")).fetch_all(db).await
}

pub async fn get(db: impl SqliteExecutor<'_>, name: &str) -> sqlx::Result<Option<ConsoleConnectorRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM console_connectors WHERE name = ?"))
        .bind(name)
        .fetch_optional(db)
        .await
}

/// Adds the connector or replaces what is stored for it.
pub async fn put(db: impl SqliteExecutor<'_>, row: &ConsoleConnectorRow) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO console_connectors (name, origin, definition, client_id, client_secret, updated_at, updated_by)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET origin = excluded.origin, definition = excluded.definition,
             client_id = excluded.client_id, client_secret = excluded.client_secret,
             updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(&row.name)
    .bind(&row.origin)
    .bind(&row.definition)
    .bind(&row.client_id)
    .bind(&row.client_secret)
    .bind(row.updated_at)
    .bind(&row.updated_by)
    .execute(db)
    .await
    .map(drop)
}

/// Removes it; false when there was none.
pub async fn delete(db: impl SqliteExecutor<'_>, name: &str) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM console_connectors WHERE name = ?").bind(name).execute(db).await?;
    Ok(done.rows_affected() > 0)
}

/// Who uses a connector: the integrations that name it and their tenants that are
/// not archived.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, FromRow)]
pub struct Usage {
    pub integrations: i64,
    pub tenants: i64,
}

pub async fn usage(db: impl SqliteExecutor<'_>, name: &str) -> sqlx::Result<Usage> {
    sqlx::query_as(
        "SELECT count(*) AS integrations, coalesce(sum(i.live_tenants), 0) AS tenants
         FROM integration_connectors ic JOIN integrations i ON i.id = ic.integration_id
         WHERE ic.connector_name = ?",
    )
    .bind(name)
    .fetch_one(db)
    .await
}

/// The use of every connector some integration names, by name.
pub async fn usage_all(db: impl SqliteExecutor<'_>) -> sqlx::Result<Vec<(String, i64, i64)>> {
    sqlx::query_as(
        "SELECT ic.connector_name, count(*), coalesce(sum(i.live_tenants), 0)
         FROM integration_connectors ic JOIN integrations i ON i.id = ic.integration_id
         GROUP BY ic.connector_name",
    )
    .fetch_all(db)
    .await
}
