//! A tenant's connection to one connector: its status badge, the block where its
//! credentials are given (a form, or the OAuth consent link), and its magic link.

use hub_core::domain::connector::{AuthKind, ConnectionStatus};
use leptos::prelude::*;

use crate::api::tenants::{ConnectionView, SaveTenantCredentials};
use crate::components::copy::CopyButton;
use crate::error::AppError;

/// One connector of a tenant being set up: its credentials form, or its Connect link.
#[component]
pub fn ConnectorBlock(
    tenant_id: i64,
    c: ConnectionView,
    action: ServerAction<SaveTenantCredentials>,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let connected = c.status == ConnectionStatus::Connected;
    let connector = c.connector.clone();
    let body = match c.auth {
        AuthKind::ApiKey | AuthKind::Basic => view! {
            <ActionForm action=action attr:class="form" attr:novalidate=true>
                <input type="hidden" name="tenant_id" value=tenant_id/>
                <input type="hidden" name="connector" value=connector.clone()/>
                {c.fields.iter().map(|(name, label, secret)| {
                    let key = format!("cred.{connector}.{name}");
                    let id = format!("cred-{connector}-{name}");
                    let msg = {
                        let key = key.clone();
                        move || error.get().and_then(|e| e.field_message(&key))
                    };
                    view! {
                        <div class="field">
                            <label for=id.clone()>{label.clone()}</label>
                            <input id=id.clone() name=format!("fields[{name}]") type=if *secret { "password" } else { "text" }
                                autocomplete="off" aria-required="true"
                                placeholder=if connected { "Saved: type to replace" } else { "" }/>
                            {move || msg().map(|m| view! { <p class="field-error">{m}</p> })}
                        </div>
                    }
                }).collect_view()}
                <button type="submit" class="btn">{if connected { "Replace credentials" } else { "Save credentials" }}</button>
            </ActionForm>
        }.into_any(),
        AuthKind::Oauth2 => view! {
            {if c.configured {
                view! {
                    <p>
                        <a class="btn primary" href=c.magic_link.clone()>"Connect"</a>
                        " "<span class="muted small">"Opens the provider's consent screen."</span>
                    </p>
                }.into_any()
            } else {
                view! { <NotConfigured connector=c.connector.clone() display_name=c.display_name.clone()/> }.into_any()
            }}
            <MagicLink url=c.magic_link.clone() expiry=c.link_expiry.clone() expired=c.link_expired/>
        }.into_any(),
        AuthKind::None => view! { <p class="muted">"No credentials needed."</p> }.into_any(),
    };
    view! {
        <section class="card connector-block" data-connector=c.connector.clone() aria-label=c.display_name.clone()>
            <h2>
                {c.display_name.clone()}
                <span class="muted small">{format!(" · {}", c.auth.label())}</span>
                <ConnectionBadge status=c.status/>
            </h2>
            {body}
        </section>
    }
}

/// Said where Connect would be, for an OAuth2 connector the hub has no app for yet:
/// its link would only tell the customer so.
#[component]
pub fn NotConfigured(connector: String, display_name: String) -> impl IntoView {
    view! {
        <p class="notice warning small" data-testid="not-configured">
            {format!("{display_name} is not set up on this hub yet, so it cannot be connected: an admin enables it on ")}
            <a href=format!("/connectors/{connector}")>"its Connectors page"</a>
            " with the client id and secret of the app registered with the provider."
        </p>
    }
}

/// How a connection stands: connected, failing, or not connected.
#[component]
pub fn ConnectionBadge(status: ConnectionStatus) -> impl IntoView {
    let (class, text) = match status {
        ConnectionStatus::Connected => ("badge succeeded", "✓ Connected"),
        ConnectionStatus::Error => ("badge failed", "Error"),
        ConnectionStatus::Disconnected => ("badge", "Not connected"),
    };
    view! { <span class=class data-testid="connection-status">{text}</span> }
}

/// The tenant's magic link for one connector, with a copy button.
#[component]
pub fn MagicLink(
    url: String,
    /// When the link stops working, in words.
    expiry: Option<String>,
    expired: bool,
) -> impl IntoView {
    view! {
        <div class="field magic-link">
            <label>
                "Magic link"
                <input type="text" readonly=true value=url.clone() class="mono" data-testid="magic-link"/>
            </label>
            <p class="hint-text">"Send it to the customer: anyone holding it can connect this tenant without a hub account."</p>
            {expiry.map(|e| view! {
                <p class=if expired { "notice error small" } else { "hint-text" } data-testid="magic-link-expiry">{e}</p>
            })}
            <CopyButton value=url label="Copy link"/>
        </div>
    }
}
