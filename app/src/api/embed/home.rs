//! The marketplace itself: its home (what is offered and what the user installed), one
//! integration's listing, and installing it.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::server;
use super::Brand;
use crate::error::AppError;

/// One integration as the marketplace shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tile {
    pub id: i64,
    pub name: String,
    pub short_description: String,
    pub long_description: String,
    pub categories: Vec<String>,
    pub tags: Vec<String>,
    pub flag: Option<(String, String)>,
    /// Why it cannot be installed now, if it cannot.
    pub blocked: Option<String>,
}

/// One of the user's installed integrations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppItem {
    pub id: i64,
    pub integration_id: i64,
    pub integration: String,
    pub status: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketHome {
    pub brand: Brand,
    pub tiles: Vec<Tile>,
    pub apps: Vec<AppItem>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketListing {
    pub brand: Brand,
    pub tile: Tile,
    /// The user's tenants of this integration.
    pub apps: Vec<AppItem>,
}

#[cfg(feature = "ssr")]
mod views {
    use hub_core::domain::marketplace::EndUser;
    use hub_core::service::marketplace::ListingRow;
    use hub_core::service::tenants::TenantRow;

    use super::*;

    pub(super) fn tile(l: ListingRow, blocked: Option<String>) -> Tile {
        Tile {
            categories: l.categories(),
            tags: l.tags(),
            flag: l.flag_name.clone().map(|n| (n, l.flag_color.clone().unwrap_or_default())),
            blocked: blocked.or_else(|| {
                l.default_release_id.is_none().then(|| "Not available yet: it has no release to run.".to_owned())
            }),
            id: l.id,
            name: l.name,
            short_description: l.short_description,
            long_description: l.long_description,
        }
    }

    pub(super) fn app_item(t: &TenantRow) -> AppItem {
        AppItem {
            id: t.id,
            integration_id: t.integration_id,
            integration: t.integration_name.clone(),
            status: hub_core::service::embed::status_of(t).to_owned(),
        }
    }

    /// Why one more install is refused, if it is.
    pub(super) fn cap_note(user: &EndUser, installed: usize) -> Option<String> {
        (!user.may_install(i64::try_from(installed).unwrap_or(i64::MAX))).then(|| {
            "You have installed as many integrations as your account allows. Uninstall one to install another."
                .to_owned()
        })
    }
}

#[server(endpoint = "embed_home")]
pub async fn embed_home(token: String) -> Result<MarketHome, AppError> {
    use crate::api::ctx::{service_error, state};
    let user = server::end_user(&token).await?;
    let h = hub_core::service::embed::home(&state()?.db, &user).await.map_err(|e| service_error(e, Vec::new()))?;
    let cap = views::cap_note(&user, h.apps.len());
    Ok(MarketHome {
        brand: server::brand(&h.settings, &user),
        tiles: h.offered.into_iter().map(|l| views::tile(l, cap.clone())).collect(),
        apps: h.apps.iter().map(views::app_item).collect(),
    })
}

#[server(endpoint = "embed_listing")]
pub async fn embed_listing(token: String, integration_id: i64) -> Result<MarketListing, AppError> {
    use crate::api::ctx::{service_error, state};
    let user = server::end_user(&token).await?;
    let l = hub_core::service::embed::listing(&state()?.db, &user, integration_id)
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    let cap = views::cap_note(&user, l.apps.len());
    Ok(MarketListing {
        brand: server::brand(&l.settings, &user),
        tile: views::tile(l.listing, cap),
        apps: l.apps.iter().filter(|t| t.integration_id == integration_id).map(views::app_item).collect(),
    })
}

/// Installs the integration for the token's user and opens the new tenant.
#[server(endpoint = "embed_install")]
pub async fn embed_install(
    token: String,
    integration_id: i64,
    #[server(default)] form: String,
) -> Result<(), AppError> {
    use crate::api::ctx::{service_error, state};
    let user = server::end_user(&token).await?;
    let st = state()?;
    let id = hub_core::service::embed::install_app(&st.db, &st.engine, &user, integration_id, chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    leptos_axum::redirect(&server::href(&format!("/embed/apps/{id}"), &token, &form));
    Ok(())
}
