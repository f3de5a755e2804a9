//! Activity: the audit log of who changed what.

use leptos::prelude::*;

use crate::api::activity::list_activity;
use crate::components::page::{EmptyState, ErrorNotice, PageHeader};

#[component]
pub fn ActivityPage() -> impl IntoView {
    let entries = Resource::new(|| (), |_| list_activity(None));
    view! {
        <PageHeader title="Activity" lead="Every change made in the hub, newest first: who did it, and to what."/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
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
                                            <td>{e.object}</td>
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
