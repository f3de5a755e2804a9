//! Integrations: the list, the form (new and edit), the detail page with its releases,
//! and a release's page with its build log.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::api::integrations::{
    get_integration, get_integration_form, get_release, list_integrations, BuildRelease, CreateIntegration,
    IntegrationDetail, ReleaseSummary, SetDefaultRelease, UpdateIntegration,
};
use crate::api::marketplace::{get_listing, ListingView, SaveListing};
use crate::components::form::{field_error, TextField};
use crate::components::page::{EmptyState, ErrorNotice, PageHeader, RefreshWhileBusy};
use crate::error::AppError;

fn param_id(name: &'static str) -> Memo<Option<i64>> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get(name).and_then(|v| v.parse().ok()))
}

#[component]
pub fn IntegrationsPage() -> impl IntoView {
    let list = Resource::new(|| (), |_| list_integrations());
    view! {
        <PageHeader
            title="Integrations"
            lead="Each integration connects your product with one outside system, such as Slack or Shopify."
        >
            <a class="btn primary" href="/integrations/new">"New Integration"</a>
        </PageHeader>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(items) if items.is_empty() => view! {
                        <EmptyState title="No integrations yet">
                            <p>
                                "Your integrations will be listed here with their releases and how many tenants use them. "
                                "Create one with New Integration: point it at a git repository whose PANDIUM.yaml says how "
                                "to build and run it, then build a release and install it for customers as tenants."
                            </p>
                        </EmptyState>
                    }.into_any(),
                    Ok(items) => view! {
                        <div class="table-wrap">
                            <table class="data-table">
                                <caption class="visually-hidden">"Integrations"</caption>
                                <thead>
                                    <tr>
                                        <th scope="col">"Name"</th><th scope="col">"Connectors"</th>
                                        <th scope="col">"Default release"</th><th scope="col" class="num">"Releases"</th>
                                        <th scope="col" class="num">"Tenants"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {items.into_iter().map(|i| view! {
                                        <tr>
                                            <td>
                                                <a class="strong" href=format!("/integrations/{}", i.id)>{i.name}</a>
                                                <div class="muted small">{i.description}</div>
                                            </td>
                                            <td>{if i.connectors.is_empty() { "None".to_owned() } else { i.connectors }}</td>
                                            <td>{i.default_release.unwrap_or_else(|| "Not set".to_owned())}</td>
                                            <td class="num">{i.release_count}</td>
                                            <td class="num">{i.tenant_count}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn NewIntegrationPage() -> impl IntoView {
    view! { <IntegrationFormPage id=None/> }
}

#[component]
pub fn EditIntegrationPage() -> impl IntoView {
    let id = param_id("id");
    view! { {move || view! { <IntegrationFormPage id=id.get()/> }} }
}

/// Create (no `id`) or edit an integration.
#[component]
fn IntegrationFormPage(id: Option<i64>) -> impl IntoView {
    let data = Resource::new(move || id, get_integration_form);
    let create = ServerAction::<CreateIntegration>::new();
    let update = ServerAction::<UpdateIntegration>::new();
    let error = Signal::derive(move || {
        create.value().get().and_then(Result::err).or_else(|| update.value().get().and_then(Result::err))
    });
    let pending = Signal::derive(move || create.pending().get() || update.pending().get());
    let title = if id.is_some() { "Edit Integration" } else { "New Integration" };

    view! {
        <PageHeader title=title lead="Where the integration's code lives, and which connectors it needs."/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let form = match data.await {
                    Ok(f) => f,
                    Err(e) => return view! { <ErrorNotice error=e/> }.into_any(),
                };
                // After a failed plain POST, what was typed comes back inside the error.
                let stored = form.input.clone();
                let value = move |name: &'static str, fallback: String| {
                    Signal::derive(move || error.get().and_then(|e| e.kept(name)).unwrap_or_else(|| fallback.clone()))
                };
                let chosen = Signal::derive({
                    let stored = stored.connectors.clone();
                    move || match error.get().and_then(|e| e.kept("connectors")) {
                        Some(list) => list.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
                        None => stored.clone(),
                    }
                });
                let fields = view! {
                    <TextField name="input[name]" id="name" label="Name" required=true
                        value=value("name", stored.name.clone()) error=field_error(error, "name")/>
                    <div class="field">
                        <label for="description">"Description"</label>
                        <textarea id="description" name="input[description]" rows="3"
                            aria-invalid=move || field_error(error, "description").get().is_some().then_some("true")
                        >{value("description", stored.description.clone())}</textarea>
                        {move || field_error(error, "description").get().map(|m| view! { <p class="field-error">{m}</p> })}
                    </div>
                    <fieldset class="field">
                        <legend>"Connectors"</legend>
                        <p class="hint-text">"The outside systems whose credentials each tenant provides."</p>
                        <div class="checks">
                            {form.connectors.iter().enumerate().map(|(i, (name, display))| {
                                let name = name.clone();
                                let checked = { let name = name.clone(); move || chosen.get().contains(&name) };
                                view! {
                                    <label class="check">
                                        <input type="checkbox" name=format!("input[connectors][{i}]") value=name.clone() checked=checked/>
                                        {display.clone()}<span class="muted small">" ("{name}")"</span>
                                    </label>
                                }
                            }).collect_view()}
                        </div>
                        {move || field_error(error, "connectors").get().map(|m| view! { <p class="field-error">{m}</p> })}
                    </fieldset>
                    <TextField name="input[repository]" id="repository" label="Repository" required=true
                        hint="A git URL, or a path to a repository on the hub's machine."
                        placeholder="https://git.example.com/acme/slack-sync.git"
                        value=value("repository", stored.repository.clone()) error=field_error(error, "repository")/>
                    <div class="field-row">
                        <TextField name="input[branch]" id="branch" label="Tracking branch"
                            value=value("branch", stored.branch.clone()) error=field_error(error, "branch")/>
                        <TextField name="input[manifest_path]" id="manifest_path" label="Path of PANDIUM.yaml"
                            value=value("manifest_path", stored.manifest_path.clone()) error=field_error(error, "manifest_path")/>
                    </div>
                    <TextField name="input[run_timeout_minutes]" id="run_timeout_minutes" label="Run time limit (minutes)"
                        hint="A run still going after this long is stopped, with everything it started, as Failed (Timeout)."
                        value=value("run_timeout_minutes", stored.run_timeout_minutes.clone()) error=field_error(error, "run_timeout_minutes")/>
                    {move || error.get().filter(|e| !matches!(e, AppError::Validation { .. })).map(|e| view! { <ErrorNotice error=e/> })}
                    <div class="form-actions">
                        <button type="submit" class="btn primary" disabled=move || pending.get()>
                            {if id.is_some() { "Save Changes" } else { "Create Integration" }}
                        </button>
                        <a class="btn" href=id.map_or("/integrations".to_owned(), |i| format!("/integrations/{i}"))>"Cancel"</a>
                    </div>
                };
                match id {
                    Some(id) => view! {
                        <ActionForm action=update attr:class="form card">
                            <input type="hidden" name="id" value=id/>
                            {fields}
                        </ActionForm>
                    }.into_any(),
                    None => view! { <ActionForm action=create attr:class="form card">{fields}</ActionForm> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// A release's status as a badge.
#[component]
pub fn StatusBadge(status: String) -> impl IntoView {
    let label = match status.as_str() {
        "queued" => "Queued",
        "building" => "Building…",
        "succeeded" => "Succeeded",
        "failed" => "Failed",
        other => other,
    }
    .to_owned();
    view! { <span class=format!("badge {status}") data-testid="release-status">{label}</span> }
}

#[component]
pub fn IntegrationPage() -> impl IntoView {
    let id = param_id("id");
    let build = ServerAction::<BuildRelease>::new();
    let make_default = ServerAction::<SetDefaultRelease>::new();
    let refresh = RwSignal::new(0u32);
    let detail = Resource::new(
        move || (id.get(), build.version().get(), make_default.version().get(), refresh.get()),
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
    let listing = Resource::new(
        move || (id.get(), save_listing.version().get()),
        |(id, _)| async move { get_listing(id.ok_or(AppError::NotFound)?).await },
    );

    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let d: IntegrationDetail = match detail.await {
                    Ok(d) => d,
                    Err(e) => return view! { <PageHeader title="Integration"/><ErrorNotice error=e/> }.into_any(),
                };
                let busy = d.busy;
                view! {
                    <leptos_meta::Title text=d.name.clone()/>
                    <div class="page-header">
                        <div>
                            <p class="crumbs"><a href="/integrations">"Integrations"</a></p>
                            <h1>{d.name.clone()}</h1>
                            <p class="lead">{d.description.clone()}</p>
                        </div>
                        <div class="page-actions">
                            <a class="btn" href=format!("/integrations/{}/edit", d.id)>"Edit"</a>
                            <a class="btn primary" href=format!("/tenants/new?integration={}", d.id)>"Create Tenant"</a>
                        </div>
                    </div>
                    <RefreshWhileBusy busy=busy refetch=move |()| refresh.update(|n| *n += 1)/>
                    <div class="grid-2">
                        <section class="card" aria-labelledby="source-heading">
                            <h2 id="source-heading">"Source"</h2>
                            <dl class="facts plain">
                                <div><dt>"Repository"</dt><dd class="mono break">{d.repository.clone()}</dd></div>
                                <div><dt>"Tracking branch"</dt><dd class="mono">{d.branch.clone()}</dd></div>
                                <div><dt>"PANDIUM.yaml"</dt><dd class="mono">{d.manifest_path.clone()}</dd></div>
                                <div><dt>"Connectors"</dt><dd>{if d.connectors.is_empty() { "None".to_owned() } else { d.connectors.join(", ") }}</dd></div>
                            </dl>
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
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
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
                                {r.error.clone().map(|e| view! { <div class="field-error small" data-testid="release-error">{e}</div> })}
                            </td>
                            <td class="mono">{r.commit.clone().unwrap_or_else(|| "—".to_owned())}</td>
                            <td><StatusBadge status=r.status.clone()/></td>
                            <td class="nowrap">{r.finished_at.clone().unwrap_or_else(|| "—".to_owned())}</td>
                            <td class="actions">
                                {(r.status == "succeeded" && !r.is_default).then(|| view! {
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

#[component]
pub fn ReleasePage() -> impl IntoView {
    let id = param_id("id");
    let make_default = ServerAction::<SetDefaultRelease>::new();
    let refresh = RwSignal::new(0u32);
    let detail = Resource::new(
        move || (id.get(), make_default.version().get(), refresh.get()),
        |(id, ..)| async move {
            match id {
                Some(id) => get_release(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let d = match detail.await {
                    Ok(d) => d,
                    Err(e) => return view! { <PageHeader title="Release"/><ErrorNotice error=e/> }.into_any(),
                };
                let r = d.release.clone();
                let busy = r.status == "queued" || r.status == "building";
                view! {
                    <leptos_meta::Title text=format!("{} · {}", r.name, d.integration_name)/>
                    <div class="page-header">
                        <div>
                            <p class="crumbs">
                                <a href="/integrations">"Integrations"</a>" / "
                                <A href=format!("/integrations/{}", d.integration_id)>{d.integration_name.clone()}</A>
                            </p>
                            <h1>{r.name.clone()}" "<StatusBadge status=r.status.clone()/></h1>
                        </div>
                        <div class="page-actions">
                            {(r.status == "succeeded" && !r.is_default).then(|| view! {
                                <ActionForm action=make_default>
                                    <input type="hidden" name="integration_id" value=d.integration_id/>
                                    <input type="hidden" name="release_id" value=r.id/>
                                    <button type="submit" class="btn primary">"Set as default"</button>
                                </ActionForm>
                            })}
                            {r.is_default.then_some(view! { <span class="badge accent">"Default release"</span> })}
                        </div>
                    </div>
                    <RefreshWhileBusy busy=busy refetch=move |()| refresh.update(|n| *n += 1)/>
                    {r.error.clone().map(|e| view! { <p class="notice error" role="alert" data-testid="release-error">{e}</p> })}
                    <dl class="facts">
                        <div><dt>"Ref"</dt><dd class="mono">{r.git_ref.clone()}</dd></div>
                        <div><dt>"Commit"</dt><dd class="mono">{r.commit.clone().unwrap_or_else(|| "—".to_owned())}</dd></div>
                        <div><dt>"Run command"</dt><dd class="mono">{d.run_command.clone().unwrap_or_else(|| "—".to_owned())}</dd></div>
                        <div><dt>"Queued"</dt><dd>{r.created_at.clone()}</dd></div>
                        <div><dt>"Finished"</dt><dd>{r.finished_at.clone().unwrap_or_else(|| "—".to_owned())}</dd></div>
                    </dl>
                    {d.manifest.clone().map(|m| view! {
                        <section class="section" aria-labelledby="manifest-heading">
                            <h2 id="manifest-heading">"PANDIUM.yaml"</h2>
                            <dl class="facts">
                                <div><dt>"Version"</dt><dd>{m.version}</dd></div>
                                <div><dt>"Base"</dt><dd>{m.base.unwrap_or_else(|| "—".to_owned())}</dd></div>
                                <div><dt>"Build"</dt><dd class="mono">{m.build.unwrap_or_else(|| "—".to_owned())}</dd></div>
                                <div><dt>"Connectors"</dt><dd>{if m.connectors.is_empty() { "None".to_owned() } else { m.connectors.join(", ") }}</dd></div>
                                <div><dt>"Configuration fields"</dt><dd>{if m.properties.is_empty() { "None".to_owned() } else { m.properties.join(", ") }}</dd></div>
                                <div><dt>"Dynamic options"</dt><dd>{if m.dynamic.is_empty() { "None".to_owned() } else { m.dynamic.join(", ") }}</dd></div>
                                <div><dt>"Layout"</dt><dd>{if m.has_uischema { "From the uischema" } else { "Every field in order" }}</dd></div>
                            </dl>
                        </section>
                    })}
                    <section class="section" aria-labelledby="sandbox-heading">
                        <h2 id="sandbox-heading">"Sandbox"</h2>
                        <p data-testid="release-sandbox">{d.sandbox.clone().unwrap_or_else(|| "Not built yet.".to_owned())}</p>
                    </section>
                    <section class="section" aria-labelledby="log-heading">
                        <h2 id="log-heading">"Build log"</h2>
                        <pre class="log" data-testid="build-log">{if d.build_log.is_empty() { "(nothing yet)".to_owned() } else { d.build_log.clone() }}</pre>
                    </section>
                }.into_any()
            })}
        </Transition>
    }
}
