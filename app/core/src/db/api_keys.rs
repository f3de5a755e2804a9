//! Keys of the REST API. Only a key's SHA-256 is stored; the key itself is shown once.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteExecutor};

#[derive(Clone, Debug, FromRow)]
pub struct ApiKeyRow {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub async fn insert(
    db: impl SqliteExecutor<'_>,
    name: &str,
    prefix: &str,
    key_hash: &str,
    created_by: Option<i64>,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO api_keys (name, prefix, key_hash, created_by, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(name)
    .bind(prefix)
    .bind(key_hash)
    .bind(created_by)
    .bind(now)
    .fetch_one(db)
    .await
}

/// Every key, newest first, with the email of who made it.
pub async fn list(db: impl SqliteExecutor<'_>) -> sqlx::Result<Vec<ApiKeyRow>> {
    sqlx::query_as(
        "SELECT k.id, k.name, k.prefix, u.email AS created_by, k.created_at, k.last_used_at, k.revoked_at
         FROM api_keys k LEFT JOIN users u ON u.id = k.created_by
         ORDER BY k.id DESC",
    )
    .fetch_all(db)
    .await
}

/// The live key with this hash: its id and name. Its last use is written at most
/// once a minute, so a busy client does not write on every request.
pub async fn authenticate(
    db: &sqlx::SqlitePool,
    key_hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<(i64, String)>> {
    let found: Option<(i64, String, Option<DateTime<Utc>>)> =
        sqlx::query_as("SELECT id, name, last_used_at FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL")
            .bind(key_hash)
            .fetch_optional(db)
            .await?;
    let Some((id, name, last_used)) = found else { return Ok(None) };
    if last_used.is_none_or(|t| now - t >= chrono::Duration::minutes(1)) {
        sqlx::query("UPDATE api_keys SET last_used_at = ? WHERE id = ?").bind(now).bind(id).execute(db).await?;
    }
    Ok(Some((id, name)))
}

/// Revokes a live key; false when there is no such live key.
pub async fn revoke(db: impl SqliteExecutor<'_>, id: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    let done = sqlx::query("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}
