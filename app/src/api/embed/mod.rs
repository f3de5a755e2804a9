//! The embedded marketplace's end-user endpoints. Every one takes the company's token
//! as its first argument and checks it on each call (no cookie: browsers block
//! third-party cookies in frames), then touches only tenants whose owner is the
//! token's `sub`.
//!
//! `home`: the marketplace itself (its home, a listing, installing); `app`: one of the
//! user's installed integrations (connecting, settings, schedule, syncs, uninstalling).

use serde::{Deserialize, Serialize};

mod app;
mod home;

pub use app::*;
pub use home::*;

/// The marketplace's look, on every embedded page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Brand {
    pub title: String,
    pub accent: String,
    pub logo_url: String,
    /// Who the token names: their name, email or `sub`.
    pub user: String,
}

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use chrono::Utc;
    use hub_core::domain::marketplace::EndUser;
    use hub_core::service::marketplace::{self as svc, Settings, TokenError};

    use super::*;
    use crate::api::ctx::{fail, service_error, state};
    use crate::error::AppError;

    /// The end user the token names, or 401 with the reason (shown in the frame).
    pub async fn end_user(token: &str) -> Result<EndUser, AppError> {
        let st = state()?;
        match svc::verify(&st.db, &st.key, token, Utc::now()).await {
            Ok(u) => Ok(u),
            Err(TokenError::Refused(m)) => Err(fail(AppError::TokenRefused(m))),
            Err(TokenError::Service(e)) => Err(service_error(e, Vec::new())),
        }
    }

    pub fn brand(s: &Settings, user: &EndUser) -> Brand {
        Brand {
            title: s.title().to_owned(),
            accent: s.accent().to_owned(),
            logo_url: s.logo_url.clone(),
            user: user.label().to_owned(),
        }
    }

    /// The user's own tenant, or 404.
    pub async fn own(user: &EndUser, tenant_id: i64) -> Result<hub_core::service::tenants::TenantRow, AppError> {
        svc::app(&state()?.db, user, tenant_id).await.map_err(|e| service_error(e, Vec::new()))
    }

    /// An embedded page's address, keeping the token and the form kind.
    pub fn href(path: &str, token: &str, form: &str) -> String {
        super::embed_href(path, token, form)
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
