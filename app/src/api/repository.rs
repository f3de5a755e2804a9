//! An integration's repository access (deploy key, access token or none), its pinned
//! SSH host keys, and builds on push with their deliveries.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The Repository access page: never a stored secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryAccess {
    pub integration_id: i64,
    pub integration_name: String,
    pub repository: String,
    pub branch: String,
    /// "none", "ssh" or "token".
    pub access: String,
    pub username: String,
    pub public_key: Option<String>,
    pub host_keys: Vec<String>,
    /// The push URL, when build on push is on.
    pub push_url: Option<String>,
    pub push_sets_default: bool,
    /// The push signing secret made by the last action, once (a form post without
    /// scripting gets it here).
    pub revealed_secret: Option<String>,
    pub deliveries: Vec<PushDelivery>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushDelivery {
    pub id: i64,
    pub received_at: String,
    pub provider: String,
    pub event: String,
    pub git_ref: Option<String>,
    pub commit: Option<String>,
    pub outcome: String,
    pub detail: String,
    pub release_id: Option<i64>,
}

#[server(endpoint = "repository_access")]
pub async fn get_repository_access(id: i64) -> Result<RepositoryAccess, AppError> {
    use hub_core::service::Scope;

    use crate::api::ctx::{require_user, service_error, show_time, state};
    let user = require_user().await?;
    let st = state()?;
    let scope = Scope::of(&user);
    let integration =
        hub_core::service::integrations::visible(&st.db, scope, id).await.map_err(|e| service_error(e, Vec::new()))?;
    let v = hub_core::service::repository::view(&st.db, &st.key, scope, id)
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    let base = st.public_url.trim_end_matches('/');
    Ok(RepositoryAccess {
        integration_id: id,
        integration_name: integration.name,
        repository: integration.repository,
        branch: integration.branch,
        access: v.access.as_str().to_owned(),
        username: v.username,
        public_key: v.public_key,
        host_keys: v.host_keys,
        push_url: v.push.map(|p| format!("{base}/hooks/push/{}", p.token)),
        push_sets_default: v.push_sets_default,
        revealed_secret: crate::api::access::server::take_revealed(&format!("pushsec{id}")),
        deliveries: v
            .deliveries
            .into_iter()
            .map(|d| PushDelivery {
                id: d.id,
                received_at: show_time(d.received_at),
                provider: d.provider,
                event: d.event,
                git_ref: d.git_ref,
                commit: d.commit_sha.map(|c| c.chars().take(12).collect()),
                outcome: d.outcome,
                detail: d.detail,
                release_id: d.release_id,
            })
            .collect(),
    })
}

/// Sets how the builder reaches the repository: `access` is "none", "ssh" (a new
/// deploy key when `new_key` is set or there is none, else the one it has) or
/// "token" (an empty `token` keeps the stored one).
#[server(endpoint = "set_repository_access")]
pub async fn set_repository_access(
    id: i64,
    access: String,
    #[server(default)] username: String,
    #[server(default)] token: String,
    #[server(default)] new_key: Option<String>,
) -> Result<(), AppError> {
    use hub_core::service::repository::AccessChoice;
    use hub_core::service::Scope;

    use crate::api::ctx::{require_user, service_error, state};
    let user = require_user().await?;
    let st = state()?;
    let scope = Scope::of(&user);
    let keep = vec![("access".to_owned(), access.clone()), ("username".to_owned(), username.clone())];
    let choice = match access.as_str() {
        "none" => AccessChoice::None,
        "ssh" => {
            let has_key = hub_core::service::repository::view(&st.db, &st.key, scope, id)
                .await
                .map_err(|e| service_error(e, Vec::new()))?
                .public_key
                .is_some();
            if has_key && new_key.is_none() {
                AccessChoice::KeepDeployKey
            } else {
                AccessChoice::NewDeployKey
            }
        }
        "token" => AccessChoice::Token { username, token },
        _ => {
            return Err(AppError::validation("access", "Choose none, a deploy key or an access token."));
        }
    };
    hub_core::service::repository::set_access(&st.db, &st.key, &user.actor(), scope, id, choice, chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, keep))?;
    leptos_axum::redirect(&format!("/integrations/{id}/repository?saved=access"));
    Ok(())
}

/// Pins the pasted `known_hosts` lines, or forgets the pinned keys when `forget` is set.
#[server(endpoint = "pin_host_keys")]
pub async fn pin_host_keys(
    id: i64,
    #[server(default)] known_hosts: String,
    #[server(default)] forget: Option<String>,
) -> Result<(), AppError> {
    use hub_core::service::Scope;

    use crate::api::ctx::{require_user, service_error, state};
    let user = require_user().await?;
    let st = state()?;
    let lines = forget.is_none().then_some(known_hosts.as_str());
    let keep = vec![("known_hosts".to_owned(), known_hosts.clone())];
    hub_core::service::repository::pin_host_keys(
        &st.db,
        &user.actor(),
        Scope::of(&user),
        id,
        lines,
        chrono::Utc::now(),
    )
    .await
    .map_err(|e| service_error(e, keep))?;
    let saved = if forget.is_some() { "forgotten" } else { "pinned" };
    leptos_axum::redirect(&format!("/integrations/{id}/repository?saved={saved}"));
    Ok(())
}

/// Build on push: `push` is "on" (a new URL and secret, returned once), "off", or
/// "default" (only whether a push's success becomes the default, from `sets_default`).
#[server(endpoint = "set_push_builds")]
pub async fn set_push_builds(
    id: i64,
    push: String,
    #[server(default)] sets_default: Option<String>,
) -> Result<Option<String>, AppError> {
    use hub_core::service::Scope;

    use crate::api::ctx::{require_user, service_error, state};
    let user = require_user().await?;
    let st = state()?;
    let (actor, scope, now) = (user.actor(), Scope::of(&user), chrono::Utc::now());
    let secret = match push.as_str() {
        "on" | "off" => {
            let choice = (push == "on").then_some(sets_default.is_some());
            hub_core::service::repository::set_push(&st.db, &st.key, &actor, scope, id, choice, now)
                .await
                .map_err(|e| service_error(e, Vec::new()))?
                .map(|s| s.secret)
        }
        "default" => {
            hub_core::service::repository::set_push_default(&st.db, &actor, scope, id, sets_default.is_some(), now)
                .await
                .map_err(|e| service_error(e, Vec::new()))?;
            None
        }
        _ => return Err(AppError::validation("push", "Choose on or off.")),
    };
    // The secret is shown once: in this answer, or (a form post without scripting)
    // in the page the browser is sent back to.
    if let Some(s) = &secret {
        crate::api::access::server::reveal_later(&format!("pushsec{id}"), s);
    }
    Ok(secret)
}
