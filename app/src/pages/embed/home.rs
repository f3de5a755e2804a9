//! `/embed`: the full marketplace, with the user's apps and the integrations on offer.

use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

use super::frame::{done_notice, use_embed, AppList, Embed, Frame, Refused};
use crate::api::embed::{embed_home, Tile};
use crate::components::loading::Loading;

/// `/embed`: the full marketplace.
#[component]
pub fn EmbedHomePage() -> impl IntoView {
    let e = use_embed(None);
    let query = use_query_map();
    let data = Resource::new(move || e.get().token, embed_home);
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let e = e.get_untracked();
                let home = match data.await {
                    Ok(h) => h,
                    Err(err) => return view! { <Refused error=err/> }.into_any(),
                };
                // With a single integration on offer and nothing installed, its install
                // flow opens at once.
                if home.tiles.len() == 1 && home.apps.is_empty() && query.with_untracked(|q| q.get("done").is_none()) {
                    let path = e.href(&format!("/embed/integrations/{}", home.tiles[0].id));
                    return view! { <Redirect path=path/> }.into_any();
                }
                let category = query.with_untracked(|q| q.get("category").unwrap_or_default());
                let tag = query.with_untracked(|q| q.get("tag").unwrap_or_default());
                let mut categories: Vec<String> = home.tiles.iter().flat_map(|t| t.categories.clone()).collect();
                categories.sort_unstable_by_key(|c| c.to_lowercase());
                categories.dedup();
                let mut tags: Vec<String> = home.tiles.iter().flat_map(|t| t.tags.clone()).collect();
                tags.sort_unstable_by_key(|c| c.to_lowercase());
                tags.dedup();
                let shown: Vec<Tile> = home
                    .tiles
                    .iter()
                    .filter(|t| category.is_empty() || t.categories.contains(&category))
                    .filter(|t| tag.is_empty() || t.tags.contains(&tag))
                    .cloned()
                    .collect();
                view! {
                    <Frame brand=home.brand.clone() e=e.clone()>
                        {done_notice()}
                        <section aria-labelledby="my-apps" class="embed-section">
                            <h2 id="my-apps">"My Apps"</h2>
                            {if home.apps.is_empty() {
                                view! { <p class="muted" data-testid="no-apps">"Nothing installed yet. Pick an integration below."</p> }.into_any()
                            } else {
                                view! { <AppList apps=home.apps.clone() e=e.clone()/> }.into_any()
                            }}
                        </section>
                        <section aria-labelledby="browse" class="embed-section">
                            <h2 id="browse">"Integrations"</h2>
                            <form method="get" action="/embed" class="embed-filters">
                                <input type="hidden" name="token" value=e.token.clone()/>
                                <label>"Category "
                                    <select name="category">
                                        <option value="">"All"</option>
                                        {categories.into_iter().map(|c| view! { <option value=c.clone() selected=c == category>{c.clone()}</option> }).collect_view()}
                                    </select>
                                </label>
                                <label>"Tag "
                                    <select name="tag">
                                        <option value="">"All"</option>
                                        {tags.into_iter().map(|c| view! { <option value=c.clone() selected=c == tag>{c.clone()}</option> }).collect_view()}
                                    </select>
                                </label>
                                <button type="submit" class="btn small">"Filter"</button>
                            </form>
                            {if shown.is_empty() {
                                view! { <p class="muted" data-testid="no-tiles">"No integrations match."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="tiles" data-testid="tiles">
                                        {shown.into_iter().map(|t| view! { <TileCard t=t e=e.clone()/> }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                        </section>
                    </Frame>
                }.into_any()
            })}
        </Suspense>
    }
}

#[component]
fn TileCard(t: Tile, e: Embed) -> impl IntoView {
    view! {
        <li class="tile card" data-integration=t.name.clone()>
            <h3><a href=e.href(&format!("/embed/integrations/{}", t.id))>{t.name.clone()}</a>
                {t.flag.clone().map(|(n, c)| view! { <span class="flag" style=format!("background: {c}")>{n}</span> })}
            </h3>
            <p>{t.short_description.clone()}</p>
            <p class="muted small">{t.categories.join(" · ")}</p>
        </li>
    }
}
