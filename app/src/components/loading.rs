//! What a page shows while its data is on the way.

use leptos::prelude::*;

/// The fallback of a page's `Suspense` or `Transition`.
#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="muted">"Loading…"</p> }
}
