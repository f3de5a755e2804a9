//! Start-up: prepare the data directory, the key and the database, create the first
//! admin on an empty database, and assemble the router.

use std::fs;
use std::path::Path;

use anyhow::Context;
use app::api::ctx::AppState;
use axum::Router;
use hub_core::auth::{self, Bootstrapped};
use hub_core::db::{Db, DB_FILE};
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
    fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    check_writable(dir)?;
    let (_key, key_source) =
        SecretKey::load_or_create(config.secret_key.as_deref(), dir).map_err(|e| {
            anyhow::anyhow!(
                "HUB_SECRET_KEY or {}: {e}",
                dir.join(hub_core::secrets::KEY_FILE).display()
            )
        })?;
    let db_path = dir.join(DB_FILE);
    let db = Db::open(&db_path)
        .await
        .with_context(|| format!("cannot open the database {}", db_path.display()))?;
    let bootstrapped = auth::bootstrap(
        &db,
        &config.company_name,
        &config.admin_email,
        config.admin_password.as_deref(),
        chrono::Utc::now(),
    )
    .await
    .context("cannot create the first admin")?;

    let leptos_options = LeptosOptions::builder()
        .output_name("hub")
        .site_root(config.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(config.addr)
        .env(match std::env::var("LEPTOS_ENV").as_deref() {
            Ok("DEV") => Env::DEV,
            _ => Env::PROD,
        })
        .build();
    let state = AppState {
        db,
        leptos_options,
        secure_cookies: config.public_url.starts_with("https://"),
    };
    Ok(Prepared {
        router: crate::router::build(state.clone()),
        state,
        key_source,
        bootstrapped,
    })
}

fn check_writable(dir: &Path) -> anyhow::Result<()> {
    let probe = dir.join(".write-test");
    fs::write(&probe, b"ok")
        .and_then(|()| fs::remove_file(&probe))
        .with_context(|| format!("the data directory {} is not writable", dir.display()))
}
