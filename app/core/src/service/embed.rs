//! The end user's side of the embedded marketplace, behind the company's token: what
//! the marketplace offers them, their installed apps, and the steps that start syncs
//! (installing, finishing the connect step, syncing now).

use chrono::{DateTime, Utc};

use super::marketplace::{actor, app, apps, install, offered, offered_one, settings, Settings};
use super::overview::{self, Overview, Viewer};
use super::{runs, tenants, Db, ServiceError};
use crate::db::connections;
use crate::db::integrations::ListingRow;
use crate::db::tenants::TenantRow;
use crate::domain::marketplace::EndUser;
use crate::domain::run::{Mode, TriggerKind};
use crate::domain::tenant::SetupStep;
use crate::engine::runs::Engine;
use crate::secrets::SecretKey;

/// The marketplace's home: its look, what it offers the user, and their apps.
pub struct Home {
    pub settings: Settings,
    pub offered: Vec<ListingRow>,
    pub apps: Vec<TenantRow>,
}

pub async fn home(db: &Db, user: &EndUser) -> Result<Home, ServiceError> {
    Ok(Home { settings: settings(db.pool()).await?, offered: offered(db, user).await?, apps: apps(db, user).await? })
}

/// One offered integration, with the user's apps (all of them, for the install cap).
pub struct Listing {
    pub settings: Settings,
    pub listing: ListingRow,
    pub apps: Vec<TenantRow>,
}

pub async fn listing(db: &Db, user: &EndUser, integration_id: i64) -> Result<Listing, ServiceError> {
    Ok(Listing {
        listing: offered_one(db, user, integration_id).await?,
        settings: settings(db.pool()).await?,
        apps: apps(db, user).await?,
    })
}

/// One installed app as its page shows it: the tenant for its end user, and the
/// marketplace's look.
pub struct AppPage {
    pub overview: Overview,
    pub look: Settings,
}

/// The page of one of `user`'s apps (not found for anybody else's tenant).
pub async fn app_page(
    db: &Db,
    key: &SecretKey,
    public_url: &str,
    user: &EndUser,
    tenant_id: i64,
    now: DateTime<Utc>,
) -> Result<AppPage, ServiceError> {
    // The user is signed in by the marketplace: an expired link of theirs is renewed,
    // or the Connect buttons would lead nowhere.
    app(db, user, tenant_id).await?;
    super::connections::renew_expired_links(db, key, tenant_id, now).await?;
    let overview = overview::overview(db, key, public_url, Viewer::EndUser(user), tenant_id).await?;
    Ok(AppPage { overview, look: settings(db.pool()).await? })
}

/// How an installed app's state reads in the marketplace.
pub fn status_of(t: &TenantRow) -> &'static str {
    match t.step() {
        SetupStep::Credentials => "Not connected yet",
        SetupStep::Configuration | SetupStep::Schedule => "Setup not finished",
        SetupStep::Done if t.paused => "Paused",
        SetupStep::Done => match t.last_run_phase {
            Some(p) if p.is_failure() => "Last sync failed",
            _ => "Active",
        },
    }
}

/// Installs the integration for the user. With nothing to connect, the init sync that
/// fetches the settings' choices starts at once; otherwise `continue_setup` starts it.
/// Returns the new tenant's id.
pub async fn install_app(
    db: &Db,
    engine: &Engine,
    user: &EndUser,
    integration_id: i64,
    now: DateTime<Utc>,
) -> Result<i64, ServiceError> {
    let id = install(db, engine.key(), user, engine.fair_use().installs_per_user, integration_id, now).await?;
    if app(db, user, id).await?.step() != SetupStep::Credentials {
        runs::request_setup_sync(db, engine, &actor(user), id, now).await?;
    }
    Ok(id)
}

/// Leaves the connect step once every connector is connected, and starts the init
/// sync that fetches the choices of the settings form.
pub async fn continue_setup(
    db: &Db,
    engine: &Engine,
    user: &EndUser,
    tenant_id: i64,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let t = app(db, user, tenant_id).await?;
    let open: Vec<String> = connections::connections(db.pool(), t.id)
        .await?
        .into_iter()
        .filter(|c| !c.settled())
        .map(|c| c.display_name)
        .collect();
    if !open.is_empty() {
        return Err(ServiceError::Conflict(format!("Connect {} first.", open.join(" and "))));
    }
    tenants::finish_credentials(db, &t, now).await?;
    if t.step() == SetupStep::Credentials {
        runs::request_setup_sync(db, engine, &actor(user), t.id, now).await?;
    }
    Ok(())
}

/// Asks for a normal sync of a tenant whose setup is finished.
pub async fn sync_now(
    db: &Db,
    engine: &Engine,
    user: &EndUser,
    tenant_id: i64,
    now: DateTime<Utc>,
) -> Result<i64, ServiceError> {
    let t = app(db, user, tenant_id).await?;
    if t.step() != SetupStep::Done {
        return Err(ServiceError::Conflict("Finish the setup first; then syncs can run.".to_owned()));
    }
    runs::request(db, engine, &actor(user), t.id, TriggerKind::Manual, Mode::Normal, None, now).await
}
