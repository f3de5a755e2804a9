//! Settings → API Access (keys of the REST API) and Settings → Notifications &
//! Webhooks (the outgoing webhook and its deliveries). Admins only.
//!
//! A new key or signing secret is shown once. With scripting on, the action's answer
//! carries it; without, the form post is answered with a redirect, so the secret is
//! kept sealed in a short-lived cookie that the next page render reads and clears.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyItem {
    pub id: i64,
    pub name: String,
    /// The first characters, to tell keys apart.
    pub prefix: String,
    pub created_by: Option<String>,
    pub created_at: String,
    pub last_used: Option<String>,
    pub revoked: Option<String>,
    /// "Read only" or "Full access".
    pub scope: String,
    /// "Expires …", "Expired …", when it has an expiry.
    pub expires: Option<String>,
    /// Why a key that is not revoked no longer works, if it does not.
    pub dead: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiAccess {
    pub keys: Vec<ApiKeyItem>,
    /// A key made by the form post just before (scripting off), shown once.
    pub revealed: Option<String>,
    /// The API's operations, from its OpenAPI document.
    pub operations: Vec<Operation>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    pub method: String,
    pub path: String,
    pub tag: String,
    pub summary: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: i64,
    pub event: String,
    pub status: String,
    pub attempts: i64,
    pub created_at: String,
    pub next_attempt: Option<String>,
    pub last_status: Option<i64>,
    pub last_response: Option<String>,
    pub last_error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventChoice {
    pub name: String,
    pub label: String,
    pub on: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notifications {
    pub url: String,
    pub events: Vec<EventChoice>,
    pub has_secret: bool,
    /// A signing secret made by the form post just before (scripting off), shown once.
    pub revealed: Option<String>,
    pub deliveries: Vec<Delivery>,
}

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use http::header::SET_COOKIE;
    use http::HeaderValue;
    use leptos::prelude::*;
    use leptos_axum::ResponseOptions;

    use crate::api::ctx::{state, AppState};

    fn cookie_name(kind: &str) -> String {
        format!("hub_reveal_{kind}")
    }

    fn set_cookie(st: &AppState, kind: &str, value: &str, max_age: i64) {
        let Some(resp) = use_context::<ResponseOptions>() else { return };
        let secure = if st.secure_cookies { "; Secure" } else { "" };
        let cookie =
            format!("{}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}", cookie_name(kind));
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            resp.append_header(SET_COOKIE, v);
        }
    }

    /// Keeps `secret` sealed for the next page render (a form post without scripting).
    pub fn reveal_later(kind: &str, secret: &str) {
        if !crate::api::ctx::is_form_post() {
            return;
        }
        if let Ok(st) = state() {
            let sealed = URL_SAFE_NO_PAD.encode(st.key.encrypt(secret.as_bytes()));
            set_cookie(&st, kind, &sealed, 120);
        }
    }

    /// The secret kept by `reveal_later`, once: the cookie is cleared.
    pub fn take_revealed(kind: &str) -> Option<String> {
        let st = state().ok()?;
        let parts = use_context::<http::request::Parts>()?;
        let value = crate::api::ctx::cookie(&parts.headers, &cookie_name(kind))?;
        set_cookie(&st, kind, "", 0);
        let sealed = URL_SAFE_NO_PAD.decode(value).ok()?;
        String::from_utf8(st.key.decrypt(&sealed).ok()?).ok()
    }

    /// The operations of the OpenAPI document, in its order.
    pub fn operations(doc: &str) -> Vec<super::Operation> {
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(doc) else { return Vec::new() };
        let Some(paths) = doc.get("paths").and_then(|p| p.as_object()) else { return Vec::new() };
        let mut out = Vec::new();
        for (path, item) in paths {
            let Some(item) = item.as_object() else { continue };
            for (method, op) in item {
                let text = |k: &str| op.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
                out.push(super::Operation {
                    method: method.to_uppercase(),
                    path: path.clone(),
                    tag: op.get("tags").and_then(|t| t.get(0)).and_then(|t| t.as_str()).unwrap_or_default().to_owned(),
                    summary: text("summary"),
                });
            }
        }
        out.sort_by(|a, b| (a.tag.as_str(), a.path.as_str()).cmp(&(b.tag.as_str(), b.path.as_str())));
        out
    }

    /// Every event a receiver may get, with the chosen ones on.
    pub(super) fn event_choices(chosen: &[String]) -> Vec<super::EventChoice> {
        hub_core::domain::webhook::EVENTS
            .iter()
            .map(|(name, label)| super::EventChoice {
                name: (*name).to_owned(),
                label: (*label).to_owned(),
                on: chosen.iter().any(|e| e == name),
            })
            .collect()
    }
}

#[server(endpoint = "api_access")]
pub async fn get_api_access() -> Result<ApiAccess, AppError> {
    use crate::api::ctx::{require_admin, show_time, state};
    require_admin().await?;
    let st = state()?;
    let keys = hub_core::service::records::api_keys(&st.db)
        .await
        .map_err(|e| crate::api::ctx::service_error(e, Vec::new()))?
        .into_iter()
        .map(|k| ApiKeyItem {
            scope: k.scope.describe().to_owned(),
            expires: k.expires_at.map(|at| {
                if at <= chrono::Utc::now() {
                    format!("Expired {}", show_time(at))
                } else {
                    format!("Until {}", show_time(at))
                }
            }),
            dead: if k.expires_at.is_some_and(|at| at <= chrono::Utc::now()) {
                Some("Expired".to_owned())
            } else if k.creator_gone {
                Some("Creator deactivated".to_owned())
            } else {
                None
            },
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            created_by: k.created_by,
            created_at: show_time(k.created_at),
            last_used: k.last_used_at.map(show_time),
            revoked: k.revoked_at.map(show_time),
        })
        .collect();
    Ok(ApiAccess { keys, revealed: server::take_revealed("key"), operations: server::operations(&st.api_doc) })
}

#[server(endpoint = "create_api_key")]
pub async fn create_api_key(
    name: String,
    #[server(default)] scope: String,
    #[server(default)] expires_in_days: String,
) -> Result<String, AppError> {
    use crate::api::ctx::{require_admin, service_error, state};
    use hub_core::service::api_keys::NewKeyInput;
    let user = require_admin().await?;
    let st = state()?;
    let kept = vec![
        ("name".into(), name.clone()),
        ("scope".into(), scope.clone()),
        ("expires_in_days".into(), expires_in_days.clone()),
    ];
    let input = NewKeyInput { name, scope, expires_in_days };
    let (_, key) = hub_core::service::api_keys::create(&st.db, &user.actor(), &input, chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, kept))?;
    server::reveal_later("key", &key);
    Ok(key)
}

#[server(endpoint = "revoke_api_key")]
pub async fn revoke_api_key(id: i64) -> Result<(), AppError> {
    use crate::api::ctx::{require_admin, service_error, state};
    let user = require_admin().await?;
    let st = state()?;
    hub_core::service::api_keys::revoke(&st.db, &user.actor(), id, chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, Vec::new()))
}

#[server(endpoint = "notifications")]
pub async fn get_notifications() -> Result<Notifications, AppError> {
    use crate::api::ctx::{require_admin, show_time, state};
    require_admin().await?;
    let st = state()?;
    let (current, recent) = hub_core::service::records::notifications(&st.db, 50)
        .await
        .map_err(|e| crate::api::ctx::service_error(e, Vec::new()))?;
    let events = server::event_choices(&current.events);
    let deliveries = recent
        .into_iter()
        .map(|d| Delivery {
            id: d.id,
            event: d.event,
            next_attempt: (d.status == "pending").then_some(d.next_attempt_at).flatten().map(show_time),
            status: d.status,
            attempts: d.attempts,
            created_at: show_time(d.created_at),
            last_status: d.last_status,
            last_response: d.last_response,
            last_error: d.last_error,
        })
        .collect();
    Ok(Notifications {
        url: current.url,
        has_secret: current.secret.is_some(),
        events,
        revealed: server::take_revealed("whsec"),
        deliveries,
    })
}

/// Saves the receiver and its events (each a checkbox, `events[i]`). Returns the
/// signing secret when this save made the first one.
#[server(endpoint = "save_notifications")]
pub async fn save_notifications(
    url: String,
    #[server(default)] events: std::collections::BTreeMap<String, String>,
) -> Result<Option<String>, AppError> {
    use crate::api::ctx::{require_admin, service_error, state};
    let user = require_admin().await?;
    let st = state()?;
    let chosen: Vec<String> = events.into_values().collect();
    let kept = vec![("url".to_owned(), url.clone())];
    let fresh = hub_core::service::webhooks::save_settings(
        &st.db,
        &st.key,
        &st.egress,
        &user.actor(),
        &url,
        &chosen,
        chrono::Utc::now(),
    )
    .await
    .map_err(|e| service_error(e, kept))?;
    if let Some(s) = &fresh {
        server::reveal_later("whsec", s);
    }
    Ok(fresh)
}

#[server(endpoint = "rotate_webhook_secret")]
pub async fn rotate_webhook_secret() -> Result<String, AppError> {
    use crate::api::ctx::{require_admin, service_error, state};
    let user = require_admin().await?;
    let st = state()?;
    let secret = hub_core::service::webhooks::rotate_secret(&st.db, &st.key, &user.actor(), chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    server::reveal_later("whsec", &secret);
    Ok(secret)
}
