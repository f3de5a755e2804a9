//! Sign-in, sign-out, and who is signed in.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The signed-in user, as the header shows them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInUser {
    pub name: String,
    pub email: String,
    pub organization: String,
    pub is_admin: bool,
    pub is_partner: bool,
    /// Set when integration code does not run in the sandbox: every page says so.
    pub sandbox_warning: Option<String>,
}

/// Only local paths are followed after sign-in, so the link cannot send users elsewhere.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") && !n.starts_with("/login") => n,
        _ => "/",
    }
}

/// Signs in with email and password. The one server function callable without a
/// session; failures are throttled per email.
#[server(endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use super::ctx::{internal, set_session_cookie, state};
    use hub_core::auth::{self, AuthError};

    let state = state()?;
    let keep = |field: &str, message: String| refused(field, message, &email);
    if email.trim().is_empty() {
        return Err(keep("email", "Enter your email address.".to_owned()));
    }
    if password.is_empty() {
        return Err(keep("password", "Enter your password.".to_owned()));
    }
    let address = super::ctx::client_address();
    match auth::sign_in(&state.db, &email, &password, &address, chrono::Utc::now()).await {
        Ok(token) => {
            set_session_cookie(Some(&token), state.secure_cookies);
            leptos_axum::redirect(safe_next(next.as_deref()));
            Ok(())
        }
        Err(e @ (AuthError::InvalidCredentials | AuthError::Throttled(_))) => {
            // Quoted and cut: a typed email cannot forge a line of the log.
            let shown: String = email.trim().chars().take(100).collect();
            tracing::info!(email = ?shown, %address, "sign-in refused: {e}");
            Err(keep("password", e.to_string()))
        }
        Err(e) => Err(internal(e)),
    }
}

/// Ends the caller's session and clears the cookie.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use super::ctx::{internal, require_user, session_token, set_session_cookie, state};
    use http::request::Parts;

    let _user = require_user().await?;
    let state = state()?;
    if let Some(token) = use_context::<Parts>().and_then(|p| session_token(&p.headers)) {
        hub_core::auth::sign_out(&state.db, &token).await.map_err(internal)?;
    }
    set_session_cookie(None, state.secure_cookies);
    leptos_axum::redirect("/login");
    Ok(())
}

#[server(endpoint = "current_user")]
pub async fn current_user() -> Result<SignedInUser, AppError> {
    let user = super::ctx::require_user().await?;
    Ok(SignedInUser {
        name: user.name,
        email: user.email,
        organization: user.organization_name,
        is_admin: user.is_admin,
        is_partner: user.organization_kind == hub_core::domain::user::OrgKind::Partner,
        sandbox_warning: sandbox_warning(super::ctx::state()?.builder.sandbox()),
    })
}

/// A sign-in error on `field`, keeping the typed email.
#[cfg(feature = "ssr")]
fn refused(field: &str, message: String, email: &str) -> AppError {
    super::ctx::fail(AppError::Validation {
        field: field.to_owned(),
        message,
        kept: vec![("email".to_owned(), email.trim().to_owned())],
        more: Vec::new(),
    })
}

#[cfg(feature = "ssr")]
fn sandbox_warning(sandbox: &hub_core::engine::sandbox::Sandbox) -> Option<String> {
    if sandbox.is_off() {
        return Some(
            "The sandbox is off (HUB_SANDBOX=off): integration code runs with the hub's own rights and can read \
             its key, its database and every tenant's credentials."
                .to_owned(),
        );
    }
    sandbox
        .unavailable()
        .map(|why| format!("The sandbox is unavailable ({why}): every build and run fails until it is fixed."))
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/tenants?x=1")), "/tenants?x=1");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("/login")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
