//! Managing users: invitations, resends, deactivation; partners; sent mail; one's own
//! password; and the public invitation link.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgOption {
    pub id: i64,
    pub name: String,
    pub is_partner: bool,
    pub created_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentMail {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationInfo {
    pub name: String,
    pub email: String,
}

/// The company and every partner organization.
#[server(endpoint = "organizations")]
pub async fn list_organizations() -> Result<Vec<OrgOption>, AppError> {
    use crate::api::ctx::{require_company_user, show_time, state};
    require_company_user().await?;
    let rows = hub_core::service::records::organizations(&state()?.db)
        .await
        .map_err(|e| crate::api::ctx::service_error(e, Vec::new()))?;
    Ok(rows
        .into_iter()
        .map(|o| OrgOption {
            id: o.id,
            name: o.name,
            is_partner: o.kind == "partner",
            created_at: show_time(o.created_at),
        })
        .collect())
}

#[server(endpoint = "add_user")]
pub async fn add_user(name: String, email: String, organization_id: Option<i64>) -> Result<(), AppError> {
    use crate::api::ctx::{require_admin, service_error, state};
    let admin = require_admin().await?;
    let st = state()?;
    let kept = vec![
        ("name".to_owned(), name.clone()),
        ("email".to_owned(), email.clone()),
        ("organization_id".to_owned(), organization_id.map(|i| i.to_string()).unwrap_or_default()),
    ];
    let input = hub_core::accounts::NewUser { name, email, organization_id: organization_id.unwrap_or(0) };
    hub_core::accounts::add_user(&st.db, &st.mailer, &admin.actor(), input, &st.public_url, chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, kept))?;
    leptos_axum::redirect("/settings/users");
    Ok(())
}

#[server(endpoint = "resend_invitation")]
pub async fn resend_invitation(user_id: i64) -> Result<(), AppError> {
    use crate::api::ctx::{require_admin, service_error, state};
    let admin = require_admin().await?;
    let st = state()?;
    hub_core::accounts::resend_invitation(
        &st.db,
        &st.mailer,
        &admin.actor(),
        user_id,
        &st.public_url,
        chrono::Utc::now(),
    )
    .await
    .map_err(|e| service_error(e, Vec::new()))?;
    // The outcome travels in the address, so it shows with and without JavaScript.
    leptos_axum::redirect("/settings/users?done=resent");
    Ok(())
}

#[server(endpoint = "deactivate_user")]
pub async fn deactivate_user(user_id: i64) -> Result<(), AppError> {
    use crate::api::ctx::{require_admin, service_error, state};
    let admin = require_admin().await?;
    hub_core::accounts::deactivate_user(&state()?.db, &admin.actor(), user_id, chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    leptos_axum::redirect("/settings/users?done=deactivated");
    Ok(())
}

/// Ends every session of a user (a company admin).
#[server(endpoint = "sign_out_user")]
pub async fn sign_out_user(user_id: i64) -> Result<(), AppError> {
    use crate::api::ctx::{require_admin, service_error, state};
    let admin = require_admin().await?;
    hub_core::accounts::sign_out_everywhere(&state()?.db, &admin.actor(), user_id, chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    leptos_axum::redirect("/settings/users?done=signed_out");
    Ok(())
}

#[server(endpoint = "create_partner")]
pub async fn create_partner(name: String) -> Result<(), AppError> {
    use crate::api::ctx::{require_admin, service_error, state};
    let admin = require_admin().await?;
    let kept = vec![("name".to_owned(), name.clone())];
    hub_core::accounts::create_partner(&state()?.db, &admin.actor(), &name, chrono::Utc::now())
        .await
        .map(drop)
        .map_err(|e| service_error(e, kept))
}

#[server(endpoint = "rename_partner")]
pub async fn rename_partner(id: i64, name: String) -> Result<(), AppError> {
    use crate::api::ctx::{require_admin, service_error, state};
    let admin = require_admin().await?;
    let kept = vec![("name".to_owned(), name.clone()), ("id".to_owned(), id.to_string())];
    hub_core::accounts::rename_partner(&state()?.db, &admin.actor(), id, &name, chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, kept))
}

/// The newest 100 messages the hub sent or kept.
#[server(endpoint = "sent_mail")]
pub async fn list_sent_mail() -> Result<Vec<SentMail>, AppError> {
    use crate::api::ctx::{require_admin, show_time, state};
    require_admin().await?;
    let rows = hub_core::service::records::sent_mail(&state()?.db, 100)
        .await
        .map_err(|e| crate::api::ctx::service_error(e, Vec::new()))?;
    Ok(rows
        .into_iter()
        .map(|m| SentMail {
            id: m.id,
            recipient: m.recipient,
            subject: m.subject,
            body: m.body,
            status: m.status,
            attempts: m.attempts,
            last_error: m.last_error,
            created_at: show_time(m.created_at),
        })
        .collect())
}

#[server(endpoint = "change_password")]
pub async fn change_password(current_password: String, new_password: String, confirm: String) -> Result<(), AppError> {
    use crate::api::ctx::{fail, require_user, service_error, session_token, state};
    let user = require_user().await?;
    if new_password != confirm {
        return Err(fail(AppError::validation("confirm", "The two new passwords differ.")));
    }
    let session = use_context::<http::request::Parts>().and_then(|p| session_token(&p.headers)).unwrap_or_default();
    let (db, now) = (state()?.db, chrono::Utc::now());
    hub_core::accounts::change_password(&db, user.id, &session, &current_password, &new_password, now)
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    leptos_axum::redirect("/account?done=password");
    Ok(())
}

/// Who an invitation link is for. Public: the invited user has no session yet; the
/// unguessable token is the credential.
#[server(endpoint = "invitation")]
pub async fn get_invitation(token: String) -> Result<InvitationInfo, AppError> {
    use crate::api::ctx::{service_error, state};
    let row = hub_core::accounts::invitation(&state()?.db, &token, chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    Ok(InvitationInfo { name: row.user_name, email: row.user_email })
}

/// Sets the invited user's password. Public, like [`get_invitation`].
#[server(endpoint = "accept_invitation")]
pub async fn accept_invitation(token: String, password: String, confirm: String) -> Result<(), AppError> {
    use crate::api::ctx::{fail, service_error, state};
    if password != confirm {
        return Err(fail(AppError::validation("confirm", "The two passwords differ.")));
    }
    let email = hub_core::accounts::accept_invitation(&state()?.db, &token, &password, chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    leptos_axum::redirect(&format!("/login?welcome=1&email={}", email.replace('@', "%40").replace('+', "%2B")));
    Ok(())
}
