//! The page for addresses that lead nowhere.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found"/>
        <main class="auth-page">
            <div class="auth-card">
                <h1>"Page not found"</h1>
                <p>"There is nothing at this address."</p>
                <p><a class="btn primary" href="/integrations">"Go to the console"</a></p>
            </div>
        </main>
    }
}
