//! Connectors: how credentials for each outside system are collected, the redirect
//! URI OAuth2 providers need, the shipped catalogue (searched, by category), and one
//! connector's page, where an admin enables a catalogue connector with its app's
//! client id and secret or writes a connector of their own.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::connectors::{
    get_connector, list_connectors, CatalogueItem, ConnectorEditor, ConnectorInfo, EnableConnector, RemoveConnector,
    SaveConnector,
};
use crate::components::form::{field_error, successes};
use crate::components::loading::Loading;
use crate::components::page::{EmptyState, ErrorNotice, PageHeader};
use crate::error::AppError;

/// What a `?saved=` says: only these words, never text from the address.
fn saved_notice(key: &str) -> Option<&'static str> {
    Some(match key {
        "enabled" => "Connector enabled. Integrations can name it now, and tenants connect with it.",
        "saved" => "Connector saved. New sign-ins, token refreshes and runs use it now.",
        "removed" => "Connector removed.",
        _ => return None,
    })
}

#[component]
pub fn ConnectorsPage() -> impl IntoView {
    let query = use_query_map();
    let filter =
        Memo::new(move |_| query.with(|q| (q.get("q").unwrap_or_default(), q.get("category").unwrap_or_default())));
    let list = Resource::new(move || filter.get(), |(q, category)| list_connectors(q, category));
    let saved = move || query.read().get("saved").and_then(|k| saved_notice(&k));
    view! {
        <PageHeader
            title="Connectors"
            lead="How the hub collects credentials for each outside system: connectors enabled from the catalogue or written here, and the definitions of the hub's connectors folder."
        />
        {move || saved().map(|m| view! { <p class="notice success" role="status">{m}</p> })}
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let (q, category) = filter.get_untracked();
                match list.await {
                    Ok(view) => {
                        let manage = view.can_manage;
                        view! {
                            <p class="notice" data-testid="callback-url">
                                "Register this redirect URI with every OAuth 2.0 app the hub uses: "
                                <code class="mono">{view.callback_url}</code>
                            </p>
                            {manage.then(|| view! {
                                <p><a class="btn" href="/connectors/new">"Write a Connector"</a></p>
                            })}
                            {(!view.broken.is_empty()).then(|| view! {
                                <div class="notice warning" role="alert">
                                    <p>"These connectors of the console cannot be used:"</p>
                                    <ul>{view.broken.into_iter().map(|(name, why)| view! {
                                        <li><a href=format!("/connectors/{name}")>{name.clone()}</a>": "{why}</li>
                                    }).collect_view()}</ul>
                                </div>
                            })}
                            <h2>"In Use"</h2>
                            {if view.in_use.is_empty() {
                                view! {
                                    <EmptyState title="No connectors">
                                        <p>"Enable one of the catalogue below, write your own, or add definitions (YAML files) to the hub's connectors folder."</p>
                                    </EmptyState>
                                }.into_any()
                            } else {
                                view! { <div class="cards">{view.in_use.into_iter().map(|c| view! { <ConnectorCard c=c manage=manage/> }).collect_view()}</div> }.into_any()
                            }}
                            <Catalogue items=view.catalogue total=view.catalogue_total categories=view.categories
                                q=q category=category manage=manage/>
                        }.into_any()
                    }
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn tenants_words(integrations: i64, tenants: i64) -> String {
    match (integrations, tenants) {
        (0, _) => "No integration uses it.".to_owned(),
        (1, 1) => "Used by 1 integration and 1 tenant.".to_owned(),
        (1, t) => format!("Used by 1 integration and {t} tenants."),
        (i, 1) => format!("Used by {i} integrations and 1 tenant."),
        (i, t) => format!("Used by {i} integrations and {t} tenants."),
    }
}

#[component]
fn ConnectorCard(c: ConnectorInfo, manage: bool) -> impl IntoView {
    let heading = format!("connector-{}", c.name);
    let labelled = heading.clone();
    let page = format!("/connectors/{}", c.name);
    let marker = c.name.clone();
    view! {
        <article class="card connector" aria-labelledby=labelled data-connector=marker>
            <h2 id=heading>{c.display_name}</h2>
            <p>
                <span class=format!("badge kind-{}", c.auth)>{c.auth_label}</span>" "
                <span class="mono muted small">{c.name}</span>
                <span class="muted small" data-testid="source">{format!(" · from {}", c.source)}</span>
            </p>
            {(!c.missing_vars.is_empty()).then(|| {
                let or = if c.from_file { "." } else { ", or enable it here with the app's client id and secret." };
                view! { <p class="notice warning small">"Not configured: set "{c.missing_vars.join(", ")}" on the hub"{or}</p> }
            })}
            {(!c.parameters.is_empty()).then(|| view! {
                <p class="small">"Each connection is asked for: "{c.parameters.join(", ")}</p>
            })}
            <p class="small" data-testid="usage">{tenants_words(c.integrations, c.tenants)}</p>
            <p class="info">{if c.info.is_empty() { "No description.".to_owned() } else { c.info }}</p>
            <Links register=c.register_url docs=c.docs_url/>
            {manage.then(|| view! { <p><a class="btn small" href=page>"Manage"</a></p> })}
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

/// The shipped catalogue, searched and filtered by category in the page's address.
#[component]
fn Catalogue(
    items: Vec<CatalogueItem>,
    total: usize,
    categories: Vec<String>,
    q: String,
    category: String,
    manage: bool,
) -> impl IntoView {
    let filtered = !q.is_empty() || !category.is_empty();
    let count = if filtered { format!("{} of {total}", items.len()) } else { total.to_string() };
    view! {
        <section class="section" aria-labelledby="catalogue-heading">
            <h2 id="catalogue-heading">{format!("Catalogue ({count} connectors)")}</h2>
            <p class="muted">
                "Definitions shipped with the hub. Enable one with the client id and secret of the app you register with the provider; the operator can also name them in HUB_CATALOGUE. A definition of the same name in the connectors folder comes first."
            </p>
            <form class="filters" method="get" action="/connectors" role="search" aria-label="Search the catalogue">
                <div class="field">
                    <label for="catalogue-q">"Search"</label>
                    <input id="catalogue-q" name="q" type="search" value=q placeholder="crm, shop, mail"/>
                </div>
                <div class="field">
                    <label for="catalogue-category">"Category"</label>
                    <select id="catalogue-category" name="category">
                        <option value="" selected=category.is_empty()>"All categories"</option>
                        {categories.into_iter().map(|c| {
                            let selected = c == category;
                            view! { <option value=c.clone() selected=selected>{c.clone()}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <div class="filter-actions">
                    <button type="submit" class="btn">"Apply"</button>
                    {filtered.then(|| view! { <a class="btn link" href="/connectors">"Clear"</a> })}
                </div>
            </form>
            {if items.is_empty() {
                view! { <p class="muted" data-testid="catalogue-empty">"No catalogue connector matches."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table class="data-table" data-testid="catalogue">
                            <thead>
                                <tr>
                                    <th scope="col">"Connector"</th>
                                    <th scope="col">"Category"</th>
                                    <th scope="col">"Kind"</th>
                                    <th scope="col">"Enabling needs"</th>
                                    <th scope="col">"Links"</th>
                                    <th scope="col">"State"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {items.into_iter().map(|c| {
                                    let page = format!("/connectors/{}", c.name);
                                    let state = match (&c.in_use, manage) {
                                        (Some(from), true) => view! {
                                            <span class="badge active" title=format!("from {from}")>"In use"</span>" "
                                            <a href=page>"Manage"</a>
                                        }.into_any(),
                                        (Some(from), false) => view! { <span class="badge active" title=format!("from {from}")>"In use"</span> }.into_any(),
                                        (None, true) => view! { <a class="btn small" href=page>"Enable"</a> }.into_any(),
                                        (None, false) => view! { <span class="muted">"Not enabled"</span> }.into_any(),
                                    };
                                    let marker = c.name.clone();
                                    view! {
                                        <tr data-connector=marker>
                                            <th scope="row">{c.display_name}" "<span class="mono muted small">{c.name}</span></th>
                                            <td>{c.category}</td>
                                            <td>{c.auth_label}</td>
                                            <td class="small">{c.needs}</td>
                                            <td><Links register=c.register_url docs=c.docs_url/></td>
                                            <td>{state}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}

/// An empty definition to start from.
const TEMPLATE: &str = "name: acme-crm
display_name: Acme CRM
category: CRM
auth: oauth2
oauth2:
  authorize_url: https://login.acme.example/oauth/authorize
  token_url: https://login.acme.example/oauth/token
  scopes: [contacts.read]
api_base_url: https://api.acme.example/v1
info: Acme CRM's contacts.
";

/// `/connectors/new`: a connector of the company's own.
#[component]
pub fn NewConnectorPage() -> impl IntoView {
    let editor = ConnectorEditor { oauth2: true, definition: TEMPLATE.to_owned(), ..Default::default() };
    let save = ServerAction::<SaveConnector>::new();
    view! {
        <PageHeader title="Write a Connector"
            lead="A definition in YAML, in the shape of the catalogue's: the hub checks it before saving, and it is in use at once."
            breadcrumbs=vec![("Connectors".to_owned(), "/connectors".to_owned())]/>
        <CustomForm e=editor save=save/>
    }
}

/// `/connectors/:name`: one connector, with what may be changed. The page's data is
/// read again after each change that was saved.
#[component]
pub fn ConnectorPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let name = Memo::new(move |_| params.with(|p| p.get("name").unwrap_or_default()));
    let enable = ServerAction::<EnableConnector>::new();
    let save = ServerAction::<SaveConnector>::new();
    let (enable_ok, save_ok) = (successes(enable), successes(save));
    let data = Resource::new(move || (name.get(), enable_ok.get(), save_ok.get()), |(name, ..)| get_connector(name));
    let saved = move || query.read().get("saved").and_then(|k| saved_notice(&k));
    view! {
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                let e = match data.await {
                    Ok(e) => e,
                    Err(err) => return view! { <PageHeader title="Connector"/><ErrorNotice error=err/> }.into_any(),
                };
                let lead = match &e.source {
                    Some(from) => format!("{} · in use, from {from}", e.auth_label),
                    None => format!("{} · in the catalogue, not enabled", e.auth_label),
                };
                view! {
                    <PageHeader title=e.display_name.clone() lead=lead
                        breadcrumbs=vec![("Connectors".to_owned(), "/connectors".to_owned())]/>
                    {move || saved().map(|m| view! { <p class="notice success" role="status">{m}</p> })}
                    {e.problem.clone().map(|p| view! { <p class="notice error" role="alert">"This connector cannot be used: "{p}</p> })}
                    <p class="small" data-testid="usage">{tenants_words(e.integrations, e.tenants)}</p>
                    {if e.from_file {
                        view! {
                            <p class="notice">
                                "This connector is defined by a file of the hub's connectors folder, which comes first: change that file and restart the hub."
                            </p>
                        }.into_any()
                    } else if e.custom {
                        view! { <CustomForm e=e.clone() save=save/> }.into_any()
                    } else {
                        view! { <EnableForm e=e.clone() enable=enable/> }.into_any()
                    }}
                    {e.in_console.then(|| view! { <RemoveForm e=e.clone()/> })}
                }.into_any()
            })}
        </Transition>
    }
}

/// The client id and secret fields, and the confirmation a connector in use needs.
#[component]
fn ClientFields(e: ConnectorEditor, error: Signal<Option<AppError>>) -> impl IntoView {
    let client_id = error.get_untracked().and_then(|x| x.kept("client_id")).unwrap_or_else(|| e.client_id.clone());
    let warning = e.warning.clone();
    let warned = warning.is_some();
    // A written definition may turn into OAuth 2.0 while it is edited: its form always
    // has the fields.
    let oauth2 = e.oauth2 || e.custom || e.name.is_empty();
    view! {
        {oauth2.then(|| view! {
            <p class="small">
                {if e.custom || e.name.is_empty() { "For an OAuth 2.0 connector: register" } else { "Register" }}
                " an app with the provider, give it this redirect URI: "
                <code class="mono">{e.callback_url.clone()}</code>
                ", and paste its client id and secret."
            </p>
            <div class="field-row">
                <div class="field">
                    <label for="client_id">"Client id"</label>
                    <input id="client_id" name="client_id" type="text" autocomplete="off" value=client_id
                        aria-invalid=move || field_error(error, "client_id").get().is_some().then_some("true")/>
                    {move || field_error(error, "client_id").get().map(|m| view! { <p class="field-error">{m}</p> })}
                </div>
                <div class="field">
                    <label for="client_secret">"Client secret"</label>
                    <input id="client_secret" name="client_secret" type="password" autocomplete="off"
                        aria-invalid=move || field_error(error, "client_secret").get().is_some().then_some("true")/>
                    <p class="hint-text">{if e.has_secret {
                        "A secret is stored (it is never shown). Leave empty to keep it."
                    } else {
                        "Sealed with the hub's key and never shown again."
                    }}</p>
                    {move || field_error(error, "client_secret").get().map(|m| view! { <p class="field-error">{m}</p> })}
                </div>
            </div>
        })}
        {warning.map(|w| view! {
            <div class="field">
                <p class="notice warning" data-testid="in-use-warning">{w}</p>
                <label class="check">
                    <input type="checkbox" name="confirm" value="on"/>
                    {if e.tenants == 1 {
                        "Save although 1 tenant uses it".to_owned()
                    } else {
                        format!("Save although {} tenants use it", e.tenants)
                    }}
                </label>
                {move || field_error(error, "confirm").get().map(|m| view! { <p class="field-error">{m}</p> })}
            </div>
        })}
        // Tenants came to use it (or a name of theirs) after the page was shown.
        {move || (!warned).then(|| field_error(error, "confirm").get()).flatten().map(|m| view! {
            <div class="field">
                <p class="field-error">{m}</p>
                <label class="check"><input type="checkbox" name="confirm" value="on"/>"Save anyway"</label>
            </div>
        })}
        {move || error.get().filter(|x| !matches!(x, AppError::Validation { .. })).map(|x| view! { <ErrorNotice error=x/> })}
    }
}

/// Enables a catalogue connector, or replaces its client id and secret.
#[component]
fn EnableForm(e: ConnectorEditor, enable: ServerAction<EnableConnector>) -> impl IntoView {
    let error = Signal::derive(move || enable.value().get().and_then(Result::err));
    let label = if e.in_console { "Save" } else { "Enable Connector" };
    let shipped = e.catalogue.clone().unwrap_or_default();
    view! {
        <ActionForm action=enable attr:class="form card">
            <input type="hidden" name="name" value=e.name.clone()/>
            {(!e.oauth2).then(|| view! {
                <p>"Each tenant gives its own credentials when it connects: enabling needs nothing else."</p>
            })}
            <ClientFields e=e.clone() error=error/>
            <div class="form-actions">
                <button type="submit" class="btn primary">{label}</button>
                <a class="btn" href="/connectors">"Cancel"</a>
            </div>
        </ActionForm>
        <details class="card section">
            <summary>"The catalogue's definition"</summary>
            <pre class="mono small" data-testid="shipped-definition">{shipped}</pre>
        </details>
    }
}

/// The editor of a connector the company writes: its YAML, checked on save.
#[component]
fn CustomForm(e: ConnectorEditor, save: ServerAction<SaveConnector>) -> impl IntoView {
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    let text = error.get_untracked().and_then(|x| x.kept("definition")).unwrap_or_else(|| e.definition.clone());
    let rows = text.lines().count().clamp(12, 40).to_string();
    let new = e.name.is_empty();
    view! {
        <ActionForm action=save attr:class="form card">
            <input type="hidden" name="name" value=e.name.clone()/>
            <div class="field">
                <label for="definition">"Definition (YAML)"</label>
                <textarea id="definition" name="definition" class="mono" rows=rows spellcheck="false"
                    aria-describedby="definition-hint"
                    aria-invalid=move || field_error(error, "definition").get().is_some().then_some("true")>{text}</textarea>
                <p class="hint-text" id="definition-hint">
                    "The keys of the connectors folder's files (name, display_name, auth, oauth2, parameters, fields, api_base_url, info). The client id and secret go in their fields below, not here."
                </p>
                {move || field_error(error, "definition").get().map(|m| view! { <p class="field-error" data-testid="definition-error">{m}</p> })}
            </div>
            <ClientFields e=e.clone() error=error/>
            <div class="form-actions">
                <button type="submit" class="btn primary">{if new { "Save Connector" } else { "Save Changes" }}</button>
                <a class="btn" href="/connectors">"Cancel"</a>
            </div>
        </ActionForm>
    }
}

/// Takes a console connector out of use.
#[component]
fn RemoveForm(e: ConnectorEditor) -> impl IntoView {
    let remove = ServerAction::<RemoveConnector>::new();
    let error = Signal::derive(move || remove.value().get().and_then(Result::err));
    let what = if e.custom {
        "Remove this connector: the hub forgets its definition and client secret."
    } else {
        "Disable this connector: the hub forgets the client id and secret; the catalogue keeps its definition."
    };
    view! {
        <section class="card section" aria-labelledby="remove-heading">
            <h2 id="remove-heading">{if e.custom { "Remove" } else { "Disable" }}</h2>
            <p class="small">{what}" Integrations that name it must drop it first."</p>
            <ActionForm action=remove attr:class="form inline-form">
                <input type="hidden" name="name" value=e.name.clone()/>
                <button type="submit" class="btn danger">{if e.custom { "Remove Connector" } else { "Disable Connector" }}</button>
            </ActionForm>
            {move || error.get().map(|x| view! { <ErrorNotice error=x/> })}
        </section>
    }
}
