//! Organizations: the company and its partners.

use chrono::{DateTime, Utc};
use sqlx::SqliteExecutor;

use crate::domain::user::OrgKind;

pub async fn insert(db: impl SqliteExecutor<'_>, name: &str, kind: OrgKind, now: DateTime<Utc>) -> sqlx::Result<i64> {
    sqlx::query_scalar("INSERT INTO organizations (name, kind, created_at) VALUES (?, ?, ?) RETURNING id")
        .bind(name)
        .bind(kind.as_str())
        .bind(now)
        .fetch_one(db)
        .await
}

#[derive(Debug, sqlx::FromRow)]
pub struct OrgRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub created_at: DateTime<Utc>,
}

pub async fn company(db: impl SqliteExecutor<'_>) -> sqlx::Result<Option<OrgRow>> {
    sqlx::query_as("SELECT id, name, kind, created_at FROM organizations WHERE kind = 'company'")
        .fetch_optional(db)
        .await
}

/// The company first, then partners by name.
pub async fn list(db: impl SqliteExecutor<'_>) -> sqlx::Result<Vec<OrgRow>> {
    sqlx::query_as(
        "SELECT id, name, kind, created_at FROM organizations ORDER BY kind = 'partner', name COLLATE NOCASE",
    )
    .fetch_all(db)
    .await
}

pub async fn get(db: impl SqliteExecutor<'_>, id: i64) -> sqlx::Result<Option<OrgRow>> {
    sqlx::query_as("SELECT id, name, kind, created_at FROM organizations WHERE id = ?")
        .bind(id)
        .fetch_optional(db)
        .await
}

pub async fn rename(db: impl SqliteExecutor<'_>, id: i64, name: &str) -> sqlx::Result<bool> {
    sqlx::query("UPDATE organizations SET name = ? WHERE id = ?")
        .bind(name)
        .bind(id)
        .execute(db)
        .await
        .map(|r| r.rows_affected() == 1)
}
