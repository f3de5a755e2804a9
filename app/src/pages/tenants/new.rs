//! `/tenants/new`: the first step of creating a tenant, choosing the integration and
//! then its release and the tenant's name.

use hub_core::domain::tenant::{check_name, NAME_MAX};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::setup::Stepper;
use crate::api::integrations::list_integrations;
use crate::api::tenants::{get_new_tenant_form, CreateTenant, NewTenantForm};
use crate::components::form::field_error;
use crate::components::loading::Loading;
use crate::components::page::{EmptyState, ErrorNotice, PageHeader};
use crate::components::release::ReleaseFields;
use crate::error::AppError;

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
        <Suspense fallback=Loading>
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

#[component]
fn StepOne(integration_id: i64) -> impl IntoView {
    let data = Resource::new(move || integration_id, get_new_tenant_form);
    let create = ServerAction::<CreateTenant>::new();
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    view! {
        <Suspense fallback=Loading>
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
        <PageHeader title="Create Tenant" lead=format!("Install {} for a customer.", form.integration_name) no_actions=true
            breadcrumbs=vec![
                ("Tenants".to_owned(), "/tenants".to_owned()),
                (form.integration_name.clone(), format!("/integrations/{}", form.integration_id)),
            ]/>
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
