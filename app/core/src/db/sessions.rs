//! Browser sessions, stored by the SHA-256 of their token.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteExecutor};

/// The signed-in user behind a live session.
#[derive(Debug, FromRow)]
pub struct SessionUserRow {
    pub user_id: i64,
    pub name: String,
    pub email: String,
    pub is_admin: bool,
    pub is_primary: bool,
    pub organization_id: i64,
    pub organization_name: String,
    pub organization_kind: String,
    pub last_seen_at: DateTime<Utc>,
}

pub async fn insert(
    db: impl SqliteExecutor<'_>,
    token_hash: &str,
    user_id: i64,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(now)
    .bind(now)
    .bind(expires_at)
    .execute(db)
    .await
    .map(drop)
}

/// The user of an unexpired session whose account is active.
pub async fn find_user(
    db: impl SqliteExecutor<'_>,
    token_hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<SessionUserRow>> {
    sqlx::query_as(
        "SELECT u.id AS user_id, u.name, u.email, u.is_admin, u.is_primary,
                o.id AS organization_id, o.name AS organization_name, o.kind AS organization_kind,
                s.last_seen_at
         FROM sessions s
         JOIN users u ON u.id = s.user_id
         JOIN organizations o ON o.id = u.organization_id
         WHERE s.token_hash = ? AND s.expires_at > ? AND u.status = 'active'",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(db)
    .await
}

pub async fn extend(
    db: impl SqliteExecutor<'_>,
    token_hash: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE token_hash = ?")
        .bind(now)
        .bind(expires_at)
        .bind(token_hash)
        .execute(db)
        .await
        .map(drop)
}

pub async fn delete(db: impl SqliteExecutor<'_>, token_hash: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = ?").bind(token_hash).execute(db).await.map(drop)
}

pub async fn delete_expired(db: impl SqliteExecutor<'_>, now: DateTime<Utc>) -> sqlx::Result<u64> {
    sqlx::query("DELETE FROM sessions WHERE expires_at <= ?").bind(now).execute(db).await.map(|r| r.rows_affected())
}

/// Ends every session of a user but one (the one that changed the password; none when
/// `kept_hash` is empty).
pub async fn delete_others(db: impl SqliteExecutor<'_>, user_id: i64, kept_hash: &str) -> sqlx::Result<u64> {
    sqlx::query("DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?")
        .bind(user_id)
        .bind(kept_hash)
        .execute(db)
        .await
        .map(|r| r.rows_affected())
}

/// Ends every session of a user at once.
pub async fn delete_for_user(db: impl SqliteExecutor<'_>, user_id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE user_id = ?").bind(user_id).execute(db).await.map(drop)
}
