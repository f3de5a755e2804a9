//! A Copy button for a value the page shows (a secret shown once, a link to send). It
//! appears only once the page's script runs; without it the value stays selectable
//! in its field, to copy by hand.

use leptos::prelude::*;

#[component]
pub fn CopyButton(value: String, #[prop(optional)] label: Option<&'static str>) -> impl IntoView {
    let scripted = RwSignal::new(false);
    Effect::new(move |_| scripted.set(true));
    let copied = RwSignal::new(false);
    let label = label.unwrap_or("Copy");
    view! {
        <button type="button" class="btn small" hidden=move || !scripted.get()
            on:click=move |_| {
                crate::browser::copy_text(&value);
                copied.set(true);
            }>
            {move || if copied.get() { "Copied" } else { label }}
        </button>
    }
}
