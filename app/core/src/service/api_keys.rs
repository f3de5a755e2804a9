//! REST API keys: made with a name and shown once, kept only as their SHA-256,
//! revoked at once.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{invalid, ServiceError};
use crate::db::api_keys;
use crate::db::audit::{self, Actor};
use crate::db::Db;
use crate::domain::api_key::{self, KeyScope};
use crate::domain::audit::AuditAction;
use crate::secrets::{random_token, token_hash};

/// What every key starts with, so a leaked one is easy to recognise.
pub const KEY_PREFIX: &str = "hub_";
/// How much of a key the console shows to tell keys apart.
const SHOWN: usize = KEY_PREFIX.len() + 6;

/// What the form asks for a new key: a name, a scope (`read` or `full`) and the days it
/// lasts (empty: until revoked).
#[derive(Clone, Debug, Default)]
pub struct NewKeyInput {
    pub name: String,
    pub scope: String,
    pub expires_in_days: String,
}

impl NewKeyInput {
    /// A full-access key that does not expire.
    pub fn full(name: &str) -> Self {
        Self { name: name.to_owned(), scope: "full".to_owned(), expires_in_days: String::new() }
    }
}

/// Makes a key. Returns its id and the key itself, which is never readable again.
pub async fn create(
    db: &Db,
    actor: &Actor,
    input: &NewKeyInput,
    now: DateTime<Utc>,
) -> Result<(i64, String), ServiceError> {
    let name = input.name.trim();
    if name.is_empty() {
        return Err(invalid("name", "Give the key a name, such as the system that will use it."));
    }
    if name.chars().count() > 100 {
        return Err(invalid("name", "The name is too long (100 characters at most)."));
    }
    // No scope given (an older form or client): full access, as keys always had.
    let scope = match input.scope.trim() {
        "" => KeyScope::Full,
        s => KeyScope::parse(s).ok_or_else(|| invalid("scope", "Choose read only or full access."))?,
    };
    let expires_at = api_key::expiry(&input.expires_in_days, now).map_err(|m| invalid("expires_in_days", m))?;
    let key = format!("{KEY_PREFIX}{}", random_token());
    let creator = match actor {
        Actor::User { id, .. } => Some(*id),
        _ => None,
    };
    let mut tx = db.pool().begin().await?;
    let row = api_keys::NewKey {
        name,
        prefix: &key[..SHOWN],
        key_hash: &token_hash(&key),
        created_by: creator,
        scope,
        expires_at,
    };
    let id = api_keys::insert(&mut *tx, &row, now).await?;
    let entry = audit::Entry {
        actor,
        action: AuditAction::ApiKeyCreated,
        object_type: "api_key",
        object_id: Some(id.to_string()),
        detail: json!({ "name": name, "scope": scope.as_str(), "expires_at": expires_at }),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    Ok((id, key))
}

/// The caller a key stands for and what it may do, or `None` for a missing, unknown,
/// revoked or expired key, or one whose creator was deactivated.
pub async fn authenticate(db: &Db, key: &str, now: DateTime<Utc>) -> Result<Option<(Actor, KeyScope)>, ServiceError> {
    let key = key.trim();
    if !key.starts_with(KEY_PREFIX) {
        return Ok(None);
    }
    let found = api_keys::authenticate(db.pool(), &token_hash(key), now).await?;
    Ok(found.map(|(id, name, scope)| (Actor::ApiKey { id, name }, scope)))
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
