//! Tenants: the list (search, filters, order and page, all in the URL), the creation
//! flow (release and name; credentials; configuration; schedule, paused or running),
//! and the tenant's page.

use chrono::Utc;
use hub_core::domain::connector::AuthKind;
use hub_core::domain::schedule::Preset;
use hub_core::domain::tenant::{
    check_name, ListQuery, Schedule, ScheduleInput, SetupStep, SortOrder, StateFilter, NAME_MAX,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::integrations::list_integrations;
use crate::api::marketplace::LinkMarketplaceUser;
use crate::api::runs::RunTenant;
use crate::api::tenants::{
    get_new_tenant_form, get_tenant, list_tenants, ArchiveTenant, ConnectionView, CreateTenant, DisconnectConnection,
    FinishTenantCredentials, MakeTenantWebhook, NewTenantForm, ReleaseOption, SaveTenantConfigs, SaveTenantCredentials,
    SaveTenantSchedule, SaveTenantSettings, TenantListPage, TenantSetup,
};
use crate::components::config_form::ConfigFields;
use crate::components::form::{field_error, TextField};
use crate::components::page::{EmptyState, ErrorNotice, PageHeader, RefreshWhileBusy};
use crate::error::AppError;
use crate::pages::runs::RunsTable;

fn loading() -> impl IntoView {
    view! { <p class="muted">"Loading…"</p> }
}

#[component]
pub fn TenantsPage() -> impl IntoView {
    let query = use_query_map();
    let list_query = Memo::new(move |_| query.with(|q| ListQuery::from_params(|k| q.get(k))));
    let list = Resource::new(move || list_query.get(), list_tenants);
    view! {
        <PageHeader
            title="Tenants"
            lead="A tenant is one customer's installed instance of an integration, with its credentials, configuration and sync schedule."
        >
            <a class="btn primary" href="/tenants/new">"Create Tenant"</a>
        </PageHeader>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let q = list_query.get_untracked();
                match list.await {
                    Ok(page) => view! { <TenantsList q=q page=page/> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn TenantsList(q: ListQuery, page: TenantListPage) -> impl IntoView {
    let q = ListQuery { page: page.page, ..q };
    let filtered = q.integration.is_some() || q.state.is_some() || !q.q.is_empty();
    let first = (q.page - 1) * hub_core::domain::tenant::PAGE_SIZE + 1;
    let last = first + page.rows.len() as i64 - 1;
    let summary =
        if page.total == 0 { "No tenants match.".to_owned() } else { format!("{first}–{last} of {}", page.total) };
    view! {
        <form class="filters" method="get" action="/tenants" role="search" aria-label="Search and filter tenants">
            <div class="field">
                <label for="q">"Search by name"</label>
                <input id="q" name="q" type="search" value=q.q.clone() placeholder="acme"/>
            </div>
            <div class="field">
                <label for="integration">"Integration"</label>
                <select id="integration" name="integration">
                    <option value="" selected=q.integration.is_none()>"All integrations"</option>
                    {page.integrations.iter().map(|(id, name)| view! {
                        <option value=id.to_string() selected=q.integration == Some(*id)>{name.clone()}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="state">"State"</label>
                <select id="state" name="state">
                    <option value="" selected=q.state.is_none()>"Any state"</option>
                    {StateFilter::ALL.into_iter().map(|s| view! {
                        <option value=s.as_str() selected=q.state == Some(s)>{s.label()}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="sort">"Sort"</label>
                <select id="sort" name="sort">
                    {SortOrder::ALL.into_iter().map(|s| view! {
                        <option value=s.as_str() selected=q.sort == s>{s.label()}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="filter-actions">
                <button type="submit" class="btn">"Apply"</button>
                {filtered.then(|| view! { <a class="btn link" href="/tenants">"Clear"</a> })}
            </div>
        </form>
        {if page.total == 0 && !filtered {
            view! {
                <EmptyState title="No tenants yet">
                    <p>
                        "Tenants are listed here with their integration, release, schedule and last run. "
                        "Create one for a customer with Create Tenant, or from an integration's page; customers "
                        "can also install integrations from your in-app marketplace."
                    </p>
                </EmptyState>
            }.into_any()
        } else {
            view! {
                <p class="muted small" data-testid="tenant-count">{summary}</p>
                <div class="table-wrap">
                    <table class="data-table" data-testid="tenants">
                        <caption class="visually-hidden">"Tenants"</caption>
                        <thead>
                            <tr>
                                <th scope="col">"Tenant"</th><th scope="col">"Integration"</th><th scope="col">"Release"</th>
                                <th scope="col">"Schedule"</th><th scope="col">"State"</th><th scope="col">"Last run"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {page.rows.into_iter().map(|t| view! {
                                <tr data-tenant=t.name.clone()>
                                    <td>
                                        <a class="strong" href=format!("/tenants/{}", t.id)>{t.name.clone()}</a>
                                        {t.unfinished.then_some(view! { <span class="badge warning">"Setup unfinished"</span> })}
                                        {(t.source != "hub").then(|| view! { <span class="badge">{t.source.clone()}</span> })}
                                    </td>
                                    <td><a href=format!("/integrations/{}", t.integration_id)>{t.integration.clone()}</a></td>
                                    <td>{t.release.clone()}</td>
                                    <td>{t.schedule.clone()}</td>
                                    <td>
                                        {if t.paused {
                                            view! { <span class="badge">"Paused"</span> }.into_any()
                                        } else {
                                            view! { <span class="badge succeeded">"Running"</span> }.into_any()
                                        }}
                                        {(t.disconnected > 0).then(|| view! { <span class="badge failed">"Not connected"</span> })}
                                    </td>
                                    <td>{match t.last_run.clone() {
                                        Some((phase, at)) => view! { <span>{phase}</span><div class="muted small">{at}</div> }.into_any(),
                                        None => view! { <span class="muted">"Never"</span> }.into_any(),
                                    }}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
                <nav class="pager" aria-label="Pages">
                    {(q.page > 1).then(|| view! { <a class="btn" rel="prev" href=q.url(q.page - 1)>"Previous"</a> })}
                    <span class="muted">{format!("Page {} of {}", q.page, page.pages)}</span>
                    {(q.page < page.pages).then(|| view! { <a class="btn" rel="next" href=q.url(q.page + 1)>"Next"</a> })}
                </nav>
            }.into_any()
        }}
    }
}

/// `/tenants/new`: choose the integration, then step 1 (release and name).
#[component]
pub fn NewTenantPage() -> impl IntoView {
    let query = use_query_map();
    let integration = Memo::new(move |_| query.with(|q| q.get("integration").and_then(|v| v.parse::<i64>().ok())));
    move || match integration.get() {
        None => view! { <ChooseIntegration/> }.into_any(),
        Some(id) => view! { <StepOne integration_id=id/> }.into_any(),
    }
}

#[component]
fn ChooseIntegration() -> impl IntoView {
    let list = Resource::new(|| (), |_| list_integrations());
    view! {
        <PageHeader title="Create Tenant" lead="Choose the integration to install for a customer."/>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(items) if items.is_empty() => view! {
                        <EmptyState title="No integrations yet">
                            <p>"A tenant installs an integration. Create an integration and build a release first."</p>
                            <p><a class="btn primary" href="/integrations/new">"New Integration"</a></p>
                        </EmptyState>
                    }.into_any(),
                    Ok(items) => view! {
                        <ul class="choice-list" aria-label="Integrations">
                            {items.into_iter().map(|i| view! {
                                <li>
                                    <a class="choice" href=format!("/tenants/new?integration={}", i.id)>
                                        <span class="strong">{i.name}</span>
                                        <span class="muted small">{i.description}</span>
                                        <span class="muted small">{match i.default_release {
                                            Some(r) => format!("Default release {r}"),
                                            None => "No default release yet".to_owned(),
                                        }}</span>
                                    </a>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// The flow's steps, with the current one marked.
#[component]
fn Stepper(
    current: usize,
    #[prop(optional)] tenant: Option<i64>,
    /// The furthest step the tenant has reached (later steps are not links yet).
    #[prop(optional)]
    reached: usize,
) -> impl IntoView {
    let steps = ["Release and name", "Credentials", "Configuration", "Sync schedule"];
    let link = move |i: usize| {
        tenant.and_then(|id| {
            (i > 0 && i <= reached).then(|| format!("/tenants/{id}/setup/{}", SetupStep::FLOW[i - 1].as_str()))
        })
    };
    view! {
        <ol class="stepper" aria-label="Steps">
            {steps.into_iter().enumerate().map(|(i, label)| {
                let state = if i < current { "done" } else if i == current { "current" } else { "todo" };
                let content = match link(i) {
                    Some(href) if i != current => view! { <a href=href>{label}</a> }.into_any(),
                    _ => view! { <span>{label}</span> }.into_any(),
                };
                view! {
                    <li class=state aria-current=(i == current).then_some("step")>
                        <span class="step-number">{i + 1}</span>{content}
                    </li>
                }
            }).collect_view()}
        </ol>
    }
}

#[component]
fn StepOne(integration_id: i64) -> impl IntoView {
    let data = Resource::new(move || integration_id, get_new_tenant_form);
    let create = ServerAction::<CreateTenant>::new();
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    view! {
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(form) => view! { <StepOneForm form=form action=create error=error/> }.into_any(),
                    Err(e) => view! { <PageHeader title="Create Tenant"/><ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn StepOneForm(
    form: NewTenantForm,
    action: ServerAction<CreateTenant>,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let kept = move |name: &str| error.get_untracked().and_then(|e| e.kept(name));
    let default_mode = if form.default_release.is_some() || form.latest_release.is_some() || form.releases.is_empty() {
        "channel"
    } else {
        "specific"
    };
    let mode = kept("release_mode").unwrap_or_else(|| default_mode.to_owned());
    let channel =
        kept("channel").unwrap_or_else(|| if form.default_release.is_some() { "default" } else { "latest" }.to_owned());
    let release_id = kept("release_id").unwrap_or_default();
    let name = RwSignal::new(kept("name").unwrap_or_default());
    let touched = RwSignal::new(false);
    let name_error = Signal::derive(move || {
        if touched.get() {
            name.with(|n| check_name(n.trim()).err())
        } else {
            field_error(error, "name").get()
        }
    });
    let count = move || name.with(|n| n.trim().chars().count());
    let no_release = form.releases.is_empty();
    view! {
        <Title text="Create Tenant"/>
        <div class="page-header">
            <div>
                <p class="crumbs"><a href="/tenants">"Tenants"</a>" / "
                    <a href=format!("/integrations/{}", form.integration_id)>{form.integration_name.clone()}</a></p>
                <h1>"Create Tenant"</h1>
                <p class="lead">{format!("Install {} for a customer.", form.integration_name)}</p>
            </div>
        </div>
        <Stepper current=0/>
        {no_release.then(|| view! {
            <p class="notice warning" role="status">
                "This integration has no successful release yet, so a tenant cannot be created. "
                <a href=format!("/integrations/{}", form.integration_id)>"Build a release"</a>" first."
            </p>
        })}
        <ActionForm action=action attr:class="form card" attr:novalidate=true>
            <input type="hidden" name="integration_id" value=form.integration_id/>
            <ReleaseFields prefix="input" releases=form.releases.clone() default_release=form.default_release.clone()
                latest_release=form.latest_release.clone() mode=mode channel=channel release_id=release_id error=error/>
            <div class="field">
                <label for="name">"Name"<span class="required" aria-hidden="true">" *"</span></label>
                <p class="hint-text" id="name-hint">
                    "Lowercase letters, digits and '-', not at either end; unique within the integration."
                </p>
                <input id="name" name="input[name]" type="text" autocomplete="off" aria-required="true"
                    value=name.get_untracked() placeholder="acme-corp"
                    aria-invalid=move || name_error.get().is_some().then_some("true")
                    aria-describedby="name-hint name-count name-error"
                    on:input=move |ev| { name.set(event_target_value(&ev)); touched.set(true); }/>
                <p class=move || { if count() > NAME_MAX { "counter over" } else { "counter" } } id="name-count" aria-live="polite">
                    {move || format!("{} / {NAME_MAX} characters", count())}
                </p>
                {move || name_error.get().map(|m| view! { <p class="field-error" id="name-error">{m}</p> })}
            </div>
            {move || error.get().filter(|e| !matches!(e, AppError::Validation { .. })).map(|e| view! { <ErrorNotice error=e/> })}
            <div class="form-actions">
                <button type="submit" class="btn primary" disabled=move || no_release || action.pending().get()>"Create"</button>
                <a class="btn" href="/tenants">"Cancel"</a>
            </div>
        </ActionForm>
    }
}

/// The release choice: a specific release (newest first, the default marked) or a
/// channel (`default` or `latest`), posted as `<prefix>[release_mode]`, `[release_id]`
/// and `[channel]`.
#[component]
fn ReleaseFields(
    prefix: &'static str,
    releases: Vec<ReleaseOption>,
    default_release: Option<String>,
    latest_release: Option<String>,
    mode: String,
    channel: String,
    release_id: String,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    view! {
            <fieldset class="field">
                <legend>"Release"</legend>
                <div class="radio-block">
                    <label class="check">
                        <input type="radio" name=format!("{prefix}[release_mode]") value="specific" checked=mode == "specific"/>
                        "Specific Release"
                    </label>
                    <p class="hint-text">"The tenant stays on the release you pick until you change it."</p>
                    <label for="release_id" class="visually-hidden">"Release"</label>
                    <select id="release_id" name=format!("{prefix}[release_id]") disabled=releases.is_empty()
                        aria-invalid=move || field_error(error, "release_id").get().is_some().then_some("true")>
                        {releases.iter().map(|r| view! {
                            <option value=r.id.to_string() selected=release_id == r.id.to_string()>
                                {if r.is_default { format!("{} (default)", r.name) } else { r.name.clone() }}
                            </option>
                        }).collect_view()}
                    </select>
                    {move || field_error(error, "release_id").get().map(|m| view! { <p class="field-error">{m}</p> })}
                </div>
                <div class="radio-block">
                    <label class="check">
                        <input type="radio" name=format!("{prefix}[release_mode]") value="channel" checked=mode == "channel"/>
                        "Channel"
                    </label>
                    <div class="radio-indent">
                        <label class="check">
                            <input type="radio" name=format!("{prefix}[channel]") value="default" checked=channel == "default"/>
                            "Default"
                            <span class="muted small">{default_release.clone().map(|r| format!(" (now {r})")).unwrap_or_else(|| " (none set yet)".to_owned())}</span>
                        </label>
                        <p class="hint-text">"Always runs the integration's default release, and follows it when the default changes."</p>
                        <label class="check">
                            <input type="radio" name=format!("{prefix}[channel]") value="latest" checked=channel == "latest"/>
                            "Latest"
                            <span class="muted small">{latest_release.clone().map(|r| format!(" (now {r})")).unwrap_or_default()}</span>
                        </label>
                        <p class="hint-text">"Always runs the newest successful build, whatever the default release is."</p>
                    </div>
                    {move || field_error(error, "channel").get().map(|m| view! { <p class="field-error">{m}</p> })}
                </div>
            </fieldset>
    }
}

/// `/tenants/:id/setup`: the first unfinished step.
#[component]
pub fn SetupRedirect() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").and_then(|v| v.parse::<i64>().ok()));
    let data = Resource::new(move || id.get(), |id| async move { get_tenant(id.ok_or(AppError::NotFound)?).await });
    view! {
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(t) => {
                        let step = if t.step == SetupStep::Done { SetupStep::Schedule } else { t.step };
                        view! { <Redirect path=format!("/tenants/{}/setup/{}", t.id, step.as_str())/> }.into_any()
                    }
                    Err(e) => view! { <PageHeader title="Tenant"/><ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// `/tenants/:id/setup/:step`: steps 2 to 5.
#[component]
pub fn SetupPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").and_then(|v| v.parse::<i64>().ok()));
    let step = Memo::new(move |_| params.read().get("step").and_then(|s| SetupStep::parse(&s)));
    let save_credentials = ServerAction::<SaveTenantCredentials>::new();
    let finish = ServerAction::<FinishTenantCredentials>::new();
    let save_configs = ServerAction::<SaveTenantConfigs>::new();
    let save_schedule = ServerAction::<SaveTenantSchedule>::new();
    // A failed credentials save keeps the page as it is, with what was typed in every block.
    let credentials_saved = Memo::new(move |before: Option<&u32>| {
        let before = before.copied().unwrap_or(0);
        if matches!(save_credentials.value().get(), Some(Ok(()))) {
            before + 1
        } else {
            before
        }
    });
    let data = Resource::new(
        move || (id.get(), credentials_saved.get(), save_configs.version().get()),
        |(id, ..)| async move { get_tenant(id.ok_or(AppError::NotFound)?).await },
    );
    view! {
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let t = match data.await {
                    Ok(t) => t,
                    Err(e) => return view! { <PageHeader title="Tenant"/><ErrorNotice error=e/> }.into_any(),
                };
                let step = step.get().unwrap_or(SetupStep::Credentials);
                let index = match step {
                    SetupStep::Credentials => 1,
                    SetupStep::Configuration => 2,
                    _ => 3,
                };
                let body = match step {
                    SetupStep::Credentials => view! {
                        <CredentialsStep t=t.clone() save=save_credentials finish=finish/>
                    }.into_any(),
                    SetupStep::Configuration => view! { <ConfigurationStep t=t.clone() action=save_configs/> }.into_any(),
                    _ => view! { <ScheduleStep t=t.clone() action=save_schedule/> }.into_any(),
                };
                view! {
                    <Title text=format!("{} · {}", step.label(), t.name)/>
                    <div class="page-header">
                        <div>
                            <p class="crumbs"><a href="/tenants">"Tenants"</a>" / "
                                <a href=format!("/tenants/{}", t.id)>{t.name.clone()}</a></p>
                            <h1>{step.label()}</h1>
                            <p class="lead">{format!("{} · {} · {}", t.name, t.integration_name, t.release)}</p>
                        </div>
                    </div>
                    <Stepper current=index tenant=t.id reached=match t.step {
                        SetupStep::Credentials => 1,
                        SetupStep::Configuration => 2,
                        _ => 3,
                    }/>
                    {body}
                }.into_any()
            })}
        </Suspense>
    }
}

#[component]
fn CredentialsStep(
    t: TenantSetup,
    save: ServerAction<SaveTenantCredentials>,
    finish: ServerAction<FinishTenantCredentials>,
) -> impl IntoView {
    let query = use_query_map();
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    let saved = move || query.with(|q| q.get("done"));
    view! {
        {move || saved().map(|c| view! { <p class="notice success" role="status">{format!("Credentials for {c} saved.")}</p> })}
        {move || error.get().filter(|e| !matches!(e, AppError::Validation { .. })).map(|e| view! { <ErrorNotice error=e/> })}
        {if t.connections.is_empty() {
            view! { <p class="muted">"This integration needs no credentials."</p> }.into_any()
        } else {
            t.connections.iter().cloned().map(|c| view! { <ConnectorBlock tenant_id=t.id c=c action=save error=error/> }).collect_view().into_any()
        }}
        <ActionForm action=finish attr:class="form-actions">
            <input type="hidden" name="tenant_id" value=t.id/>
            <button type="submit" class="btn primary">"Next"</button>
            <span class="muted small">"You can connect later: until then the tenant is shown as not connected."</span>
        </ActionForm>
    }
}

#[component]
fn ConnectorBlock(
    tenant_id: i64,
    c: ConnectionView,
    action: ServerAction<SaveTenantCredentials>,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let connected = c.status == "connected";
    let connector = c.connector.clone();
    let body = match c.auth {
        AuthKind::ApiKey | AuthKind::Basic => view! {
            <ActionForm action=action attr:class="form" attr:novalidate=true>
                <input type="hidden" name="tenant_id" value=tenant_id/>
                <input type="hidden" name="connector" value=connector.clone()/>
                {c.fields.iter().map(|(name, label, secret)| {
                    let key = format!("cred.{connector}.{name}");
                    let id = format!("cred-{connector}-{name}");
                    let msg = {
                        let key = key.clone();
                        move || error.get().and_then(|e| e.field_message(&key))
                    };
                    view! {
                        <div class="field">
                            <label for=id.clone()>{label.clone()}</label>
                            <input id=id.clone() name=format!("fields[{name}]") type=if *secret { "password" } else { "text" }
                                autocomplete="off" aria-required="true"
                                placeholder=if connected { "Saved: type to replace" } else { "" }/>
                            {move || msg().map(|m| view! { <p class="field-error">{m}</p> })}
                        </div>
                    }
                }).collect_view()}
                <button type="submit" class="btn">{if connected { "Replace credentials" } else { "Save credentials" }}</button>
            </ActionForm>
        }.into_any(),
        AuthKind::Oauth2 => view! {
            <p>
                <a class="btn primary" href=c.magic_link.clone()>"Connect"</a>
                " "<span class="muted small">"Opens the provider's consent screen."</span>
            </p>
            <MagicLink url=c.magic_link.clone()/>
        }.into_any(),
        AuthKind::None => view! { <p class="muted">"No credentials needed."</p> }.into_any(),
    };
    view! {
        <section class="card connector-block" data-connector=c.connector.clone() aria-label=c.display_name.clone()>
            <h2>
                {c.display_name.clone()}
                <span class="muted small">{format!(" · {}", c.auth.label())}</span>
                <ConnectionBadge status=c.status.clone()/>
            </h2>
            {body}
        </section>
    }
}

#[component]
fn ConnectionBadge(status: String) -> impl IntoView {
    let (class, text) = match status.as_str() {
        "connected" => ("badge succeeded", "✓ Connected"),
        "error" => ("badge failed", "Error"),
        _ => ("badge", "Not connected"),
    };
    view! { <span class=class data-testid="connection-status">{text}</span> }
}

/// The tenant's magic link for one connector, with a copy button.
#[component]
fn MagicLink(url: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let to_copy = url.clone();
    view! {
        <div class="field magic-link">
            <label>
                "Magic link"
                <input type="text" readonly=true value=url.clone() class="mono" data-testid="magic-link"/>
            </label>
            <p class="hint-text">"Send it to the customer: anyone holding it can connect this tenant without a hub account."</p>
            <button type="button" class="btn small" on:click=move |_| { crate::browser::copy_text(&to_copy); copied.set(true); }>
                {move || if copied.get() { "Copied" } else { "Copy link" }}
            </button>
        </div>
    }
}

#[component]
fn ConfigurationStep(t: TenantSetup, action: ServerAction<SaveTenantConfigs>) -> impl IntoView {
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    let Some(form) = t.form.clone() else {
        return view! {
            <p class="notice warning">"The tenant's release choice points at no successful release, so there is no form to fill in yet."</p>
        }.into_any();
    };
    let has_dynamic = form.fields().iter().any(|f| matches!(f.kind, hub_core::domain::form::FieldKind::Dynamic { .. }));
    view! {
        {move || error.get().map(|e| match e {
            AppError::Validation { more, .. } => view! {
                <p class="notice error" role="alert">
                    {format!("{} setting{} need{} a change; see the messages next to them.",
                        more.len() + 1, if more.is_empty() { "" } else { "s" }, if more.is_empty() { "s" } else { "" })}
                </p>
            }.into_any(),
            other => view! { <ErrorNotice error=other/> }.into_any(),
        })}
        {(has_dynamic && t.dynamic.is_empty()).then(|| view! {
            <p class="notice warning" role="status">
                "Some settings offer choices that this tenant's integration fetches itself. They can be chosen after the tenant's first init sync."
            </p>
        })}
        <ActionForm action=action attr:class="form card config-form" attr:novalidate=true>
            <input type="hidden" name="tenant_id" value=t.id/>
            <ConfigFields form=form dynamic=t.dynamic.clone() raw=t.raw.clone() server_error=error/>
            <div class="form-actions">
                <a class="btn" href=format!("/tenants/{}/setup/credentials", t.id)>"Back"</a>
                <button type="submit" class="btn primary" disabled=move || action.pending().get()>"Next"</button>
            </div>
        </ActionForm>
    }.into_any()
}

/// The five next fire times (or the error) of a schedule as typed, for the preview.
fn preview(input: &ScheduleInput, tenant_id: i64) -> Result<(String, Vec<String>), String> {
    let schedule = input.parse().map_err(|e| e.message)?;
    let tz = match &schedule {
        Schedule::Cron { tz, .. } => *tz,
        Schedule::Preset(_) => chrono_tz::UTC,
    };
    let mut times = Vec::new();
    let mut after = Utc::now();
    while times.len() < 5 {
        let Some(next) = schedule.next_after(after, tenant_id) else { break };
        times.push(next.with_timezone(&tz).format("%a %Y-%m-%d %H:%M %Z").to_string());
        after = next;
    }
    Ok((schedule.describe(), times))
}

#[component]
fn ScheduleStep(
    t: TenantSetup,
    action: ServerAction<SaveTenantSchedule>,
    /// The tenant's own Sync Schedule page rather than a step of the creation flow.
    #[prop(optional)]
    standalone: bool,
) -> impl IntoView {
    let query = use_query_map();
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    // The starting values: a preview request without JavaScript, a failed save, a
    // draft, or what is stored.
    let from_query = query.with_untracked(|q| {
        q.get("preview").map(|_| {
            let get = |k: &str| q.get(&format!("input[{k}]")).unwrap_or_default();
            (
                ScheduleInput {
                    kind: get("kind"),
                    preset: get("preset"),
                    cron: get("cron"),
                    timezone: get("timezone"),
                },
                q.get("paused").is_none_or(|p| p != "false"),
            )
        })
    });
    let kept = error.get_untracked().map(|e| {
        let get = |k: &str| e.kept(k).unwrap_or_default();
        (
            ScheduleInput { kind: get("kind"), preset: get("preset"), cron: get("cron"), timezone: get("timezone") },
            get("paused") != "false",
        )
    });
    let (start, paused) = from_query.or(kept).unwrap_or((t.schedule.clone(), t.paused));
    let kind = RwSignal::new(if start.kind.is_empty() { "simple".to_owned() } else { start.kind.clone() });
    let preset =
        RwSignal::new(if start.preset.is_empty() { Preset::Daily.as_str().to_owned() } else { start.preset.clone() });
    let cron = RwSignal::new(start.cron.clone());
    let timezone = RwSignal::new(if start.timezone.is_empty() { "UTC".to_owned() } else { start.timezone.clone() });
    let tenant_id = t.id;
    let result = Memo::new(move |_| {
        let input =
            ScheduleInput { kind: kind.get(), preset: preset.get(), cron: cron.get(), timezone: timezone.get() };
        preview(&input, tenant_id)
    });
    let touched = RwSignal::new(false);
    // While typing, the same check the server makes on save.
    let live = move |field: &'static str| {
        Signal::derive(move || {
            if touched.get() && kind.get() == "advanced" {
                let input = ScheduleInput {
                    kind: kind.get(),
                    preset: preset.get(),
                    cron: cron.get(),
                    timezone: timezone.get(),
                };
                input.parse().err().filter(|e| e.field == field).map(|e| e.message)
            } else {
                field_error(error, field).get()
            }
        })
    };
    let cron_error = live("cron");
    let tz_error = live("timezone");
    let preview_button = format!(
        r#"<button type="submit" class="btn" name="preview" value="1" formmethod="get" formaction="{}">Preview</button>"#,
        if standalone {
            format!("/tenants/{tenant_id}/schedule")
        } else {
            format!("/tenants/{tenant_id}/setup/schedule")
        }
    );
    let back =
        if standalone { format!("/tenants/{tenant_id}") } else { format!("/tenants/{tenant_id}/setup/configuration") };
    view! {
        {move || error.get().filter(|e| !matches!(e, AppError::Validation { .. })).map(|e| view! { <ErrorNotice error=e/> })}
        <ActionForm action=action attr:class="form card schedule-form" attr:novalidate=true>
            <input type="hidden" name="tenant_id" value=tenant_id/>
            <fieldset class="field">
                <legend>"Schedule type"</legend>
                <label class="check">
                    <input type="radio" name="input[kind]" value="simple" checked=start.kind != "advanced"
                        on:change=move |_| kind.set("simple".into())/>
                    "Simple"
                </label>
                <div class="radio-indent">
                    <label for="preset" class="visually-hidden">"How often"</label>
                    <select id="preset" name="input[preset]" on:change=move |ev| { preset.set(event_target_value(&ev)); kind.set("simple".into()); }>
                        {Preset::ALL.into_iter().map(|p| view! {
                            <option value=p.as_str() selected=preset.get_untracked() == p.as_str()>{p.label()}</option>
                        }).collect_view()}
                    </select>
                </div>
                <label class="check">
                    <input type="radio" name="input[kind]" value="advanced" checked=start.kind == "advanced"
                        on:change=move |_| kind.set("advanced".into())/>
                    "Advanced (cron expression)"
                </label>
                <div class="radio-indent field-row">
                    <div class="field">
                        <label for="cron">"Cron expression"</label>
                        <p class="hint-text" id="cron-hint">"Five fields: minute, hour, day of month, month, day of week. Example: 30 9 * * mon-fri"</p>
                        <input id="cron" name="input[cron]" type="text" class="mono" value=start.cron.clone() placeholder="0 * * * *"
                            autocomplete="off" aria-describedby="cron-hint cron-error"
                            aria-invalid=move || cron_error.get().is_some().then_some("true")
                            on:input=move |ev| { cron.set(event_target_value(&ev)); kind.set("advanced".into()); touched.set(true); }/>
                        {move || cron_error.get().map(|m| view! { <p class="field-error" id="cron-error">{m}</p> })}
                    </div>
                    <div class="field">
                        <label for="timezone">"Time zone"</label>
                        <input id="timezone" name="input[timezone]" type="text" list="timezones" value=timezone.get_untracked()
                            autocomplete="off" aria-invalid=move || tz_error.get().is_some().then_some("true")
                            on:input=move |ev| { timezone.set(event_target_value(&ev)); touched.set(true); }/>
                        <datalist id="timezones">
                            {chrono_tz::TZ_VARIANTS.iter().map(|tz| view! { <option value=tz.name()/> }).collect_view()}
                        </datalist>
                        {move || tz_error.get().map(|m| view! { <p class="field-error" id="timezone-error">{m}</p> })}
                    </div>
                </div>
                <div class="schedule-preview" aria-live="polite" data-testid="schedule-preview">
                    {move || match result.get() {
                        Ok((text, times)) => view! {
                            <p class="strong" data-testid="schedule-reading">{text}</p>
                            <p class="muted small">"Next five runs:"</p>
                            <ol class="fire-times">{times.into_iter().map(|t| view! { <li>{t}</li> }).collect_view()}</ol>
                        }.into_any(),
                        Err(e) => view! { <p class="field-error" data-testid="schedule-invalid">{e}</p> }.into_any(),
                    }}
                </div>
                <noscript inner_html=preview_button/>
            </fieldset>
            <fieldset class="field">
                <legend>"When saved"</legend>
                <label class="check">
                    <input type="radio" name="paused" value="true" checked=paused/>
                    "Paused: do not sync until it is started"
                </label>
                <label class="check">
                    <input type="radio" name="paused" value="false" checked=!paused/>
                    "Running: start syncing on this schedule"
                </label>
            </fieldset>
            <div class="form-actions">
                <a class="btn" href=back>{if standalone { "Cancel" } else { "Back" }}</a>
                <button type="submit" class="btn primary" disabled=move || action.pending().get()>"Save Changes"</button>
            </div>
        </ActionForm>
    }
}

/// Loads the tenant named by the route's `:id`, refetching when `version` changes.
fn tenant_resource(version: impl Fn() -> usize + Send + Sync + 'static) -> Resource<Result<TenantSetup, AppError>> {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").and_then(|v| v.parse::<i64>().ok()));
    Resource::new(
        move || (id.get(), version()),
        |(id, _)| async move { get_tenant(id.ok_or(AppError::NotFound)?).await },
    )
}

/// `/tenants/:id`: the tenant, its connections and its runs.
#[component]
pub fn TenantPage() -> impl IntoView {
    let query = use_query_map();
    let disconnect = ServerAction::<DisconnectConnection>::new();
    let archive = ServerAction::<ArchiveTenant>::new();
    let run = ServerAction::<RunTenant>::new();
    let webhook = ServerAction::<MakeTenantWebhook>::new();
    let link = ServerAction::<LinkMarketplaceUser>::new();
    let refresh = RwSignal::new(0usize);
    let data = tenant_resource(move || {
        disconnect.version().get()
            + run.version().get()
            + webhook.version().get()
            + link.version().get()
            + refresh.get()
    });
    let notice = move || {
        query.with(|q| match q.get("done").as_deref() {
            Some("saved") => Some("Tenant saved."),
            Some("settings") => Some("Settings saved."),
            Some("schedule") => Some("Sync schedule saved."),
            Some("run-normal") => Some("A normal sync was asked for; it starts as soon as the tenant is free."),
            Some("run-init") => Some("An init sync was asked for; it starts as soon as the tenant is free."),
            Some("webhook") => Some("A new webhook URL was made; any earlier one no longer works."),
            Some("linked") => Some("Marketplace user saved."),
            Some("disconnected") => {
                Some("Disconnected. The stored credentials were removed; the magic link stays the same.")
            }
            _ => None,
        })
    };
    let action_error = Signal::derive(move || {
        disconnect
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| archive.value().get().and_then(Result::err))
            .or_else(|| run.value().get().and_then(Result::err))
            .or_else(|| webhook.value().get().and_then(Result::err))
            .or_else(|| link.value().get().and_then(Result::err).filter(|e| !matches!(e, AppError::Validation { .. })))
    });
    let run_notice = move || {
        run.value()
            .get()
            .and_then(Result::ok)
            .map(|()| "The sync was asked for; it starts as soon as the tenant is free.")
    };
    view! {
        <Transition fallback=loading>
            {move || Suspend::new(async move {
                let t = match data.await {
                    Ok(t) => t,
                    Err(e) => return view! { <PageHeader title="Tenant"/><ErrorNotice error=e/> }.into_any(),
                };
                let last_run = t.runs.first().cloned();
                view! {
                    <Title text=t.name.clone()/>
                    <RefreshWhileBusy busy=t.run_active refetch=move |()| refresh.update(|n| *n += 1)/>
                    <div class="page-header">
                        <div>
                            <p class="crumbs"><a href="/tenants">"Tenants"</a>" / "
                                <a href=format!("/integrations/{}", t.integration_id)>{t.integration_name.clone()}</a></p>
                            <h1>
                                {t.name.clone()}" "
                                {if t.paused {
                                    view! { <span class="badge" data-testid="tenant-state">"Paused"</span> }.into_any()
                                } else {
                                    view! { <span class="badge succeeded" data-testid="tenant-state">"Running"</span> }.into_any()
                                }}
                            </h1>
                        </div>
                        <div class="page-actions">
                            <a class="btn" href=format!("/tenants/{}/settings", t.id)>"Settings"</a>
                            <a class="btn" href=format!("/tenants/{}/schedule", t.id)>"Sync Schedule"</a>
                            <details class="confirm">
                                <summary class="btn danger">"Archive"</summary>
                                <div class="confirm-box">
                                    <p>"Archive this tenant? It stops syncing and leaves the tenants list. Its history is kept."</p>
                                    <ActionForm action=archive>
                                        <input type="hidden" name="tenant_id" value=t.id/>
                                        <button type="submit" class="btn danger-solid">"Archive tenant"</button>
                                    </ActionForm>
                                </div>
                            </details>
                        </div>
                    </div>
                    {move || notice().or_else(run_notice).map(|n| view! { <p class="notice success" role="status">{n}</p> })}
                    {move || action_error.get().map(|e| view! { <ErrorNotice error=e/> })}
                    {(!t.lacks.is_empty()).then(|| view! {
                        <div class="notice warning" role="status" data-testid="tenant-lacks">
                            <p class="strong">"This tenant is not ready yet:"</p>
                            <ul>{t.lacks.iter().map(|l| view! { <li>{l.clone()}</li> }).collect_view()}</ul>
                            {(t.step != SetupStep::Done).then(|| view! {
                                <a class="btn small" href=format!("/tenants/{}/setup", t.id)>"Continue setup"</a>
                            })}
                        </div>
                    })}
                    <dl class="facts">
                        <div><dt>"Integration"</dt><dd><a href=format!("/integrations/{}", t.integration_id)>{t.integration_name.clone()}</a></dd></div>
                        <div><dt>"Release"</dt><dd data-testid="tenant-release">{t.release.clone()}</dd></div>
                        <div><dt>"Schedule"</dt><dd data-testid="tenant-schedule">{t.schedule_text.clone()}</dd></div>
                        <div><dt>"Next run"</dt><dd>{t.next_fire_at.clone().unwrap_or_else(|| if t.paused { "Paused".to_owned() } else { "—".to_owned() })}</dd></div>
                        <div><dt>"Last run"</dt><dd data-testid="tenant-last-run">{match last_run {
                            Some(r) => format!("{} · {}", r.phase, r.started),
                            None => "Never".to_owned(),
                        }}</dd></div>
                        <div><dt>"Source"</dt><dd data-testid="tenant-source">{match t.source.as_str() {
                            "marketplace" => "Marketplace",
                            "api" => "API",
                            _ => "Hub",
                        }}</dd></div>
                        {t.marketplace_user.clone().map(|(sub, name, email)| view! {
                            <div><dt>"Marketplace user"</dt><dd data-testid="tenant-end-user">
                                <span class="mono">{sub}</span>
                                {name.map(|n| format!(" · {n}"))}
                                {email.map(|e| format!(" · {e}"))}
                            </dd></div>
                        })}
                        <div><dt>"Created"</dt><dd>{t.created_at.clone()}</dd></div>
                    </dl>
                    <section class="section" aria-labelledby="connections-heading">
                        <h2 id="connections-heading">"Connector Status"</h2>
                        {if t.connections.is_empty() {
                            view! { <p class="muted">"This integration needs no credentials."</p> }.into_any()
                        } else {
                            t.connections.iter().cloned().map(|c| view! { <ConnectionStatus tenant_id=t.id c=c disconnect=disconnect/> }).collect_view().into_any()
                        }}
                    </section>
                    <section class="section" aria-labelledby="runs-heading">
                        <div class="section-header">
                            <h2 id="runs-heading">"Runs"</h2>
                            <div class="row-actions">
                                <ActionForm action=run>
                                    <input type="hidden" name="tenant_id" value=t.id/>
                                    <input type="hidden" name="mode" value="normal"/>
                                    <button type="submit" class="btn primary small">"Run Normal Sync"</button>
                                </ActionForm>
                                <ActionForm action=run>
                                    <input type="hidden" name="tenant_id" value=t.id/>
                                    <input type="hidden" name="mode" value="init"/>
                                    <button type="submit" class="btn small">"Run Init Sync"</button>
                                </ActionForm>
                                <a class="btn small" href=format!("/activity?tenant={}", t.id)>"All runs"</a>
                            </div>
                        </div>
                        {(t.run_waiting > 0).then(|| view! {
                            <p class="muted small" data-testid="runs-waiting">{match t.run_waiting {
                                1 => "1 sync request is waiting to start.".to_owned(),
                                n => format!("{n} sync requests are waiting to start."),
                            }}</p>
                        })}
                        {if t.runs.is_empty() {
                            view! { <p class="muted" data-testid="no-runs">"No runs yet. Runs appear here with their outcome and duration."</p> }.into_any()
                        } else {
                            view! { <RunsTable runs=t.runs.clone() show_tenant=false/> }.into_any()
                        }}
                    </section>
                    <MarketplaceLink tenant_id=t.id user=t.marketplace_user.clone() action=link/>
                    <section class="section" aria-labelledby="webhook-heading">
                        <h2 id="webhook-heading">"Inbound webhook"</h2>
                        <p class="muted small">
                            "A POST to this URL queues a webhook run of this tenant; the request body is saved to a file "
                            "whose path the run finds in PAN_CTX_RUN_TRIGGERS. The URL is the secret: share it only with the sender."
                        </p>
                        {t.webhook_url.clone().map(|url| view! {
                            <div class="copy-field">
                                <label class="visually-hidden" for="webhook-url">"Webhook URL"</label>
                                <input id="webhook-url" type="text" readonly=true value=url class="mono" data-testid="webhook-url"/>
                            </div>
                        })}
                        <ActionForm action=webhook>
                            <input type="hidden" name="tenant_id" value=t.id/>
                            <button type="submit" class="btn small">
                                {if t.webhook_url.is_some() { "Replace webhook URL" } else { "Make webhook URL" }}
                            </button>
                        </ActionForm>
                    </section>
                }.into_any()
            })}
        </Transition>
    }
}

/// Who the tenant belongs to in the marketplace; an admin may link a hub tenant to a
/// marketplace user (their token's `sub`) so they see it there, or unlink it.
#[component]
fn MarketplaceLink(
    tenant_id: i64,
    user: Option<(String, Option<String>, Option<String>)>,
    action: ServerAction<LinkMarketplaceUser>,
) -> impl IntoView {
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    let (sub, name, email) =
        user.clone().map(|(s, n, e)| (s, n.unwrap_or_default(), e.unwrap_or_default())).unwrap_or_default();
    view! {
        <details class="section" open=error.get_untracked().is_some()>
            <summary class="strong">{if user.is_some() { "Change the marketplace user" } else { "Link to a marketplace user" }}</summary>
            <p class="muted small">"The user sees and manages this tenant in the embedded marketplace when their token's sub matches. Leave sub empty to unlink."</p>
            <ActionForm action=action attr:class="form card" attr:novalidate=true>
                <input type="hidden" name="tenant_id" value=tenant_id/>
                <TextField name="sub" id="link-sub" label="User id (sub)" value=sub error=field_error(error, "sub")/>
                <TextField name="name" id="link-name" label="Name" value=name error=field_error(error, "name")/>
                <TextField name="email" id="link-email" label="Email" value=email error=field_error(error, "email")/>
                <button type="submit" class="btn">"Save"</button>
            </ActionForm>
        </details>
    }
}

/// One connector of the tenant: its status, and what can be done about it.
#[component]
fn ConnectionStatus(
    tenant_id: i64,
    c: ConnectionView,
    disconnect: ServerAction<DisconnectConnection>,
) -> impl IntoView {
    let has_info = !c.info.trim().is_empty();
    let connected = c.status == "connected";
    let connector = c.connector.clone();
    let confirm_text =
        format!("Remove the stored {} credentials? Syncs fail until it is connected again.", c.display_name);
    let reconnect = match c.auth {
        AuthKind::Oauth2 => c.magic_link.clone(),
        _ => format!("/tenants/{tenant_id}/setup/credentials"),
    };
    view! {
        <div class="card connector-block" data-connector=c.connector.clone()>
            <h3 class="connector-title">
                {c.display_name.clone()}" "
                <ConnectionBadge status=c.status.clone()/>
            </h3>
            <p class="muted small" data-testid="connection-changed">
                {match c.status.as_str() {
                    "connected" => format!("Connected since {}", c.changed_at),
                    "error" => format!("Failing since {}: {}", c.changed_at, c.status_reason.clone().unwrap_or_default()),
                    _ => format!("Not connected since {}", c.changed_at),
                }}
            </p>
            <div class="row-actions">
                {(c.auth != AuthKind::None).then(|| view! {
                    <a class="btn small" href=reconnect.clone()>{if connected { "Reconnect" } else { "Connect" }}</a>
                })}
                {connected.then(|| view! {
                    <details class="confirm">
                        <summary class="btn small danger">"Disconnect"</summary>
                        <div class="confirm-box">
                            <p>{confirm_text}</p>
                            <ActionForm action=disconnect>
                                <input type="hidden" name="tenant_id" value=tenant_id/>
                                <input type="hidden" name="connector" value=connector/>
                                <button type="submit" class="btn danger-solid">"Disconnect"</button>
                            </ActionForm>
                        </div>
                    </details>
                })}
                {if has_info {
                    view! {
                        <details class="info-box">
                            <summary class="btn small">"Info"</summary>
                            <p class="info">{c.info.clone()}</p>
                        </details>
                    }.into_any()
                } else {
                    view! { <button type="button" class="btn small" disabled=true title="This connector has no information">"Info"</button> }.into_any()
                }}
            </div>
            {(c.auth != AuthKind::None).then(|| view! { <MagicLink url=c.magic_link.clone()/> })}
        </div>
    }
}

/// `/tenants/:id/settings`: the configuration form and the version choice.
#[component]
pub fn SettingsPage() -> impl IntoView {
    let save = ServerAction::<SaveTenantSettings>::new();
    let data = tenant_resource(move || save.version().get());
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    view! {
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let t = match data.await {
                    Ok(t) => t,
                    Err(e) => return view! { <PageHeader title="Settings"/><ErrorNotice error=e/> }.into_any(),
                };
                let kept = move |name: &str| error.get_untracked().and_then(|e| e.kept(name));
                let default_release = t.releases.iter().find(|r| r.is_default).map(|r| r.name.clone());
                let latest_release = t.releases.first().map(|r| r.name.clone());
                view! {
                    <Title text=format!("Settings · {}", t.name)/>
                    <div class="page-header">
                        <div>
                            <p class="crumbs"><a href="/tenants">"Tenants"</a>" / "<a href=format!("/tenants/{}", t.id)>{t.name.clone()}</a></p>
                            <h1>"Settings"</h1>
                            <p class="lead">{format!("{} · {}", t.integration_name, t.release)}</p>
                        </div>
                    </div>
                    {move || error.get().map(|e| match e {
                        AppError::Validation { .. } => view! { <p class="notice error" role="alert">"Some settings need a change; see the messages next to them."</p> }.into_any(),
                        other => view! { <ErrorNotice error=other/> }.into_any(),
                    })}
                    <ActionForm action=save attr:class="form card config-form" attr:novalidate=true>
                        <input type="hidden" name="tenant_id" value=t.id/>
                        <h2>"Version"</h2>
                        <ReleaseFields prefix="version" releases=t.releases.clone() default_release=default_release latest_release=latest_release
                            mode=kept("release_mode").unwrap_or(t.version.release_mode.clone())
                            channel=kept("channel").unwrap_or(t.version.channel.clone())
                            release_id=kept("release_id").unwrap_or(t.version.release_id.clone()) error=error/>
                        <h2>"Configuration"</h2>
                        {match t.form.clone() {
                            Some(form) => view! { <ConfigFields form=form dynamic=t.dynamic.clone() raw=t.raw.clone() server_error=error/> }.into_any(),
                            None => view! { <p class="notice warning">"The current release choice points at no successful release."</p> }.into_any(),
                        }}
                        <div class="form-actions">
                            <a class="btn" href=format!("/tenants/{}", t.id)>"Cancel"</a>
                            <button type="submit" class="btn primary" disabled=move || save.pending().get()>"Save Changes"</button>
                        </div>
                    </ActionForm>
                }.into_any()
            })}
        </Suspense>
    }
}

/// `/tenants/:id/schedule`: simple or advanced, and paused or running.
#[component]
pub fn SchedulePage() -> impl IntoView {
    let save = ServerAction::<SaveTenantSchedule>::new();
    let data = tenant_resource(|| 0);
    view! {
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let t = match data.await {
                    Ok(t) => t,
                    Err(e) => return view! { <PageHeader title="Sync Schedule"/><ErrorNotice error=e/> }.into_any(),
                };
                view! {
                    <Title text=format!("Sync Schedule · {}", t.name)/>
                    <div class="page-header">
                        <div>
                            <p class="crumbs"><a href="/tenants">"Tenants"</a>" / "<a href=format!("/tenants/{}", t.id)>{t.name.clone()}</a></p>
                            <h1>"Sync Schedule"</h1>
                            <p class="lead">{format!("Now: {}", t.schedule_text)}</p>
                        </div>
                    </div>
                    <ScheduleStep t=t.clone() action=save standalone=true/>
                }.into_any()
            })}
        </Suspense>
    }
}
