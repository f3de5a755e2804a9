//! REST API keys: made with a name and shown once, kept only as their SHA-256,
//! revoked at once.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{invalid, ServiceError};
use crate::db::api_keys;
use crate::db::audit::{self, Actor};
use crate::db::Db;
use crate::domain::audit::AuditAction;
use crate::secrets::{random_token, token_hash};

/// What every key starts with, so a leaked one is easy to recognise.
pub const KEY_PREFIX: &str = "hub_";
/// How much of a key the console shows to tell keys apart.
const SHOWN: usize = KEY_PREFIX.len() + 6;

/// Makes a key. Returns its id and the key itself, which is never readable again.
pub async fn create(db: &Db, actor: &Actor, name: &str, now: DateTime<Utc>) -> Result<(i64, String), ServiceError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(invalid("name", "Give the key a name, such as the system that will use it."));
    }
    if name.chars().count() > 100 {
        return Err(invalid("name", "The name is too long (100 characters at most)."));
    }
    let key = format!("{KEY_PREFIX}{}", random_token());
    let creator = match actor {
        Actor::User { id, .. } => Some(*id),
        _ => None,
    };
    let mut tx = db.pool().begin().await?;
    let id = api_keys::insert(&mut *tx, name, &key[..SHOWN], &token_hash(&key), creator, now).await?;
    let entry = audit::Entry {
        actor,
        action: AuditAction::ApiKeyCreated,
        object_type: "api_key",
        object_id: Some(id.to_string()),
        detail: json!({ "name": name }),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    Ok((id, key))
}

/// The caller a key stands for, or `None` for a missing, unknown or revoked key.
pub async fn authenticate(db: &Db, key: &str, now: DateTime<Utc>) -> Result<Option<Actor>, ServiceError> {
    let key = key.trim();
    if !key.starts_with(KEY_PREFIX) {
        return Ok(None);
    }
    Ok(api_keys::authenticate(db.pool(), &token_hash(key), now).await?.map(|(id, name)| Actor::ApiKey { id, name }))
}

pub async fn revoke(db: &Db, actor: &Actor, id: i64, now: DateTime<Utc>) -> Result<(), ServiceError> {
    let mut tx = db.pool().begin().await?;
    if !api_keys::revoke(&mut *tx, id, now).await? {
        return Err(ServiceError::NotFound);
    }
    let entry = audit::Entry {
        actor,
        action: AuditAction::ApiKeyRevoked,
        object_type: "api_key",
        object_id: Some(id.to_string()),
        detail: json!({}),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    Ok(())
}
