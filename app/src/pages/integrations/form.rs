//! `/integrations/new` and `/integrations/:id/edit`: the integration form, to create
//! an integration or to edit one.

use leptos::prelude::*;

use super::detail::param_id;
use crate::api::integrations::{get_integration_form, CreateIntegration, UpdateIntegration};
use crate::components::form::{field_error, TextField};
use crate::components::loading::Loading;
use crate::components::page::{ErrorNotice, PageHeader};
use crate::error::AppError;

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
        <Suspense fallback=Loading>
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
                            {form.connectors.iter().enumerate().map(|(i, (name, display, configured))| {
                                let name = name.clone();
                                let checked = { let name = name.clone(); move || chosen.get().contains(&name) };
                                view! {
                                    <label class="check">
                                        <input type="checkbox" name=format!("input[connectors][{i}]") value=name.clone() checked=checked/>
                                        {display.clone()}<span class="muted small">" ("{name}")"</span>
                                        {(!configured).then(|| view! {
                                            <span class="badge invited" title="Its OAuth app's client id and secret are not set: see Connectors">"not set up yet"</span>
                                        })}
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
