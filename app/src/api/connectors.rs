//! The connectors the hub uses, the catalogue it ships, and the changes the company's
//! admins make to them: enabling a catalogue connector with its app's client id and
//! secret, writing one of their own, removing one.

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
    /// In words: "the catalogue (HUB_CATALOGUE)", "the console", or the file it was read from.
    pub source: String,
    /// Enabled or written in the console: its page changes it.
    pub in_console: bool,
    /// Read from a file of the connectors folder: changed there.
    pub from_file: bool,
    /// What a connection is asked for before the consent screen.
    pub parameters: Vec<String>,
    pub register_url: String,
    pub docs_url: String,
    pub integrations: i64,
    pub tenants: i64,
}

/// One line of the catalogue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueItem {
    pub name: String,
    pub display_name: String,
    pub category: String,
    pub auth_label: String,
    /// What enabling it asks for.
    pub needs: String,
    /// Where the definition in use of this name comes from, in words.
    pub in_use: Option<String>,
    pub register_url: String,
    pub docs_url: String,
}

/// The Connectors page: what the hub uses, the redirect URI OAuth2 providers must
/// be given, and the shipped catalogue as the filter lets it through.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorsView {
    pub in_use: Vec<ConnectorInfo>,
    /// Connectors of the console that cannot be used, with why.
    pub broken: Vec<(String, String)>,
    pub callback_url: String,
    pub catalogue: Vec<CatalogueItem>,
    pub catalogue_total: usize,
    pub categories: Vec<String>,
    /// The company's admins may change connectors.
    pub can_manage: bool,
}

/// One connector's page: its definition and what may be changed, never its secret.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorEditor {
    pub name: String,
    pub display_name: String,
    pub auth_label: String,
    pub oauth2: bool,
    /// Where the definition in use comes from, in words; `None` when not in use.
    pub source: Option<String>,
    /// Defined by a file of the connectors folder: changed there, not here.
    pub from_file: bool,
    /// The catalogue's definition of this name.
    pub catalogue: Option<String>,
    /// Written in the console: `definition` is the admin's YAML.
    pub custom: bool,
    /// The console stores it (enabled or written there).
    pub in_console: bool,
    pub definition: String,
    pub client_id: String,
    pub has_secret: bool,
    pub problem: Option<String>,
    pub integrations: i64,
    pub tenants: i64,
    /// What saving would do to the tenants that use it.
    pub warning: Option<String>,
    pub callback_url: String,
}

#[cfg(feature = "ssr")]
fn source_words(source: &hub_core::connectors::Source) -> String {
    use hub_core::connectors::Source;
    match source {
        Source::Catalogue => "the catalogue (HUB_CATALOGUE)".to_owned(),
        Source::Console { custom: false } => "the catalogue, enabled in the console".to_owned(),
        Source::Console { custom: true } => "the console".to_owned(),
        Source::File(path) => {
            format!("the file {}", path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default())
        }
    }
}

#[server(endpoint = "connectors")]
pub async fn list_connectors(
    #[server(default)] q: String,
    #[server(default)] category: String,
) -> Result<ConnectorsView, AppError> {
    use hub_core::connectors::Source;
    use hub_core::domain::connector::AuthKind;
    use hub_core::domain::user::OrgKind;
    use hub_core::service::connectors::{overview, Filter};

    use crate::api::ctx::{require_user, service_error, state};
    let user = require_user().await?;
    let st = state()?;
    let filter = Filter { q: q.chars().take(100).collect(), category: category.chars().take(100).collect() };
    let o = overview(&st.db, &st.connectors, &filter).await.map_err(|e| service_error(e, Vec::new()))?;
    let in_use = o
        .in_use
        .into_iter()
        .map(|u| {
            let c = u.loaded.connector;
            ConnectorInfo {
                source: source_words(&u.loaded.source),
                in_console: matches!(u.loaded.source, Source::Console { .. }),
                from_file: matches!(u.loaded.source, Source::File(_)),
                name: c.name,
                display_name: c.display_name,
                auth: c.auth.as_str().to_owned(),
                auth_label: c.auth.label().to_owned(),
                category: c.category,
                info: c.info,
                missing_vars: u.loaded.missing_vars,
                parameters: c.parameters.into_iter().map(|p| p.label).collect(),
                register_url: c.register_url,
                docs_url: c.docs_url,
                integrations: u.usage.integrations,
                tenants: u.usage.tenants,
            }
        })
        .collect();
    let catalogue = o
        .catalogue
        .into_iter()
        .map(|e| {
            let c = e.connector;
            CatalogueItem {
                needs: if c.auth == AuthKind::Oauth2 { "A client id and secret" } else { "Nothing" }.to_owned(),
                in_use: e.in_use.as_ref().map(source_words),
                name: c.name,
                display_name: c.display_name,
                category: c.category,
                auth_label: c.auth.label().to_owned(),
                register_url: c.register_url,
                docs_url: c.docs_url,
            }
        })
        .collect();
    Ok(ConnectorsView {
        in_use,
        broken: o.broken,
        callback_url: hub_core::service::connections::callback_url(&st.public_url),
        catalogue,
        catalogue_total: o.catalogue_total,
        categories: o.categories,
        can_manage: user.is_admin && user.organization_kind == OrgKind::Company,
    })
}

/// A connector's page (admins only): `name` is in use, in the console, or in the catalogue.
#[server(endpoint = "connector")]
pub async fn get_connector(name: String) -> Result<ConnectorEditor, AppError> {
    use hub_core::connectors::Source;
    use hub_core::domain::connector::AuthKind;
    use hub_core::service::connectors::in_use_warning;

    use crate::api::ctx::{require_admin, service_error, state};
    require_admin().await?;
    let st = state()?;
    let e = hub_core::service::connectors::editor(&st.db, &st.connectors, &name)
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    Ok(ConnectorEditor {
        warning: (e.usage.tenants > 0).then(|| in_use_warning(&e.display_name, e.usage)),
        from_file: matches!(e.source, Some(Source::File(_))),
        source: e.source.as_ref().map(source_words),
        name: e.name,
        display_name: e.display_name,
        auth_label: e.auth.label().to_owned(),
        oauth2: e.auth == AuthKind::Oauth2,
        catalogue: e.catalogue.map(str::to_owned),
        in_console: e.in_console,
        custom: e.custom,
        definition: e.definition,
        client_id: e.client_id,
        has_secret: e.has_secret,
        problem: e.problem,
        integrations: e.usage.integrations,
        tenants: e.usage.tenants,
        callback_url: hub_core::service::connections::callback_url(&st.public_url),
    })
}

/// The longest definition a failed plain form post brings back in its redirect's
/// address (longer ones are refused by proxies); with JavaScript the text stays in
/// the page whatever its length.
#[cfg(feature = "ssr")]
const KEPT_MAX: usize = 8 * 1024;

/// The values to show again after a failed plain form post (never the secret).
#[cfg(feature = "ssr")]
fn kept(definition: &str, client_id: &str) -> Vec<(String, String)> {
    let mut kept = vec![("client_id".to_owned(), client_id.chars().take(1000).collect())];
    if definition.len() <= KEPT_MAX {
        kept.push(("definition".to_owned(), definition.to_owned()));
    }
    kept
}

/// Enables the catalogue's connector `name` with its app's client id and secret (an
/// empty secret keeps the stored one). `confirm`: the admin saw how many tenants use it.
#[server(endpoint = "enable_connector")]
pub async fn enable_connector(
    name: String,
    #[server(default)] client_id: String,
    #[server(default)] client_secret: String,
    #[server(default)] confirm: Option<String>,
) -> Result<(), AppError> {
    use hub_core::service::connectors::ConnectorInput;

    use crate::api::ctx::{require_admin, service_error, state};
    let user = require_admin().await?;
    let st = state()?;
    let keep = kept("", &client_id);
    let input = ConnectorInput { definition: String::new(), client_id, client_secret, confirm: confirm.is_some() };
    let name =
        hub_core::service::connectors::enable(&st.db, &st.connectors, &user.actor(), &name, input, chrono::Utc::now())
            .await
            .map_err(|e| service_error(e, keep))?;
    leptos_axum::redirect(&format!("/connectors/{name}?saved=enabled"));
    Ok(())
}

/// Saves a connector the admin wrote: new when `name` is empty.
#[server(endpoint = "save_connector")]
pub async fn save_connector(
    #[server(default)] name: String,
    definition: String,
    #[server(default)] client_id: String,
    #[server(default)] client_secret: String,
    #[server(default)] confirm: Option<String>,
) -> Result<(), AppError> {
    use hub_core::service::connectors::ConnectorInput;

    use crate::api::ctx::{require_admin, service_error, state};
    let user = require_admin().await?;
    let st = state()?;
    let keep = kept(&definition, &client_id);
    let input = ConnectorInput { definition, client_id, client_secret, confirm: confirm.is_some() };
    let existing = Some(name.as_str()).filter(|n| !n.is_empty());
    let name = hub_core::service::connectors::save_custom(
        &st.db,
        &st.connectors,
        &user.actor(),
        existing,
        input,
        chrono::Utc::now(),
    )
    .await
    .map_err(|e| service_error(e, keep))?;
    leptos_axum::redirect(&format!("/connectors/{name}?saved=saved"));
    Ok(())
}

/// Takes a console connector out of use.
#[server(endpoint = "remove_connector")]
pub async fn remove_connector(name: String) -> Result<(), AppError> {
    use crate::api::ctx::{require_admin, service_error, state};
    let user = require_admin().await?;
    let st = state()?;
    hub_core::service::connectors::remove(&st.db, &st.connectors, &user.actor(), &name, chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    leptos_axum::redirect("/connectors?saved=removed");
    Ok(())
}
