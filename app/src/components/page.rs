//! The page header, the empty state, and how errors are shown inside a page.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::error::AppError;

/// The title row of a console page, with room for actions on the right.
#[component]
pub fn PageHeader(
    #[prop(into)] title: String,
    /// The document's title, when it is not the heading's text ("Settings · acme").
    #[prop(optional, into)]
    doc_title: Option<String>,
    /// Links above the heading, outermost first: (label, href).
    #[prop(optional)]
    breadcrumbs: Vec<(String, String)>,
    #[prop(optional, into)] lead: Option<String>,
    /// Leaves out the actions column, which is otherwise there even when empty.
    #[prop(optional)]
    no_actions: bool,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    let doc_title = doc_title.unwrap_or_else(|| title.clone());
    let lead = lead.map(|l| view! { <p class="lead">{l}</p> });
    // "Tenants / acme": the links with a slash between them.
    let crumbs = breadcrumbs.into_iter().fold(None, |before: Option<AnyView>, (label, href)| {
        Some(match before {
            None => view! { <a href=href>{label}</a> }.into_any(),
            Some(before) => view! { {before}" / "<a href=href>{label}</a> }.into_any(),
        })
    });
    let heading = match crumbs {
        Some(crumbs) => view! {
            <div>
                <p class="crumbs">{crumbs}</p>
                <h1>{title}</h1>
                {lead}
            </div>
        }
        .into_any(),
        None => view! {
            <div>
                <h1>{title}</h1>
                {lead}
            </div>
        }
        .into_any(),
    };
    let header = if no_actions {
        view! { <div class="page-header">{heading}</div> }.into_any()
    } else {
        view! {
            <div class="page-header">
                {heading}
                <div class="page-actions">{children.map(|c| c())}</div>
            </div>
        }
        .into_any()
    };
    view! {
        <Title text=doc_title/>
        {header}
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
