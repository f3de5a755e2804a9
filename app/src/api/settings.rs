//! Company settings and the users list.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyDetails {
    pub name: String,
    pub created_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub organization: String,
    pub is_partner: bool,
    pub role: String,
    pub status: String,
    pub is_primary: bool,
    pub last_sign_in: Option<String>,
    /// The newest invitation mail's delivery: queued, sent, failed or kept.
    pub mail_status: Option<String>,
    pub mail_error: Option<String>,
}

#[server(endpoint = "company")]
pub async fn company_info() -> Result<CompanyDetails, AppError> {
    use super::ctx::{require_company_user, show_time, state};

    require_company_user().await?;
    let org = hub_core::service::records::company(&state()?.db)
        .await
        .map_err(|e| super::ctx::service_error(e, Vec::new()))?;
    Ok(CompanyDetails { name: org.name, created_at: show_time(org.created_at) })
}

#[server(endpoint = "users")]
pub async fn list_users() -> Result<Vec<UserSummary>, AppError> {
    use super::ctx::{require_company_user, show_time, state};

    require_company_user().await?;
    let rows =
        hub_core::service::records::users(&state()?.db).await.map_err(|e| super::ctx::service_error(e, Vec::new()))?;
    Ok(rows
        .into_iter()
        .map(|u| UserSummary {
            id: u.id,
            name: u.name,
            email: u.email,
            organization: u.organization_name,
            is_partner: u.organization_kind == "partner",
            is_primary: u.is_primary,
            mail_status: u.mail_status,
            mail_error: u.mail_error,
            role: match (u.is_primary, u.is_admin) {
                (true, _) => "Primary admin",
                (false, true) => "Admin",
                (false, false) => "User",
            }
            .to_owned(),
            status: u.status,
            last_sign_in: u.last_sign_in_at.map(show_time),
        })
        .collect())
}

/// The Company page's retention section: the settings and the disk in use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionView {
    pub log_days: u32,
    pub runs_per_tenant: u32,
    /// (kind, size in words, what is kept) rows.
    pub disk: Vec<DiskRow>,
    /// The fixed rules, (kind, rule).
    pub fixed: Vec<(String, String)>,
    pub can_edit: bool,
    /// Days a magic link stays valid; empty when links do not expire.
    pub magic_link_days: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskRow {
    pub kind: String,
    pub size: String,
    pub note: String,
}

#[server(endpoint = "retention")]
pub async fn get_retention() -> Result<RetentionView, AppError> {
    use hub_core::service::retention::{self, FIXED};

    use super::ctx::{require_company_user, service_error, state};

    let user = require_company_user().await?;
    let state = state()?;
    let r = retention::settings(&state.janitor).await.map_err(|e| service_error(e, Vec::new()))?;
    let d = retention::disk_use(&state.janitor).await.map_err(|e| service_error(e, Vec::new()))?;
    let links =
        hub_core::service::connections::link_settings(&state.db).await.map_err(|e| service_error(e, Vec::new()))?;
    let bytes = |n: i64| show_bytes(u64::try_from(n).unwrap_or(0));
    let row = |kind: &str, size: String, note: String| DiskRow { kind: kind.to_owned(), size, note };
    let disk = vec![
        row("Database file", show_bytes(d.database), "Everything below but the files, in SQLite's pages.".to_owned()),
        row(
            "Run logs",
            bytes(d.stored.run_logs),
            format!("{} runs kept; logs for {} days.", d.stored.runs, r.log_days),
        ),
        row("Build logs", bytes(d.stored.build_logs), "Kept with their release.".to_owned()),
        row("Webhook deliveries", bytes(d.stored.deliveries), format!("Kept {} days after delivery.", r.log_days)),
        row("Mail", bytes(d.stored.mail), format!("Kept {} days after sending.", r.log_days)),
        row("Release checkouts", show_bytes(d.checkouts), "Files on disk, one folder a release.".to_owned()),
        row("Webhook bodies", show_bytes(d.webhook_bodies), "Files waiting for their run.".to_owned()),
        row("Audit entries", format!("{} entries", d.stored.audit), "Kept for ever.".to_owned()),
    ];
    Ok(RetentionView {
        log_days: r.log_days,
        runs_per_tenant: r.runs_per_tenant,
        disk,
        fixed: FIXED.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        can_edit: user.is_admin,
        magic_link_days: links.days.map(|d| d.to_string()).unwrap_or_default(),
    })
}

/// Saves how many days a magic link stays valid (a company admin); empty: for ever.
#[server(endpoint = "magic_links/save")]
pub async fn save_magic_links(magic_link_days: String) -> Result<(), AppError> {
    use super::ctx::{require_admin, service_error, state};

    let user = require_admin().await?;
    let kept = vec![("magic_link_days".to_owned(), magic_link_days.clone())];
    hub_core::service::connections::save_link_settings(
        &state()?.db,
        &user.actor(),
        &magic_link_days,
        chrono::Utc::now(),
    )
    .await
    .map_err(|e| service_error(e, kept))?;
    leptos_axum::redirect("/settings/company?done=links");
    Ok(())
}

/// Saves the retention settings (a company admin).
#[server(endpoint = "retention/save")]
pub async fn save_retention(log_days: String, runs_per_tenant: String) -> Result<(), AppError> {
    use super::ctx::{require_admin, service_error, state};

    let user = require_admin().await?;
    let state = state()?;
    let kept = vec![("log_days".to_owned(), log_days.clone()), ("runs_per_tenant".to_owned(), runs_per_tenant.clone())];
    hub_core::service::retention::save(&state.db, &user.actor(), &log_days, &runs_per_tenant, chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, kept))?;
    state.janitor.wake();
    leptos_axum::redirect("/settings/company?done=retention");
    Ok(())
}

/// A size for people: "0 B", "12.3 KB", "4.0 MB", "1.2 GB".
pub fn show_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut size = n as f64 / 1024.0;
    let mut unit = 0;
    while size >= 1024.0 && unit + 1 < UNITS.len() {
        size /= 1024.0;
        unit += 1;
    }
    format!("{size:.1} {}", UNITS[unit])
}
