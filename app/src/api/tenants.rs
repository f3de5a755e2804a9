//! Tenants: the list, the creation flow's steps, and a tenant's summary.
//!
//! It is one file because the view types here are what the tenant pages share; the
//! server functions themselves are short, and the row-to-view mapping is in `server`.

use std::collections::BTreeMap;

use hub_core::domain::connector::{AuthKind, ConnectionStatus};
use hub_core::domain::form::{Form, Raw, Values};
use hub_core::domain::tenant::{ListQuery, NewTenantInput, ScheduleInput, SetupStep, Source, VersionInput};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TenantListPage {
    pub rows: Vec<TenantListItem>,
    pub total: i64,
    /// The page shown: the one asked for, or the last when it asked past the end.
    pub page: i64,
    pub pages: i64,
    /// The integrations to filter by, as (id, name).
    pub integrations: Vec<(i64, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantListItem {
    pub id: i64,
    pub name: String,
    pub integration_id: i64,
    pub integration: String,
    pub release: String,
    pub schedule: String,
    pub paused: bool,
    pub unfinished: bool,
    pub disconnected: i64,
    pub source: Source,
    /// The last run's phase label and time.
    pub last_run: Option<(String, String)>,
}

/// Step 1's choices for one integration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTenantForm {
    pub integration_id: i64,
    pub integration_name: String,
    /// Successful releases, newest first.
    pub releases: Vec<ReleaseOption>,
    pub default_release: Option<String>,
    pub latest_release: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseOption {
    pub id: i64,
    pub name: String,
    pub is_default: bool,
}

/// One connector block of the credentials step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionView {
    pub connector: String,
    pub display_name: String,
    pub auth: AuthKind,
    pub status: ConnectionStatus,
    pub status_reason: Option<String>,
    pub changed_at: String,
    /// (name, label, secret) of each field an `api_key`/`basic` connector asks for.
    pub fields: Vec<(String, String, bool)>,
    pub magic_link: String,
    /// "Expires …" or "Expired …", when links expire.
    pub link_expiry: Option<String>,
    pub link_expired: bool,
    pub info: String,
    /// The hub can collect its credentials (an OAuth2 connector has its client id).
    pub configured: bool,
}

/// Everything the creation flow's steps and the tenant's page show.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TenantSetup {
    pub id: i64,
    pub name: String,
    pub integration_id: i64,
    pub integration_name: String,
    /// The first step not finished yet.
    pub step: SetupStep,
    /// "Pinned: v2 (main)", "Default channel (now v2 (main))".
    pub release: String,
    pub connections: Vec<ConnectionView>,
    /// `None` when the release choice points at no successful release.
    pub form: Option<Form>,
    pub dynamic: Values,
    /// What the configuration form shows: an unsaved draft, or the stored values.
    pub raw: Raw,
    pub schedule: ScheduleInput,
    pub paused: bool,
    pub schedule_text: String,
    pub next_fire_at: Option<String>,
    pub source: Source,
    pub created_at: String,
    /// What an unfinished tenant still lacks, in words.
    pub lacks: Vec<String>,
    /// The release choice as the Settings form shows it, and the releases to pick from.
    pub version: VersionInput,
    pub releases: Vec<ReleaseOption>,
    /// The latest runs, newest first.
    pub runs: Vec<crate::api::runs::RunItem>,
    /// A sync is waiting, queued or running: the page refreshes until it ends.
    pub run_active: bool,
    /// Sync requests not yet made into a run.
    pub run_waiting: usize,
    /// The inbound webhook URL, once one was made.
    pub webhook_url: Option<String>,
    /// The marketplace user (sub, name, email) the tenant belongs to, if any.
    pub marketplace_user: Option<(String, Option<String>, Option<String>)>,
}

/// The configuration form as posted: each field's strings (`input[cfg][<name>][<i>]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConfigInput {
    pub cfg: Raw,
}

/// The schedule form's preview: the schedule in words and its next five fire times,
/// or the field the input fails on. Computed on the server, so the browser carries
/// neither the time-zone database nor the cron rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SchedulePreview {
    Fires { reading: String, times: Vec<String> },
    Invalid { field: String, message: String },
}

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use hub_core::auth::SessionUser;
    use hub_core::domain::release::ReleaseChoice;
    use hub_core::domain::tenant::{Schedule, PAGE_SIZE};
    use hub_core::service::overview::{Connection, Overview, ReleaseOption as CoreOption, TenantList};
    use hub_core::service::tenants::TenantRow;
    use hub_core::service::Scope;

    use super::*;
    use crate::api::ctx::{service_error, show_time, state};

    /// The preview of a schedule as typed, from `now`.
    pub fn schedule_preview(
        input: &ScheduleInput,
        tenant_id: i64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> SchedulePreview {
        let schedule = match input.parse() {
            Ok(s) => s,
            Err(e) => return SchedulePreview::Invalid { field: e.field, message: e.message },
        };
        let tz = match &schedule {
            Schedule::Cron { tz, .. } => *tz,
            Schedule::Preset(_) => chrono_tz::UTC,
        };
        let mut times = Vec::new();
        let mut after = now;
        while times.len() < 5 {
            let Some(next) = schedule.next_after(after, tenant_id) else { break };
            times.push(next.with_timezone(&tz).format("%a %Y-%m-%d %H:%M %Z").to_string());
            after = next;
        }
        SchedulePreview::Fires { reading: schedule.describe(), times }
    }

    /// The tenant, when this user may see it (otherwise 404).
    pub async fn visible(user: &SessionUser, id: i64) -> Result<TenantRow, AppError> {
        hub_core::service::tenants::visible(&state()?.db, Scope::of(user), id)
            .await
            .map_err(|e| service_error(e, Vec::new()))
    }

    pub fn option(r: CoreOption) -> ReleaseOption {
        ReleaseOption { id: r.id, name: r.name, is_default: r.is_default }
    }

    pub fn connection(c: Connection, public_url: &str) -> ConnectionView {
        let r = c.row;
        let expired = c.link_expires_at.is_some_and(|at| at <= chrono::Utc::now());
        ConnectionView {
            auth: c.auth,
            configured: c.configured,
            fields: c.fields,
            magic_link: format!("{}/connect/{}", public_url.trim_end_matches('/'), c.link.unwrap_or_default()),
            link_expiry: c.link_expires_at.map(|at| {
                if expired {
                    format!("Expired {}: replace it to send a working link.", show_time(at))
                } else {
                    format!("Works until {}.", show_time(at))
                }
            }),
            link_expired: expired,
            connector: r.connector_name,
            display_name: r.display_name,
            status: if c.connected { ConnectionStatus::Connected } else { r.status },
            status_reason: r.status_reason,
            changed_at: show_time(r.status_changed_at),
            info: r.info,
        }
    }

    /// One page of the tenants list, as the list shows it.
    pub(super) fn list_page(list: TenantList) -> TenantListPage {
        let TenantList { rows, total, page, integrations } = list;
        let rows = rows
            .into_iter()
            .map(|r| TenantListItem {
                release: ReleaseChoice::label(r.choice(), r.release_name.as_deref()),
                schedule: Schedule::from_parts(&r.schedule_kind, &r.schedule, &r.timezone)
                    .map(|s| s.describe())
                    .unwrap_or_else(|| r.schedule.clone()),
                unfinished: r.setup_step != SetupStep::Done,
                last_run: r
                    .last_run_phase
                    .map(|p| (p.label().to_owned(), r.last_run_at.map(show_time).unwrap_or_default())),
                id: r.id,
                name: r.name,
                integration_id: r.integration_id,
                integration: r.integration_name,
                paused: r.paused,
                disconnected: r.disconnected,
                source: r.source,
            })
            .collect();
        let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
        TenantListPage { rows, total, page, pages, integrations }
    }

    /// The tenant's page and the creation flow's steps, from the console's overview.
    pub(super) fn tenant_setup(o: Overview, public_url: &str) -> TenantSetup {
        let t = o.tenant;
        TenantSetup {
            marketplace_user: t
                .external_user
                .clone()
                .map(|sub| (sub, t.external_name.clone(), t.external_email.clone())),
            version: t.choice().map(VersionInput::of).unwrap_or_default(),
            release: o.release_text,
            schedule_text: o.schedule_text,
            next_fire_at: t.next_fire_at.map(show_time),
            id: t.id,
            name: t.name,
            integration_id: t.integration_id,
            integration_name: t.integration_name,
            step: o.step,
            connections: o.connections.into_iter().map(|c| connection(c, public_url)).collect(),
            form: o.form,
            dynamic: o.dynamic,
            raw: o.raw,
            schedule: o.schedule_input,
            paused: o.paused,
            source: t.source,
            created_at: show_time(t.created_at),
            lacks: o.lacks,
            releases: o.releases.into_iter().map(option).collect(),
            runs: o.runs.into_iter().map(|(r, _)| crate::api::runs::server::item(r)).collect(),
            run_active: o.busy,
            run_waiting: o.waiting,
            webhook_url: o.webhook_url,
        }
    }
}

#[server(endpoint = "tenants")]
pub async fn list_tenants(query: ListQuery) -> Result<TenantListPage, AppError> {
    use hub_core::service::Scope;

    use crate::api::ctx::{require_user, service_error, state};
    let user = require_user().await?;
    let list = hub_core::service::overview::list(&state()?.db, Scope::of(&user), &query)
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    Ok(server::list_page(list))
}

#[server(endpoint = "new_tenant_form")]
pub async fn get_new_tenant_form(integration_id: i64) -> Result<NewTenantForm, AppError> {
    use hub_core::service::Scope;

    use crate::api::ctx::{require_user, service_error, state};
    let user = require_user().await?;
    let c = hub_core::service::overview::new_tenant_choices(&state()?.db, Scope::of(&user), integration_id)
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    Ok(NewTenantForm {
        default_release: c.default_release,
        latest_release: c.latest_release,
        releases: c.releases.into_iter().map(server::option).collect(),
        integration_id,
        integration_name: c.integration.name,
    })
}

/// Step 1: makes the tenant and goes on to its credentials.
#[server(endpoint = "create_tenant")]
pub async fn create_tenant(integration_id: i64, input: NewTenantInput) -> Result<(), AppError> {
    use hub_core::service::Scope;

    use crate::api::ctx::{require_user, service_error, state};
    let user = require_user().await?;
    let (actor, scope, now) = (user.actor(), Scope::of(&user), chrono::Utc::now());
    let st = state()?;
    let id = hub_core::service::tenants::create_for(&st.db, &st.key, &actor, scope, integration_id, &input, now)
        .await
        .map_err(|e| service_error(e, input.kept()))?;
    leptos_axum::redirect(&format!("/tenants/{id}/setup"));
    Ok(())
}

#[server(endpoint = "tenant")]
pub async fn get_tenant(id: i64) -> Result<TenantSetup, AppError> {
    use hub_core::service::overview::{overview, Viewer};
    use hub_core::service::Scope;

    use crate::api::ctx::{require_user, service_error, state};
    let user = require_user().await?;
    let st = state()?;
    let o = overview(&st.db, &st.key, &st.public_url, Viewer::Console(Scope::of(&user)), id)
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    Ok(server::tenant_setup(o, &st.public_url))
}

/// The schedule form's preview for what is typed; `tenant_id` only spreads the
/// presets' minute, as the saved schedule would.
#[server(endpoint = "preview_schedule")]
pub async fn preview_schedule(tenant_id: i64, input: ScheduleInput) -> Result<SchedulePreview, AppError> {
    crate::api::ctx::require_user().await?;
    Ok(server::schedule_preview(&input, tenant_id, chrono::Utc::now()))
}

/// The names of the time zones a schedule may use, for the form's suggestions. They
/// come from the server so that the browser's code does not carry the zone table.
#[server(endpoint = "time_zone_names")]
pub async fn time_zone_names() -> Result<Vec<String>, AppError> {
    crate::api::ctx::require_user().await?;
    Ok(chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name().to_owned()).collect())
}

/// Saves an `api_key`/`basic` connector's fields (encrypted) and returns to the step.
#[server(endpoint = "save_tenant_credentials")]
pub async fn save_tenant_credentials(
    tenant_id: i64,
    connector: String,
    #[server(default)] fields: BTreeMap<String, String>,
) -> Result<(), AppError> {
    use crate::api::ctx::{require_user, service_error, state};
    let user = require_user().await?;
    let t = server::visible(&user, tenant_id).await?;
    let st = state()?;
    // Only the non-secret field names come back: never a typed secret.
    hub_core::service::tenants::save_credentials(
        &st.db,
        &st.key,
        &user.actor(),
        &t,
        &connector,
        &fields,
        chrono::Utc::now(),
    )
    .await
    .map_err(|e| service_error(e, Vec::new()))?;
    leptos_axum::redirect(&format!("/tenants/{tenant_id}/setup/credentials?done={connector}"));
    Ok(())
}

/// Leaves the credentials step, connected or not.
#[server(endpoint = "finish_tenant_credentials")]
pub async fn finish_tenant_credentials(tenant_id: i64) -> Result<(), AppError> {
    use crate::api::ctx::{require_user, service_error, state};
    let user = require_user().await?;
    let t = server::visible(&user, tenant_id).await?;
    hub_core::service::tenants::finish_credentials(&state()?.db, &t, chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    leptos_axum::redirect(&format!("/tenants/{tenant_id}/setup/configuration"));
    Ok(())
}

/// Step 3: the configuration form. On errors the typed values are kept as a draft.
#[server(endpoint = "save_tenant_configs")]
pub async fn save_tenant_configs(tenant_id: i64, #[server(default)] input: ConfigInput) -> Result<(), AppError> {
    use crate::api::ctx::{require_user, service_error, state};
    let user = require_user().await?;
    let t = server::visible(&user, tenant_id).await?;
    hub_core::service::tenants::save_configs(&state()?.db, &user.actor(), &t, &input.cfg, chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    leptos_axum::redirect(&format!("/tenants/{tenant_id}/setup/schedule"));
    Ok(())
}

/// Steps 4 and 5: the schedule, and paused or running. Finishes the flow.
#[server(endpoint = "save_tenant_schedule")]
pub async fn save_tenant_schedule(tenant_id: i64, input: ScheduleInput, paused: String) -> Result<(), AppError> {
    use crate::api::ctx::{require_user, service_error, state};
    let user = require_user().await?;
    let t = server::visible(&user, tenant_id).await?;
    let paused = paused != "false";
    let mut kept = input.kept();
    kept.push(("paused".into(), paused.to_string()));
    hub_core::service::tenants::save_schedule(&state()?.db, &user.actor(), &t, &input, paused, chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, kept))?;
    // A new schedule or an unpause takes effect at once.
    state()?.engine.wake();
    leptos_axum::redirect(&format!("/tenants/{tenant_id}?done=saved"));
    Ok(())
}

/// Settings: the version (release choice) and the configuration, saved together.
#[server(endpoint = "save_tenant_settings")]
pub async fn save_tenant_settings(
    tenant_id: i64,
    version: VersionInput,
    #[server(default)] input: ConfigInput,
) -> Result<(), AppError> {
    use crate::api::ctx::{require_user, service_error, state};
    let user = require_user().await?;
    let t = server::visible(&user, tenant_id).await?;
    let kept = vec![
        ("release_mode".to_owned(), version.release_mode.clone()),
        ("release_id".to_owned(), version.release_id.clone()),
        ("channel".to_owned(), version.channel.clone()),
    ];
    hub_core::service::tenants::save_settings(
        &state()?.db,
        &user.actor(),
        &t,
        &version,
        &input.cfg,
        chrono::Utc::now(),
    )
    .await
    .map_err(|e| service_error(e, kept))?;
    leptos_axum::redirect(&format!("/tenants/{tenant_id}?done=settings"));
    Ok(())
}

/// Removes a connection's stored credentials; its magic link stays the same.
#[server(endpoint = "disconnect_connection")]
pub async fn disconnect_connection(tenant_id: i64, connector: String) -> Result<(), AppError> {
    use crate::api::ctx::{require_user, service_error, state};
    let user = require_user().await?;
    server::visible(&user, tenant_id).await?;
    hub_core::service::connections::disconnect(&state()?.db, &user.actor(), tenant_id, &connector, chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    leptos_axum::redirect(&format!("/tenants/{tenant_id}?done=disconnected"));
    Ok(())
}

/// Gives a connection a new magic link; the old one then says it was replaced.
#[server(endpoint = "replace_magic_link")]
pub async fn replace_magic_link(tenant_id: i64, connector: String) -> Result<(), AppError> {
    use crate::api::ctx::{require_user, service_error, state};
    use hub_core::service::Scope;
    let user = require_user().await?;
    let st = state()?;
    let now = chrono::Utc::now();
    hub_core::service::connections::replace_link(
        &st.db,
        &st.key,
        &user.actor(),
        Scope::of(&user),
        tenant_id,
        &connector,
        now,
    )
    .await
    .map_err(|e| service_error(e, Vec::new()))?;
    leptos_axum::redirect(&format!("/tenants/{tenant_id}?done=link"));
    Ok(())
}

/// Archives a tenant: it leaves the list and never runs again.
#[server(endpoint = "archive_tenant")]
pub async fn archive_tenant(tenant_id: i64) -> Result<(), AppError> {
    use crate::api::ctx::{require_user, service_error, state};
    let user = require_user().await?;
    let t = server::visible(&user, tenant_id).await?;
    hub_core::service::tenants::archive(&state()?.db, &user.actor(), &t, chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    leptos_axum::redirect("/tenants?done=archived");
    Ok(())
}

/// Makes a new inbound webhook URL for the tenant; an earlier one stops working.
#[server(endpoint = "make_tenant_webhook")]
pub async fn make_tenant_webhook(tenant_id: i64) -> Result<(), AppError> {
    use crate::api::ctx::{require_user, service_error, state};
    let user = require_user().await?;
    let t = server::visible(&user, tenant_id).await?;
    let st = state()?;
    hub_core::service::tenants::rotate_webhook(&st.db, &st.key, &st.public_url, &user.actor(), &t, chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    leptos_axum::redirect(&format!("/tenants/{tenant_id}?done=webhook#webhook-heading"));
    Ok(())
}
