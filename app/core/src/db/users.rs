//! Users and the sign-in failures recorded against an email.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteExecutor};

#[derive(Debug, FromRow)]
pub struct UserRow {
    pub id: i64,
    pub organization_id: i64,
    pub name: String,
    pub email: String,
    pub password_hash: Option<String>,
    pub is_admin: bool,
    pub status: String,
}

pub struct NewUser<'a> {
    pub organization_id: i64,
    pub name: &'a str,
    pub email: &'a str,
    pub password_hash: Option<&'a str>,
    pub is_admin: bool,
    pub is_primary: bool,
    pub status: &'a str,
}

pub async fn count(db: impl SqliteExecutor<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(db).await
}

pub async fn insert(db: impl SqliteExecutor<'_>, u: &NewUser<'_>, now: DateTime<Utc>) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO users (organization_id, name, email, password_hash, is_admin, is_primary, status, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(u.organization_id)
    .bind(u.name)
    .bind(u.email)
    .bind(u.password_hash)
    .bind(u.is_admin)
    .bind(u.is_primary)
    .bind(u.status)
    .bind(now)
    .fetch_one(db)
    .await
}

pub async fn find_by_email(db: impl SqliteExecutor<'_>, email: &str) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(
        "SELECT id, organization_id, name, email, password_hash, is_admin, status FROM users WHERE email = ?",
    )
    .bind(email)
    .fetch_optional(db)
    .await
}

pub async fn touch_sign_in(db: impl SqliteExecutor<'_>, user_id: i64, now: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET last_sign_in_at = ? WHERE id = ?").bind(now).bind(user_id).execute(db).await.map(drop)
}

/// The recent sign-in failures that count against an attempt: of the email at this
/// address, of any email at this address, and of the email at any address.
pub struct Failures {
    pub pair: Vec<DateTime<Utc>>,
    pub address: Vec<DateTime<Utc>>,
    pub email: Vec<DateTime<Utc>>,
}

pub async fn recent_failures(
    db: &mut sqlx::SqliteConnection,
    email: &str,
    address: &str,
    since: DateTime<Utc>,
) -> sqlx::Result<Failures> {
    let times =
        |sql: &'static str, key: &str| sqlx::query_scalar::<_, DateTime<Utc>>(sql).bind(key.to_owned()).bind(since);
    let pair = sqlx::query_scalar(
        "SELECT failed_at FROM login_failures WHERE email = ? AND address = ? AND failed_at > ? ORDER BY failed_at",
    )
    .bind(email)
    .bind(address)
    .bind(since)
    .fetch_all(&mut *db)
    .await?;
    let by_address = times("SELECT failed_at FROM login_failures WHERE address = ? AND failed_at > ?", address)
        .fetch_all(&mut *db)
        .await?;
    let by_email = times("SELECT failed_at FROM login_failures WHERE email = ? AND failed_at > ?", email)
        .fetch_all(&mut *db)
        .await?;
    Ok(Failures { pair, address: by_address, email: by_email })
}

/// Writes a failure (before the password is checked: a success takes it back).
/// Returns its row, for [`clear_failures`].
pub async fn record_failure(
    db: impl SqliteExecutor<'_>,
    email: &str,
    address: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar("INSERT INTO login_failures (email, address, failed_at) VALUES (?, ?, ?) RETURNING rowid")
        .bind(email)
        .bind(address)
        .bind(now)
        .fetch_one(db)
        .await
}

/// After a success: the attempt's own row, and the email's failures at this address.
pub async fn clear_failures(db: &mut sqlx::SqliteConnection, row: i64, email: &str, address: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE rowid = ?").bind(row).execute(&mut *db).await?;
    sqlx::query("DELETE FROM login_failures WHERE email = ? AND address = ?")
        .bind(email)
        .bind(address)
        .execute(&mut *db)
        .await
        .map(drop)
}

#[derive(Debug, FromRow)]
pub struct UserListRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub organization_id: i64,
    pub organization_name: String,
    pub organization_kind: String,
    /// The delivery state of the newest mail to this user, if any.
    pub mail_status: Option<String>,
    pub mail_error: Option<String>,
    pub is_admin: bool,
    pub is_primary: bool,
    pub status: String,
    pub last_sign_in_at: Option<DateTime<Utc>>,
}

/// Every user with their organization and their newest mail's state, by name.
pub async fn list(db: impl SqliteExecutor<'_>) -> sqlx::Result<Vec<UserListRow>> {
    sqlx::query_as(
        "SELECT u.id, u.name, u.email, o.id AS organization_id, o.name AS organization_name,
                o.kind AS organization_kind, u.is_admin, u.is_primary, u.status, u.last_sign_in_at,
                (SELECT m.status FROM mail_outbox m WHERE m.user_id = u.id ORDER BY m.id DESC LIMIT 1) AS mail_status,
                (SELECT m.last_error FROM mail_outbox m WHERE m.user_id = u.id ORDER BY m.id DESC LIMIT 1) AS mail_error
         FROM users u JOIN organizations o ON o.id = u.organization_id
         ORDER BY u.name COLLATE NOCASE, u.id",
    )
    .fetch_all(db)
    .await
}

#[derive(Debug, FromRow)]
pub struct UserFullRow {
    pub id: i64,
    pub organization_id: i64,
    pub name: String,
    pub email: String,
    pub password_hash: Option<String>,
    pub is_primary: bool,
    pub status: String,
}

pub async fn get(db: impl SqliteExecutor<'_>, id: i64) -> sqlx::Result<Option<UserFullRow>> {
    sqlx::query_as("SELECT id, organization_id, name, email, password_hash, is_primary, status FROM users WHERE id = ?")
        .bind(id)
        .fetch_optional(db)
        .await
}

pub async fn set_status(db: impl SqliteExecutor<'_>, id: i64, status: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET status = ? WHERE id = ?").bind(status).bind(id).execute(db).await.map(drop)
}

pub async fn set_password(db: impl SqliteExecutor<'_>, id: i64, hash: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?").bind(hash).bind(id).execute(db).await.map(drop)
}
