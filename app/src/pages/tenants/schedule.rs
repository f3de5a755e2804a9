//! `/tenants/:id/schedule`: the sync schedule form (also the creation flow's last
//! step), simple or advanced, with a preview of the next fire times.

use hub_core::domain::schedule::Preset;
use hub_core::domain::tenant::ScheduleInput;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::detail::tenant_resource;
use crate::api::tenants::{preview_schedule, time_zone_names, SaveTenantSchedule, SchedulePreview, TenantSetup};
use crate::components::form::field_error;
use crate::components::loading::Loading;
use crate::components::page::{ErrorNotice, PageHeader};
use crate::error::AppError;

/// `/tenants/:id/schedule`: simple or advanced, and paused or running.
#[component]
pub fn SchedulePage() -> impl IntoView {
    let save = ServerAction::<SaveTenantSchedule>::new();
    let data = tenant_resource(|| 0);
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let t = match data.await {
                    Ok(t) => t,
                    Err(e) => return view! { <PageHeader title="Sync Schedule"/><ErrorNotice error=e/> }.into_any(),
                };
                view! {
                    <PageHeader title="Sync Schedule" doc_title=format!("Sync Schedule · {}", t.name) no_actions=true
                        breadcrumbs=vec![("Tenants".to_owned(), "/tenants".to_owned()), (t.name.clone(), format!("/tenants/{}", t.id))]
                        lead=format!("Now: {}", t.schedule_text)/>
                    <ScheduleStep t=t.clone() action=save standalone=true/>
                }.into_any()
            })}
        </Suspense>
    }
}

/// The schedule form: the creation flow's last step, or the tenant's Sync Schedule page.
#[component]
pub(super) fn ScheduleStep(
    t: TenantSetup,
    action: ServerAction<SaveTenantSchedule>,
    /// The tenant's own Sync Schedule page rather than a step of the creation flow.
    #[prop(optional)]
    standalone: bool,
) -> impl IntoView {
    let query = use_query_map();
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    // The starting values: a preview request without JavaScript, a failed save, a
    // draft, or what is stored.
    let from_query = query.with_untracked(|q| {
        q.get("preview").map(|_| {
            let get = |k: &str| q.get(&format!("input[{k}]")).unwrap_or_default();
            (
                ScheduleInput {
                    kind: get("kind"),
                    preset: get("preset"),
                    cron: get("cron"),
                    timezone: get("timezone"),
                },
                q.get("paused").is_none_or(|p| p != "false"),
            )
        })
    });
    let kept = error.get_untracked().map(|e| {
        let get = |k: &str| e.kept(k).unwrap_or_default();
        (
            ScheduleInput { kind: get("kind"), preset: get("preset"), cron: get("cron"), timezone: get("timezone") },
            get("paused") != "false",
        )
    });
    let (start, paused) = from_query.or(kept).unwrap_or((t.schedule.clone(), t.paused));
    let kind = RwSignal::new(if start.kind.is_empty() { "simple".to_owned() } else { start.kind.clone() });
    let preset =
        RwSignal::new(if start.preset.is_empty() { Preset::Daily.as_str().to_owned() } else { start.preset.clone() });
    let cron = RwSignal::new(start.cron.clone());
    let timezone = RwSignal::new(if start.timezone.is_empty() { "UTC".to_owned() } else { start.timezone.clone() });
    let tenant_id = t.id;
    let typed = Memo::new(move |_| ScheduleInput {
        kind: kind.get(),
        preset: preset.get(),
        cron: cron.get(),
        timezone: timezone.get(),
    });
    // The server reads what is typed: the same check it makes on save, and the next fire times.
    let preview = Resource::new(move || typed.get(), move |input| preview_schedule(tenant_id, input));
    let zones = Resource::new(|| (), |_| time_zone_names());
    let touched = RwSignal::new(false);
    let live = move |field: &'static str| {
        Signal::derive(move || {
            if touched.get() && kind.get() == "advanced" {
                match preview.get() {
                    Some(Ok(SchedulePreview::Invalid { field: f, message })) if f == field => Some(message),
                    _ => None,
                }
            } else {
                field_error(error, field).get()
            }
        })
    };
    let cron_error = live("cron");
    let tz_error = live("timezone");
    let preview_button = format!(
        r#"<button type="submit" class="btn" name="preview" value="1" formmethod="get" formaction="{}">Preview</button>"#,
        if standalone {
            format!("/tenants/{tenant_id}/schedule")
        } else {
            format!("/tenants/{tenant_id}/setup/schedule")
        }
    );
    let back =
        if standalone { format!("/tenants/{tenant_id}") } else { format!("/tenants/{tenant_id}/setup/configuration") };
    view! {
        {move || error.get().filter(|e| !matches!(e, AppError::Validation { .. })).map(|e| view! { <ErrorNotice error=e/> })}
        <ActionForm action=action attr:class="form card schedule-form" attr:novalidate=true>
            <input type="hidden" name="tenant_id" value=tenant_id/>
            <fieldset class="field">
                <legend>"Schedule type"</legend>
                <label class="check">
                    <input type="radio" name="input[kind]" value="simple" checked=start.kind != "advanced"
                        on:change=move |_| kind.set("simple".into())/>
                    "Simple"
                </label>
                <div class="radio-indent">
                    <label for="preset" class="visually-hidden">"How often"</label>
                    <select id="preset" name="input[preset]" on:change=move |ev| { preset.set(event_target_value(&ev)); kind.set("simple".into()); }>
                        {Preset::ALL.into_iter().map(|p| view! {
                            <option value=p.as_str() selected=preset.get_untracked() == p.as_str()>{p.label()}</option>
                        }).collect_view()}
                    </select>
                </div>
                <label class="check">
                    <input type="radio" name="input[kind]" value="advanced" checked=start.kind == "advanced"
                        on:change=move |_| kind.set("advanced".into())/>
                    "Advanced (cron expression)"
                </label>
                <div class="radio-indent field-row">
                    <div class="field">
                        <label for="cron">"Cron expression"</label>
                        <p class="hint-text" id="cron-hint">"Five fields: minute, hour, day of month, month, day of week. Example: 30 9 * * mon-fri"</p>
                        <input id="cron" name="input[cron]" type="text" class="mono" value=start.cron.clone() placeholder="0 * * * *"
                            autocomplete="off" aria-describedby="cron-hint cron-error"
                            aria-invalid=move || cron_error.get().is_some().then_some("true")
                            on:input=move |ev| { cron.set(event_target_value(&ev)); kind.set("advanced".into()); touched.set(true); }/>
                        {move || cron_error.get().map(|m| view! { <p class="field-error" id="cron-error">{m}</p> })}
                    </div>
                    <div class="field">
                        <label for="timezone">"Time zone"</label>
                        <input id="timezone" name="input[timezone]" type="text" list="timezones" value=timezone.get_untracked()
                            autocomplete="off" aria-invalid=move || tz_error.get().is_some().then_some("true")
                            on:input=move |ev| { timezone.set(event_target_value(&ev)); touched.set(true); }/>
                        <datalist id="timezones">
                            <Suspense>
                                {move || Suspend::new(async move {
                                    zones.await.unwrap_or_default().into_iter().map(|name| view! { <option value=name/> }).collect_view()
                                })}
                            </Suspense>
                        </datalist>
                        {move || tz_error.get().map(|m| view! { <p class="field-error" id="timezone-error">{m}</p> })}
                    </div>
                </div>
                <div class="schedule-preview" aria-live="polite" data-testid="schedule-preview">
                    <Transition fallback=Loading>
                        {move || Suspend::new(async move {
                            match preview.await {
                                Ok(SchedulePreview::Fires { reading, times }) => view! {
                                    <p class="strong" data-testid="schedule-reading">{reading}</p>
                                    <p class="muted small">"Next five runs:"</p>
                                    <ol class="fire-times">{times.into_iter().map(|t| view! { <li>{t}</li> }).collect_view()}</ol>
                                }.into_any(),
                                Ok(SchedulePreview::Invalid { message, .. }) => {
                                    view! { <p class="field-error" data-testid="schedule-invalid">{message}</p> }.into_any()
                                }
                                Err(e) => view! { <p class="field-error" data-testid="schedule-invalid">{e.to_string()}</p> }.into_any(),
                            }
                        })}
                    </Transition>
                </div>
                <noscript inner_html=preview_button/>
            </fieldset>
            <fieldset class="field">
                <legend>"When saved"</legend>
                <label class="check">
                    <input type="radio" name="paused" value="true" checked=paused/>
                    "Paused: do not sync until it is started"
                </label>
                <label class="check">
                    <input type="radio" name="paused" value="false" checked=!paused/>
                    "Running: start syncing on this schedule"
                </label>
            </fieldset>
            <div class="form-actions">
                <a class="btn" href=back>{if standalone { "Cancel" } else { "Back" }}</a>
                <button type="submit" class="btn primary" disabled=move || action.pending().get()>"Save Changes"</button>
            </div>
        </ActionForm>
    }
}
