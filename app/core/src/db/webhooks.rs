//! Outgoing webhook deliveries: one row an event, with where its delivery stands.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteExecutor};

#[derive(Clone, Debug, FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub event: String,
    pub payload: String,
    pub url: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status: Option<i64>,
    pub last_response: Option<String>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, event, payload, url, status, attempts, next_attempt_at, last_status, last_response, \
                       last_error, created_at, finished_at";

pub async fn enqueue(
    db: impl SqliteExecutor<'_>,
    event: &str,
    payload: &str,
    url: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO webhook_deliveries (event, payload, url, next_attempt_at, created_at)
         VALUES (?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(event)
    .bind(payload)
    .bind(url)
    .bind(now)
    .bind(now)
    .fetch_one(db)
    .await
}

/// Pending deliveries whose next attempt is due, oldest first.
pub async fn due(db: impl SqliteExecutor<'_>, now: DateTime<Utc>, limit: i64) -> sqlx::Result<Vec<DeliveryRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM webhook_deliveries
         WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?"
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// When the next pending delivery is due, if any is pending.
pub async fn next_due(db: impl SqliteExecutor<'_>) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar("SELECT min(next_attempt_at) FROM webhook_deliveries WHERE status = 'pending'")
        .fetch_one(db)
        .await
}

/// What one attempt got back.
pub struct Attempt<'a> {
    pub status: Option<i64>,
    pub response: Option<&'a str>,
    pub error: Option<&'a str>,
    /// `None`: delivered or given up; otherwise when to try again.
    pub retry_at: Option<DateTime<Utc>>,
    pub delivered: bool,
}

pub async fn record_attempt(
    db: impl SqliteExecutor<'_>,
    id: i64,
    a: &Attempt<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let status = match (a.delivered, a.retry_at) {
        (true, _) => "delivered",
        (false, Some(_)) => "pending",
        (false, None) => "failed",
    };
    sqlx::query(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, status = ?, next_attempt_at = ?, last_status = ?,
             last_response = ?, last_error = ?, finished_at = ?
         WHERE id = ?",
    )
    .bind(status)
    .bind(a.retry_at)
    .bind(a.status)
    .bind(a.response)
    .bind(a.error)
    .bind((status != "pending").then_some(now))
    .bind(id)
    .execute(db)
    .await
    .map(drop)
}

/// The latest deliveries, newest first.
pub async fn recent(db: impl SqliteExecutor<'_>, limit: i64) -> sqlx::Result<Vec<DeliveryRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM webhook_deliveries ORDER BY id DESC LIMIT ?"))
        .bind(limit)
        .fetch_all(db)
        .await
}

/// A hub-wide setting stored as JSON.
pub async fn setting(db: impl SqliteExecutor<'_>, key: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT value FROM settings WHERE key = ?").bind(key).fetch_optional(db).await
}

pub async fn set_setting(db: impl SqliteExecutor<'_>, key: &str, value: &str, now: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(key)
    .bind(value)
    .bind(now)
    .execute(db)
    .await
    .map(drop)
}
