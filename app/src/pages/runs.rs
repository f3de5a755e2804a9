//! Runs: one run with its live log, the Activity page (failing tenants first, then
//! every run, filterable) and the audit log.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::activity::list_activity;
use crate::api::runs::{get_run, list_runs, RunQuery};
use crate::components::badge::phase_class;
use crate::components::loading::Loading;
use crate::components::page::{EmptyState, ErrorNotice, PageHeader, RefreshWhileBusy};
use crate::components::runs_table::RunsTable;
use crate::error::AppError;

/// `/runs/:id`: one run, its log live while it runs.
#[component]
pub fn RunPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = Memo::new(move |_| params.read().get("id").and_then(|v| v.parse::<i64>().ok()));
    let number = move |name: &str| query.read().get(name).and_then(|v| v.parse::<i64>().ok());
    let at = Memo::new(move |_| (number("log_before"), number("log_from")));
    let refresh = RwSignal::new(0u32);
    let data = Resource::new(
        move || (id.get(), at.get(), refresh.get()),
        |(id, (before, from), _)| async move { get_run(id.ok_or(AppError::NotFound)?, before, from).await },
    );
    view! {
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                let r = match data.await {
                    Ok(r) => r,
                    Err(e) => return view! { <PageHeader title="Run"/><ErrorNotice error=e/> }.into_any(),
                };
                let title = format!("Run #{}", r.item.id);
                view! {
                    <Title text=title.clone()/>
                    <RefreshWhileBusy busy=r.active refetch=move |()| refresh.update(|n| *n += 1)/>
                    <div class="page-header">
                        <div>
                            <p class="crumbs">
                                <a href="/tenants">"Tenants"</a>" / "
                                <a href=format!("/tenants/{}", r.item.tenant_id)>{r.item.tenant.clone()}</a>
                            </p>
                            <h1>{title}" "<span class=phase_class(r.item.phase_code) data-testid="run-phase">{r.item.phase.clone()}</span></h1>
                        </div>
                    </div>
                    {r.error.clone().map(|e| view! { <p class="notice warning" role="status" data-testid="run-error">{e}</p> })}
                    <dl class="facts">
                        <div><dt>"Integration"</dt><dd><a href=format!("/integrations/{}", r.integration_id)>{r.item.integration.clone()}</a></dd></div>
                        <div><dt>"Release"</dt><dd>{r.release.clone().unwrap_or_else(|| "—".to_owned())}</dd></div>
                        <div><dt>"Mode"</dt><dd data-testid="run-mode">{r.item.mode.as_str()}</dd></div>
                        <div><dt>"Triggers"</dt><dd>{r.item.triggers.clone()}</dd></div>
                        <div><dt>"Queued"</dt><dd>{r.queued.clone()}</dd></div>
                        <div><dt>"Started"</dt><dd>{r.item.started.clone()}</dd></div>
                        <div><dt>"Finished"</dt><dd>{r.finished.clone().unwrap_or_else(|| "—".to_owned())}</dd></div>
                        <div><dt>"Duration"</dt><dd>{r.item.duration.clone().unwrap_or_else(|| "—".to_owned())}</dd></div>
                        <div><dt>"Exit code"</dt><dd data-testid="run-exit">{r.exit_code.map_or_else(|| "—".to_owned(), |c| c.to_string())}</dd></div>
                    </dl>
                    <section class="section" aria-labelledby="log-heading">
                        <h2 id="log-heading">"Log"{r.active.then_some(view! { <span class="muted small">" (live)"</span> })}</h2>
                        {r.log_note.clone().map(|n| view! { <p class="muted small" data-testid="log-note">{n}</p> })}
                        {r.log_earlier.clone().map(|href| view! { <p><a class="btn small" href=href data-testid="log-earlier">"Earlier"</a></p> })}
                        {if r.log.is_empty() {
                            view! { <p class="muted" data-testid="run-log-empty">{if r.active { "Nothing logged yet." } else { "The program wrote nothing to stderr." }}</p> }.into_any()
                        } else {
                            view! { <pre class="log" data-testid="run-log">{r.log.clone()}</pre> }.into_any()
                        }}
                        {r.log_later.clone().map(|href| {
                            let end = format!("/runs/{}", r.item.id);
                            view! {
                                <p>
                                    <a class="btn small" href=href data-testid="log-later">"Later"</a>" "
                                    <a class="btn small" href=end>"The end"</a>
                                </p>
                            }
                        })}
                        {r.log_truncated.then(|| view! { <p class="muted small">"The log reached its size limit; the rest of the output was not kept."</p> })}
                    </section>
                    <section class="section" aria-labelledby="context-heading">
                        <h2 id="context-heading">"Context output"</h2>
                        {match r.context.clone() {
                            Some(c) => view! { <pre class="log" data-testid="run-context">{c}</pre> }.into_any(),
                            None => view! { <p class="muted">"None: the last line of stdout was not JSON (or the run has not ended)."</p> }.into_any(),
                        }}
                    </section>
                    <section class="section" aria-labelledby="trigger-heading">
                        <h2 id="trigger-heading">"Triggers"</h2>
                        <ul class="plain-list">
                            {r.trigger_list.iter().map(|(kind, at, by, payload)| view! {
                                <li>{format!("{} · {at} · {by}", kind.as_str())}{payload.clone().map(|p| view! { <code class="small">" "{p}</code> })}</li>
                            }).collect_view()}
                        </ul>
                    </section>
                    <section class="section" aria-labelledby="sandbox-heading">
                        <h2 id="sandbox-heading">"Sandbox"</h2>
                        <p data-testid="run-sandbox">{r.sandbox.clone().unwrap_or_else(|| "Not started.".to_owned())}</p>
                    </section>
                    <section class="section" aria-labelledby="env-heading">
                        <h2 id="env-heading">"Environment"</h2>
                        <p class="muted small">"The names of the variables the program was given; values are never shown."</p>
                        <ul class="env-names" data-testid="run-env">
                            {r.env_names.iter().map(|n| view! { <li><code>{n.clone()}</code></li> }).collect_view()}
                        </ul>
                    </section>
                }.into_any()
            })}
        </Transition>
    }
}

const PHASE_FILTERS: [(&str, &str); 6] = [
    ("", "Any phase"),
    ("failed", "Any failure"),
    ("succeeded", "Succeeded"),
    ("running", "Running"),
    ("queued", "Queued"),
    ("skipped", "Skipped"),
];

/// `/activity`: tenants whose last run failed, then runs across tenants.
#[component]
pub fn ActivityPage() -> impl IntoView {
    let query = use_query_map();
    let q = Memo::new(move |_| query.with(|m| RunQuery::from_params(|k| m.get(k))));
    let data = Resource::new(move || q.get(), list_runs);
    view! {
        <PageHeader title="Activity" lead="Every run across tenants, newest first; tenants whose last run failed come first.">
            <a class="btn" href="/activity/audit">"Audit log"</a>
        </PageHeader>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let page = match data.await {
                    Ok(p) => p,
                    Err(e) => return view! { <ErrorNotice error=e/> }.into_any(),
                };
                let q = q.get_untracked();
                view! {
                    {(!page.failing.is_empty()).then(|| view! {
                        <section class="section" aria-labelledby="failing-heading" data-testid="failing">
                            <h2 id="failing-heading">"Failing tenants"</h2>
                            <ul class="plain-list">
                                {page.failing.iter().map(|f| view! {
                                    <li>
                                        <a href=format!("/tenants/{}", f.id)>{f.name.clone()}</a>
                                        <span class="muted">{format!(" · {} · ", f.integration)}</span>
                                        <span class="badge failed">{f.phase.clone()}</span>
                                        <span class="muted small">{format!(" {}", f.at)}</span>
                                    </li>
                                }).collect_view()}
                            </ul>
                        </section>
                    })}
                    <form method="get" action="/activity" class="filters" role="search">
                        <label for="phase">"Phase"</label>
                        <select id="phase" name="phase">
                            {PHASE_FILTERS.iter().map(|(v, l)| view! { <option value=*v selected=q.phase == *v>{*l}</option> }).collect_view()}
                        </select>
                        <label for="integration">"Integration"</label>
                        <select id="integration" name="integration">
                            <option value="">"Any integration"</option>
                            {page.integrations.iter().map(|(id, name)| view! {
                                <option value=id.to_string() selected=q.integration == Some(*id)>{name.clone()}</option>
                            }).collect_view()}
                        </select>
                        {q.tenant.map(|t| view! {
                            <input type="hidden" name="tenant" value=t/>
                            <span class="muted">"Tenant: "{page.tenant_name.clone().unwrap_or_else(|| format!("#{t}"))}" "
                                <a href=RunQuery { tenant: None, ..q.clone() }.url(None)>"(any tenant)"</a></span>
                        })}
                        <button type="submit" class="btn">"Filter"</button>
                    </form>
                    {if page.runs.is_empty() {
                        view! {
                            <EmptyState title="No runs">
                                <p>"Runs appear here when a tenant syncs: on its schedule, or with Run Normal Sync on its page."</p>
                            </EmptyState>
                        }.into_any()
                    } else {
                        view! { <RunsTable runs=page.runs.clone() show_tenant=true/> }.into_any()
                    }}
                    {page.older.map(|b| view! { <p><a class="btn" href=q.url(Some(b))>"Older runs"</a></p> })}
                }.into_any()
            })}
        </Suspense>
    }
}

/// `/activity/audit`: who changed what, newest first.
#[component]
pub fn AuditPage() -> impl IntoView {
    let entries = Resource::new(|| (), |_| list_activity(None));
    view! {
        <PageHeader title="Audit log" lead="Every change made in the hub, newest first: who did it, and to what.">
            <a class="btn" href="/activity">"Runs"</a>
        </PageHeader>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match entries.await {
                    Ok(list) if list.is_empty() => view! {
                        <EmptyState title="No activity yet">
                            <p>"Changes to integrations, releases, tenants and users will be recorded here as they happen."</p>
                        </EmptyState>
                    }.into_any(),
                    Ok(list) => view! {
                        <div class="table-wrap">
                            <table class="data-table">
                                <caption class="visually-hidden">"Audit log"</caption>
                                <thead>
                                    <tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"What"</th><th scope="col">"Object"</th></tr>
                                </thead>
                                <tbody>
                                    {list.into_iter().map(|e| view! {
                                        <tr>
                                            <td class="nowrap">{e.at}</td>
                                            <td>{e.actor}</td>
                                            <td>{e.action}</td>
                                            <td>{match e.href {
                                                Some(href) => view! { <a href=href>{e.object}</a> }.into_any(),
                                                None => e.object.into_any(),
                                            }}</td>
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
