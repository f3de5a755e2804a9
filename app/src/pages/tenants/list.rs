//! `/tenants`: the list, with its search, filters, order and page all in the URL.

use hub_core::domain::tenant::{ListQuery, SortOrder, Source, StateFilter};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::tenants::{list_tenants, TenantListPage};
use crate::components::badge::TenantStateBadge;
use crate::components::loading::Loading;
use crate::components::page::{EmptyState, ErrorNotice, PageHeader};

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
        <Suspense fallback=Loading>
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
                                        {(t.source != Source::Hub).then(|| view! { <span class="badge">{t.source.as_str()}</span> })}
                                    </td>
                                    <td><a href=format!("/integrations/{}", t.integration_id)>{t.integration.clone()}</a></td>
                                    <td>{t.release.clone()}</td>
                                    <td>{t.schedule.clone()}</td>
                                    <td>
                                        <TenantStateBadge paused=t.paused/>
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
