//! `/embed/integrations/:id`, `/embed/install/:id` and `/embed/auth/:id`: one
//! integration on offer, with its Install (or Connect) button.

use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

use super::frame::{carried, done_notice, id_param, use_embed, AppList, Frame, Refused};
use crate::api::embed::{embed_listing, EmbedInstall};
use crate::components::loading::Loading;
use crate::error::AppError;

/// One integration: its description and Install. `/embed/integrations/:id` in the
/// full marketplace, `/embed/install/:id` as the install-only form, and
/// `/embed/auth/:id` as the auth-only form (which goes straight to the user's
/// installed tenant when there is one).
#[component]
pub fn EmbedListingPage(form: &'static str) -> impl IntoView {
    let e = use_embed(Some(form));
    let id = id_param();
    let install = ServerAction::<EmbedInstall>::new();
    let data = Resource::new(
        move || (e.get().token, id.get()),
        |(token, id)| async move { embed_listing(token, id.ok_or(AppError::NotFound)?).await },
    );
    let query = use_query_map();
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let e = e.get_untracked();
                let l = match data.await {
                    Ok(l) => l,
                    Err(err) => return view! { <Refused error=err/> }.into_any(),
                };
                if form == "auth" && query.with_untracked(|q| q.get("done").is_none()) {
                    if let Some(a) = l.apps.first() {
                        return view! { <Redirect path=e.href(&format!("/embed/apps/{}", a.id))/> }.into_any();
                    }
                }
                let error = move || install.value().get().and_then(Result::err);
                let t = l.tile.clone();
                view! {
                    <Frame brand=l.brand.clone() e=e.clone()>
                        {done_notice()}
                        <h1>{t.name.clone()}
                            {t.flag.clone().map(|(n, c)| view! { <span class="flag" style=format!("background: {c}")>{n}</span> })}
                        </h1>
                        <p class="lead">{t.short_description.clone()}</p>
                        {(!t.long_description.is_empty()).then(|| view! { <p class="embed-long">{t.long_description.clone()}</p> })}
                        {(!t.categories.is_empty() || !t.tags.is_empty()).then(|| view! {
                            <p class="muted small">{t.categories.iter().chain(t.tags.iter()).cloned().collect::<Vec<_>>().join(" · ")}</p>
                        })}
                        {(!l.apps.is_empty()).then(|| view! {
                            <h2>"Installed"</h2>
                            <AppList apps=l.apps.clone() e=e.clone()/>
                        })}
                        {move || error().map(|err| view! { <p class="notice error" role="alert">{err.to_string()}</p> })}
                        {match t.blocked.clone() {
                            Some(why) => view! { <p class="notice warning" data-testid="install-blocked">{why}</p> }.into_any(),
                            None => view! {
                                <ActionForm action=install>
                                    {carried(&e)}
                                    <input type="hidden" name="integration_id" value=t.id/>
                                    <button type="submit" class="btn primary embed-primary">
                                        {if form == "auth" { format!("Connect {}", t.name) } else if l.apps.is_empty() { "Install".to_owned() } else { "Install again".to_owned() }}
                                    </button>
                                </ActionForm>
                            }.into_any(),
                        }}
                    </Frame>
                }.into_any()
            })}
        </Suspense>
    }
}
