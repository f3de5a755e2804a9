//! The page header, the empty state, and how errors are shown inside a page.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::error::AppError;

/// The title row of a console page, with room for actions on the right.
#[component]
pub fn PageHeader(
    title: &'static str,
    #[prop(optional)] lead: Option<&'static str>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <Title text=title/>
        <div class="page-header">
            <div>
                <h1>{title}</h1>
                {lead.map(|l| view! { <p class="lead">{l}</p> })}
            </div>
            <div class="page-actions">{children.map(|c| c())}</div>
        </div>
    }
}

/// What a page shows when it has nothing yet: what will appear here, and how.
#[component]
pub fn EmptyState(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <section class="empty-state" aria-label=title>
            <div class="empty-icon" aria-hidden="true">"○"</div>
            <h2>{title}</h2>
            <div class="empty-body">{children()}</div>
        </section>
    }
}

/// An error from a server function, in words for the user.
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    view! { <p class="notice error" role="alert">{error.to_string()}</p> }
}

/// While something is building, reload the data every two seconds (with JavaScript),
/// or the whole page every three (without: the refresh sits in a `noscript`).
#[component]
pub fn RefreshWhileBusy(busy: bool, #[prop(into)] refetch: Callback<()>) -> impl IntoView {
    // Effects run only in the browser, after hydration.
    Effect::new(move |_| {
        if busy {
            // The list may have been re-rendered (and this callback disposed) before the
            // timer fires, after an action refetched it; then there is nothing to do.
            set_timeout(
                move || {
                    let _ = refetch.try_run(());
                },
                std::time::Duration::from_secs(2),
            );
        }
    });
    // Given as inner HTML so that, with scripting on, the browser keeps it as inert text
    // even when this is rendered on the client; a `meta` element created through the DOM
    // would refresh the page.
    busy.then(|| view! { <noscript inner_html=r#"<meta http-equiv="refresh" content="3">"#></noscript> })
}
