//! The console: the HTML shell, the routes, the pages and the server functions.

pub mod api;
pub mod browser;
pub mod components;
pub mod error;
pub mod pages;
pub mod routes;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::{path, Lazy, SsrMode};

use components::layout::ConsoleLayout;
use pages::not_found;
use routes as r;

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_content_policy(options.env == leptos::config::Env::DEV);
    let stylesheet = stylesheet_href(&options);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <link rel="stylesheet" id="leptos" href=stylesheet/>
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

/// The stylesheet's address: with hashed file names (a release build), the name
/// cargo-leptos recorded in `hash.txt` beside the binary, read once.
fn stylesheet_href(options: &LeptosOptions) -> String {
    #[cfg(feature = "ssr")]
    if options.hash_files {
        static HASHED: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
        let hashed = HASHED.get_or_init(|| {
            let exe = std::env::current_exe().ok()?;
            let hashes = std::fs::read_to_string(exe.parent()?.join(&*options.hash_file)).ok()?;
            hashes.lines().find_map(|line| line.strip_prefix("css:")).map(|hash| hash.trim().to_owned())
        });
        if let Some(hash) = hashed {
            return format!("/{}/{}.{hash}.css", options.site_pkg_dir, options.output_name);
        }
    }
    format!("/{}/{}.css", options.site_pkg_dir, options.output_name)
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

    // Every route renders completely on the server before it is sent (Async), so
    // every page is whole without JavaScript.
    view! {
        <Title formatter=|page: String| {
            if page.is_empty() { "Integration Hub".to_owned() } else { format!("{page} · Integration Hub") }
        }/>
        <Router>
            <Routes fallback=not_found::NotFound>
                <Route path=path!("/login") view={Lazy::<r::Login>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/invite/:token") view={Lazy::<r::Invite>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/connect/:token") view={Lazy::<r::Connect>::new()} ssr=SsrMode::Async/>
                // The embedded marketplace, in the company's product: no console around it.
                <Route path=path!("/embed") view={Lazy::<r::EmbedHome>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/embed/integrations/:id") view={Lazy::<r::EmbedListing>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/embed/install/:id") view={Lazy::<r::EmbedInstall>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/embed/auth/:id") view={Lazy::<r::EmbedAuth>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/embed/apps/:id") view={Lazy::<r::EmbedApp>::new()} ssr=SsrMode::Async/>
                <ParentRoute path=path!("") view=ConsoleLayout ssr=SsrMode::Async>
                    <Route path=path!("") view=|| view! { <Redirect path="/integrations"/> } ssr=SsrMode::Async/>
                    <Route path=path!("integrations") view={Lazy::<r::Integrations>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("integrations/new") view={Lazy::<r::NewIntegration>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("integrations/:id") view={Lazy::<r::Integration>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("integrations/:id/edit") view={Lazy::<r::EditIntegration>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("integrations/:id/repository") view={Lazy::<r::IntegrationRepository>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("releases/:id") view={Lazy::<r::Release>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("connectors") view={Lazy::<r::Connectors>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("connectors/new") view={Lazy::<r::NewConnector>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("connectors/:name") view={Lazy::<r::Connector>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("tenants") view={Lazy::<r::Tenants>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("tenants/new") view={Lazy::<r::NewTenant>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("tenants/:id") view={Lazy::<r::Tenant>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("tenants/:id/settings") view={Lazy::<r::TenantSettings>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("tenants/:id/schedule") view={Lazy::<r::TenantSchedule>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("tenants/:id/setup") view={Lazy::<r::TenantSetupStart>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("tenants/:id/setup/schedule") view={Lazy::<r::TenantSetupSchedule>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("tenants/:id/setup/:step") view={Lazy::<r::TenantSetup>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("runs/:id") view={Lazy::<r::Run>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("activity") view={Lazy::<r::Activity>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("activity/audit") view={Lazy::<r::Audit>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("settings") view=|| view! { <Redirect path="/settings/company"/> } ssr=SsrMode::Async/>
                    <Route path=path!("settings/company") view={Lazy::<r::Company>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("settings/users") view={Lazy::<r::Users>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("settings/users/new") view={Lazy::<r::NewUser>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("settings/partners") view={Lazy::<r::Partners>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("settings/mail") view={Lazy::<r::SentMail>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("account") view={Lazy::<r::Account>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("settings/marketplace") view={Lazy::<r::Marketplace>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("settings/api") view={Lazy::<r::ApiAccess>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("settings/notifications") view={Lazy::<r::Notifications>::new()} ssr=SsrMode::Async/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
