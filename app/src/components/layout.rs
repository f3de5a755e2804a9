//! The console frame: sidebar, header with the signed-in user, and the page outlet.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::components::{Outlet, Redirect, A};

use crate::api::session::{current_user, Logout};
use crate::error::AppError;

#[component]
pub fn ConsoleLayout() -> impl IntoView {
    let user = Resource::new_blocking(|| (), |_| current_user());

    view! {
        <div class="console">
            <a class="skip-link" href="#main">"Skip to content"</a>
            <aside class="sidebar">
                <a class="brand" href="/integrations">
                    <span class="brand-mark" aria-hidden="true">"◆"</span>
                    "Integration Hub"
                </a>
                <nav aria-label="Main">
                    <ul class="nav-list">
                        <li><A href="/integrations">"Integrations"</A></li>
                        <li><A href="/tenants">"Tenants"</A></li>
                        <li><A href="/connectors">"Connectors"</A></li>
                        <li><A href="/activity">"Activity"</A></li>
                    </ul>
                    // Settings belong to the company: partner users are not shown them (the
                    // server functions refuse them anyway).
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            match user.await {
                                Ok(u) if !u.is_partner => view! {
                                <p class="nav-heading" id="nav-settings">"Settings"</p>
                                <ul class="nav-list" aria-labelledby="nav-settings">
                                    <li><A href="/settings/company">"Company"</A></li>
                                    <li><A href="/settings/users">"Users"</A></li>
                                    <li><A href="/settings/partners">"Partners"</A></li>
                                    <li><A href="/settings/mail">"Sent mail"</A></li>
                                    <li><A href="/settings/marketplace">"Marketplace"</A></li>
                                    <li><A href="/settings/api">"API Access"</A></li>
                                    <li><A href="/settings/notifications">"Notifications & Webhooks"</A></li>
                                </ul>
                                }.into_any(),
                                _ => ().into_any(),
                            }
                        })}
                    </Suspense>
                </nav>
            </aside>
            <div class="main-column">
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        user.await.ok().and_then(|u| u.sandbox_warning).map(|w| view! {
                            <p class="notice warning sandbox-banner" role="alert" data-testid="sandbox-warning">{w}</p>
                        })
                    })}
                </Suspense>
                <header class="topbar">
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            match user.await {
                                Ok(u) => view! {
                                    <div class="who" data-testid="current-user">
                                        <a class="who-name" href="/account">{u.name}</a>
                                        <span class="who-detail">{u.email}" · "{u.organization}</span>
                                    </div>
                                }.into_any(),
                                // The session ended or never was: back to sign-in.
                                Err(AppError::Unauthorized) => view! { <Redirect path="/login"/> }.into_any(),
                                Err(e) => view! { <div class="who">{e.to_string()}</div> }.into_any(),
                            }
                        })}
                    </Suspense>
                    // A plain form, with or without JavaScript: signing out leaves the
                    // console for the sign-in page anyway, and an `ActionForm` would put
                    // form decoding into every page's browser code.
                    <form method="post" action={<Logout as ServerFn>::url()} class="signout">
                        <button type="submit" class="btn ghost">"Sign out"</button>
                    </form>
                </header>
                <main id="main" class="content" tabindex="-1">
                    <Outlet/>
                </main>
            </div>
        </div>
    }
}
