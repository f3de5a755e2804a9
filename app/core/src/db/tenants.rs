//! Tenants: one customer's installed instance of an integration.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteExecutor};

#[derive(Debug, FromRow)]
pub struct TenantListRow {
    pub id: i64,
    pub name: String,
    pub release_choice: String,
    pub release_name: Option<String>,
    pub paused: bool,
    pub created_at: DateTime<Utc>,
}

/// The tenants of an integration that are not archived, by name.
pub async fn list_for_integration(
    db: impl SqliteExecutor<'_>,
    integration_id: i64,
) -> sqlx::Result<Vec<TenantListRow>> {
    sqlx::query_as(
        "SELECT t.id, t.name, t.release_choice, r.name AS release_name, t.paused, t.created_at
         FROM tenants t LEFT JOIN releases r ON r.id = t.release_id
         WHERE t.integration_id = ? AND t.archived = 0
         ORDER BY t.name",
    )
    .bind(integration_id)
    .fetch_all(db)
    .await
}
