//! The append-only audit log of who changed what.

use chrono::{DateTime, Utc};
use sqlx::SqliteExecutor;

use crate::domain::audit::AuditAction;

/// Who did something.
#[derive(Clone, Debug)]
pub enum Actor {
    User {
        id: i64,
        email: String,
    },
    /// A REST API call, by the key's id and name.
    ApiKey {
        id: i64,
        name: String,
    },
    /// An end user of the embedded marketplace, by their token's `sub`.
    Marketplace {
        sub: String,
    },
    System,
}

pub struct Entry<'a> {
    pub actor: &'a Actor,
    pub action: AuditAction,
    pub object_type: &'a str,
    pub object_id: Option<String>,
    pub detail: serde_json::Value,
}

impl Actor {
    /// How the log names who did it: an email, a key's name, a marketplace `sub`.
    pub fn label(&self) -> &str {
        match self {
            Self::User { email, .. } => email,
            Self::ApiKey { name, .. } => name,
            Self::Marketplace { sub } => sub,
            Self::System => "system",
        }
    }
}

pub async fn record(db: impl SqliteExecutor<'_>, e: Entry<'_>, now: DateTime<Utc>) -> sqlx::Result<()> {
    let (kind, user) = match e.actor {
        Actor::User { id, .. } => ("user", Some(*id)),
        Actor::ApiKey { .. } => ("api", None),
        Actor::Marketplace { .. } => ("marketplace", None),
        Actor::System => ("system", None),
    };
    let label = e.actor.label();
    sqlx::query(
        "INSERT INTO audit_log (at, actor_kind, actor_user, actor_label, action, object_type, object_id, detail)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(now)
    .bind(kind)
    .bind(user)
    .bind(label)
    .bind(e.action.as_str())
    .bind(e.object_type)
    .bind(e.object_id)
    .bind(e.detail.to_string())
    .execute(db)
    .await
    .map(drop)
}

#[derive(Debug, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_label: String,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<String>,
    /// What the object is called now (a tenant's or integration's name, a user's
    /// email), when it still exists; a connector's name is its id.
    pub object_name: Option<String>,
}

/// The newest entries first, `limit` of them, before the entry `before` when given.
pub async fn recent(db: impl SqliteExecutor<'_>, limit: i64, before: Option<i64>) -> sqlx::Result<Vec<AuditRow>> {
    sqlx::query_as(
        "SELECT a.id, a.at, a.actor_label, a.action, a.object_type, a.object_id,
                CASE a.object_type
                    WHEN 'tenant' THEN (SELECT name FROM tenants WHERE id = a.object_id)
                    WHEN 'integration' THEN (SELECT name FROM integrations WHERE id = a.object_id)
                    WHEN 'release' THEN (SELECT i.name || ' ' || r.name FROM releases r
                                         JOIN integrations i ON i.id = r.integration_id WHERE r.id = a.object_id)
                    WHEN 'user' THEN (SELECT email FROM users WHERE id = a.object_id)
                    WHEN 'organization' THEN (SELECT name FROM organizations WHERE id = a.object_id)
                    WHEN 'api_key' THEN (SELECT name FROM api_keys WHERE id = a.object_id)
                    WHEN 'connector' THEN a.object_id
                END AS object_name
         FROM audit_log a
         WHERE (?1 IS NULL OR a.id < ?1) ORDER BY a.id DESC LIMIT ?2",
    )
    .bind(before)
    .bind(limit)
    .fetch_all(db)
    .await
}
