//! The push events an integration's push URL received, newest kept.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteConnection, SqliteExecutor};

/// How many deliveries are kept per integration.
pub const KEPT: i64 = 50;

#[derive(Clone, Debug, FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub received_at: DateTime<Utc>,
    pub provider: String,
    pub event: String,
    pub git_ref: Option<String>,
    pub commit_sha: Option<String>,
    pub outcome: String,
    pub detail: String,
    pub release_id: Option<i64>,
}

pub struct NewDelivery<'a> {
    pub integration_id: i64,
    pub provider: &'a str,
    pub event: &'a str,
    pub git_ref: Option<&'a str>,
    pub commit_sha: Option<&'a str>,
    pub outcome: &'a str,
    pub detail: &'a str,
    pub release_id: Option<i64>,
}

/// Records a delivery and drops the integration's oldest beyond [`KEPT`].
pub async fn insert(tx: &mut SqliteConnection, d: &NewDelivery<'_>, now: DateTime<Utc>) -> sqlx::Result<i64> {
    let id = sqlx::query_scalar(
        "INSERT INTO push_deliveries (integration_id, received_at, provider, event, git_ref, commit_sha, outcome,
                                      detail, release_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(d.integration_id)
    .bind(now)
    .bind(d.provider)
    .bind(d.event)
    .bind(d.git_ref)
    .bind(d.commit_sha)
    .bind(d.outcome)
    .bind(d.detail)
    .bind(d.release_id)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM push_deliveries WHERE integration_id = ?1 AND id <=
             (SELECT id FROM push_deliveries WHERE integration_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
    )
    .bind(d.integration_id)
    .bind(KEPT)
    .execute(&mut *tx)
    .await?;
    Ok(id)
}

/// An integration's deliveries, newest first.
pub async fn list_for(db: impl SqliteExecutor<'_>, integration_id: i64) -> sqlx::Result<Vec<DeliveryRow>> {
    sqlx::query_as(
        "SELECT id, received_at, provider, event, git_ref, commit_sha, outcome, detail, release_id
         FROM push_deliveries WHERE integration_id = ? ORDER BY id DESC",
    )
    .bind(integration_id)
    .fetch_all(db)
    .await
}
