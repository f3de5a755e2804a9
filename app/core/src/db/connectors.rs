//! The connectors table: a mirror of the definitions loaded (at start, and after each
//! change in the console), so that integrations and connections can name them.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteExecutor};

use crate::domain::connector::Connector;

#[derive(Debug, FromRow)]
pub struct ConnectorRow {
    pub name: String,
    pub display_name: String,
    pub auth: String,
    pub info: String,
    /// JSON: the definition without its client secret, and the missing variables.
    pub definition: String,
}

/// Records a loaded definition. The client secret is not stored here: it is in the
/// environment, or sealed with the console's connectors.
pub async fn upsert(
    db: impl SqliteExecutor<'_>,
    c: &Connector,
    missing_vars: &[String],
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let mut public = c.clone();
    if let Some(o) = public.oauth2.as_mut() {
        o.client_secret.clear();
    }
    let definition = serde_json::json!({ "connector": public, "missing_vars": missing_vars });
    sqlx::query(
        "INSERT INTO connectors (name, display_name, auth, info, definition, loaded_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET display_name = excluded.display_name, auth = excluded.auth,
             info = excluded.info, definition = excluded.definition, loaded_at = excluded.loaded_at",
    )
    .bind(&c.name)
    .bind(&c.display_name)
    .bind(c.auth.as_str())
    .bind(&c.info)
    .bind(definition.to_string())
    .bind(now)
    .execute(db)
    .await
    .map(drop)
}

pub async fn list(db: impl SqliteExecutor<'_>) -> sqlx::Result<Vec<ConnectorRow>> {
    sqlx::query_as(
        "SELECT name, display_name, auth, info, definition FROM connectors ORDER BY display_name COLLATE NOCASE",
    )
    .fetch_all(db)
    .await
}

pub async fn names(db: impl SqliteExecutor<'_>) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT name FROM connectors ORDER BY name").fetch_all(db).await
}

/// Forgets a connector no integration names and no connection holds credentials for;
/// false when something still refers to it (the row then stays).
pub async fn delete_unused(db: impl SqliteExecutor<'_>, name: &str) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "DELETE FROM connectors WHERE name = ?1
           AND NOT EXISTS (SELECT 1 FROM integration_connectors WHERE connector_name = ?1)
           AND NOT EXISTS (SELECT 1 FROM connections WHERE connector_name = ?1)",
    )
    .bind(name)
    .execute(db)
    .await?;
    Ok(done.rows_affected() > 0)
}
