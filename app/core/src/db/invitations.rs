//! Single-use links that let an invited user set a password. Only token hashes are stored.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteExecutor};

#[derive(Debug, FromRow)]
pub struct InvitationRow {
    pub id: i64,
    pub user_id: i64,
    pub user_name: String,
    pub user_email: String,
    pub user_status: String,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub async fn insert(
    db: impl SqliteExecutor<'_>,
    user_id: i64,
    token_hash: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO invitations (user_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?) RETURNING id",
    )
    .bind(user_id)
    .bind(token_hash)
    .bind(now)
    .bind(expires_at)
    .fetch_one(db)
    .await
}

pub async fn find(db: impl SqliteExecutor<'_>, token_hash: &str) -> sqlx::Result<Option<InvitationRow>> {
    sqlx::query_as(
        "SELECT i.id, i.user_id, u.name AS user_name, u.email AS user_email, u.status AS user_status,
                i.expires_at, i.used_at, i.revoked_at
         FROM invitations i JOIN users u ON u.id = i.user_id WHERE i.token_hash = ?",
    )
    .bind(token_hash)
    .fetch_optional(db)
    .await
}

/// Revokes every open link of a user (a resend, a deactivation).
pub async fn revoke_open(db: impl SqliteExecutor<'_>, user_id: i64, now: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query("UPDATE invitations SET revoked_at = ? WHERE user_id = ? AND used_at IS NULL AND revoked_at IS NULL")
        .bind(now)
        .bind(user_id)
        .execute(db)
        .await
        .map(drop)
}

/// Marks a link used; false when it was used or revoked in the meantime.
pub async fn mark_used(db: impl SqliteExecutor<'_>, id: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    sqlx::query("UPDATE invitations SET used_at = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(db)
        .await
        .map(|r| r.rows_affected() == 1)
}
