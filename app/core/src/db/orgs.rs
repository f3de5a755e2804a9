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
