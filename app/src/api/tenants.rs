//! Tenants: the list, the creation flow's steps, and a tenant's summary.

use std::collections::BTreeMap;

use hub_core::domain::connector::AuthKind;
use hub_core::domain::form::{Form, Raw, Values};
use hub_core::domain::tenant::{ListQuery, NewTenantInput, ScheduleInput, SetupStep, VersionInput};
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
    pub source: String,
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
    pub status: String,
    pub status_reason: Option<String>,
    pub changed_at: String,
    /// (name, label, secret) of each field an `api_key`/`basic` connector asks for.
    pub fields: Vec<(String, String, bool)>,
    pub magic_link: String,
    pub info: String,
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
    pub source: String,
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

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use hub_core::auth::SessionUser;
    use hub_core::db::tenants::{self, TenantRow};
    use hub_core::domain::release::ReleaseChoice;

    use super::*;
    use crate::api::ctx::{fail, internal, state};
    use crate::api::integrations::server::org_filter;

    /// The tenant, when this user may see its integration (otherwise 404).
    pub async fn visible(user: &SessionUser, id: i64) -> Result<TenantRow, AppError> {
        let row = tenants::get(state()?.db.pool(), id).await.map_err(internal)?;
        match row {
            Some(t) if !t.archived && org_filter(user).is_none_or(|org| org == t.organization_id) => Ok(t),
            _ => Err(fail(AppError::NotFound)),
        }
    }

    pub fn release_text(choice: Option<ReleaseChoice>, resolved: Option<&str>) -> String {
        let now = resolved.map_or_else(|| "no release yet".to_owned(), |r| format!("now {r}"));
        match choice {
            Some(ReleaseChoice::Specific(_)) => format!("Pinned: {}", resolved.unwrap_or("a release that is gone")),
            Some(ReleaseChoice::Default) => format!("Default channel ({now})"),
            Some(ReleaseChoice::Latest) => format!("Latest channel ({now})"),
            None => "Unknown".to_owned(),
        }
    }
}

#[server(endpoint = "tenants")]
pub async fn list_tenants(query: ListQuery) -> Result<TenantListPage, AppError> {
    use hub_core::domain::tenant::{Schedule, PAGE_SIZE};

    use crate::api::ctx::{internal, require_user, show_time, state};
    use crate::api::integrations::server::org_filter;
    let user = require_user().await?;
    let pool = state()?.db.pool().clone();
    let org = org_filter(&user);
    let (rows, total, page) = hub_core::db::tenants::list(&pool, &query, org).await.map_err(internal)?;
    let integrations = hub_core::db::integrations::names(&pool, org).await.map_err(internal)?;
    let rows = rows
        .into_iter()
        .map(|r| TenantListItem {
            release: match r.release_choice.as_str() {
                "specific" => format!("Pinned: {}", r.release_name.unwrap_or_default()),
                "default" => "Default channel".to_owned(),
                _ => "Latest channel".to_owned(),
            },
            schedule: Schedule::from_parts(&r.schedule_kind, &r.schedule, &r.timezone)
                .map(|s| s.describe())
                .unwrap_or_else(|| r.schedule.clone()),
            unfinished: r.setup_step != "done",
            last_run: r
                .last_run_phase
                .as_deref()
                .map(|p| (hub_core::domain::run::phase_label(p), r.last_run_at.map(show_time).unwrap_or_default())),
            id: r.id,
            name: r.name,
            integration_id: r.integration_id,
            integration: r.integration_name,
            paused: r.paused,
            disconnected: r.disconnected,
            source: r.source,
        })
        .collect();
    Ok(TenantListPage { rows, total, page, pages: ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1), integrations })
}

/// An integration's successful releases, newest first, the default marked.
#[cfg(feature = "ssr")]
async fn succeeded_releases(integration_id: i64) -> Result<Vec<ReleaseOption>, AppError> {
    use crate::api::ctx::{internal, state};
    let pool = state()?.db.pool().clone();
    let default = hub_core::db::integrations::get(&pool, integration_id)
        .await
        .map_err(internal)?
        .and_then(|i| i.default_release_id);
    let mut rows: Vec<_> = hub_core::db::releases::list_for(&pool, integration_id)
        .await
        .map_err(internal)?
        .into_iter()
        .filter(|r| r.status == "succeeded")
        .collect();
    rows.sort_by(|a, b| b.finished_at.cmp(&a.finished_at).then(b.id.cmp(&a.id)));
    Ok(rows.into_iter().map(|r| ReleaseOption { is_default: Some(r.id) == default, id: r.id, name: r.name }).collect())
}

#[server(endpoint = "new_tenant_form")]
pub async fn get_new_tenant_form(integration_id: i64) -> Result<NewTenantForm, AppError> {
    use crate::api::ctx::{internal, require_user, state};
    let user = require_user().await?;
    let integration = crate::api::integrations::server::visible(&user, integration_id).await?;
    let pool = state()?.db.pool().clone();
    let latest = hub_core::db::releases::latest_succeeded(&pool, integration_id).await.map_err(internal)?;
    let releases = succeeded_releases(integration_id).await?;
    let name_of = |id: Option<i64>| releases.iter().find(|r| Some(r.id) == id).map(|r| r.name.clone());
    Ok(NewTenantForm {
        default_release: name_of(integration.default_release_id),
        latest_release: name_of(latest),
        releases,
        integration_id,
        integration_name: integration.name,
    })
}

/// Step 1: makes the tenant and goes on to its credentials.
#[server(endpoint = "create_tenant")]
pub async fn create_tenant(integration_id: i64, input: NewTenantInput) -> Result<(), AppError> {
    use hub_core::domain::tenant::Source;

    use crate::api::ctx::{require_user, service_error, state};
    let user = require_user().await?;
    let integration = crate::api::integrations::server::visible(&user, integration_id).await?;
    let id = hub_core::service::tenants::create(
        &state()?.db,
        &user.actor(),
        &integration,
        &input,
        Source::Hub,
        chrono::Utc::now(),
    )
    .await
    .map_err(|e| service_error(e, input.kept()))?;
    leptos_axum::redirect(&format!("/tenants/{id}/setup"));
    Ok(())
}

#[server(endpoint = "tenant")]
pub async fn get_tenant(id: i64) -> Result<TenantSetup, AppError> {
    use hub_core::domain::form::Audience;
    use hub_core::domain::tenant::Schedule;
    use hub_core::service::tenants as svc;

    use crate::api::ctx::{internal, require_user, service_error, show_time, state};
    let user = require_user().await?;
    let t = server::visible(&user, id).await?;
    let st = state()?;
    let release = svc::release_of(&st.db, &t).await.map_err(|e| service_error(e, Vec::new()))?;
    let form = release.as_ref().map(|(_, m)| Form::build(&m.configs, Audience::Hub));
    let dynamic = svc::dynamic_options(&t);
    let stored = svc::configs(&t);
    let raw = svc::draft_for(&t, SetupStep::Configuration)
        .and_then(|d| serde_json::from_value(d).ok())
        .or_else(|| form.as_ref().map(|f| f.to_raw(&stored)))
        .unwrap_or_default();
    let schedule = Schedule::from_parts(&t.schedule_kind, &t.schedule, &t.timezone);
    let (schedule_input, paused) = match svc::draft_for(&t, SetupStep::Schedule) {
        Some(d) => {
            (serde_json::from_value(d["input"].clone()).unwrap_or_default(), d["paused"].as_bool().unwrap_or(t.paused))
        }
        None => (schedule.as_ref().map(Schedule::to_input).unwrap_or_default(), t.paused),
    };
    let connections: Vec<ConnectionView> = hub_core::db::tenants::connections(st.db.pool(), id)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|c| {
            let def = svc::parse_definition(&c.definition);
            ConnectionView {
                auth: def.as_ref().map_or(AuthKind::None, |d| d.auth),
                fields: def
                    .map(|d| d.fields.into_iter().map(|f| (f.name, f.label, f.secret)).collect())
                    .unwrap_or_default(),
                magic_link: format!("{}/connect/{}", st.public_url.trim_end_matches('/'), c.magic_token),
                connector: c.connector_name,
                display_name: c.display_name,
                status: c.status,
                status_reason: c.status_reason,
                changed_at: show_time(c.status_changed_at),
                info: c.info,
            }
        })
        .collect();
    let step = t.step();
    let mut lacks: Vec<String> = connections
        .iter()
        .filter(|c| c.status != "connected")
        .map(|c| format!("{} is not connected", c.display_name))
        .collect();
    match &form {
        None => lacks.push("The release choice points at no successful release".to_owned()),
        Some(f) => {
            let missing = f.missing(&stored, &dynamic);
            if matches!(step, SetupStep::Credentials | SetupStep::Configuration) {
                lacks.push("The configuration has not been saved".to_owned());
            } else if !missing.is_empty() {
                lacks.push(format!("Required settings are empty: {}", missing.join(", ")));
            }
        }
    }
    if step != SetupStep::Done {
        lacks.push("The sync schedule has not been saved".to_owned());
    }
    // Waiting triggers before runs: a trigger the dispatcher turns into a run between
    // the two reads is then seen as one or the other, never as neither.
    let run_waiting = hub_core::db::runs::waiting(st.db.pool(), id).await.map_err(internal)?.len();
    let filter = hub_core::db::runs::RunFilter { tenant_id: Some(id), ..Default::default() };
    let runs: Vec<crate::api::runs::RunItem> = hub_core::db::runs::list(st.db.pool(), &filter, 20)
        .await
        .map_err(internal)?
        .into_iter()
        .map(crate::api::runs::server::item)
        .collect();
    // Asked-for syncs wait as triggers until the dispatcher makes a run of them; the page
    // keeps refreshing while there are any, or the new run would never show up.
    let run_active = run_waiting > 0 || runs.iter().any(|r| r.phase_code == "queued" || r.phase_code == "running");
    let releases = succeeded_releases(t.integration_id).await?;
    let webhook_url =
        svc::webhook_of(&st.db, &st.key, &st.public_url, t.id).await.map_err(|e| service_error(e, Vec::new()))?;
    let marketplace_user = t.external_user.clone().map(|sub| (sub, t.external_name.clone(), t.external_email.clone()));
    Ok(TenantSetup {
        marketplace_user,
        version: t.choice().map(VersionInput::of).unwrap_or_default(),
        release: server::release_text(t.choice(), release.as_ref().map(|(r, _)| r.name.as_str())),
        schedule_text: schedule.as_ref().map_or_else(|| t.schedule.clone(), Schedule::describe),
        next_fire_at: t.next_fire_at.map(show_time),
        id: t.id,
        name: t.name,
        integration_id: t.integration_id,
        integration_name: t.integration_name,
        step,
        connections,
        form,
        dynamic,
        raw,
        schedule: schedule_input,
        paused,
        source: t.source,
        created_at: show_time(t.created_at),
        lacks,
        releases,
        runs,
        run_active,
        run_waiting,
        webhook_url,
    })
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
