//! Connectors: how credentials for each outside system are collected.

use leptos::prelude::*;

use crate::api::connectors::list_connectors;
use crate::components::loading::Loading;
use crate::components::page::{EmptyState, ErrorNotice, PageHeader};

#[component]
pub fn ConnectorsPage() -> impl IntoView {
    let list = Resource::new(|| (), |_| list_connectors());
    view! {
        <PageHeader
            title="Connectors"
            lead="How the hub collects credentials for each outside system. They are defined in YAML files in the hub's connectors folder."
        />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(items) if items.is_empty() => view! {
                        <EmptyState title="No connectors">
                            <p>"Add connector definitions (YAML files) to the connectors folder and restart the hub."</p>
                        </EmptyState>
                    }.into_any(),
                    Ok(items) => view! {
                        <div class="cards">
                            {items.into_iter().map(|c| {
                                let heading = format!("connector-{}", c.name);
                                let labelled = heading.clone();
                                view! {
                                <article class="card connector" aria-labelledby=labelled>
                                    <h2 id=heading>{c.display_name}</h2>
                                    <p><span class=format!("badge kind-{}", c.auth)>{c.auth_label}</span>" "<span class="mono muted small">{c.name}</span></p>
                                    {(!c.missing_vars.is_empty()).then(|| view! {
                                        <p class="notice warning small">"Not configured: set "{c.missing_vars.join(", ")}" on the hub."</p>
                                    })}
                                    <p class="info">{if c.info.is_empty() { "No description.".to_owned() } else { c.info }}</p>
                                </article>
                            }}).collect_view()}
                        </div>
                    }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
