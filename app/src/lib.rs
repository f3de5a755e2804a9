//! The console: the HTML shell, the routes, the pages and the server functions.

pub mod api;
pub mod browser;
pub mod components;
pub mod error;
pub mod pages;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::{path, SsrMode};

use components::layout::ConsoleLayout;
use pages::{access, connect, connectors, embed, integrations, login, not_found, runs, settings, tenants, users};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_content_policy(options.env == leptos::config::Env::DEV);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The page's Content-Security-Policy: scripts only from the hub and its own inline
/// hydration script (by this response's nonce), wasm compiled, styles from the hub
/// (and `style` attributes), images from the hub or any https address (a marketplace
/// logo), connections only back to the hub (and, in development, the reload socket).
/// Whom a page may be framed by is added by the server's frame policy.
#[cfg(feature = "ssr")]
pub fn content_policy(nonce: &str, dev: bool) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: https:; connect-src 'self'{}; object-src 'none'; base-uri 'none'",
        if dev { " ws: wss:" } else { "" }
    )
}

#[cfg(feature = "ssr")]
fn set_content_policy(dev: bool) {
    let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>())
    else {
        return;
    };
    if let Ok(value) = http::HeaderValue::from_str(&content_policy(&nonce, dev)) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Marks the page once the wasm has taken over, so tests can tell hydration worked.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    // Every route renders completely on the server before it is sent (Async), so
    // every page is whole without JavaScript.
    view! {
        <Stylesheet id="leptos" href="/pkg/hub.css"/>
        <Title formatter=|page: String| {
            if page.is_empty() { "Integration Hub".to_owned() } else { format!("{page} · Integration Hub") }
        }/>
        <Router>
            <Routes fallback=not_found::NotFound>
                <Route path=path!("/login") view=login::LoginPage ssr=SsrMode::Async/>
                <Route path=path!("/invite/:token") view=users::InvitePage ssr=SsrMode::Async/>
                <Route path=path!("/connect/:token") view=connect::ConnectPage ssr=SsrMode::Async/>
                // The embedded marketplace, in the company's product: no console around it.
                <Route path=path!("/embed") view=embed::EmbedHomePage ssr=SsrMode::Async/>
                <Route path=path!("/embed/integrations/:id") view=|| view! { <embed::EmbedListingPage form="full"/> } ssr=SsrMode::Async/>
                <Route path=path!("/embed/install/:id") view=|| view! { <embed::EmbedListingPage form="install"/> } ssr=SsrMode::Async/>
                <Route path=path!("/embed/auth/:id") view=|| view! { <embed::EmbedListingPage form="auth"/> } ssr=SsrMode::Async/>
                <Route path=path!("/embed/apps/:id") view=embed::EmbedAppPage ssr=SsrMode::Async/>
                <ParentRoute path=path!("") view=ConsoleLayout ssr=SsrMode::Async>
                    <Route path=path!("") view=|| view! { <Redirect path="/integrations"/> } ssr=SsrMode::Async/>
                    <Route path=path!("integrations") view=integrations::IntegrationsPage ssr=SsrMode::Async/>
                    <Route path=path!("integrations/new") view=integrations::NewIntegrationPage ssr=SsrMode::Async/>
                    <Route path=path!("integrations/:id") view=integrations::IntegrationPage ssr=SsrMode::Async/>
                    <Route path=path!("integrations/:id/edit") view=integrations::EditIntegrationPage ssr=SsrMode::Async/>
                    <Route path=path!("releases/:id") view=integrations::ReleasePage ssr=SsrMode::Async/>
                    <Route path=path!("connectors") view=connectors::ConnectorsPage ssr=SsrMode::Async/>
                    <Route path=path!("tenants") view=tenants::TenantsPage ssr=SsrMode::Async/>
                    <Route path=path!("tenants/new") view=tenants::NewTenantPage ssr=SsrMode::Async/>
                    <Route path=path!("tenants/:id") view=tenants::TenantPage ssr=SsrMode::Async/>
                    <Route path=path!("tenants/:id/settings") view=tenants::SettingsPage ssr=SsrMode::Async/>
                    <Route path=path!("tenants/:id/schedule") view=tenants::SchedulePage ssr=SsrMode::Async/>
                    <Route path=path!("tenants/:id/setup") view=tenants::SetupRedirect ssr=SsrMode::Async/>
                    <Route path=path!("tenants/:id/setup/:step") view=tenants::SetupPage ssr=SsrMode::Async/>
                    <Route path=path!("runs/:id") view=runs::RunPage ssr=SsrMode::Async/>
                    <Route path=path!("activity") view=runs::ActivityPage ssr=SsrMode::Async/>
                    <Route path=path!("activity/audit") view=runs::AuditPage ssr=SsrMode::Async/>
                    <Route path=path!("settings") view=|| view! { <Redirect path="/settings/company"/> } ssr=SsrMode::Async/>
                    <Route path=path!("settings/company") view=settings::CompanyPage ssr=SsrMode::Async/>
                    <Route path=path!("settings/users") view=users::UsersPage ssr=SsrMode::Async/>
                    <Route path=path!("settings/users/new") view=users::NewUserPage ssr=SsrMode::Async/>
                    <Route path=path!("settings/partners") view=users::PartnersPage ssr=SsrMode::Async/>
                    <Route path=path!("settings/mail") view=users::SentMailPage ssr=SsrMode::Async/>
                    <Route path=path!("account") view=users::AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("settings/marketplace") view=settings::MarketplacePage ssr=SsrMode::Async/>
                    <Route path=path!("settings/api") view=access::ApiAccessPage ssr=SsrMode::Async/>
                    <Route path=path!("settings/notifications") view=access::NotificationsPage ssr=SsrMode::Async/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
