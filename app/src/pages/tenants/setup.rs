//! `/tenants/:id/setup/:step`: the creation flow after the first step (credentials,
//! configuration, and schedule on a route of its own), its stepper, and the redirect
//! to the first unfinished step.

use hub_core::domain::tenant::SetupStep;
use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::schedule::ScheduleStep;
use crate::api::tenants::{
    get_tenant, FinishTenantCredentials, SaveTenantConfigs, SaveTenantCredentials, SaveTenantSchedule, TenantSetup,
};
use crate::components::config_form::ConfigFields;
use crate::components::connection::ConnectorBlock;
use crate::components::form::successes;
use crate::components::loading::Loading;
use crate::components::page::{ErrorNotice, PageHeader};
use crate::error::AppError;

/// The flow's steps, with the current one marked.
#[component]
pub(super) fn Stepper(
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

/// `/tenants/:id/setup`: the first unfinished step.
#[component]
pub fn SetupRedirect() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").and_then(|v| v.parse::<i64>().ok()));
    let data = Resource::new(move || id.get(), |id| async move { get_tenant(id.ok_or(AppError::NotFound)?).await });
    view! {
        <Suspense fallback=Loading>
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

/// `/tenants/:id/setup/:step`: the credentials and configuration steps.
#[component]
pub fn SetupPage() -> impl IntoView {
    view! { <SetupFrame body=early_step/> }
}

/// `/tenants/:id/setup/schedule`: the last step. A route of its own, so that the
/// schedule form's browser code is loaded only where it is shown, not with the
/// other steps' (it is as large as the configuration form's).
#[component]
pub fn SetupSchedulePage() -> impl IntoView {
    view! { <SetupFrame body=schedule_step fixed=SetupStep::Schedule/> }
}

/// The actions of the flow's steps, made where the page's data is read.
#[derive(Clone, Copy)]
struct StepActions {
    save_credentials: ServerAction<SaveTenantCredentials>,
    finish: ServerAction<FinishTenantCredentials>,
    save_configs: ServerAction<SaveTenantConfigs>,
    save_schedule: ServerAction<SaveTenantSchedule>,
}

fn early_step(t: &TenantSetup, step: SetupStep, a: StepActions) -> AnyView {
    match step {
        SetupStep::Configuration => view! { <ConfigurationStep t=t.clone() action=a.save_configs/> }.into_any(),
        _ => view! { <CredentialsStep t=t.clone() save=a.save_credentials finish=a.finish/> }.into_any(),
    }
}

fn schedule_step(t: &TenantSetup, _: SetupStep, a: StepActions) -> AnyView {
    view! { <ScheduleStep t=t.clone() action=a.save_schedule/> }.into_any()
}

/// A step of the flow under the stepper; `body` draws the step's form.
#[component]
fn SetupFrame(
    body: fn(&TenantSetup, SetupStep, StepActions) -> AnyView,
    /// The step of a route that has no `:step`.
    #[prop(optional)]
    fixed: Option<SetupStep>,
) -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").and_then(|v| v.parse::<i64>().ok()));
    let step = Memo::new(move |_| fixed.or_else(|| params.read().get("step").and_then(|s| SetupStep::parse(&s))));
    let save_credentials = ServerAction::<SaveTenantCredentials>::new();
    let finish = ServerAction::<FinishTenantCredentials>::new();
    let save_configs = ServerAction::<SaveTenantConfigs>::new();
    let save_schedule = ServerAction::<SaveTenantSchedule>::new();
    let (credentials_ok, configs_ok) = (successes(save_credentials), successes(save_configs));
    let data = Resource::new(
        move || (id.get(), credentials_ok.get(), configs_ok.get()),
        |(id, ..)| async move { get_tenant(id.ok_or(AppError::NotFound)?).await },
    );
    view! {
        <Suspense fallback=Loading>
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
                let body = body(&t, step, StepActions { save_credentials, finish, save_configs, save_schedule });
                view! {
                    <PageHeader title=step.label() doc_title=format!("{} · {}", step.label(), t.name) no_actions=true
                        breadcrumbs=vec![("Tenants".to_owned(), "/tenants".to_owned()), (t.name.clone(), format!("/tenants/{}", t.id))]
                        lead=format!("{} · {} · {}", t.name, t.integration_name, t.release)/>
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
