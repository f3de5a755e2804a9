//! Keys of the REST API. Only a key's SHA-256 is stored; the key itself is shown once.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteExecutor};

use crate::domain::api_key::KeyScope;

#[derive(Clone, Debug, FromRow)]
pub struct ApiKeyRow {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub scope: KeyScope,
    pub expires_at: Option<DateTime<Utc>>,
    /// The key's creator was deactivated: the key no longer works.
    pub creator_gone: bool,
}

/// A new key as stored.
pub struct NewKey<'a> {
    pub name: &'a str,
    pub prefix: &'a str,
    pub key_hash: &'a str,
    pub created_by: Option<i64>,
    pub scope: KeyScope,
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn insert(db: impl SqliteExecutor<'_>, key: &NewKey<'_>, now: DateTime<Utc>) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO api_keys (name, prefix, key_hash, created_by, created_at, scope, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(key.name)
    .bind(key.prefix)
    .bind(key.key_hash)
    .bind(key.created_by)
    .bind(now)
    .bind(key.scope)
    .bind(key.expires_at)
    .fetch_one(db)
    .await
}

/// Every key, newest first, with the email of who made it.
pub async fn list(db: impl SqliteExecutor<'_>) -> sqlx::Result<Vec<ApiKeyRow>> {
    sqlx::query_as(
        "SELECT k.id, k.name, k.prefix, u.email AS created_by, k.created_at, k.last_used_at, k.revoked_at,
                k.scope, k.expires_at, coalesce(u.status = 'deactivated', 0) AS creator_gone
         FROM api_keys k LEFT JOIN users u ON u.id = k.created_by
         ORDER BY k.id DESC",
    )
    .fetch_all(db)
    .await
}

/// The live key with this hash (not revoked, not expired, its creator not
/// deactivated): its id, name and scope. Its last use is written at most once a
/// minute, so a busy client does not write on every request.
pub async fn authenticate(
    db: &sqlx::SqlitePool,
    key_hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<(i64, String, KeyScope)>> {
    let found: Option<(i64, String, KeyScope, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT k.id, k.name, k.scope, k.last_used_at FROM api_keys k LEFT JOIN users u ON u.id = k.created_by
         WHERE k.key_hash = ? AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?)
           AND (u.id IS NULL OR u.status <> 'deactivated')",
    )
    .bind(key_hash)
    .bind(now)
    .fetch_optional(db)
    .await?;
    let Some((id, name, scope, last_used)) = found else { return Ok(None) };
    if last_used.is_none_or(|t| now - t >= chrono::Duration::minutes(1)) {
        sqlx::query("UPDATE api_keys SET last_used_at = ? WHERE id = ?").bind(now).bind(id).execute(db).await?;
    }
    Ok(Some((id, name, scope)))
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
