//! The embedded marketplace's end-user endpoints. Every one takes the company's token
//! as its first argument and checks it on each call (no cookie: browsers block
//! third-party cookies in frames), then touches only tenants whose owner is the
//! token's `sub`.

use std::collections::BTreeMap;

use hub_core::domain::connector::AuthKind;
use hub_core::domain::form::{Form, Raw, Values};
use hub_core::domain::tenant::SetupStep;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::tenants::ConfigInput;
use crate::error::AppError;

/// The marketplace's look, on every embedded page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Brand {
    pub title: String,
    pub accent: String,
    pub logo_url: String,
    /// Who the token names: their name, email or `sub`.
    pub user: String,
}

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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmbedConnection {
    pub connector: String,
    pub display_name: String,
    pub auth: AuthKind,
    pub connected: bool,
    pub status_reason: Option<String>,
    /// (name, label, secret) of each field an `api_key`/`basic` connector asks for.
    pub fields: Vec<(String, String, bool)>,
    /// Where an OAuth2 connector's sign-in starts (opened in its own window).
    pub start_url: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketRun {
    pub id: i64,
    pub mode: String,
    pub phase: String,
    pub phase_code: String,
    pub started: String,
    pub duration: Option<String>,
    /// The end of the run's log.
    pub log: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MarketApp {
    pub brand: Brand,
    pub id: i64,
    pub name: String,
    pub integration_id: i64,
    pub integration: String,
    pub step: SetupStep,
    pub connections: Vec<EmbedConnection>,
    pub form: Option<Form>,
    pub dynamic: Values,
    pub raw: Raw,
    /// The form has choices only an init sync fills in, and none came yet.
    pub waiting_for_choices: bool,
    pub preset: String,
    pub paused: bool,
    pub schedule_text: String,
    pub runs: Vec<MarketRun>,
    /// A sync is waiting or going: the page refreshes until it ends.
    pub busy: bool,
}

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use chrono::Utc;
    use hub_core::domain::marketplace::EndUser;
    use hub_core::service::marketplace::{self as svc, Settings, TokenError};
    use hub_core::service::overview::Connection;

    use super::*;
    use crate::api::ctx::{fail, service_error, state};

    pub use crate::api::ctx::service_error as failed;

    /// The end user the token names, or 401 with the reason (shown in the frame).
    pub async fn end_user(token: &str) -> Result<EndUser, AppError> {
        let st = state()?;
        match svc::verify(&st.db, &st.key, token, Utc::now()).await {
            Ok(u) => Ok(u),
            Err(TokenError::Refused(m)) => Err(fail(AppError::TokenRefused(m))),
            Err(TokenError::Service(e)) => Err(service_error(e, Vec::new())),
        }
    }

    pub fn brand(s: &Settings, user: &EndUser) -> Brand {
        Brand {
            title: s.title().to_owned(),
            accent: s.accent().to_owned(),
            logo_url: s.logo_url.clone(),
            user: user.label().to_owned(),
        }
    }

    pub fn tile(l: svc::ListingRow, blocked: Option<String>) -> Tile {
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

    pub fn app_item(t: &hub_core::service::tenants::TenantRow) -> AppItem {
        AppItem {
            id: t.id,
            integration_id: t.integration_id,
            integration: t.integration_name.clone(),
            status: hub_core::service::embed::status_of(t).to_owned(),
        }
    }

    /// Why one more install is refused, if it is.
    pub fn cap_note(user: &EndUser, installed: usize) -> Option<String> {
        (!user.may_install(i64::try_from(installed).unwrap_or(i64::MAX))).then(|| {
            "You have installed as many integrations as your account allows. Uninstall one to install another."
                .to_owned()
        })
    }

    pub fn connection(c: Connection) -> EmbedConnection {
        EmbedConnection {
            auth: c.auth,
            fields: c.fields,
            start_url: format!("/connect/{}/start", c.row.magic_token),
            connected: c.connected,
            status_reason: c.row.status_reason,
            connector: c.row.connector_name,
            display_name: c.row.display_name,
        }
    }

    pub fn run(r: hub_core::service::runs::RunListRow, log: Option<String>) -> MarketRun {
        let item = crate::api::runs::server::item(r);
        MarketRun {
            id: item.id,
            mode: item.mode,
            phase: item.phase,
            phase_code: item.phase_code,
            started: item.started,
            duration: item.duration,
            log: log.unwrap_or_default(),
        }
    }

    /// The user's own tenant, or 404.
    pub async fn own(user: &EndUser, tenant_id: i64) -> Result<hub_core::service::tenants::TenantRow, AppError> {
        svc::app(&state()?.db, user, tenant_id).await.map_err(|e| service_error(e, Vec::new()))
    }

    /// An embedded page's address, keeping the token and the form kind.
    pub fn href(path: &str, token: &str, form: &str) -> String {
        super::embed_href(path, token, form)
    }
}

/// An embedded page's address with the token and the form kind (`full`, `install`,
/// `auth`) in its query.
pub fn embed_href(path: &str, token: &str, form: &str) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let sep = if path.contains('?') { '&' } else { '?' };
    let form = if matches!(form, "install" | "auth") { form } else { "full" };
    format!("{path}{sep}token={}&form={form}", enc(token))
}

#[server(endpoint = "embed_home")]
pub async fn embed_home(token: String) -> Result<MarketHome, AppError> {
    use crate::api::ctx::state;
    let user = server::end_user(&token).await?;
    let h = hub_core::service::embed::home(&state()?.db, &user).await.map_err(|e| server::failed(e, Vec::new()))?;
    let cap = server::cap_note(&user, h.apps.len());
    Ok(MarketHome {
        brand: server::brand(&h.settings, &user),
        tiles: h.offered.into_iter().map(|l| server::tile(l, cap.clone())).collect(),
        apps: h.apps.iter().map(server::app_item).collect(),
    })
}

#[server(endpoint = "embed_listing")]
pub async fn embed_listing(token: String, integration_id: i64) -> Result<MarketListing, AppError> {
    use crate::api::ctx::state;
    let user = server::end_user(&token).await?;
    let l = hub_core::service::embed::listing(&state()?.db, &user, integration_id)
        .await
        .map_err(|e| server::failed(e, Vec::new()))?;
    let cap = server::cap_note(&user, l.apps.len());
    Ok(MarketListing {
        brand: server::brand(&l.settings, &user),
        tile: server::tile(l.listing, cap),
        apps: l.apps.iter().filter(|t| t.integration_id == integration_id).map(server::app_item).collect(),
    })
}

/// Installs the integration for the token's user and opens the new tenant.
#[server(endpoint = "embed_install")]
pub async fn embed_install(
    token: String,
    integration_id: i64,
    #[server(default)] form: String,
) -> Result<(), AppError> {
    use crate::api::ctx::state;
    let user = server::end_user(&token).await?;
    let st = state()?;
    let id = hub_core::service::embed::install_app(&st.db, &st.engine, &user, integration_id, chrono::Utc::now())
        .await
        .map_err(|e| server::failed(e, Vec::new()))?;
    leptos_axum::redirect(&server::href(&format!("/embed/apps/{id}"), &token, &form));
    Ok(())
}

#[server(endpoint = "embed_app")]
pub async fn embed_app(token: String, tenant_id: i64) -> Result<MarketApp, AppError> {
    use hub_core::domain::schedule::Preset;
    use hub_core::domain::tenant::Schedule;
    use hub_core::service::overview::{overview, Viewer};

    use crate::api::ctx::state;
    let user = server::end_user(&token).await?;
    let st = state()?;
    let o = overview(&st.db, &st.key, &st.public_url, Viewer::EndUser(&user), tenant_id)
        .await
        .map_err(|e| server::failed(e, Vec::new()))?;
    let look = hub_core::service::embed::look(&st.db).await.map_err(|e| server::failed(e, Vec::new()))?;
    let preset = match &o.schedule {
        Some(Schedule::Preset(p)) => p.as_str().to_owned(),
        _ => Preset::Daily.as_str().to_owned(),
    };
    let t = o.tenant;
    Ok(MarketApp {
        brand: server::brand(&look, &user),
        id: t.id,
        step: o.step,
        waiting_for_choices: o.waiting_for_choices,
        schedule_text: o.schedule_text,
        paused: t.paused,
        preset,
        name: t.name,
        integration_id: t.integration_id,
        integration: t.integration_name,
        connections: o.connections.into_iter().map(server::connection).collect(),
        form: o.form,
        dynamic: o.dynamic,
        raw: o.raw,
        runs: o.runs.into_iter().map(|(r, log)| server::run(r, log)).collect(),
        busy: o.busy,
    })
}

/// Saves an `api_key`/`basic` connector's fields for the user's tenant.
#[server(endpoint = "embed_credentials")]
pub async fn embed_credentials(
    token: String,
    tenant_id: i64,
    connector: String,
    #[server(default)] fields: BTreeMap<String, String>,
    #[server(default)] form: String,
) -> Result<(), AppError> {
    use hub_core::service::marketplace::actor;

    use crate::api::ctx::{service_error, state};
    let user = server::end_user(&token).await?;
    let t = server::own(&user, tenant_id).await?;
    let st = state()?;
    hub_core::service::tenants::save_credentials(
        &st.db,
        &st.key,
        &actor(&user),
        &t,
        &connector,
        &fields,
        chrono::Utc::now(),
    )
    .await
    .map_err(|e| service_error(e, Vec::new()))?;
    leptos_axum::redirect(&server::href(&format!("/embed/apps/{tenant_id}"), &token, &form));
    Ok(())
}

/// Leaves the connect step once every connector is connected, and starts the init
/// sync that fetches the choices of the settings form.
#[server(endpoint = "embed_continue")]
pub async fn embed_continue(token: String, tenant_id: i64, #[server(default)] form: String) -> Result<(), AppError> {
    use crate::api::ctx::state;
    let user = server::end_user(&token).await?;
    let st = state()?;
    hub_core::service::embed::continue_setup(&st.db, &st.engine, &user, tenant_id, chrono::Utc::now())
        .await
        .map_err(|e| server::failed(e, Vec::new()))?;
    leptos_axum::redirect(&server::href(&format!("/embed/apps/{tenant_id}"), &token, &form));
    Ok(())
}

#[server(endpoint = "embed_configure")]
pub async fn embed_configure(
    token: String,
    tenant_id: i64,
    #[server(default)] input: ConfigInput,
    #[server(default)] form: String,
) -> Result<(), AppError> {
    use hub_core::domain::form::Audience;
    use hub_core::service::marketplace::actor;

    use crate::api::ctx::{service_error, state};
    let user = server::end_user(&token).await?;
    let t = server::own(&user, tenant_id).await?;
    hub_core::service::tenants::save_configs_as(
        &state()?.db,
        &actor(&user),
        &t,
        &input.cfg,
        Audience::EndUser,
        chrono::Utc::now(),
    )
    .await
    .map_err(|e| service_error(e, Vec::new()))?;
    leptos_axum::redirect(&server::href(&format!("/embed/apps/{tenant_id}?done=configured"), &token, &form));
    Ok(())
}

/// The schedule, within the simple presets, and paused or running.
#[server(endpoint = "embed_schedule")]
pub async fn embed_schedule(
    token: String,
    tenant_id: i64,
    preset: String,
    paused: String,
    #[server(default)] form: String,
) -> Result<(), AppError> {
    use hub_core::domain::tenant::ScheduleInput;
    use hub_core::service::marketplace::actor;

    use crate::api::ctx::{service_error, state};
    let user = server::end_user(&token).await?;
    let t = server::own(&user, tenant_id).await?;
    let st = state()?;
    let input = ScheduleInput { kind: "simple".into(), preset: preset.clone(), ..Default::default() };
    let paused = paused != "false";
    let kept = vec![("preset".to_owned(), preset)];
    hub_core::service::tenants::save_schedule(&st.db, &actor(&user), &t, &input, paused, chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, kept))?;
    st.engine.wake();
    leptos_axum::redirect(&server::href(&format!("/embed/apps/{tenant_id}?done=scheduled"), &token, &form));
    Ok(())
}

#[server(endpoint = "embed_run")]
pub async fn embed_run(token: String, tenant_id: i64, #[server(default)] form: String) -> Result<(), AppError> {
    use crate::api::ctx::state;
    let user = server::end_user(&token).await?;
    let st = state()?;
    hub_core::service::embed::sync_now(&st.db, &st.engine, &user, tenant_id, chrono::Utc::now())
        .await
        .map_err(|e| server::failed(e, Vec::new()))?;
    leptos_axum::redirect(&server::href(&format!("/embed/apps/{tenant_id}?done=run"), &token, &form));
    Ok(())
}

#[server(endpoint = "embed_disconnect")]
pub async fn embed_disconnect(
    token: String,
    tenant_id: i64,
    connector: String,
    #[server(default)] form: String,
) -> Result<(), AppError> {
    use hub_core::service::marketplace::actor;

    use crate::api::ctx::{service_error, state};
    let user = server::end_user(&token).await?;
    server::own(&user, tenant_id).await?;
    hub_core::service::connections::disconnect(&state()?.db, &actor(&user), tenant_id, &connector, chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    leptos_axum::redirect(&server::href(&format!("/embed/apps/{tenant_id}"), &token, &form));
    Ok(())
}

/// Uninstalls: the tenant is archived (it never runs again; its history is kept).
#[server(endpoint = "embed_uninstall")]
pub async fn embed_uninstall(token: String, tenant_id: i64, #[server(default)] form: String) -> Result<(), AppError> {
    use hub_core::service::marketplace::actor;

    use crate::api::ctx::{service_error, state};
    let user = server::end_user(&token).await?;
    let t = server::own(&user, tenant_id).await?;
    hub_core::service::tenants::archive(&state()?.db, &actor(&user), &t, chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    let back = match form.as_str() {
        "install" => format!("/embed/install/{}?done=uninstalled", t.integration_id),
        "auth" => format!("/embed/auth/{}?done=uninstalled", t.integration_id),
        _ => "/embed?done=uninstalled".to_owned(),
    };
    leptos_axum::redirect(&server::href(&back, &token, &form));
    Ok(())
}
