//! `/integrations/:id`: one integration, with its source, releases, tenants and
//! marketplace listing.

use hub_core::domain::release::ReleaseStatus;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api::integrations::{get_integration, BuildRelease, IntegrationDetail, ReleaseSummary, SetDefaultRelease};
use crate::api::marketplace::{get_listing, ListingView, SaveListing};
use crate::components::badge::ReleaseStatusBadge;
use crate::components::form::{field_error, successes, TextField};
use crate::components::loading::Loading;
use crate::components::page::{ErrorNotice, PageHeader, RefreshWhileBusy};
use crate::error::AppError;

/// The route parameter `name`, as an id.
pub(super) fn param_id(name: &'static str) -> Memo<Option<i64>> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get(name).and_then(|v| v.parse().ok()))
}

#[component]
pub fn IntegrationPage() -> impl IntoView {
    let id = param_id("id");
    let build = ServerAction::<BuildRelease>::new();
    let make_default = ServerAction::<SetDefaultRelease>::new();
    let refresh = RwSignal::new(0u32);
    let build_ok = successes(build);
    let detail = Resource::new(
        move || (id.get(), build_ok.get(), make_default.version().get(), refresh.get()),
        |(id, ..)| async move {
            match id {
                Some(id) => get_integration(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    let build_error = Signal::derive(move || build.value().get().and_then(Result::err));
    // Made here, outside the page's Suspense, so that it runs where the server's
    // context is.
    let save_listing = ServerAction::<SaveListing>::new();
    let listing_ok = successes(save_listing);
    let listing = Resource::new(
        move || (id.get(), listing_ok.get()),
        |(id, _)| async move { get_listing(id.ok_or(AppError::NotFound)?).await },
    );

    view! {
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                let d: IntegrationDetail = match detail.await {
                    Ok(d) => d,
                    Err(e) => return view! { <PageHeader title="Integration"/><ErrorNotice error=e/> }.into_any(),
                };
                let busy = d.busy;
                view! {
                    <PageHeader title=d.name.clone() lead=d.description.clone()
                        breadcrumbs=vec![("Integrations".to_owned(), "/integrations".to_owned())]>
                        <a class="btn" href=format!("/integrations/{}/edit", d.id)>"Edit"</a>
                        <a class="btn primary" href=format!("/tenants/new?integration={}", d.id)>"Create Tenant"</a>
                    </PageHeader>
                    <RefreshWhileBusy busy=busy refetch=move |()| refresh.update(|n| *n += 1)/>
                    <div class="grid-2">
                        <section class="card" aria-labelledby="source-heading">
                            <h2 id="source-heading">"Source"</h2>
                            <dl class="facts plain">
                                <div><dt>"Repository"</dt><dd class="mono break">{d.repository.clone()}</dd></div>
                                <div><dt>"Tracking branch"</dt><dd class="mono">{d.branch.clone()}</dd></div>
                                <div><dt>"PANDIUM.yaml"</dt><dd class="mono">{d.manifest_path.clone()}</dd></div>
                                <div><dt>"Connectors"</dt><dd>{if d.connectors.is_empty() { "None".to_owned() } else { d.connectors.join(", ") }}</dd></div>
                                <div><dt>"Access"</dt><dd>{d.access.clone()}</dd></div>
                            </dl>
                            <a class="btn small" href=format!("/integrations/{}/repository", d.id)>"Repository Access and Build on Push"</a>
                        </section>
                        <section class="card" aria-labelledby="build-heading">
                            <h2 id="build-heading">"Build Release"</h2>
                            <p class="muted small">"Builds the head of the tracking branch, or the branch, tag or commit you name."</p>
                            <ActionForm action=build attr:class="form inline-form">
                                <input type="hidden" name="integration_id" value=d.id/>
                                <TextField name="git_ref" id="git_ref" label="Branch, tag or commit"
                                    placeholder="main" value=Signal::derive(move || build_error.get().and_then(|e| e.kept("git_ref")).unwrap_or_default())
                                    error=field_error(build_error, "git_ref")/>
                                <button type="submit" class="btn primary">"Build Release"</button>
                            </ActionForm>
                        </section>
                    </div>
                    <section aria-labelledby="releases-heading" class="section">
                        <h2 id="releases-heading">"Releases"</h2>
                        {if d.releases.is_empty() {
                            view! { <p class="muted">"No releases yet. Build one from the repository above."</p> }.into_any()
                        } else {
                            view! { <ReleasesTable integration_id=d.id releases=d.releases.clone() action=make_default/> }.into_any()
                        }}
                    </section>
                    <section aria-labelledby="tenants-heading" class="section">
                        <h2 id="tenants-heading">"Tenants"</h2>
                        {if d.tenants.is_empty() {
                            view! { <p class="muted">"No tenants of this integration yet. Create Tenant installs it for a customer."</p> }.into_any()
                        } else {
                            view! {
                                <div class="table-wrap">
                                    <table class="data-table">
                                        <caption class="visually-hidden">"Tenants"</caption>
                                        <thead><tr><th scope="col">"Tenant"</th><th scope="col">"Release"</th><th scope="col">"State"</th></tr></thead>
                                        <tbody>
                                            {d.tenants.iter().map(|t| view! {
                                                <tr>
                                                    <td><a href=format!("/tenants/{}", t.id)>{t.name.clone()}</a></td>
                                                    <td>{t.release.clone()}</td>
                                                    <td>{if t.paused { "Paused" } else { "Running" }}</td>
                                                </tr>
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            }.into_any()
                        }}
                    </section>
                    <ListingSection integration_id=d.id data=listing save=save_listing/>
                }.into_any()
            })}
        </Transition>
    }
}

/// The integration's marketplace listing: published or not, descriptions, categories,
/// tags and a flag.
#[component]
fn ListingSection(
    integration_id: i64,
    data: Resource<Result<ListingView, AppError>>,
    save: ServerAction<SaveListing>,
) -> impl IntoView {
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    let query = leptos_router::hooks::use_query_map();
    let saved = move || {
        query.with(|q| q.get("done").as_deref() == Some("listing")) || matches!(save.value().get(), Some(Ok(())))
    };
    view! {
        <section aria-labelledby="listing-heading" class="section">
            <h2 id="listing-heading">"Marketplace listing"</h2>
            {move || saved().then(|| view! { <p class="notice success" role="status">"Listing saved."</p> })}
            <Suspense fallback=Loading>
                {move || Suspend::new(async move {
                    let l = match data.await {
                        Ok(l) => l,
                        Err(e) => return view! { <ErrorNotice error=e/> }.into_any(),
                    };
                    let kept = move |name: &'static str, stored: String| {
                        Signal::derive(move || error.get().and_then(|e| e.kept(name)).unwrap_or_else(|| stored.clone()))
                    };
                    let published = error.get_untracked().and_then(|e| e.kept("published")).unwrap_or(l.input.published.clone()) == "on";
                    let long = error.get_untracked().and_then(|e| e.kept("long_description")).unwrap_or(l.input.long_description.clone());
                    view! {
                        {(!l.has_default_release).then(|| view! {
                            <p class="notice warning">"Customers cannot install it until it has a default release."</p>
                        })}
                        <ActionForm action=save attr:class="form card" attr:novalidate=true>
                            <input type="hidden" name="integration_id" value=integration_id/>
                            <label class="check">
                                <input type="checkbox" name="input[published]" value="on" checked=published/>
                                "Published: shown in the marketplace"
                            </label>
                            <TextField name="input[short_description]" id="listing-short" label="Short description"
                                hint="One line on the tile (160 characters at most)."
                                value=kept("short_description", l.input.short_description.clone()) error=field_error(error, "short_description")/>
                            <div class="field">
                                <label for="listing-long">"Long description"</label>
                                <textarea id="listing-long" name="input[long_description]" rows="4">{long}</textarea>
                                {move || field_error(error, "long_description").get().map(|m| view! { <p class="field-error">{m}</p> })}
                            </div>
                            <TextField name="input[categories]" id="listing-categories" label="Categories" hint="Separated by commas, such as CRM, Sales."
                                value=kept("categories", l.input.categories.clone()) error=field_error(error, "categories")/>
                            <TextField name="input[tags]" id="listing-tags" label="Tags" hint="Separated by commas."
                                value=kept("tags", l.input.tags.clone()) error=field_error(error, "tags")/>
                            <div class="field-row">
                                <TextField name="input[flag_name]" id="listing-flag" label="Flag" hint="A small label on the tile, such as New or Beta."
                                    value=kept("flag_name", l.input.flag_name.clone()) error=field_error(error, "flag_name")/>
                                <TextField name="input[flag_color]" id="listing-flag-color" label="Flag colour" hint="#rrggbb"
                                    value=kept("flag_color", l.input.flag_color.clone()) error=field_error(error, "flag_color")/>
                            </div>
                            <button type="submit" class="btn primary">"Save listing"</button>
                        </ActionForm>
                    }.into_any()
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn ReleasesTable(
    integration_id: i64,
    releases: Vec<ReleaseSummary>,
    action: ServerAction<SetDefaultRelease>,
) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="data-table">
                <caption class="visually-hidden">"Releases"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Release"</th><th scope="col">"Commit"</th><th scope="col">"Status"</th>
                        <th scope="col">"Finished"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {releases.into_iter().map(|r| view! {
                        <tr data-release=r.name.clone()>
                            <td>
                                <a href=format!("/releases/{}", r.id)>{r.name.clone()}</a>
                                {r.is_default.then_some(view! { <span class="badge accent">"Default"</span> })}
                                {r.is_latest.then_some(view! { <span class="badge">"Latest"</span> })}
                                {r.files_removed.then_some(view! { <span class="badge muted" title="Nothing used it for a week, so its files were removed; build its git ref again to use it.">"Files removed"</span> })}
                                {r.error.clone().map(|e| view! { <div class="field-error small" data-testid="release-error">{e}</div> })}
                            </td>
                            <td class="mono">{r.commit.clone().unwrap_or_else(|| "—".to_owned())}</td>
                            <td><ReleaseStatusBadge status=r.status/></td>
                            <td class="nowrap">{r.finished_at.clone().unwrap_or_else(|| "—".to_owned())}</td>
                            <td class="actions">
                                {(r.status == ReleaseStatus::Succeeded && !r.is_default && !r.files_removed).then(|| view! {
                                    <ActionForm action=action>
                                        <input type="hidden" name="integration_id" value=integration_id/>
                                        <input type="hidden" name="release_id" value=r.id/>
                                        <button type="submit" class="btn small">"Set as default"</button>
                                    </ActionForm>
                                })}
                            </td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
