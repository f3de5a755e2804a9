//! The mail outbox.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteExecutor};

#[derive(Debug, FromRow)]
pub struct MailRow {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, recipient, subject, body, status, attempts, last_error, created_at, sent_at";

pub async fn enqueue(
    db: impl SqliteExecutor<'_>,
    recipient: &str,
    subject: &str,
    body: &str,
    user_id: Option<i64>,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO mail_outbox (recipient, subject, body, user_id, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(recipient)
    .bind(subject)
    .bind(body)
    .bind(user_id)
    .bind(now)
    .bind(now)
    .fetch_one(db)
    .await
}

/// Queued messages whose next attempt is due, oldest first.
pub async fn due(db: impl SqliteExecutor<'_>, now: DateTime<Utc>, limit: i64) -> sqlx::Result<Vec<MailRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM mail_outbox WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY id LIMIT ?"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// When the next queued message falls due, if any.
pub async fn next_due_at(db: impl SqliteExecutor<'_>) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar("SELECT min(next_attempt_at) FROM mail_outbox WHERE status = 'queued'").fetch_one(db).await
}

pub async fn mark(
    db: impl SqliteExecutor<'_>,
    id: i64,
    status: &str,
    error: Option<&str>,
    next_attempt_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    // A message that left (or never will) is not kept readable: it may hold a link
    // that signs someone in. A kept one (no SMTP) is the only way to read it.
    sqlx::query(
        "UPDATE mail_outbox SET status = ?1, last_error = ?2, attempts = attempts + 1, next_attempt_at = ?3,
             sent_at = CASE WHEN ?1 IN ('sent', 'kept') THEN ?4 ELSE sent_at END,
             body = CASE WHEN ?1 IN ('sent', 'failed') THEN '' ELSE body END
         WHERE id = ?5",
    )
    .bind(status)
    .bind(error)
    .bind(next_attempt_at)
    .bind(now)
    .bind(id)
    .execute(db)
    .await
    .map(drop)
}

/// The newest messages first.
pub async fn recent(db: impl SqliteExecutor<'_>, limit: i64) -> sqlx::Result<Vec<MailRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM mail_outbox ORDER BY id DESC LIMIT ?"))
        .bind(limit)
        .fetch_all(db)
        .await
}
