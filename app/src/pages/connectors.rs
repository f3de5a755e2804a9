//! Connectors: how credentials for each outside system are collected, the redirect
//! URI OAuth2 providers need, and the shipped catalogue.

use leptos::prelude::*;

use crate::api::connectors::{list_connectors, ConnectorInfo};
use crate::components::loading::Loading;
use crate::components::page::{EmptyState, ErrorNotice, PageHeader};

#[component]
pub fn ConnectorsPage() -> impl IntoView {
    let list = Resource::new(|| (), |_| list_connectors());
    view! {
        <PageHeader
            title="Connectors"
            lead="How the hub collects credentials for each outside system: the definitions in the hub's connectors folder, and the catalogue's connectors its operator enabled."
        />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(view) => {
                        let in_use: Vec<String> = view.in_use.iter().map(|c| c.name.clone()).collect();
                        view! {
                            <p class="notice" data-testid="callback-url">
                                "Register this redirect URI with every OAuth 2.0 app the hub uses: "
                                <code class="mono">{view.callback_url}</code>
                            </p>
                            {if view.in_use.is_empty() {
                                view! {
                                    <EmptyState title="No connectors">
                                        <p>"Add connector definitions (YAML files) to the connectors folder, or name catalogue connectors in HUB_CATALOGUE, and restart the hub."</p>
                                    </EmptyState>
                                }.into_any()
                            } else {
                                view! { <div class="cards">{view.in_use.into_iter().map(|c| view! { <ConnectorCard c=c/> }).collect_view()}</div> }.into_any()
                            }}
                            <Catalogue items=view.catalogue in_use=in_use/>
                        }.into_any()
                    }
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ConnectorCard(c: ConnectorInfo) -> impl IntoView {
    let heading = format!("connector-{}", c.name);
    let labelled = heading.clone();
    view! {
        <article class="card connector" aria-labelledby=labelled>
            <h2 id=heading>{c.display_name}</h2>
            <p>
                <span class=format!("badge kind-{}", c.auth)>{c.auth_label}</span>" "
                <span class="mono muted small">{c.name}</span>
                <span class="muted small">{format!(" · from {}", c.source)}</span>
            </p>
            {(!c.missing_vars.is_empty()).then(|| view! {
                <p class="notice warning small">"Not configured: set "{c.missing_vars.join(", ")}" on the hub."</p>
            })}
            {(!c.parameters.is_empty()).then(|| view! {
                <p class="small">"Each connection is asked for: "{c.parameters.join(", ")}</p>
            })}
            <p class="info">{if c.info.is_empty() { "No description.".to_owned() } else { c.info }}</p>
            <Links register=c.register_url docs=c.docs_url/>
        </article>
    }
}

#[component]
fn Links(register: String, docs: String) -> impl IntoView {
    view! {
        <p class="small">
            {(!register.is_empty()).then(|| view! { <a href=register rel="external noopener" target="_blank">"Register an app"</a>" " })}
            {(!docs.is_empty()).then(|| view! { <a href=docs rel="external noopener" target="_blank">"Provider's documentation"</a> })}
        </p>
    }
}

/// The shipped catalogue, by category, with what enabling each one needs.
#[component]
fn Catalogue(items: Vec<ConnectorInfo>, in_use: Vec<String>) -> impl IntoView {
    view! {
        <section class="section" aria-labelledby="catalogue-heading">
            <h2 id="catalogue-heading">{format!("Catalogue ({} connectors)", items.len())}</h2>
            <p class="muted">
                "To use one, add its name to HUB_CATALOGUE (names separated by commas), set the variables it names, and restart the hub. A definition of the same name in the connectors folder takes its place."
            </p>
            <div class="table-wrap">
                <table class="data-table" data-testid="catalogue">
                    <thead>
                        <tr>
                            <th scope="col">"Connector"</th>
                            <th scope="col">"Category"</th>
                            <th scope="col">"Kind"</th>
                            <th scope="col">"Needs"</th>
                            <th scope="col">"Links"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {items.into_iter().map(|c| {
                            let used = in_use.contains(&c.name);
                            let needs = if c.missing_vars.is_empty() { "Nothing on the hub".to_owned() } else { c.missing_vars.join(", ") };
                            view! {
                                <tr>
                                    <th scope="row">
                                        {c.display_name}" "<span class="mono muted small">{c.name}</span>
                                        {used.then(|| view! { " "<span class="badge">"In use"</span> })}
                                    </th>
                                    <td>{c.category}</td>
                                    <td>{c.auth_label}</td>
                                    <td class="mono small">{needs}</td>
                                    <td><Links register=c.register_url docs=c.docs_url/></td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}
