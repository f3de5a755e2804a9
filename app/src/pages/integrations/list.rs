//! `/integrations`: the list of integrations.

use leptos::prelude::*;

use crate::api::integrations::list_integrations;
use crate::components::loading::Loading;
use crate::components::page::{EmptyState, ErrorNotice, PageHeader};

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
        <Suspense fallback=Loading>
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
