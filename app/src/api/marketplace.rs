//! The embedded marketplace: the admin's settings and integration listings, and the
//! end user's endpoints. Every end-user endpoint takes the company's token as its
//! first argument and checks it on each call (no cookie: browsers block third-party
//! cookies in frames), then touches only tenants whose owner is the token's `sub`.

use std::collections::BTreeMap;

use hub_core::domain::connector::AuthKind;
use hub_core::domain::form::{Form, Raw, Values};
use hub_core::domain::marketplace::{ListingInput, MarketplaceInput};
use hub_core::domain::tenant::SetupStep;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::api::tenants::ConfigInput;
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

/// The integration page's Marketplace listing form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingView {
    pub integration_id: i64,
    pub input: ListingInput,
    pub has_default_release: bool,
}

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use chrono::Utc;
    use hub_core::db::integrations::ListingRow;
    use hub_core::db::tenants::TenantRow;
    use hub_core::domain::marketplace::EndUser;
    use hub_core::service::marketplace::{self as svc, TokenError};

    use super::*;
    use crate::api::ctx::{fail, service_error, state};

    /// The end user the token names, or 401 with the reason (shown in the frame).
    pub async fn end_user(token: &str) -> Result<EndUser, AppError> {
        let st = state()?;
        match svc::verify(&st.db, &st.key, token, Utc::now()).await {
            Ok(u) => Ok(u),
            Err(TokenError::Refused(m)) => Err(fail(AppError::TokenRefused(m))),
            Err(TokenError::Service(e)) => Err(service_error(e, Vec::new())),
        }
    }

    pub async fn brand(user: &EndUser) -> Result<Brand, AppError> {
        let s = svc::settings(state()?.db.pool()).await.map_err(|e| service_error(e, Vec::new()))?;
        Ok(Brand {
            title: s.title().to_owned(),
            accent: s.accent().to_owned(),
            logo_url: s.logo_url.clone(),
            user: user.label().to_owned(),
        })
    }

    pub fn tile(l: ListingRow, blocked: Option<String>) -> Tile {
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

    pub fn app_item(t: &TenantRow) -> AppItem {
        let status = match t.step() {
            SetupStep::Credentials => "Not connected yet",
            SetupStep::Configuration | SetupStep::Schedule => "Setup not finished",
            SetupStep::Done if t.paused => "Paused",
            SetupStep::Done => match t.last_run_phase.as_deref() {
                Some(p) if p.starts_with("failed") => "Last sync failed",
                _ => "Active",
            },
        };
        AppItem {
            id: t.id,
            integration_id: t.integration_id,
            integration: t.integration_name.clone(),
            status: status.to_owned(),
        }
    }

    /// Why one more install is refused, if it is.
    pub fn cap_note(user: &EndUser, installed: usize) -> Option<String> {
        (!user.may_install(i64::try_from(installed).unwrap_or(i64::MAX))).then(|| {
            "You have installed as many integrations as your account allows. Uninstall one to install another."
                .to_owned()
        })
    }

    /// The user's own tenant, or 404.
    pub async fn own(user: &EndUser, tenant_id: i64) -> Result<TenantRow, AppError> {
        svc::app(&state()?.db, user, tenant_id).await.map_err(|e| service_error(e, Vec::new()))
    }

    /// An embedded page's address, keeping the token and the form kind.
    pub fn href(path: &str, token: &str, form: &str) -> String {
        crate::api::marketplace::embed_href(path, token, form)
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

// ---- Admin ----

#[server(endpoint = "marketplace_settings")]
pub async fn get_marketplace_settings() -> Result<MarketplaceAdmin, AppError> {
    use crate::api::ctx::{internal, require_admin, service_error, show_time, state};
    let user = require_admin().await?;
    let st = state()?;
    let now = chrono::Utc::now();
    let preview = hub_core::service::marketplace::preview_token(
        &st.db,
        &st.key,
        &format!("preview-{}", user.id),
        &user.name,
        &user.email,
        now,
    )
    .await
    .map_err(|e| service_error(e, Vec::new()))?;
    let s = hub_core::service::marketplace::settings(st.db.pool()).await.map_err(|e| service_error(e, Vec::new()))?;
    let published = hub_core::db::integrations::published(st.db.pool())
        .await
        .map_err(internal)?
        .into_iter()
        .map(|l| (l.id, l.name))
        .collect();
    Ok(MarketplaceAdmin {
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
        public_url: st.public_url.trim_end_matches('/').to_owned(),
        published,
        preview_url: preview.map(|t| embed_href("/embed", &t, "full")),
    })
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
    use crate::api::ctx::{fail, internal, require_user, state};
    let user = require_user().await?;
    crate::api::integrations::server::visible(&user, integration_id).await?;
    let l = hub_core::db::integrations::listing(state()?.db.pool(), integration_id)
        .await
        .map_err(internal)?
        .ok_or_else(|| fail(AppError::NotFound))?;
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
    use hub_core::db::audit;

    use crate::api::ctx::{fail, internal, require_company_user, service_error, state};
    // The marketplace is the company's: partners' users may not publish into it.
    let user = require_company_user().await?;
    crate::api::integrations::server::visible(&user, integration_id).await?;
    let kept = vec![
        ("published".to_owned(), input.published.clone()),
        ("short_description".to_owned(), input.short_description.clone()),
        ("long_description".to_owned(), input.long_description.clone()),
        ("categories".to_owned(), input.categories.clone()),
        ("tags".to_owned(), input.tags.clone()),
        ("flag_name".to_owned(), input.flag_name.clone()),
        ("flag_color".to_owned(), input.flag_color.clone()),
    ];
    let listing = input.validate().map_err(|e| service_error(hub_core::service::ServiceError::Invalid(e), kept))?;
    let st = state()?;
    let now = chrono::Utc::now();
    let mut tx = st.db.pool().begin().await.map_err(internal)?;
    if !hub_core::db::integrations::set_listing(&mut *tx, integration_id, &listing, now).await.map_err(internal)? {
        return Err(fail(AppError::NotFound));
    }
    let entry = audit::Entry {
        actor: &user.actor(),
        action: "listing saved",
        object_type: "integration",
        object_id: Some(integration_id.to_string()),
        detail: serde_json::json!({ "published": listing.published }),
    };
    audit::record(&mut *tx, entry, now).await.map_err(internal)?;
    tx.commit().await.map_err(internal)?;
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
    hub_core::service::marketplace::link(&state()?.db, &user.actor(), &t, &sub, &name, &email, chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, kept))?;
    leptos_axum::redirect(&format!("/tenants/{tenant_id}?done=linked"));
    Ok(())
}

// ---- The end user's, each behind the token ----

#[server(endpoint = "embed_home")]
pub async fn embed_home(token: String) -> Result<MarketHome, AppError> {
    use hub_core::service::marketplace as svc;

    use crate::api::ctx::{service_error, state};
    let user = server::end_user(&token).await?;
    let st = state()?;
    let mine = svc::apps(&st.db, &user).await.map_err(|e| service_error(e, Vec::new()))?;
    let cap = server::cap_note(&user, mine.len());
    let tiles = svc::offered(&st.db, &user)
        .await
        .map_err(|e| service_error(e, Vec::new()))?
        .into_iter()
        .map(|l| server::tile(l, cap.clone()))
        .collect();
    Ok(MarketHome { brand: server::brand(&user).await?, tiles, apps: mine.iter().map(server::app_item).collect() })
}

#[server(endpoint = "embed_listing")]
pub async fn embed_listing(token: String, integration_id: i64) -> Result<MarketListing, AppError> {
    use hub_core::service::marketplace as svc;

    use crate::api::ctx::{service_error, state};
    let user = server::end_user(&token).await?;
    let st = state()?;
    let listing = svc::offered_one(&st.db, &user, integration_id).await.map_err(|e| service_error(e, Vec::new()))?;
    let mine = svc::apps(&st.db, &user).await.map_err(|e| service_error(e, Vec::new()))?;
    let cap = server::cap_note(&user, mine.len());
    Ok(MarketListing {
        brand: server::brand(&user).await?,
        tile: server::tile(listing, cap),
        apps: mine.iter().filter(|t| t.integration_id == integration_id).map(server::app_item).collect(),
    })
}

/// Installs the integration for the token's user and opens the new tenant.
#[server(endpoint = "embed_install")]
pub async fn embed_install(
    token: String,
    integration_id: i64,
    #[server(default)] form: String,
) -> Result<(), AppError> {
    use hub_core::domain::run::{Mode, TriggerKind};

    use crate::api::ctx::{internal, service_error, state};
    let user = server::end_user(&token).await?;
    let st = state()?;
    let now = chrono::Utc::now();
    let id = hub_core::service::marketplace::install(&st.db, &user, integration_id, now)
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    // With nothing to connect, the init sync that fetches the settings' choices starts
    // at once; otherwise Continue starts it once everything is connected.
    let t = server::own(&user, id).await?;
    if t.step() != SetupStep::Credentials {
        let by = format!("marketplace {}", user.sub);
        st.engine.trigger(id, TriggerKind::Manual, Mode::Init, None, Some(&by), now).await.map_err(internal)?;
    }
    leptos_axum::redirect(&server::href(&format!("/embed/apps/{id}"), &token, &form));
    Ok(())
}

#[server(endpoint = "embed_app")]
pub async fn embed_app(token: String, tenant_id: i64) -> Result<MarketApp, AppError> {
    use hub_core::domain::form::{Audience, FieldKind};
    use hub_core::domain::schedule::Preset;
    use hub_core::domain::tenant::Schedule;
    use hub_core::service::tenants as tsvc;

    use crate::api::ctx::{internal, service_error, state};
    const LOG_SHOWN: usize = 4096;
    let user = server::end_user(&token).await?;
    let t = server::own(&user, tenant_id).await?;
    let st = state()?;
    let release = tsvc::release_of(&st.db, &t).await.map_err(|e| service_error(e, Vec::new()))?;
    let form = release.as_ref().map(|(_, m)| Form::build(&m.configs, Audience::EndUser));
    let dynamic = tsvc::dynamic_options(&t);
    let mut raw: Raw = tsvc::draft_for(&t, SetupStep::Configuration)
        .and_then(|d| serde_json::from_value(d).ok())
        .or_else(|| form.as_ref().map(|f| f.to_raw(&tsvc::configs(&t))))
        .unwrap_or_default();
    // A draft may be an admin's, with admin-only values: only the end user's fields go out.
    let shown: Vec<String> =
        form.as_ref().map(|f| f.fields().iter().map(|x| x.name.clone()).collect()).unwrap_or_default();
    raw.retain(|name, _| shown.contains(name));
    let has_dynamic =
        form.as_ref().is_some_and(|f| f.fields().iter().any(|f| matches!(f.kind, FieldKind::Dynamic { .. })));
    let connections = hub_core::db::tenants::connections(st.db.pool(), t.id)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|c| {
            let def = tsvc::parse_definition(&c.definition);
            EmbedConnection {
                auth: def.as_ref().map_or(AuthKind::None, |d| d.auth),
                fields: def
                    .map(|d| d.fields.into_iter().map(|f| (f.name, f.label, f.secret)).collect())
                    .unwrap_or_default(),
                start_url: format!("/connect/{}/start", c.magic_token),
                connected: c.status == "connected",
                status_reason: c.status_reason,
                connector: c.connector_name,
                display_name: c.display_name,
            }
        })
        .collect();
    // Waiting triggers first: one made into a run meanwhile then shows as the run.
    let waiting = hub_core::db::runs::waiting(st.db.pool(), t.id).await.map_err(internal)?.len();
    let filter = hub_core::db::runs::RunFilter { tenant_id: Some(t.id), ..Default::default() };
    let mut runs = Vec::new();
    for r in hub_core::db::runs::list(st.db.pool(), &filter, 5).await.map_err(internal)? {
        let (log, _) = hub_core::db::runs::log(st.db.pool(), r.id, 0).await.map_err(internal)?;
        let cut = log.len().saturating_sub(LOG_SHOWN);
        let start = (cut..log.len()).find(|i| log.is_char_boundary(*i)).unwrap_or(log.len());
        let item = crate::api::runs::server::item(r);
        runs.push(MarketRun {
            id: item.id,
            mode: item.mode,
            phase: item.phase,
            phase_code: item.phase_code,
            started: item.started,
            duration: item.duration,
            log: log[start..].to_owned(),
        });
    }
    let busy = waiting > 0 || runs.iter().any(|r| r.phase_code == "queued" || r.phase_code == "running");
    let schedule = Schedule::from_parts(&t.schedule_kind, &t.schedule, &t.timezone);
    let preset = match &schedule {
        Some(Schedule::Preset(p)) => p.as_str().to_owned(),
        _ => Preset::Daily.as_str().to_owned(),
    };
    Ok(MarketApp {
        brand: server::brand(&user).await?,
        id: t.id,
        step: t.step(),
        waiting_for_choices: has_dynamic && dynamic.is_empty(),
        schedule_text: schedule.as_ref().map_or_else(|| t.schedule.clone(), Schedule::describe),
        paused: t.paused,
        preset,
        name: t.name,
        integration_id: t.integration_id,
        integration: t.integration_name,
        connections,
        form,
        dynamic,
        raw,
        runs,
        busy,
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
    use hub_core::domain::run::{Mode, TriggerKind};

    use crate::api::ctx::{fail, internal, service_error, state};
    let user = server::end_user(&token).await?;
    let t = server::own(&user, tenant_id).await?;
    let st = state()?;
    let open = hub_core::db::tenants::connections(st.db.pool(), t.id)
        .await
        .map_err(internal)?
        .into_iter()
        .filter(|c| c.status != "connected")
        .map(|c| c.display_name)
        .collect::<Vec<_>>();
    if !open.is_empty() {
        return Err(fail(AppError::Conflict(format!("Connect {} first.", open.join(" and ")))));
    }
    let now = chrono::Utc::now();
    hub_core::service::tenants::finish_credentials(&st.db, &t, now).await.map_err(|e| service_error(e, Vec::new()))?;
    if t.step() == SetupStep::Credentials {
        let by = format!("marketplace {}", user.sub);
        st.engine.trigger(t.id, TriggerKind::Manual, Mode::Init, None, Some(&by), now).await.map_err(internal)?;
    }
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
    use hub_core::db::audit;
    use hub_core::domain::run::{Mode, TriggerKind};
    use hub_core::service::marketplace::actor;

    use crate::api::ctx::{fail, internal, state};
    let user = server::end_user(&token).await?;
    let t = server::own(&user, tenant_id).await?;
    if t.step() != SetupStep::Done {
        return Err(fail(AppError::Conflict("Finish the setup first; then syncs can run.".to_owned())));
    }
    let st = state()?;
    let now = chrono::Utc::now();
    let by = format!("marketplace {}", user.sub);
    st.engine.trigger(t.id, TriggerKind::Manual, Mode::Normal, None, Some(&by), now).await.map_err(internal)?;
    let entry = audit::Entry {
        actor: &actor(&user),
        action: "tenant.run_requested",
        object_type: "tenant",
        object_id: Some(t.id.to_string()),
        detail: serde_json::json!({ "mode": "normal" }),
    };
    audit::record(st.db.pool(), entry, now).await.map_err(internal)?;
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
