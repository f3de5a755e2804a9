//! Users and partner organizations: invitations by email, setting a password from an
//! invitation, deactivation, and changing one's own password.

use chrono::{DateTime, Duration, Utc};

use crate::auth::hash_password;
use crate::db::audit::{self, Actor};
use crate::db::{invitations, mail, orgs, sessions, users, Db};
use crate::domain::audit::AuditAction;
use crate::domain::email::Email;
use crate::domain::user::{check_new_password, OrgKind};
use crate::mail::Mailer;
use crate::secrets::{random_token, token_hash};
use crate::service::{invalid, is_unique_violation, ServiceError};

/// How long an invitation link works.
pub const INVITATION_DAYS: i64 = 7;

/// What "Add New User" sends.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub name: String,
    pub email: String,
    pub organization_id: i64,
}

async fn record(
    tx: &mut sqlx::SqliteConnection,
    actor: &Actor,
    action: AuditAction,
    object_type: &str,
    id: i64,
    detail: serde_json::Value,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let entry = audit::Entry { actor, action, object_type, object_id: Some(id.to_string()), detail };
    audit::record(&mut *tx, entry, now).await
}

/// A new invitation for `user`, with its email queued.
async fn invite(
    tx: &mut sqlx::SqliteConnection,
    user_id: i64,
    name: &str,
    email: &str,
    public_url: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let token = random_token();
    invitations::insert(&mut *tx, user_id, &token_hash(&token), now, now + Duration::days(INVITATION_DAYS)).await?;
    let link = format!("{public_url}/invite/{token}");
    let body = format!(
        "Hello {name},\n\nYou have been invited to the Integration Hub.\n\nSet your password here (the link works once, for {INVITATION_DAYS} days):\n{link}\n\nThen sign in with this email address: {email}\n"
    );
    mail::enqueue(&mut *tx, email, "You are invited to the Integration Hub", &body, Some(user_id), now).await?;
    Ok(())
}

pub async fn add_user(
    db: &Db,
    mailer: &Mailer,
    actor: &Actor,
    input: NewUser,
    public_url: &str,
    now: DateTime<Utc>,
) -> Result<i64, ServiceError> {
    let name = input.name.trim();
    if name.is_empty() {
        return Err(invalid("name", "Enter the user's name."));
    }
    if name.chars().count() > 100 {
        return Err(invalid("name", "Use at most 100 characters."));
    }
    let email = Email::parse(&input.email).map_err(|e| invalid("email", e.to_string()))?;
    let org = orgs::get(db.pool(), input.organization_id)
        .await?
        .ok_or_else(|| invalid("organization_id", "Choose an organization."))?;
    if users::find_by_email(db.pool(), email.as_str()).await?.is_some() {
        return Err(invalid("email", "A user with this email already exists."));
    }
    let is_admin = OrgKind::parse(&org.kind) == Some(OrgKind::Company);
    let mut tx = db.pool().begin().await?;
    let new = users::NewUser {
        organization_id: org.id,
        name,
        email: email.as_str(),
        password_hash: None,
        is_admin,
        is_primary: false,
        status: "invited",
    };
    let id = match users::insert(&mut *tx, &new, now).await {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) => return Err(invalid("email", "A user with this email already exists.")),
        Err(e) => return Err(e.into()),
    };
    invite(&mut tx, id, name, email.as_str(), public_url, now).await?;
    let detail = serde_json::json!({ "email": email.as_str(), "organization": org.name });
    record(&mut tx, actor, AuditAction::Invited, "user", id, detail, now).await?;
    tx.commit().await?;
    mailer.wake();
    Ok(id)
}

/// A new link for an invited user; the old one stops working.
pub async fn resend_invitation(
    db: &Db,
    mailer: &Mailer,
    actor: &Actor,
    user_id: i64,
    public_url: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let user = users::get(db.pool(), user_id).await?.ok_or(ServiceError::NotFound)?;
    if user.status != "invited" {
        return Err(ServiceError::Conflict("Only a user who has not set a password yet can be invited again.".into()));
    }
    let mut tx = db.pool().begin().await?;
    invitations::revoke_open(&mut *tx, user_id, now).await?;
    invite(&mut tx, user_id, &user.name, &user.email, public_url, now).await?;
    record(&mut tx, actor, AuditAction::InvitationResent, "user", user_id, serde_json::json!({}), now).await?;
    tx.commit().await?;
    mailer.wake();
    Ok(())
}

/// Deactivates a user: their sessions end at once and their links stop working.
pub async fn deactivate_user(db: &Db, actor: &Actor, user_id: i64, now: DateTime<Utc>) -> Result<(), ServiceError> {
    let user = users::get(db.pool(), user_id).await?.ok_or(ServiceError::NotFound)?;
    if user.is_primary {
        return Err(ServiceError::Conflict("The primary admin cannot be deactivated.".into()));
    }
    let mut tx = db.pool().begin().await?;
    users::set_status(&mut *tx, user_id, "deactivated").await?;
    sessions::delete_for_user(&mut *tx, user_id).await?;
    invitations::revoke_open(&mut *tx, user_id, now).await?;
    record(&mut tx, actor, AuditAction::Deactivated, "user", user_id, serde_json::json!({}), now).await?;
    tx.commit().await?;
    Ok(())
}

/// Ends every session of a user (a lost laptop, a shared password): they must sign in
/// again. Returns how many sessions were ended.
pub async fn sign_out_everywhere(
    db: &Db,
    actor: &Actor,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<u64, ServiceError> {
    users::get(db.pool(), user_id).await?.ok_or(ServiceError::NotFound)?;
    let mut tx = db.pool().begin().await?;
    let ended = sessions::delete_others(&mut *tx, user_id, "").await?;
    let detail = serde_json::json!({ "sessions_ended": ended });
    record(&mut tx, actor, AuditAction::SignedOutEverywhere, "user", user_id, detail, now).await?;
    tx.commit().await?;
    Ok(ended)
}

/// Why an invitation link cannot be used.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("This invitation link is not valid. Ask your administrator to send a new one.")]
    Unknown,
    #[error("This invitation link has already been used. Sign in with your email and password.")]
    Used,
    #[error("This invitation link has expired. Ask your administrator to send a new one.")]
    Expired,
    #[error("This invitation link was replaced by a newer one. Use the link in the newest email.")]
    Revoked,
}

/// The invited user behind a link, when the link may still be used.
pub async fn invitation(db: &Db, token: &str, now: DateTime<Utc>) -> Result<invitations::InvitationRow, ServiceError> {
    let row = invitations::find(db.pool(), &token_hash(token)).await?;
    check_link(row, now).map_err(|e| ServiceError::Conflict(e.to_string()))
}

fn check_link(
    row: Option<invitations::InvitationRow>,
    now: DateTime<Utc>,
) -> Result<invitations::InvitationRow, LinkError> {
    let row = row.ok_or(LinkError::Unknown)?;
    if row.used_at.is_some() {
        return Err(LinkError::Used);
    }
    if row.revoked_at.is_some() || row.user_status == "deactivated" {
        return Err(LinkError::Revoked);
    }
    if row.expires_at <= now {
        return Err(LinkError::Expired);
    }
    Ok(row)
}

/// Sets the password of an invited user from their link, and activates them.
pub async fn accept_invitation(
    db: &Db,
    token: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<String, ServiceError> {
    let row = invitation(db, token, now).await?;
    check_new_password(password).map_err(|m| invalid("password", m))?;
    let hash = hash_password(password).map_err(|e| ServiceError::Conflict(e.to_string()))?;
    let mut tx = db.pool().begin().await?;
    if !invitations::mark_used(&mut *tx, row.id, now).await? {
        return Err(ServiceError::Conflict(LinkError::Used.to_string()));
    }
    users::set_password(&mut *tx, row.user_id, &hash).await?;
    users::set_status(&mut *tx, row.user_id, "active").await?;
    let actor = Actor::User { id: row.user_id, email: row.user_email.clone() };
    record(&mut tx, &actor, AuditAction::PasswordSet, "user", row.user_id, serde_json::json!({}), now).await?;
    tx.commit().await?;
    Ok(row.user_email)
}

/// Changes a user's own password, after checking the current one, and ends their
/// other sessions (another device, or whoever had taken one over); `session` (the
/// token in use) stays signed in.
pub async fn change_password(
    db: &Db,
    user_id: i64,
    session: &str,
    current: &str,
    new: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let user = users::get(db.pool(), user_id).await?.ok_or(ServiceError::NotFound)?;
    let hash = user.password_hash.unwrap_or_default();
    let matches = tokio::task::spawn_blocking({
        let current = current.to_owned();
        move || crate::auth::verify_password(&hash, &current)
    })
    .await
    .unwrap_or(false);
    if !matches {
        return Err(invalid("current_password", "This is not your current password."));
    }
    check_new_password(new).map_err(|m| invalid("new_password", m))?;
    let hash = hash_password(new).map_err(|e| ServiceError::Conflict(e.to_string()))?;
    let mut tx = db.pool().begin().await?;
    users::set_password(&mut *tx, user_id, &hash).await?;
    let ended = sessions::delete_others(&mut *tx, user_id, &crate::secrets::token_hash(session)).await?;
    let actor = Actor::User { id: user_id, email: user.email };
    let detail = serde_json::json!({ "other_sessions_ended": ended });
    record(&mut tx, &actor, AuditAction::PasswordChanged, "user", user_id, detail, now).await?;
    tx.commit().await?;
    Ok(())
}

fn check_org_name(name: &str) -> Result<&str, ServiceError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(invalid("name", "Enter the partner's name."));
    }
    if name.chars().count() > 100 {
        return Err(invalid("name", "Use at most 100 characters."));
    }
    Ok(name)
}

pub async fn create_partner(db: &Db, actor: &Actor, name: &str, now: DateTime<Utc>) -> Result<i64, ServiceError> {
    let name = check_org_name(name)?;
    let mut tx = db.pool().begin().await?;
    let id = match orgs::insert(&mut *tx, name, OrgKind::Partner, now).await {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) => {
            return Err(invalid("name", "An organization with this name already exists."))
        }
        Err(e) => return Err(e.into()),
    };
    record(&mut tx, actor, AuditAction::Created, "partner", id, serde_json::json!({ "name": name }), now).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn rename_partner(
    db: &Db,
    actor: &Actor,
    id: i64,
    name: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let name = check_org_name(name)?;
    let org = orgs::get(db.pool(), id).await?.ok_or(ServiceError::NotFound)?;
    if org.kind != "partner" {
        return Err(ServiceError::NotFound);
    }
    let mut tx = db.pool().begin().await?;
    match orgs::rename(&mut *tx, id, name).await {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(invalid("name", "An organization with this name already exists."))
        }
        Err(e) => return Err(e.into()),
    }
    record(
        &mut tx,
        actor,
        AuditAction::Renamed,
        "partner",
        id,
        serde_json::json!({ "from": org.name, "to": name }),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
