//! One of the user's installed integrations: the page (connections, settings, schedule,
//! syncs) and what its forms post.

use std::collections::BTreeMap;

use hub_core::domain::connector::AuthKind;
use hub_core::domain::form::{Form, Raw, Values};
use hub_core::domain::run::{Mode, Phase};
use hub_core::domain::tenant::SetupStep;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::server;
use super::Brand;
use crate::api::tenants::ConfigInput;
use crate::error::AppError;

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
    pub mode: Mode,
    pub phase: String,
    pub phase_code: Phase,
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
mod views {
    use hub_core::domain::marketplace::EndUser;
    use hub_core::domain::schedule::Preset;
    use hub_core::domain::tenant::Schedule;
    use hub_core::service::marketplace::Settings;
    use hub_core::service::overview::{Connection, Overview};
    use hub_core::service::runs::RunListRow;

    use super::*;

    fn connection(c: Connection) -> EmbedConnection {
        EmbedConnection {
            auth: c.auth,
            fields: c.fields,
            start_url: format!("/connect/{}/start", c.link.unwrap_or_default()),
            connected: c.connected,
            status_reason: c.row.status_reason,
            connector: c.row.connector_name,
            display_name: c.row.display_name,
        }
    }

    fn run(r: RunListRow, log: Option<String>) -> MarketRun {
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

    /// The app's page, from the end user's overview of the tenant and the marketplace's look.
    pub(super) fn market_app(o: Overview, look: &Settings, user: &EndUser) -> MarketApp {
        let preset = match &o.schedule {
            Some(Schedule::Preset(p)) => p.as_str().to_owned(),
            _ => Preset::Daily.as_str().to_owned(),
        };
        let t = o.tenant;
        MarketApp {
            brand: server::brand(look, user),
            id: t.id,
            step: o.step,
            waiting_for_choices: o.waiting_for_choices,
            schedule_text: o.schedule_text,
            paused: t.paused,
            preset,
            name: t.name,
            integration_id: t.integration_id,
            integration: t.integration_name,
            connections: o.connections.into_iter().map(connection).collect(),
            form: o.form,
            dynamic: o.dynamic,
            raw: o.raw,
            runs: o.runs.into_iter().map(|(r, log)| run(r, log)).collect(),
            busy: o.busy,
        }
    }
}

#[server(endpoint = "embed_app")]
pub async fn embed_app(token: String, tenant_id: i64) -> Result<MarketApp, AppError> {
    use hub_core::service::embed::app_page;

    use crate::api::ctx::{service_error, state};
    let user = server::end_user(&token).await?;
    let st = state()?;
    let page = app_page(&st.db, &st.key, &st.public_url, &user, tenant_id, chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    Ok(views::market_app(page.overview, &page.look, &user))
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
    use crate::api::ctx::{service_error, state};
    let user = server::end_user(&token).await?;
    let st = state()?;
    hub_core::service::embed::continue_setup(&st.db, &st.engine, &user, tenant_id, chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
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
    use crate::api::ctx::{service_error, state};
    let user = server::end_user(&token).await?;
    let st = state()?;
    hub_core::service::embed::sync_now(&st.db, &st.engine, &user, tenant_id, chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
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
