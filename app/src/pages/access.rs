//! Settings → API Access and Settings → Notifications & Webhooks.

use leptos::prelude::*;

use crate::api::access::{
    get_api_access, get_notifications, CreateApiKey, RevokeApiKey, RotateWebhookSecret, SaveNotifications,
};
use crate::components::copy::CopyButton;
use crate::components::form::{field_error, successes, TextField};
use crate::components::loading::Loading;
use crate::components::page::{EmptyState, ErrorNotice, PageHeader};

/// A secret shown once, with what to do with it.
#[component]
pub(crate) fn Revealed(title: &'static str, secret: String, #[prop(into)] note: String) -> impl IntoView {
    view! {
        <div class="notice success" role="status" data-testid="revealed">
            <p class="strong">{title}</p>
            <input type="text" readonly=true class="mono secret-field" value=secret.clone() aria-label=title data-testid="revealed-secret"/>
            <CopyButton value=secret/>
            <p class="small">{note}</p>
        </div>
    }
}

/// `/settings/api`: the REST API's keys, and what the API offers.
#[component]
pub fn ApiAccessPage() -> impl IntoView {
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let create_ok = successes(create);
    let data = Resource::new(move || (create_ok.get(), revoke.version().get()), |_| get_api_access());
    let create_error = Signal::derive(move || create.value().get().and_then(Result::err));
    let revoke_error = Signal::derive(move || revoke.value().get().and_then(Result::err));
    let fresh = move || create.value().get().and_then(Result::ok);
    view! {
        <PageHeader
            title="API Access"
            lead="Keys for the REST API under /api/v2. Send one in the X-API-Key header. A full-access key acts with a company admin's rights; a read-only key may only read. A key stops working when it expires, is revoked, or its creator is deactivated."
        />
        <ActionForm action=create attr:class="form card inline-form">
            <TextField name="name" id="key-name" label="New key's name" required=true
                hint="Name it after the system that will use it, such as “billing backend”."
                value=Signal::derive(move || create_error.get().and_then(|e| e.kept("name")).unwrap_or_default())
                error=field_error(create_error, "name")/>
            <div class="field">
                <label for="key-scope">"Scope"</label>
                <select id="key-scope" name="scope">
                    <option value="full" selected=move || create_error.get().and_then(|e| e.kept("scope")).as_deref() != Some("read")>"Full access"</option>
                    <option value="read" selected=move || create_error.get().and_then(|e| e.kept("scope")).as_deref() == Some("read")>"Read only"</option>
                </select>
                {move || field_error(create_error, "scope").get().map(|m| view! { <p class="field-error">{m}</p> })}
            </div>
            <TextField name="expires_in_days" id="key-days" label="Expires after (days)"
                hint="Empty: the key works until it is revoked."
                value=Signal::derive(move || create_error.get().and_then(|e| e.kept("expires_in_days")).unwrap_or_default())
                error=field_error(create_error, "expires_in_days")/>
            <button type="submit" class="btn primary">"Create Key"</button>
        </ActionForm>
        {move || revoke_error.get().map(|e| view! { <ErrorNotice error=e/> })}
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                let a = match data.await {
                    Ok(a) => a,
                    Err(e) => return view! { <ErrorNotice error=e/> }.into_any(),
                };
                let shown = fresh().or(a.revealed.clone());
                view! {
                    {shown.map(|k| view! {
                        <Revealed title="Your new API key" secret=k
                            note="Copy it now: the hub keeps only a hash of it and cannot show it again."/>
                    })}
                    {if a.keys.is_empty() {
                        view! {
                            <EmptyState title="No API keys yet">
                                <p>"Create a key above to call the API from your own systems."</p>
                            </EmptyState>
                        }.into_any()
                    } else {
                        view! {
                            <div class="table-wrap section">
                                <table class="data-table" data-testid="api-keys">
                                    <caption class="visually-hidden">"API keys"</caption>
                                    <thead><tr>
                                        <th scope="col">"Name"</th><th scope="col">"Key"</th><th scope="col">"Scope"</th><th scope="col">"Created"</th>
                                        <th scope="col">"Last used"</th><th scope="col">"State"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                    </tr></thead>
                                    <tbody>
                                        {a.keys.into_iter().map(|k| {
                                            let live = k.revoked.is_none();
                                            view! {
                                                <tr data-key=k.name.clone()>
                                                    <td>{k.name.clone()}</td>
                                                    <td class="mono">{format!("{}…", k.prefix)}</td>
                                                    <td data-testid="key-scope">{k.scope.clone()}{k.expires.clone().map(|e| view! { <br/><span class="muted small">{e}</span> })}</td>
                                                    <td class="nowrap">{k.created_at.clone()}{k.created_by.clone().map(|b| format!(" by {b}"))}</td>
                                                    <td class="nowrap">{k.last_used.clone().unwrap_or_else(|| "Never".to_owned())}</td>
                                                    <td>{match (&k.revoked, &k.dead) {
                                                        (Some(at), _) => view! { <span class="badge failed">{format!("Revoked {at}")}</span> }.into_any(),
                                                        (None, Some(why)) => view! { <span class="badge failed">{why.clone()}</span> }.into_any(),
                                                        (None, None) => view! { <span class="badge succeeded">"Active"</span> }.into_any(),
                                                    }}</td>
                                                    <td>{live.then(|| view! {
                                                        <details class="confirm">
                                                            <summary class="btn small danger">"Revoke"</summary>
                                                            <div class="confirm-box">
                                                                <p>"Revoke “"{k.name.clone()}"”? Requests with it are refused at once."</p>
                                                                <ActionForm action=revoke>
                                                                    <input type="hidden" name="id" value=k.id/>
                                                                    <button type="submit" class="btn danger-solid">"Revoke key"</button>
                                                                </ActionForm>
                                                            </div>
                                                        </details>
                                                    })}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any()
                    }}
                    <section class="section" aria-labelledby="api-doc-heading">
                        <div class="section-header">
                            <h2 id="api-doc-heading">"The API"</h2>
                            <a class="btn small" href="/api/v2/openapi.json">"OpenAPI document (JSON)"</a>
                        </div>
                        <p class="muted small">"Lists take limit (up to 500), skip, and sort_by=field__ASC or field__DESC. Errors are JSON with the field and the message."</p>
                        <div class="table-wrap">
                            <table class="data-table" data-testid="api-operations">
                                <caption class="visually-hidden">"API operations"</caption>
                                <thead><tr><th scope="col">"Method"</th><th scope="col">"Path"</th><th scope="col">"What it does"</th></tr></thead>
                                <tbody>
                                    {a.operations.into_iter().map(|o| view! {
                                        <tr>
                                            <td class="mono">{o.method}</td>
                                            <td class="mono">{o.path}</td>
                                            <td>{o.summary}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    </section>
                }.into_any()
            })}
        </Transition>
    }
}

/// `/settings/notifications`: the outgoing webhook, its events, and its deliveries.
#[component]
pub fn NotificationsPage() -> impl IntoView {
    let save = ServerAction::<SaveNotifications>::new();
    let rotate = ServerAction::<RotateWebhookSecret>::new();
    let save_ok = successes(save);
    let data = Resource::new(move || (save_ok.get(), rotate.version().get()), |_| get_notifications());
    let save_error = Signal::derive(move || save.value().get().and_then(Result::err));
    let rotate_error = Signal::derive(move || rotate.value().get().and_then(Result::err));
    let fresh =
        move || rotate.value().get().and_then(Result::ok).or_else(|| save.value().get().and_then(Result::ok).flatten());
    let saved = move || save.value().get().is_some_and(|r| r.is_ok());
    view! {
        <PageHeader
            title="Notifications & Webhooks"
            lead="The hub POSTs a JSON event to your URL when something happens, signed with HMAC-SHA256 in the X-Hub-Signature-256 header. Failed deliveries are retried with growing waits for about three hours."
        />
        {move || rotate_error.get().map(|e| view! { <ErrorNotice error=e/> })}
        {move || saved().then(|| view! { <p class="notice success" role="status">"Notification settings saved."</p> })}
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                let n = match data.await {
                    Ok(n) => n,
                    Err(e) => return view! { <ErrorNotice error=e/> }.into_any(),
                };
                let shown = fresh().or(n.revealed.clone());
                let url = n.url.clone();
                view! {
                    {shown.map(|s| view! {
                        <Revealed title="Your signing secret" secret=s
                            note="Copy it now: it is shown only once. Check each delivery's X-Hub-Signature-256 (sha256=<hex HMAC of the body>) with it."/>
                    })}
                    <ActionForm action=save attr:class="form card">
                        <TextField name="url" id="webhook-receiver" label="Receiver URL"
                            hint="An http:// or https:// address. Leave empty to send nothing."
                            value=Signal::derive(move || save_error.get().and_then(|e| e.kept("url")).unwrap_or_else(|| url.clone()))
                            error=field_error(save_error, "url")/>
                        <fieldset class="field">
                            <legend>"Events"</legend>
                            <div class="checks stacked">
                                {n.events.iter().enumerate().map(|(i, e)| view! {
                                    <label class="check">
                                        <input type="checkbox" name=format!("events[{i}]") value=e.name.clone() checked=e.on/>
                                        <span class="mono">{e.name.clone()}</span><span class="muted small">{e.label.clone()}</span>
                                    </label>
                                }).collect_view()}
                            </div>
                            {move || field_error(save_error, "events").get().map(|m| view! { <p class="field-error">{m}</p> })}
                        </fieldset>
                        <button type="submit" class="btn primary">"Save"</button>
                    </ActionForm>
                    {n.has_secret.then(|| view! {
                        <details class="confirm section">
                            <summary class="btn small">"New signing secret"</summary>
                            <div class="confirm-box">
                                <p>"Make a new signing secret? Deliveries are signed with it at once; update your receiver."</p>
                                <ActionForm action=rotate>
                                    <button type="submit" class="btn danger-solid">"Make new secret"</button>
                                </ActionForm>
                            </div>
                        </details>
                    })}
                    <section class="section" aria-labelledby="deliveries-heading">
                        <h2 id="deliveries-heading">"Recent deliveries"</h2>
                        {if n.deliveries.is_empty() {
                            view! { <p class="muted" data-testid="no-deliveries">"No deliveries yet."</p> }.into_any()
                        } else {
                            view! {
                                <div class="table-wrap">
                                    <table class="data-table" data-testid="deliveries">
                                        <caption class="visually-hidden">"Recent deliveries"</caption>
                                        <thead><tr>
                                            <th scope="col">"Event"</th><th scope="col">"Created"</th><th scope="col">"State"</th>
                                            <th scope="col">"Attempts"</th><th scope="col">"Last answer"</th>
                                        </tr></thead>
                                        <tbody>
                                            {n.deliveries.into_iter().map(|d| {
                                                let badge = match d.status.as_str() {
                                                    "delivered" => "badge succeeded",
                                                    "failed" => "badge failed",
                                                    _ => "badge",
                                                };
                                                let state = match (d.status.as_str(), &d.next_attempt) {
                                                    ("pending", Some(at)) => format!("Retrying at {at}"),
                                                    ("pending", None) => "Pending".to_owned(),
                                                    ("delivered", _) => "Delivered".to_owned(),
                                                    _ => "Gave up".to_owned(),
                                                };
                                                let answer = match (d.last_status, &d.last_error) {
                                                    (Some(code), _) => format!("HTTP {code} {}", d.last_response.clone().unwrap_or_default()),
                                                    (None, Some(e)) => e.clone(),
                                                    (None, None) => "—".to_owned(),
                                                };
                                                view! {
                                                    <tr data-event=d.event.clone()>
                                                        <td class="mono">{d.event.clone()}</td>
                                                        <td class="nowrap">{d.created_at.clone()}</td>
                                                        <td><span class=badge>{state}</span></td>
                                                        <td>{d.attempts}</td>
                                                        <td class="small clip">{answer}</td>
                                                    </tr>
                                                }
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            }.into_any()
                        }}
                    </section>
                }.into_any()
            })}
        </Transition>
    }
}
