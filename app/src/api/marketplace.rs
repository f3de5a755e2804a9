//! Settings → Marketplace and an integration's listing: the admin's side of the
//! embedded marketplace. The end user's side is `embed`.

use hub_core::domain::marketplace::{ListingInput, MarketplaceInput};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Settings → Marketplace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketplaceAdmin {
    pub input: MarketplaceInput,
    pub has_secret: bool,
    pub secret_made_at: Option<String>,
    /// Until when the replaced secret is still accepted.
    pub grace_until: Option<String>,
    /// A secret just made, shown once.
    pub revealed: Option<String>,
    /// The hub's public address, for the embed snippet.
    pub public_url: String,
    /// (id, name) of the published integrations.
    pub published: Vec<(i64, String)>,
    /// The marketplace as the signed-in admin would see it as an end user, with an
    /// hour-long token of their own (once there is a secret).
    pub preview_url: Option<String>,
}

/// The integration page's Marketplace listing form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingView {
    pub integration_id: i64,
    pub input: ListingInput,
    pub has_default_release: bool,
}

#[cfg(feature = "ssr")]
mod server {
    use chrono::{DateTime, Utc};
    use hub_core::service::marketplace::Settings;

    use super::*;
    use crate::api::ctx::show_time;

    /// Settings → Marketplace: the stored settings, the published integrations and the
    /// admin's preview token.
    pub(super) fn admin_view(
        s: &Settings,
        now: DateTime<Utc>,
        public_url: &str,
        published: Vec<(i64, String)>,
        preview: Option<String>,
    ) -> MarketplaceAdmin {
        MarketplaceAdmin {
            input: MarketplaceInput {
                name: s.name.clone(),
                accent: s.accent().to_owned(),
                logo_url: s.logo_url.clone(),
                origins: s.origins.join("\n"),
            },
            has_secret: s.secret.is_some(),
            secret_made_at: s.secret_made_at.map(show_time),
            grace_until: s.in_grace(now).then_some(s.previous_until).flatten().map(show_time),
            revealed: crate::api::access::server::take_revealed("mpsec"),
            public_url: public_url.trim_end_matches('/').to_owned(),
            published,
            preview_url: preview.map(|t| crate::api::embed::embed_href("/embed", &t, "full")),
        }
    }
}

// ---- Admin ----

#[server(endpoint = "marketplace_settings")]
pub async fn get_marketplace_settings() -> Result<MarketplaceAdmin, AppError> {
    use crate::api::ctx::{require_admin, service_error, state};
    let user = require_admin().await?;
    let st = state()?;
    let now = chrono::Utc::now();
    let a = hub_core::service::marketplace::admin(&st.db, &st.key, &user, now)
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    let published = a.published.into_iter().map(|l| (l.id, l.name)).collect();
    Ok(server::admin_view(&a.settings, now, &st.public_url, published, a.preview))
}

#[server(endpoint = "save_marketplace")]
pub async fn save_marketplace(input: MarketplaceInput) -> Result<(), AppError> {
    use crate::api::ctx::{require_admin, service_error, state};
    let user = require_admin().await?;
    let kept = vec![
        ("name".to_owned(), input.name.clone()),
        ("accent".to_owned(), input.accent.clone()),
        ("logo_url".to_owned(), input.logo_url.clone()),
        ("origins".to_owned(), input.origins.clone()),
    ];
    hub_core::service::marketplace::save_settings(&state()?.db, &user.actor(), &input, chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, kept))?;
    leptos_axum::redirect("/settings/marketplace?done=saved");
    Ok(())
}

/// Makes a new signing secret (shown once); the old one is accepted `grace_hours` more.
#[server(endpoint = "rotate_marketplace_secret")]
pub async fn rotate_marketplace_secret(grace_hours: String) -> Result<String, AppError> {
    use crate::api::ctx::{require_admin, service_error, state};
    let user = require_admin().await?;
    let st = state()?;
    let kept = vec![("grace_hours".to_owned(), grace_hours.clone())];
    let secret =
        hub_core::service::marketplace::rotate_secret(&st.db, &st.key, &user.actor(), &grace_hours, chrono::Utc::now())
            .await
            .map_err(|e| service_error(e, kept))?;
    crate::api::access::server::reveal_later("mpsec", &secret);
    Ok(secret)
}

/// Stops accepting the replaced secret now.
#[server(endpoint = "end_marketplace_grace")]
pub async fn end_marketplace_grace() -> Result<(), AppError> {
    use crate::api::ctx::{require_admin, service_error, state};
    let user = require_admin().await?;
    hub_core::service::marketplace::end_grace(&state()?.db, &user.actor(), chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    leptos_axum::redirect("/settings/marketplace?done=grace");
    Ok(())
}

#[server(endpoint = "integration_listing")]
pub async fn get_listing(integration_id: i64) -> Result<ListingView, AppError> {
    use hub_core::service::Scope;

    use crate::api::ctx::{require_user, service_error, state};
    let user = require_user().await?;
    let l = hub_core::service::integrations::listing(&state()?.db, Scope::of(&user), integration_id)
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    Ok(ListingView {
        integration_id,
        has_default_release: l.default_release_id.is_some(),
        input: ListingInput {
            published: if l.published { "on".into() } else { String::new() },
            categories: l.categories().join(", "),
            tags: l.tags().join(", "),
            flag_name: l.flag_name.clone().unwrap_or_default(),
            flag_color: l.flag_color.clone().unwrap_or_default(),
            short_description: l.short_description,
            long_description: l.long_description,
        },
    })
}

#[server(endpoint = "save_listing")]
pub async fn save_listing(integration_id: i64, input: ListingInput) -> Result<(), AppError> {
    use hub_core::service::Scope;

    use crate::api::ctx::{require_company_user, service_error, state};
    // The marketplace is the company's: partners' users may not publish into it.
    let user = require_company_user().await?;
    let kept = input.kept();
    let (actor, scope, now) = (user.actor(), Scope::of(&user), chrono::Utc::now());
    hub_core::service::integrations::save_listing(&state()?.db, &actor, scope, integration_id, &input, now)
        .await
        .map_err(|e| service_error(e, kept))?;
    leptos_axum::redirect(&format!("/integrations/{integration_id}?done=listing#listing-heading"));
    Ok(())
}

/// Links a tenant to a marketplace user (`sub`), or with an empty `sub` unlinks it.
#[server(endpoint = "link_marketplace_user")]
pub async fn link_marketplace_user(
    tenant_id: i64,
    sub: String,
    #[server(default)] name: String,
    #[server(default)] email: String,
) -> Result<(), AppError> {
    use crate::api::ctx::{require_company_user, service_error, state};
    // Linking hands the tenant (credentials, settings, uninstall) to an end user.
    let user = require_company_user().await?;
    let t = crate::api::tenants::server::visible(&user, tenant_id).await?;
    let kept =
        vec![("sub".to_owned(), sub.clone()), ("name".to_owned(), name.clone()), ("email".to_owned(), email.clone())];
    let st = state()?;
    hub_core::service::marketplace::link(&st.db, &st.key, &user.actor(), &t, &sub, &name, &email, chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, kept))?;
    leptos_axum::redirect(&format!("/tenants/{tenant_id}?done=linked"));
    Ok(())
}
