//! What server functions share on the server: the app state, the caller's session,
//! and turning errors into the right HTTP status.

use std::fmt::Display;
use std::sync::Arc;

use axum::extract::FromRef;
use chrono::Utc;
use http::header::{ACCEPT, COOKIE, SET_COOKIE};
use http::{request::Parts, HeaderMap, HeaderValue, StatusCode};
use hub_core::auth::{self, SessionUser};
use hub_core::connectors::Connectors;
use hub_core::domain::user::OrgKind;
use hub_core::engine::builder::Builder;
use hub_core::engine::janitor::Janitor;
use hub_core::engine::runs::Engine;
use hub_core::mail::Mailer;
use hub_core::secrets::SecretKey;
use hub_core::Db;
use leptos::prelude::*;
use leptos_axum::ResponseOptions;

use crate::error::AppError;

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "hub_session";

/// Everything a request may need, built once at start-up.
#[derive(Clone, Debug)]
pub struct AppState {
    pub db: Db,
    pub leptos_options: LeptosOptions,
    /// Set the `Secure` cookie attribute (the hub is served over https).
    pub secure_cookies: bool,
    pub builder: Builder,
    pub mailer: Mailer,
    pub engine: Engine,
    pub janitor: Janitor,
    /// The connectors in use; the Connectors page changes them.
    pub connectors: Connectors,
    /// Seals credentials at rest.
    pub key: Arc<SecretKey>,
    /// The address users reach the hub at, for links in mail.
    pub public_url: String,
    /// The REST API's OpenAPI document (JSON), which the console shows.
    pub api_doc: Arc<str>,
    /// The header a reverse proxy puts the client's address in
    /// (`HUB_CLIENT_ADDRESS_HEADER`); the connection's peer when `None`.
    pub client_address_header: Option<String>,
    /// The internal ranges the hub may call (`HUB_ALLOW_PRIVATE_TARGETS`).
    pub egress: hub_core::egress::Egress,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The caller's address, for throttling sign-ins: the last entry of the header the
/// operator named (the one their proxy appends), else the connection's peer; empty
/// when neither is known.
pub fn client_address() -> String {
    let Some(parts) = use_context::<Parts>() else { return String::new() };
    let header = state().ok().and_then(|s| s.client_address_header);
    if let Some(value) =
        header.and_then(|h| parts.headers.get(h.as_str()).and_then(|v| v.to_str().ok().map(str::to_owned)))
    {
        return value.rsplit(',').next().unwrap_or_default().trim().chars().take(64).collect();
    }
    let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
    peer.map(|c| c.0.ip().to_string()).unwrap_or_default()
}

pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| internal("the app state is missing from the context"))
}

/// True when the request is a plain HTML form post (JavaScript off). Such requests
/// are answered with a redirect, so their status must not be overwritten.
pub fn is_form_post() -> bool {
    use_context::<Parts>()
        .and_then(|p| p.headers.get(ACCEPT).and_then(|v| v.to_str().ok()).map(|a| a.contains("text/html")))
        .unwrap_or(false)
}

/// Sets the HTTP status that belongs to `err` and returns it.
pub fn fail(err: AppError) -> AppError {
    if let Some(resp) = use_context::<ResponseOptions>() {
        if is_form_post() {
            if err == AppError::Unauthorized {
                leptos_axum::redirect("/login");
            }
        } else {
            resp.set_status(match &err {
                AppError::Unauthorized | AppError::TokenRefused(_) => StatusCode::UNAUTHORIZED,
                AppError::Forbidden => StatusCode::FORBIDDEN,
                AppError::NotFound => StatusCode::NOT_FOUND,
                AppError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                AppError::Conflict(_) => StatusCode::CONFLICT,
                AppError::Limited(_) => StatusCode::TOO_MANY_REQUESTS,
                AppError::Internal | AppError::Request(_) => StatusCode::INTERNAL_SERVER_ERROR,
            });
        }
    }
    err
}

/// Logs the real cause and returns the opaque internal error.
pub fn internal(cause: impl Display) -> AppError {
    tracing::error!("{cause}");
    fail(AppError::Internal)
}

/// The session token from the request's cookies.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
}

/// A cookie's value from the request's `Cookie` headers; an empty value is none.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty())
}

/// The user whose session a page request was let in with (the page guard looks it up
/// before rendering): the server functions that render the page ask for the user
/// again and again, and each would look the session up once more. Only the server
/// puts it in a request's extensions, and only for the page it renders.
#[derive(Clone, Debug)]
pub struct PageUser(pub SessionUser);

/// The signed-in user, or 401. Every server function but sign-in starts here.
pub async fn require_user() -> Result<SessionUser, AppError> {
    let parts = use_context::<Parts>();
    if let Some(PageUser(user)) = parts.as_ref().and_then(|p| p.extensions.get::<PageUser>()) {
        return Ok(user.clone());
    }
    let state = state()?;
    let token = parts.and_then(|p| session_token(&p.headers)).ok_or_else(|| fail(AppError::Unauthorized))?;
    auth::session_user(&state.db, &token, Utc::now())
        .await
        .map_err(internal)?
        .ok_or_else(|| fail(AppError::Unauthorized))
}

/// A signed-in user of the company itself (not of a partner organization).
pub async fn require_company_user() -> Result<SessionUser, AppError> {
    let user = require_user().await?;
    if user.organization_kind != OrgKind::Company {
        return Err(fail(AppError::Forbidden));
    }
    Ok(user)
}

/// A company admin: may manage users, partners and settings.
pub async fn require_admin() -> Result<SessionUser, AppError> {
    let user = require_company_user().await?;
    if !user.is_admin {
        return Err(fail(AppError::Forbidden));
    }
    Ok(user)
}

/// Maps a core service error to the UI error, with the form's values kept.
pub fn service_error(e: hub_core::service::ServiceError, kept: Vec<(String, String)>) -> AppError {
    use hub_core::service::ServiceError;
    match e {
        ServiceError::Invalid(f) => {
            fail(AppError::Validation { field: f.field, message: f.message, kept, more: Vec::new() })
        }
        ServiceError::InvalidFields(mut errors) if !errors.is_empty() => {
            let first = errors.remove(0);
            let more = errors.into_iter().map(|e| (e.field, e.message)).collect();
            fail(AppError::Validation { field: first.field, message: first.message, kept, more })
        }
        ServiceError::InvalidFields(_) => fail(AppError::validation("form", "The form has errors.")),
        ServiceError::NotFound => fail(AppError::NotFound),
        ServiceError::Conflict(m) => fail(AppError::Conflict(m)),
        ServiceError::Limited { message, .. } => fail(AppError::Limited(message)),
        ServiceError::Db(e) => internal(e),
    }
}

/// Adds a `Set-Cookie` header for the session cookie; `None` clears it.
pub fn set_session_cookie(token: Option<&str>, secure: bool) {
    let Some(resp) = use_context::<ResponseOptions>() else {
        return;
    };
    let max_age = match token {
        Some(_) => auth::SESSION_IDLE.num_seconds(),
        None => 0,
    };
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}",
        token.unwrap_or_default()
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        resp.append_header(SET_COOKIE, value);
    }
}

/// "2026-03-01 09:00 UTC": how times are shown in the console.
pub fn show_time(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_session_cookie_among_others() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("a=1; hub_session=tok; b=2"));
        assert_eq!(session_token(&h).as_deref(), Some("tok"));
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("hub_session_x=1; hub_session="));
        assert_eq!(session_token(&h), None);
    }
}
