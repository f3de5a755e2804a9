//! A Copy button for a value the page shows (a secret shown once, a link to send). It
//! shows only once the page has hydrated (`.needs-script`: the stylesheet hides it
//! until the body is marked); without JavaScript the value stays selectable in its
//! field, to copy by hand.

use leptos::prelude::*;

#[component]
pub fn CopyButton(value: String, #[prop(optional)] label: Option<&'static str>) -> impl IntoView {
    let copied = RwSignal::new(false);
    let label = label.unwrap_or("Copy");
    view! {
        <button type="button" class="btn small needs-script"
            on:click=move |_| {
                crate::browser::copy_text(&value);
                copied.set(true);
            }>
            {move || if copied.get() { "Copied" } else { label }}
        </button>
    }
}
