//! Start-up: prepare the data directory, the key and the database, create the first
//! admin on an empty database, and assemble the router.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use app::api::ctx::AppState;
use axum::Router;
use hub_core::auth::{self, Bootstrapped};
use hub_core::connectors::Connectors;
use hub_core::db::{Db, DB_FILE};
use hub_core::engine::builder::Builder;
use hub_core::engine::janitor::Janitor;
use hub_core::engine::runs::Engine;
use hub_core::engine::sandbox::Sandbox;
use hub_core::mail::Mailer;
use hub_core::secrets::{KeySource, SecretKey};
use leptos::config::{Env, LeptosOptions};

use crate::config::Config;

/// A hub ready to serve.
pub struct Prepared {
    pub router: Router,
    pub state: AppState,
    pub key_source: KeySource,
    /// Set when this start created the first admin.
    pub bootstrapped: Option<Bootstrapped>,
}

/// Everything start-up does before it listens. Each failure is one sentence that names
/// what to fix.
pub async fn prepare(config: &Config) -> anyhow::Result<Prepared> {
    let dir = &config.data_dir;
    fs::create_dir_all(dir).with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    check_writable(dir)?;
    let (key, key_source) = SecretKey::load_or_create(config.secret_key.as_deref(), dir)
        .map_err(|e| anyhow::anyhow!("HUB_SECRET_KEY or {}: {e}", dir.join(hub_core::secrets::KEY_FILE).display()))?;
    let db_path = dir.join(DB_FILE);
    let db = Db::open(&db_path).await.with_context(|| format!("cannot open the database {}", db_path.display()))?;
    let registry = hub_core::connectors::load(&config.connectors_dir, &config.catalogue, |name| {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    })
    .map_err(|e| match e {
        hub_core::connectors::LoadError::NotInCatalogue(_) => anyhow::anyhow!("{e}"),
        _ => anyhow::anyhow!("HUB_CONNECTORS_DIR: {e}"),
    })?;
    for loaded in registry.connectors.values().filter(|l| !l.missing_vars.is_empty()) {
        tracing::warn!(
            connector = %loaded.connector.name,
            "not configured: set {} to use it",
            loaded.missing_vars.join(", ")
        );
    }
    // The console's connectors join those of the folder and `HUB_CATALOGUE`.
    let connectors = Connectors::new(registry, Arc::new(key.clone()));
    connectors.reload(&db, chrono::Utc::now()).await.context("cannot record the connectors")?;
    let sealed = hub_core::service::connections::seal_clear_links(&db, &key, chrono::Utc::now())
        .await
        .context("cannot seal the magic links")?;
    if sealed > 0 {
        tracing::info!("{sealed} magic link(s) made by an earlier version are now stored sealed");
    }
    let sandbox = Arc::new(Sandbox::probe(config.sandbox.clone()));
    if sandbox.degraded() {
        tracing::warn!("{}", sandbox.summary());
    } else {
        tracing::info!("{}", sandbox.summary());
    }
    let builder = Builder::new(db.clone(), dir, config.build_timeout, sandbox.clone())
        .with_egress(config.egress.clone())
        .with_max_builds(config.max_builds)
        .with_key(Arc::new(key.clone()));
    let mailer = Mailer::new(db.clone(), config.smtp.as_ref(), &config.mail_from)
        .map_err(|e| anyhow::anyhow!("HUB_MAIL_FROM: {e}"))?;

    let bootstrapped = auth::bootstrap(
        &db,
        &config.company_name,
        &config.admin_email,
        config.admin_password.as_deref(),
        chrono::Utc::now(),
    )
    .await
    .context("cannot create the first admin")?;
    if bootstrapped.is_some() && config.demo {
        seed_samples(config, &db, &builder).await?;
    }

    // A release build names the browser's files by their content and records the names
    // in `hash.txt` beside the binary; a binary without one serves plain names.
    let hashed_files = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("hash.txt")))
        .is_some_and(|file| file.is_file());
    let leptos_options = LeptosOptions::builder()
        .output_name("hub")
        .hash_files(hashed_files)
        .site_root(config.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(config.addr)
        .env(match std::env::var("LEPTOS_ENV").as_deref() {
            Ok("DEV") => Env::DEV,
            _ => Env::PROD,
        })
        .build();
    let key = Arc::new(key);
    let engine = Engine::new(
        db.clone(),
        key.clone(),
        connectors.clone(),
        &config.public_url,
        dir,
        &builder,
        config.runs.clone(),
    );
    let janitor = Janitor::new(db.clone(), db_path, builder.releases_dir().to_owned(), engine.webhooks_dir());
    let state = AppState {
        db,
        leptos_options,
        secure_cookies: config.public_url.starts_with("https://"),
        builder,
        mailer,
        engine,
        janitor,
        connectors,
        key,
        public_url: config.public_url.clone(),
        api_doc: Arc::from(crate::rest::openapi::json()),
        client_address_header: config.client_address_header.clone(),
        egress: config.egress.clone(),
    };
    Ok(Prepared { router: crate::router::build(state.clone()), state, key_source, bootstrapped })
}

/// Turns each sample into a local git repository and an integration with a queued
/// release, so a new hub has something to click through.
async fn seed_samples(config: &Config, db: &Db, builder: &Builder) -> anyhow::Result<()> {
    if !config.samples_dir.is_dir() {
        tracing::info!("no samples folder at {}: starting without sample integrations", config.samples_dir.display());
        return Ok(());
    }
    let company = hub_core::db::orgs::company(db.pool()).await?.context("the company organization is missing")?;
    let made =
        hub_core::samples::seed(db, builder, &config.samples_dir, &config.data_dir, company.id, chrono::Utc::now())
            .await
            .map_err(|e| anyhow::anyhow!("HUB_SAMPLES_DIR: {e}"))?;
    tracing::info!("seeded sample integrations: {}", made.join(", "));
    Ok(())
}

fn check_writable(dir: &Path) -> anyhow::Result<()> {
    let probe = dir.join(".write-test");
    fs::write(&probe, b"ok")
        .and_then(|()| fs::remove_file(&probe))
        .with_context(|| format!("the data directory {} is not writable", dir.display()))
}
