//! The frame of every embedded page, and what the pages share: the token and form kind
//! carried from page to page, the refusal page, the done notice, the user's apps.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::embed::{embed_href, AppItem, Brand};
use crate::error::AppError;

/// The token and the form kind of this page, from its query.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Embed {
    pub(super) token: String,
    pub(super) form: String,
}

impl Embed {
    pub(super) fn href(&self, path: &str) -> String {
        embed_href(path, &self.token, &self.form)
    }

    fn full(&self) -> bool {
        self.form != "install" && self.form != "auth"
    }
}

/// The token and form kind of this page; `form` is fixed by the route, or else from the query.
pub(super) fn use_embed(form: Option<&'static str>) -> Memo<Embed> {
    let query = use_query_map();
    Memo::new(move |_| {
        query.with(|q| Embed {
            token: q.get("token").unwrap_or_default(),
            form: form.map(str::to_owned).or_else(|| q.get("form")).unwrap_or_else(|| "full".to_owned()),
        })
    })
}

/// The route's `:id`.
pub(super) fn id_param() -> Memo<Option<i64>> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get("id").and_then(|v| v.parse::<i64>().ok()))
}

/// Hidden fields every embedded form posts.
pub(super) fn carried(e: &Embed) -> impl IntoView {
    view! {
        <input type="hidden" name="token" value=e.token.clone()/>
        <input type="hidden" name="form" value=e.form.clone()/>
    }
}

/// A refused token, or another failure, as a page inside the frame.
#[component]
pub(super) fn Refused(error: AppError) -> impl IntoView {
    let (title, text) = match &error {
        AppError::TokenRefused(m) => ("This page could not be opened", m.clone()),
        AppError::NotFound => ("Not found", "This integration or app is not available to you.".to_owned()),
        other => ("Something went wrong", other.to_string()),
    };
    view! {
        <main class="embed embed-refused" data-testid="embed-refused">
            <h1>{title}</h1>
            <p class="notice error" role="alert">{text}</p>
        </main>
    }
}

/// The frame around an embedded page: the marketplace's name, logo and colour.
#[component]
pub(super) fn Frame(brand: Brand, e: Embed, children: Children) -> impl IntoView {
    let style = format!("--accent: {}", brand.accent);
    view! {
        <Title text=brand.title.clone()/>
        <div class="embed" style=style>
            <header class="embed-header">
                {(!brand.logo_url.is_empty()).then(|| view! { <img class="embed-logo" src=brand.logo_url.clone() alt=""/> })}
                <span class="embed-title">{brand.title.clone()}</span>
                {e.full().then(|| view! {
                    <nav class="embed-nav" aria-label="Marketplace">
                        <a href=e.href("/embed")>"All integrations"</a>
                        <a href=format!("{}#my-apps", e.href("/embed"))>"My Apps"</a>
                    </nav>
                })}
                <span class="embed-user muted small" data-testid="embed-user">{brand.user.clone()}</span>
            </header>
            <main class="embed-body">{children()}</main>
        </div>
    }
}

/// What was just done, from the query's `done`, as a notice.
pub(super) fn done_notice() -> impl IntoView {
    let query = use_query_map();
    move || {
        query
            .with(|q| match q.get("done").as_deref() {
                Some("uninstalled") => Some("Uninstalled. It no longer syncs."),
                Some("configured") => Some("Settings saved."),
                Some("scheduled") => Some("Schedule saved."),
                Some("run") => Some("A sync was asked for; it starts in a moment."),
                _ => None,
            })
            .map(|n| view! { <p class="notice success" role="status" data-testid="embed-notice">{n}</p> })
    }
}

/// The user's installed integrations, each linking to its page.
#[component]
pub(super) fn AppList(apps: Vec<AppItem>, e: Embed) -> impl IntoView {
    view! {
        <ul class="app-list" data-testid="my-apps">
            {apps.into_iter().map(|a| view! {
                <li data-app=a.integration.clone()>
                    <a href=e.href(&format!("/embed/apps/{}", a.id))>{a.integration.clone()}</a>
                    " "<span class="badge">{a.status.clone()}</span>
                </li>
            }).collect_view()}
        </ul>
    }
}
