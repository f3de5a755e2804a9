//! Changes to the outgoing webhooks' settings (receiver, events, signing secret), each
//! with its audit entry. The outbox and its deliverer are in `crate::outbox`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde_json::json;

use super::{invalid, ServiceError};
use crate::db::audit::{self, Actor};
use crate::db::webhooks as store;
use crate::db::Db;
use crate::domain::audit::AuditAction;
use crate::domain::webhook::is_event;
pub use crate::domain::webhook::EVENTS;
use crate::egress::Egress;
use crate::outbox::SETTING;
pub use crate::outbox::{
    settings, signature, Deliverer, Notifications, Retry, DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER,
};
use crate::secrets::{random_token, SecretKey};

/// Checks a receiver URL: absolute http or https, with a host.
pub fn check_url(url: &str) -> Result<(), String> {
    let url = url.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| "Enter an http:// or https:// address.".to_owned())?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') || url.chars().any(char::is_whitespace) {
        return Err("Enter a full address with a host, such as https://example.com/hooks/hub.".to_owned());
    }
    if url.len() > 2000 {
        return Err("The address is too long (2000 characters at most).".to_owned());
    }
    Ok(())
}

/// Saves the receiver URL and the chosen events. Returns the new signing secret when
/// one was made (the first time a URL is saved), to be shown once.
pub async fn save_settings(
    db: &Db,
    key: &SecretKey,
    egress: &Egress,
    actor: &Actor,
    url: &str,
    events: &[String],
    now: DateTime<Utc>,
) -> Result<Option<String>, ServiceError> {
    let url = url.trim();
    if !url.is_empty() {
        check_url(url).map_err(|m| invalid("url", m))?;
        egress.check_url(url).await.map_err(|e| invalid("url", e.to_string()))?;
    }
    if let Some(unknown) = events.iter().find(|e| !is_event(e)) {
        return Err(invalid("events", format!("There is no event called {unknown}.")));
    }
    let mut tx = db.begin_write().await?;
    let mut current = settings(&mut *tx).await?;
    let fresh = (current.secret.is_none() && !url.is_empty()).then(new_secret);
    if let Some(s) = &fresh {
        current.secret = Some(STANDARD.encode(key.encrypt(s.as_bytes())));
    }
    current.url = url.to_owned();
    current.events =
        EVENTS.iter().filter(|(e, _)| events.iter().any(|x| x == e)).map(|(e, _)| (*e).to_owned()).collect();
    store::set_setting(&mut *tx, SETTING, &serde_json::to_string(&current).unwrap_or_default(), now).await?;
    let entry = audit::Entry {
        actor,
        action: AuditAction::NotificationsSaved,
        object_type: "settings",
        object_id: None,
        detail: json!({ "url": current.url, "events": current.events }),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    Ok(fresh)
}

/// Makes a new signing secret, which replaces the old one at once. Returns it, to be
/// shown once.
pub async fn rotate_secret(
    db: &Db,
    key: &SecretKey,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<String, ServiceError> {
    let secret = new_secret();
    let mut tx = db.begin_write().await?;
    let mut current = settings(&mut *tx).await?;
    current.secret = Some(STANDARD.encode(key.encrypt(secret.as_bytes())));
    store::set_setting(&mut *tx, SETTING, &serde_json::to_string(&current).unwrap_or_default(), now).await?;
    let entry = audit::Entry {
        actor,
        action: AuditAction::WebhookSecretRotated,
        object_type: "settings",
        object_id: None,
        detail: json!({}),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    Ok(secret)
}

fn new_secret() -> String {
    format!("whsec_{}", random_token())
}
