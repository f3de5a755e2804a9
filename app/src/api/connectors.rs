//! The connectors the hub knows.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorInfo {
    pub name: String,
    pub display_name: String,
    pub auth: String,
    pub auth_label: String,
    pub info: String,
    /// Environment variables the definition uses that are not set.
    pub missing_vars: Vec<String>,
}

#[server(endpoint = "connectors")]
pub async fn list_connectors() -> Result<Vec<ConnectorInfo>, AppError> {
    use crate::api::ctx::{require_user, state};
    use hub_core::domain::connector::AuthKind;

    require_user().await?;
    let registry = state()?.connectors;
    let mut list: Vec<ConnectorInfo> = registry
        .connectors
        .values()
        .map(|l| ConnectorInfo {
            name: l.connector.name.clone(),
            display_name: l.connector.display_name.clone(),
            auth: l.connector.auth.as_str().to_owned(),
            auth_label: AuthKind::label(l.connector.auth).to_owned(),
            info: l.connector.info.clone(),
            missing_vars: l.missing_vars.clone(),
        })
        .collect();
    list.sort_by_key(|c| c.display_name.to_lowercase());
    Ok(list)
}
