//! The connectors the hub uses, and the catalogue it ships.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorInfo {
    pub name: String,
    pub display_name: String,
    pub auth: String,
    pub auth_label: String,
    pub category: String,
    pub info: String,
    /// Environment variables the definition uses that are not set.
    pub missing_vars: Vec<String>,
    /// "the catalogue", or the file it was read from.
    pub source: String,
    /// What a connection is asked for before the consent screen.
    pub parameters: Vec<String>,
    pub register_url: String,
    pub docs_url: String,
}

/// The Connectors page: what the hub uses, the redirect URI OAuth2 providers must
/// be given, and the shipped catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorsView {
    pub in_use: Vec<ConnectorInfo>,
    pub callback_url: String,
    /// The catalogue's connectors, by category; `missing_vars` names what enabling
    /// one needs.
    pub catalogue: Vec<ConnectorInfo>,
}

#[cfg(feature = "ssr")]
fn info(c: &hub_core::domain::connector::Connector, missing: &[String], source: String) -> ConnectorInfo {
    ConnectorInfo {
        name: c.name.clone(),
        display_name: c.display_name.clone(),
        auth: c.auth.as_str().to_owned(),
        auth_label: c.auth.label().to_owned(),
        category: c.category.clone(),
        info: c.info.clone(),
        missing_vars: missing.to_vec(),
        source,
        parameters: c.parameters.iter().map(|p| p.label.clone()).collect(),
        register_url: c.register_url.clone(),
        docs_url: c.docs_url.clone(),
    }
}

#[server(endpoint = "connectors")]
pub async fn list_connectors() -> Result<ConnectorsView, AppError> {
    use crate::api::ctx::{require_user, state};
    use hub_core::connectors::{catalogue, Source};

    require_user().await?;
    let st = state()?;
    let mut in_use: Vec<ConnectorInfo> = st
        .connectors
        .connectors
        .values()
        .map(|l| {
            let source = match &l.source {
                Source::Catalogue => "the catalogue".to_owned(),
                Source::File(path) => path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
            };
            info(&l.connector, &l.missing_vars, source)
        })
        .collect();
    in_use.sort_by_key(|c| c.display_name.to_lowercase());
    let catalogue =
        catalogue::parsed().iter().map(|(c, missing)| info(c, missing, "the catalogue".to_owned())).collect();
    Ok(ConnectorsView { in_use, callback_url: hub_core::service::connections::callback_url(&st.public_url), catalogue })
}
