//! `/tenants/:id`: the tenant's page, with its connections, runs, marketplace user and
//! inbound webhook.

use hub_core::domain::connector::{AuthKind, ConnectionStatus};
use hub_core::domain::tenant::SetupStep;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::marketplace::LinkMarketplaceUser;
use crate::api::runs::RunTenant;
use crate::api::tenants::{
    get_tenant, ArchiveTenant, ConnectionView, DisconnectConnection, MakeTenantWebhook, ReplaceMagicLink, TenantSetup,
};
use crate::components::badge::TenantStateBadge;
use crate::components::connection::{ConnectionBadge, MagicLink, NotConfigured};
use crate::components::form::{field_error, TextField};
use crate::components::loading::Loading;
use crate::components::page::{ErrorNotice, PageHeader, RefreshWhileBusy};
use crate::components::runs_table::RunsTable;
use crate::error::AppError;

/// Loads the tenant named by the route's `:id`, refetching when `version` changes.
pub(super) fn tenant_resource(
    version: impl Fn() -> usize + Send + Sync + 'static,
) -> Resource<Result<TenantSetup, AppError>> {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").and_then(|v| v.parse::<i64>().ok()));
    Resource::new(
        move || (id.get(), version()),
        |(id, _)| async move { get_tenant(id.ok_or(AppError::NotFound)?).await },
    )
}

/// `/tenants/:id`: the tenant, its connections and its runs.
#[component]
pub fn TenantPage() -> impl IntoView {
    let query = use_query_map();
    let disconnect = ServerAction::<DisconnectConnection>::new();
    let replace = ServerAction::<ReplaceMagicLink>::new();
    let archive = ServerAction::<ArchiveTenant>::new();
    let run = ServerAction::<RunTenant>::new();
    let webhook = ServerAction::<MakeTenantWebhook>::new();
    let link = ServerAction::<LinkMarketplaceUser>::new();
    let refresh = RwSignal::new(0usize);
    let data = tenant_resource(move || {
        disconnect.version().get()
            + replace.version().get()
            + run.version().get()
            + webhook.version().get()
            + link.version().get()
            + refresh.get()
    });
    let notice = move || {
        query.with(|q| match q.get("done").as_deref() {
            Some("saved") => Some("Tenant saved."),
            Some("settings") => Some("Settings saved."),
            Some("schedule") => Some("Sync schedule saved."),
            Some("run-normal") => Some("A normal sync was asked for; it starts as soon as the tenant is free."),
            Some("run-init") => Some("An init sync was asked for; it starts as soon as the tenant is free."),
            Some("webhook") => Some("A new webhook URL was made; any earlier one no longer works."),
            Some("linked") => Some("Marketplace user saved."),
            Some("link") => Some("A new magic link was made; the old one now says it was replaced."),
            Some("disconnected") => {
                Some("Disconnected. The stored credentials were removed; the magic link stays the same.")
            }
            _ => None,
        })
    };
    let action_error = Signal::derive(move || {
        disconnect
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| replace.value().get().and_then(Result::err))
            .or_else(|| archive.value().get().and_then(Result::err))
            .or_else(|| run.value().get().and_then(Result::err))
            .or_else(|| webhook.value().get().and_then(Result::err))
            .or_else(|| link.value().get().and_then(Result::err).filter(|e| !matches!(e, AppError::Validation { .. })))
    });
    let run_notice = move || {
        run.value()
            .get()
            .and_then(Result::ok)
            .map(|()| "The sync was asked for; it starts as soon as the tenant is free.")
    };
    view! {
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                let t = match data.await {
                    Ok(t) => t,
                    Err(e) => return view! { <PageHeader title="Tenant"/><ErrorNotice error=e/> }.into_any(),
                };
                let last_run = t.runs.first().cloned();
                view! {
                    <Title text=t.name.clone()/>
                    <RefreshWhileBusy busy=t.run_active refetch=move |()| refresh.update(|n| *n += 1)/>
                    <div class="page-header">
                        <div>
                            <p class="crumbs"><a href="/tenants">"Tenants"</a>" / "
                                <a href=format!("/integrations/{}", t.integration_id)>{t.integration_name.clone()}</a></p>
                            <h1>
                                {t.name.clone()}" "
                                <TenantStateBadge paused=t.paused testid="tenant-state"/>
                            </h1>
                        </div>
                        <div class="page-actions">
                            <a class="btn" href=format!("/tenants/{}/settings", t.id)>"Settings"</a>
                            <a class="btn" href=format!("/tenants/{}/schedule", t.id)>"Sync Schedule"</a>
                            <details class="confirm">
                                <summary class="btn danger">"Archive"</summary>
                                <div class="confirm-box">
                                    <p>"Archive this tenant? It stops syncing and leaves the tenants list. Its history is kept."</p>
                                    <ActionForm action=archive>
                                        <input type="hidden" name="tenant_id" value=t.id/>
                                        <button type="submit" class="btn danger-solid">"Archive tenant"</button>
                                    </ActionForm>
                                </div>
                            </details>
                        </div>
                    </div>
                    {move || notice().or_else(run_notice).map(|n| view! { <p class="notice success" role="status">{n}</p> })}
                    {move || action_error.get().map(|e| view! { <ErrorNotice error=e/> })}
                    {(!t.lacks.is_empty()).then(|| view! {
                        <div class="notice warning" role="status" data-testid="tenant-lacks">
                            <p class="strong">"This tenant is not ready yet:"</p>
                            <ul>{t.lacks.iter().map(|l| view! { <li>{l.clone()}</li> }).collect_view()}</ul>
                            {(t.step != SetupStep::Done).then(|| view! {
                                <a class="btn small" href=format!("/tenants/{}/setup", t.id)>"Continue setup"</a>
                            })}
                        </div>
                    })}
                    <dl class="facts">
                        <div><dt>"Integration"</dt><dd><a href=format!("/integrations/{}", t.integration_id)>{t.integration_name.clone()}</a></dd></div>
                        <div><dt>"Release"</dt><dd data-testid="tenant-release">{t.release.clone()}</dd></div>
                        <div><dt>"Schedule"</dt><dd data-testid="tenant-schedule">{t.schedule_text.clone()}</dd></div>
                        <div><dt>"Next run"</dt><dd>{t.next_fire_at.clone().unwrap_or_else(|| if t.paused { "Paused".to_owned() } else { "—".to_owned() })}</dd></div>
                        <div><dt>"Last run"</dt><dd data-testid="tenant-last-run">{match last_run {
                            Some(r) => format!("{} · {}", r.phase, r.started),
                            None => "Never".to_owned(),
                        }}</dd></div>
                        <div><dt>"Source"</dt><dd data-testid="tenant-source">{match t.source.as_str() {
                            "marketplace" => "Marketplace",
                            "api" => "API",
                            _ => "Hub",
                        }}</dd></div>
                        {t.marketplace_user.clone().map(|(sub, name, email)| view! {
                            <div><dt>"Marketplace user"</dt><dd data-testid="tenant-end-user">
                                <span class="mono">{sub}</span>
                                {name.map(|n| format!(" · {n}"))}
                                {email.map(|e| format!(" · {e}"))}
                            </dd></div>
                        })}
                        <div><dt>"Created"</dt><dd>{t.created_at.clone()}</dd></div>
                    </dl>
                    <section class="section" aria-labelledby="connections-heading">
                        <h2 id="connections-heading">"Connector Status"</h2>
                        {if t.connections.is_empty() {
                            view! { <p class="muted">"This integration needs no credentials."</p> }.into_any()
                        } else {
                            t.connections.iter().cloned().map(|c| view! { <ConnectionStatus tenant_id=t.id c=c disconnect=disconnect replace=replace/> }).collect_view().into_any()
                        }}
                    </section>
                    <section class="section" aria-labelledby="runs-heading">
                        <div class="section-header">
                            <h2 id="runs-heading">"Runs"</h2>
                            <div class="row-actions">
                                <ActionForm action=run>
                                    <input type="hidden" name="tenant_id" value=t.id/>
                                    <input type="hidden" name="mode" value="normal"/>
                                    <button type="submit" class="btn primary small">"Run Normal Sync"</button>
                                </ActionForm>
                                <ActionForm action=run>
                                    <input type="hidden" name="tenant_id" value=t.id/>
                                    <input type="hidden" name="mode" value="init"/>
                                    <button type="submit" class="btn small">"Run Init Sync"</button>
                                </ActionForm>
                                <a class="btn small" href=format!("/activity?tenant={}", t.id)>"All runs"</a>
                            </div>
                        </div>
                        {(t.run_waiting > 0).then(|| view! {
                            <p class="muted small" data-testid="runs-waiting">{match t.run_waiting {
                                1 => "1 sync request is waiting to start.".to_owned(),
                                n => format!("{n} sync requests are waiting to start."),
                            }}</p>
                        })}
                        {if t.runs.is_empty() {
                            view! { <p class="muted" data-testid="no-runs">"No runs yet. Runs appear here with their outcome and duration."</p> }.into_any()
                        } else {
                            view! { <RunsTable runs=t.runs.clone() show_tenant=false/> }.into_any()
                        }}
                    </section>
                    <MarketplaceLink tenant_id=t.id user=t.marketplace_user.clone() action=link/>
                    <section class="section" aria-labelledby="webhook-heading">
                        <h2 id="webhook-heading">"Inbound webhook"</h2>
                        <p class="muted small">
                            "A POST to this URL queues a webhook run of this tenant; the request body is saved to a file "
                            "whose path the run finds in PAN_CTX_RUN_TRIGGERS. The URL is the secret: share it only with the sender."
                        </p>
                        {t.webhook_url.clone().map(|url| view! {
                            <div class="copy-field">
                                <label class="visually-hidden" for="webhook-url">"Webhook URL"</label>
                                <input id="webhook-url" type="text" readonly=true value=url class="mono" data-testid="webhook-url"/>
                            </div>
                        })}
                        <ActionForm action=webhook>
                            <input type="hidden" name="tenant_id" value=t.id/>
                            <button type="submit" class="btn small">
                                {if t.webhook_url.is_some() { "Replace webhook URL" } else { "Make webhook URL" }}
                            </button>
                        </ActionForm>
                    </section>
                }.into_any()
            })}
        </Transition>
    }
}

/// Who the tenant belongs to in the marketplace; an admin may link a hub tenant to a
/// marketplace user (their token's `sub`) so they see it there, or unlink it.
#[component]
fn MarketplaceLink(
    tenant_id: i64,
    user: Option<(String, Option<String>, Option<String>)>,
    action: ServerAction<LinkMarketplaceUser>,
) -> impl IntoView {
    let error = Signal::derive(move || action.value().get().and_then(Result::err));
    let (sub, name, email) =
        user.clone().map(|(s, n, e)| (s, n.unwrap_or_default(), e.unwrap_or_default())).unwrap_or_default();
    view! {
        <details class="section" open=error.get_untracked().is_some()>
            <summary class="strong">{if user.is_some() { "Change the marketplace user" } else { "Link to a marketplace user" }}</summary>
            <p class="muted small">"The user sees and manages this tenant in the embedded marketplace when their token's sub matches. Leave sub empty to unlink."</p>
            <ActionForm action=action attr:class="form card" attr:novalidate=true>
                <input type="hidden" name="tenant_id" value=tenant_id/>
                <TextField name="sub" id="link-sub" label="User id (sub)" value=sub error=field_error(error, "sub")/>
                <TextField name="name" id="link-name" label="Name" value=name error=field_error(error, "name")/>
                <TextField name="email" id="link-email" label="Email" value=email error=field_error(error, "email")/>
                <button type="submit" class="btn">"Save"</button>
            </ActionForm>
        </details>
    }
}

/// One connector of the tenant: its status, and what can be done about it.
#[component]
fn ConnectionStatus(
    tenant_id: i64,
    c: ConnectionView,
    disconnect: ServerAction<DisconnectConnection>,
    replace: ServerAction<ReplaceMagicLink>,
) -> impl IntoView {
    let has_info = !c.info.trim().is_empty();
    let connected = c.status == ConnectionStatus::Connected;
    let connector = c.connector.clone();
    let link_connector = c.connector.clone();
    let confirm_text =
        format!("Remove the stored {} credentials? Syncs fail until it is connected again.", c.display_name);
    let reconnect = match c.auth {
        AuthKind::Oauth2 => c.magic_link.clone(),
        _ => format!("/tenants/{tenant_id}/setup/credentials"),
    };
    view! {
        <div class="card connector-block" data-connector=c.connector.clone()>
            <h3 class="connector-title">
                {c.display_name.clone()}" "
                <ConnectionBadge status=c.status/>
            </h3>
            <p class="muted small" data-testid="connection-changed">
                {match c.status {
                    ConnectionStatus::Connected => format!("Connected since {}", c.changed_at),
                    ConnectionStatus::Error => format!("Failing since {}: {}", c.changed_at, c.status_reason.clone().unwrap_or_default()),
                    ConnectionStatus::Disconnected => format!("Not connected since {}", c.changed_at),
                }}
            </p>
            {(c.auth == AuthKind::Oauth2 && !c.configured).then(|| view! {
                <NotConfigured connector=c.connector.clone() display_name=c.display_name.clone()/>
            })}
            <div class="row-actions">
                {(c.auth != AuthKind::None && (c.auth != AuthKind::Oauth2 || c.configured)).then(|| view! {
                    <a class="btn small" href=reconnect.clone()>{if connected { "Reconnect" } else { "Connect" }}</a>
                })}
                {(connected && c.auth != AuthKind::None).then(|| view! {
                    <details class="confirm">
                        <summary class="btn small danger">"Disconnect"</summary>
                        <div class="confirm-box">
                            <p>{confirm_text}</p>
                            <ActionForm action=disconnect>
                                <input type="hidden" name="tenant_id" value=tenant_id/>
                                <input type="hidden" name="connector" value=connector/>
                                <button type="submit" class="btn danger-solid">"Disconnect"</button>
                            </ActionForm>
                        </div>
                    </details>
                })}
                {if has_info {
                    view! {
                        <details class="info-box">
                            <summary class="btn small">"Info"</summary>
                            <p class="info">{c.info.clone()}</p>
                        </details>
                    }.into_any()
                } else {
                    view! { <button type="button" class="btn small" disabled=true title="This connector has no information">"Info"</button> }.into_any()
                }}
            </div>
            {(c.auth != AuthKind::None).then(|| view! {
                <MagicLink url=c.magic_link.clone() expiry=c.link_expiry.clone() expired=c.link_expired/>
                <ActionForm action=replace attr:class="inline-form">
                    <input type="hidden" name="tenant_id" value=tenant_id/>
                    <input type="hidden" name="connector" value=link_connector.clone()/>
                    <button type="submit" class="btn small" title="Make a new link; the old one stops working">"Replace link"</button>
                </ActionForm>
            })}
        </div>
    }
}
