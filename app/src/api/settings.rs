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
