//! `/embed/apps/:id`: one of the user's installed integrations: its connections,
//! settings, schedule and syncs, and Uninstall.

use hub_core::domain::connector::{AuthKind, ConnectionStatus};
use hub_core::domain::schedule::Preset;
use hub_core::domain::tenant::SetupStep;
use leptos::prelude::*;

use super::frame::{carried, done_notice, id_param, use_embed, Embed, Frame, Refused};
use crate::api::embed::{
    embed_app, EmbedConfigure, EmbedConnection, EmbedContinue, EmbedCredentials, EmbedDisconnect, EmbedRun,
    EmbedSchedule, EmbedUninstall, MarketApp,
};
use crate::components::config_form::ConfigFields;
use crate::components::connection::ConnectionBadge;
use crate::components::form::successes;
use crate::components::loading::Loading;
use crate::components::page::RefreshWhileBusy;
use crate::error::AppError;

/// `/embed/apps/:id`: one of the user's installed integrations: connect, configure,
/// schedule, run, see recent runs, uninstall. In the auth-only form, only connect.
#[component]
pub fn EmbedAppPage() -> impl IntoView {
    let e = use_embed(None);
    let id = id_param();
    let credentials = ServerAction::<EmbedCredentials>::new();
    let cont = ServerAction::<EmbedContinue>::new();
    let configure = ServerAction::<EmbedConfigure>::new();
    let schedule = ServerAction::<EmbedSchedule>::new();
    let run = ServerAction::<EmbedRun>::new();
    let disconnect = ServerAction::<EmbedDisconnect>::new();
    let uninstall = ServerAction::<EmbedUninstall>::new();
    let refresh = RwSignal::new(0usize);
    let (credentials_ok, configure_ok, schedule_ok) =
        (successes(credentials), successes(configure), successes(schedule));
    let data = Resource::new(
        move || {
            (
                e.get().token,
                id.get(),
                refresh.get()
                    + credentials_ok.get()
                    + cont.version().get()
                    + configure_ok.get()
                    + schedule_ok.get()
                    + run.version().get()
                    + disconnect.version().get(),
            )
        },
        |(token, id, _)| async move { embed_app(token, id.ok_or(AppError::NotFound)?).await },
    );
    let action_error = Signal::derive(move || {
        credentials
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| cont.value().get().and_then(Result::err))
            .or_else(|| schedule.value().get().and_then(Result::err))
            .or_else(|| run.value().get().and_then(Result::err))
            .or_else(|| disconnect.value().get().and_then(Result::err))
            .or_else(|| uninstall.value().get().and_then(Result::err))
    });
    let config_error = Signal::derive(move || configure.value().get().and_then(Result::err));
    view! {
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                let e = e.get_untracked();
                let a = match data.await {
                    Ok(a) => a,
                    Err(err) => return view! { <Refused error=err/> }.into_any(),
                };
                let auth_only = e.form == "auth";
                let all_connected = a.connections.iter().all(|c| c.connected);
                view! {
                    <Frame brand=a.brand.clone() e=e.clone()>
                        <RefreshWhileBusy busy=a.busy refetch=move |()| refresh.update(|n| *n += 1)/>
                        {done_notice()}
                        <h1 data-testid="app-title">{a.integration.clone()}</h1>
                        {move || action_error.get().map(|err| view! { <p class="notice error" role="alert">{err.to_string()}</p> })}
                        <section class="embed-section" aria-labelledby="connect-heading">
                            <h2 id="connect-heading">"Connect"</h2>
                            {if a.connections.is_empty() {
                                view! { <p class="muted">"Nothing to connect: this integration needs no credentials."</p> }.into_any()
                            } else {
                                a.connections.iter().cloned().map(|c| view! {
                                    <ConnectionCard c=c e=e.clone() tenant=a.id credentials=credentials disconnect=disconnect/>
                                }).collect_view().into_any()
                            }}
                            <p class="small"><a href=e.href(&format!("/embed/apps/{}", a.id)) data-testid="check-again"
                                on:click=move |ev| { ev.prevent_default(); refresh.update(|n| *n += 1); }>"Check again"</a>
                                <span class="muted">" after signing in elsewhere."</span></p>
                            {(all_connected && auth_only).then(|| view! {
                                <p class="notice success" role="status" data-testid="all-connected">"Everything is connected."</p>
                            })}
                            {(a.step == SetupStep::Credentials && !auth_only).then(|| { let e = e.clone(); view! {
                                <ActionForm action=cont>
                                    {carried(&e)}
                                    <input type="hidden" name="tenant_id" value=a.id/>
                                    <button type="submit" class="btn primary embed-primary" disabled=!all_connected>"Continue"</button>
                                    {(!all_connected).then(|| view! { <span class="muted small">" Connect everything above first."</span> })}
                                </ActionForm>
                            }})}
                        </section>
                        {(!auth_only).then(|| view! {
                            <AppSettings a=a.clone() e=e.clone() configure=configure config_error=config_error schedule=schedule/>
                            <RunsSection a=a.clone() e=e.clone() run=run/>
                            <section class="embed-section" aria-labelledby="uninstall-heading">
                                <h2 id="uninstall-heading">"Uninstall"</h2>
                                <details class="confirm">
                                    <summary class="btn danger">"Uninstall"</summary>
                                    <div class="confirm-box">
                                        <p>"Uninstall this integration? It stops syncing at once."</p>
                                        <ActionForm action=uninstall>
                                            {carried(&e)}
                                            <input type="hidden" name="tenant_id" value=a.id/>
                                            <button type="submit" class="btn danger-solid">"Yes, uninstall"</button>
                                        </ActionForm>
                                    </div>
                                </details>
                            </section>
                        })}
                    </Frame>
                }.into_any()
            })}
        </Transition>
    }
}

#[component]
fn ConnectionCard(
    c: EmbedConnection,
    e: Embed,
    tenant: i64,
    credentials: ServerAction<EmbedCredentials>,
    disconnect: ServerAction<EmbedDisconnect>,
) -> impl IntoView {
    let error = Signal::derive(move || credentials.value().get().and_then(Result::err));
    let connector = c.connector.clone();
    let e2 = e.clone();
    let name = c.connector.clone();
    // The same badge as in the console: connected, or not.
    let status = if c.connected { ConnectionStatus::Connected } else { ConnectionStatus::Disconnected };
    let body = match c.auth {
        AuthKind::Oauth2 => view! {
            <p>
                <a class="btn primary embed-primary" href=c.start_url.clone() target="_blank" rel="external noopener">
                    {if c.connected { format!("Reconnect {}", c.display_name) } else { format!("Connect {}", c.display_name) }}
                </a>
                " "<span class="muted small">"Opens a new window to sign in."</span>
            </p>
        }.into_any(),
        AuthKind::ApiKey | AuthKind::Basic => view! {
            <ActionForm action=credentials attr:class="form" attr:novalidate=true>
                {carried(&e)}
                <input type="hidden" name="tenant_id" value=tenant/>
                <input type="hidden" name="connector" value=connector.clone()/>
                {c.fields.iter().map(|(name, label, secret)| {
                    let key = format!("cred.{connector}.{name}");
                    let id = format!("cred-{connector}-{name}");
                    view! {
                        <div class="field">
                            <label for=id.clone()>{label.clone()}</label>
                            <input id=id name=format!("fields[{name}]") type=if *secret { "password" } else { "text" } autocomplete="off"/>
                            {move || error.get().and_then(|e| e.field_message(&key)).map(|m| view! { <p class="field-error">{m}</p> })}
                        </div>
                    }
                }).collect_view()}
                <button type="submit" class="btn">{if c.connected { "Replace" } else { "Save" }}</button>
            </ActionForm>
        }.into_any(),
        AuthKind::None => view! { <p class="muted">"No credentials needed."</p> }.into_any(),
    };
    view! {
        <div class="card connector-block" data-connector=c.connector.clone()>
            <h3>{c.display_name.clone()}" "
                <ConnectionBadge status=status/>
            </h3>
            {c.status_reason.clone().map(|r| view! { <p class="muted small">{r}</p> })}
            {body}
            {(c.connected && c.auth != AuthKind::None).then(|| view! {
                <ActionForm action=disconnect>
                    {carried(&e2)}
                    <input type="hidden" name="tenant_id" value=tenant/>
                    <input type="hidden" name="connector" value=name/>
                    <button type="submit" class="btn small">"Disconnect"</button>
                </ActionForm>
            })}
        </div>
    }
}

#[component]
fn AppSettings(
    a: MarketApp,
    e: Embed,
    configure: ServerAction<EmbedConfigure>,
    config_error: Signal<Option<AppError>>,
    schedule: ServerAction<EmbedSchedule>,
) -> impl IntoView {
    let configured = !matches!(a.step, SetupStep::Credentials | SetupStep::Configuration);
    let e2 = e.clone();
    let settings = match (a.step, a.form.clone()) {
        (SetupStep::Credentials, _) => view! { <p class="muted">"Connect first; then choose the settings."</p> }.into_any(),
        (_, None) => view! { <p class="notice warning">"There is nothing to configure yet."</p> }.into_any(),
        (_, Some(form)) => view! {
            {a.waiting_for_choices.then(|| view! {
                <p class="notice warning" role="status" data-testid="waiting-for-choices">
                    {format!("Some choices come from {} itself; they appear here once the first sync has fetched them.", a.integration)}
                </p>
            })}
            {move || config_error.get().map(|err| view! { <p class="notice error" role="alert">{err.to_string()}</p> })}
            <ActionForm action=configure attr:class="form config-form" attr:novalidate=true>
                {carried(&e)}
                <input type="hidden" name="tenant_id" value=a.id/>
                <ConfigFields form=form dynamic=a.dynamic.clone() raw=a.raw.clone() server_error=config_error/>
                <button type="submit" class="btn primary embed-primary">"Save settings"</button>
            </ActionForm>
        }.into_any(),
    };
    let schedule_body = if configured {
        let current = a.preset.clone();
        view! {
            <p class="muted small" data-testid="app-schedule">{format!("Now: {}{}", a.schedule_text, if a.paused { ", paused" } else { "" })}</p>
            <ActionForm action=schedule attr:class="form">
                {carried(&e2)}
                <input type="hidden" name="tenant_id" value=a.id/>
                <div class="field">
                    <label for="preset">"How often"</label>
                    <select id="preset" name="preset">
                        {Preset::ALL.into_iter().map(|p| view! {
                            <option value=p.as_str() selected=p.as_str() == current>{p.label()}</option>
                        }).collect_view()}
                    </select>
                </div>
                <fieldset class="field">
                    <legend>"Syncing"</legend>
                    <label class="check"><input type="radio" name="paused" value="false" checked=!a.paused || a.step != SetupStep::Done/>"On"</label>
                    <label class="check"><input type="radio" name="paused" value="true" checked=a.paused && a.step == SetupStep::Done/>"Paused"</label>
                </fieldset>
                <button type="submit" class="btn primary embed-primary">
                    {if a.step == SetupStep::Done { "Save schedule" } else { "Finish" }}
                </button>
            </ActionForm>
        }.into_any()
    } else {
        view! { <p class="muted">"Save the settings first; then choose how often to sync."</p> }.into_any()
    };
    view! {
        <section class="embed-section" aria-labelledby="settings-heading">
            <h2 id="settings-heading">"Settings"</h2>
            {settings}
        </section>
        <section class="embed-section" aria-labelledby="schedule-heading">
            <h2 id="schedule-heading">"Schedule"</h2>
            {schedule_body}
        </section>
    }
}

#[component]
fn RunsSection(a: MarketApp, e: Embed, run: ServerAction<EmbedRun>) -> impl IntoView {
    let MarketApp { step, id, runs, .. } = a;
    view! {
        <section class="embed-section" aria-labelledby="runs-heading">
            <h2 id="runs-heading">"Syncs"</h2>
            {if step == SetupStep::Done {
                view! {
                    <ActionForm action=run>
                        {carried(&e)}
                        <input type="hidden" name="tenant_id" value=id/>
                        <button type="submit" class="btn primary embed-primary">"Sync now"</button>
                    </ActionForm>
                }.into_any()
            } else {
                view! { <p class="muted">"Syncs can be run once the setup is finished."</p> }.into_any()
            }}
            {if runs.is_empty() {
                view! { <p class="muted" data-testid="no-runs">"No syncs yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="embed-runs" data-testid="runs">
                        {runs.into_iter().map(|r| view! {
                            <li data-run=r.id data-phase=r.phase_code.as_str()>
                                <details>
                                    <summary>
                                        <span data-testid="run-phase">{r.phase.clone()}</span>
                                        {format!(" · {} · {}{}", r.mode.as_str(), r.started, r.duration.clone().map(|d| format!(" · {d}")).unwrap_or_default())}
                                    </summary>
                                    <pre class="log" data-testid="run-log">{if r.log.is_empty() { "(no log)".to_owned() } else { r.log.clone() }}</pre>
                                </details>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}
