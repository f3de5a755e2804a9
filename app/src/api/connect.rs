//! The magic link's page: public endpoints whose unguessable token (in the link) is
//! the credential. They show the integration's name and the connector, nothing else
//! of the hub.

use std::collections::BTreeMap;

use hub_core::domain::connector::AuthKind;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MagicLinkView {
    pub integration_name: String,
    pub connector_name: String,
    pub display_name: String,
    pub auth: AuthKind,
    pub connected: bool,
    /// (name, label, secret) of each field to fill in, for `api_key`/`basic`.
    pub fields: Vec<(String, String, bool)>,
    /// What an OAuth2 connector asks for before its consent screen.
    pub parameters: Vec<ParameterView>,
}

/// A connection parameter to ask for (a shop, a subdomain).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParameterView {
    pub name: String,
    pub label: String,
    pub help: String,
    pub example: String,
}

/// What the `failed` value of the address of the page of the magic link `token` says:
/// only what the hub sealed for that link in the last ten minutes (nothing for text
/// put in an address by hand).
#[server(endpoint = "connect_failure")]
pub async fn connect_failure(token: String, failed: String) -> Result<Option<String>, AppError> {
    use crate::api::ctx::state;
    let st = state()?;
    Ok(hub_core::service::connections::failure_message(&st.key, &token, &failed, chrono::Utc::now()))
}

#[server(endpoint = "magic_link")]
pub async fn get_magic_link(token: String) -> Result<MagicLinkView, AppError> {
    use crate::api::ctx::{fail, state};
    use hub_core::service::connections::ConnectError;
    let st = state()?;
    let (row, connector) =
        hub_core::service::connections::by_magic_token(&st.db, &st.connectors, &token, chrono::Utc::now())
            .await
            .map_err(|e| match e {
                // Said in words: whoever holds an old link learns only that it was replaced.
                ConnectError::ReplacedLink | ConnectError::ExpiredLink => fail(AppError::Conflict(e.to_string())),
                _ => fail(AppError::NotFound),
            })?;
    Ok(MagicLinkView {
        integration_name: row.integration_name,
        connector_name: connector.name,
        display_name: connector.display_name,
        auth: connector.auth,
        connected: row.status == hub_core::domain::connector::ConnectionStatus::Connected,
        fields: connector.fields.into_iter().map(|f| (f.name, f.label, f.secret)).collect(),
        parameters: connector
            .parameters
            .into_iter()
            .map(|p| ParameterView { name: p.name, label: p.label, help: p.help, example: p.example })
            .collect(),
    })
}

/// Stores an `api_key`/`basic` connector's fields through the magic link.
#[server(endpoint = "magic_link_save")]
pub async fn save_magic_link(
    token: String,
    #[server(default)] fields: BTreeMap<String, String>,
) -> Result<(), AppError> {
    use crate::api::ctx::{service_error, state};
    let st = state()?;
    hub_core::service::connections::save_by_magic_link(
        &st.db,
        &st.key,
        &st.connectors,
        &token,
        &fields,
        chrono::Utc::now(),
    )
    .await
    .map_err(|e| service_error(e, Vec::new()))?;
    leptos_axum::redirect(&format!("/connect/{token}?connected=1"));
    Ok(())
}
