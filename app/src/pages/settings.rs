//! Settings: company, users, marketplace.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::marketplace::{
    get_marketplace_settings, EndMarketplaceGrace, RotateMarketplaceSecret, SaveMarketplace,
};
use crate::api::settings::{company_info, get_retention, RetentionView, SaveMagicLinks, SaveRetention};
use crate::components::form::{field_error, successes, TextField};
use crate::components::loading::Loading;
use crate::components::page::{ErrorNotice, PageHeader};
use crate::error::AppError;

#[component]
pub fn CompanyPage() -> impl IntoView {
    let info = Resource::new(|| (), |_| company_info());
    let save = ServerAction::<SaveRetention>::new();
    let links = ServerAction::<SaveMagicLinks>::new();
    let (save_ok, links_ok) = (successes(save), successes(links));
    let retention = Resource::new(move || save_ok.get() + links_ok.get(), |_| get_retention());
    let query = use_query_map();
    let save_error = Signal::derive(move || save.value().get().and_then(Result::err));
    let links_error = Signal::derive(move || links.value().get().and_then(Result::err));
    let saved = move || {
        query.with(|q| match q.get("done").as_deref() {
            Some("retention") => Some("Retention settings saved."),
            Some("links") => Some("Magic link settings saved."),
            _ => None,
        })
    };
    view! {
        <PageHeader title="Company" lead="Your organization, which owns this hub and its integrations."/>
        {move || saved().map(|s| view! { <p class="notice success" role="status">{s}</p> })}
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match info.await {
                    Ok(c) => view! {
                        <dl class="facts">
                            <div><dt>"Name"</dt><dd data-testid="company-name">{c.name}</dd></div>
                            <div><dt>"Created"</dt><dd>{c.created_at}</dd></div>
                        </dl>
                    }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match retention.await {
                    Ok(r) => view! {
                        <MagicLinks days=r.magic_link_days.clone() can_edit=r.can_edit save=links save_error=links_error/>
                        <Retention r=r save=save save_error=save_error/>
                    }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// How long a tenant's magic links stay valid (a form for admins).
#[component]
fn MagicLinks(
    days: String,
    can_edit: bool,
    save: ServerAction<SaveMagicLinks>,
    save_error: Signal<Option<AppError>>,
) -> impl IntoView {
    let shown = if days.is_empty() { "Links do not expire.".to_owned() } else { format!("{days} days") };
    let value = Signal::derive(move || {
        save_error.get().and_then(|e| e.kept("magic_link_days")).unwrap_or_else(|| days.clone())
    });
    view! {
        <section class="section" aria-labelledby="links-heading">
            <h2 id="links-heading">"Magic links"</h2>
            <p class="muted small">"A tenant's magic link lets whoever holds it connect the tenant's accounts. A tenant's page can replace a link at any time; linking a tenant to another marketplace user replaces its links."</p>
            {if can_edit {
                view! {
                    <ActionForm action=save attr:class="form card inline-form" attr:novalidate=true>
                        <TextField name="magic_link_days" id="magic-link-days" label="Days a magic link works"
                            hint="Counted from the day each link was made; empty keeps links working until they are replaced. The marketplace renews its users' expired links by itself."
                            value=value error=field_error(save_error, "magic_link_days")/>
                        <button type="submit" class="btn primary">"Save magic links"</button>
                    </ActionForm>
                }.into_any()
            } else {
                view! { <dl class="facts"><div><dt>"Days a magic link works"</dt><dd>{shown}</dd></div></dl> }.into_any()
            }}
            {move || save_error.get().filter(|e| !matches!(e, AppError::Validation { .. })).map(|e| view! { <ErrorNotice error=e/> })}
        </section>
    }
}

/// Disk use by kind, and the retention settings (a form for admins).
#[component]
fn Retention(
    r: RetentionView,
    save: ServerAction<SaveRetention>,
    save_error: Signal<Option<AppError>>,
) -> impl IntoView {
    let kept = move |name: &'static str, stored: u32| {
        Signal::derive(move || save_error.get().and_then(|e| e.kept(name)).unwrap_or_else(|| stored.to_string()))
    };
    view! {
        <section class="section" aria-labelledby="disk-heading">
            <h2 id="disk-heading">"Disk use"</h2>
            <div class="table-wrap">
                <table class="table" data-testid="disk-use">
                    <thead><tr><th scope="col">"What"</th><th scope="col">"Size"</th><th scope="col">"Kept"</th></tr></thead>
                    <tbody>
                        {r.disk.into_iter().map(|d| {
                            let key = d.kind.to_lowercase();
                            view! {
                                <tr data-kind=key>
                                    <th scope="row">{d.kind}</th><td class="nowrap">{d.size}</td><td class="muted small">{d.note}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
        <section class="section" aria-labelledby="retention-heading">
            <h2 id="retention-heading">"Retention"</h2>
            <p class="muted small">"The hub prunes what grows with use once an hour, and when these settings are saved."</p>
            {if r.can_edit {
                view! {
                    <ActionForm action=save attr:class="form card inline-form" attr:novalidate=true>
                        <TextField name="log_days" id="log-days" label="Days to keep run logs"
                            hint="After this many days a finished run's log is deleted; the run stays in the history."
                            value=kept("log_days", r.log_days) error=field_error(save_error, "log_days")/>
                        <TextField name="runs_per_tenant" id="runs-per-tenant" label="Runs kept per tenant"
                            hint="A tenant's older finished runs beyond this many are deleted with their logs."
                            value=kept("runs_per_tenant", r.runs_per_tenant) error=field_error(save_error, "runs_per_tenant")/>
                        <button type="submit" class="btn primary">"Save retention"</button>
                    </ActionForm>
                }.into_any()
            } else {
                view! {
                    <dl class="facts" data-testid="retention-facts">
                        <div><dt>"Days to keep run logs"</dt><dd>{r.log_days}</dd></div>
                        <div><dt>"Runs kept per tenant"</dt><dd>{r.runs_per_tenant}</dd></div>
                    </dl>
                }.into_any()
            }}
            {move || save_error.get().filter(|e| !matches!(e, AppError::Validation { .. })).map(|e| view! { <ErrorNotice error=e/> })}
            <ul class="small muted" data-testid="retention-fixed">
                {r.fixed.into_iter().map(|(k, v)| view! { <li><strong>{k}</strong>": "{v}</li> }).collect_view()}
            </ul>
        </section>
    }
}

/// `/settings/marketplace`: the embedded marketplace's look, who may embed it, its
/// signing secret, and how to embed it.
#[component]
pub fn MarketplacePage() -> impl IntoView {
    let save = ServerAction::<SaveMarketplace>::new();
    let rotate = ServerAction::<RotateMarketplaceSecret>::new();
    let end = ServerAction::<EndMarketplaceGrace>::new();
    let (save_ok, rotate_ok) = (successes(save), successes(rotate));
    let data =
        Resource::new(move || (save_ok.get(), rotate_ok.get(), end.version().get()), |_| get_marketplace_settings());
    let query = use_query_map();
    let save_error = Signal::derive(move || save.value().get().and_then(Result::err));
    let rotate_error = Signal::derive(move || rotate.value().get().and_then(Result::err));
    let fresh = move || rotate.value().get().and_then(Result::ok);
    let notice = move || {
        query.with(|q| match q.get("done").as_deref() {
            Some("saved") => Some("Marketplace settings saved."),
            Some("grace") => Some("The old secret is no longer accepted."),
            _ => None,
        })
    };
    view! {
        <PageHeader title="Marketplace" lead="The in-app marketplace your customers use inside your own product, signed in by a token your backend signs."/>
        {move || notice().map(|n| view! { <p class="notice success" role="status">{n}</p> })}
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                let m = match data.await {
                    Ok(m) => m,
                    Err(e) => return view! { <ErrorNotice error=e/> }.into_any(),
                };
                let shown = fresh().or(m.revealed.clone());
                let kept = move |name: &'static str, stored: String| {
                    Signal::derive(move || save_error.get().and_then(|e| e.kept(name)).unwrap_or_else(|| stored.clone()))
                };
                let origins = m.input.origins.clone();
                let origins_value = Signal::derive(move || save_error.get().and_then(|e| e.kept("origins")).unwrap_or_else(|| origins.clone()));
                let snippet = format!(
                    "<iframe src=\"{}/embed?token=TOKEN\" title=\"{}\"\n        style=\"width: 100%; height: 720px; border: 0\"></iframe>",
                    m.public_url,
                    if m.input.name.is_empty() { "Marketplace".to_owned() } else { m.input.name.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;") },
                );
                view! {
                    <section class="section" aria-labelledby="secret-heading">
                        <h2 id="secret-heading">"Signing secret"</h2>
                        {shown.map(|s| view! {
                            <crate::pages::access::Revealed title="Your marketplace signing secret" secret=s
                                note="Copy it now: it is shown only once. Keep it on your backend and sign each user's token with it (HS256)."/>
                        })}
                        <p class="muted small" data-testid="secret-state">{match (&m.secret_made_at, &m.grace_until) {
                            (None, _) => "No secret yet: the marketplace refuses every token until you make one.".to_owned(),
                            (Some(at), None) => format!("The current secret was made {at}."),
                            (Some(at), Some(until)) => format!("The current secret was made {at}. The one it replaced is still accepted until {until}."),
                        }}</p>
                        {move || rotate_error.get().filter(|e| !matches!(e, AppError::Validation { .. })).map(|e| view! { <ErrorNotice error=e/> })}
                        <ActionForm action=rotate attr:class="form card inline-form">
                            <TextField name="grace_hours" id="grace-hours" label="Keep accepting the old secret for (hours)"
                                hint="0 stops it at once; up to 168 (a week) gives your backend time to switch."
                                value=Signal::derive(move || rotate_error.get().and_then(|e| e.kept("grace_hours")).unwrap_or_else(|| "24".to_owned()))
                                error=field_error(rotate_error, "grace_hours")/>
                            <button type="submit" class="btn primary">{if m.has_secret { "Make new secret" } else { "Make secret" }}</button>
                        </ActionForm>
                        {m.grace_until.is_some().then(|| view! {
                            <ActionForm action=end>
                                <button type="submit" class="btn small danger">"Stop accepting the old secret now"</button>
                            </ActionForm>
                        })}
                    </section>
                    <section class="section" aria-labelledby="look-heading">
                        <h2 id="look-heading">"Look and embedding"</h2>
                        <ActionForm action=save attr:class="form card" attr:novalidate=true>
                            <TextField name="input[name]" id="mp-name" label="Marketplace name" required=true
                                value=kept("name", m.input.name.clone()) error=field_error(save_error, "name")/>
                            <TextField name="input[accent]" id="mp-accent" label="Accent colour"
                                hint="#rrggbb, used for the buttons." value=kept("accent", m.input.accent.clone())
                                error=field_error(save_error, "accent")/>
                            <TextField name="input[logo_url]" id="mp-logo" label="Logo URL"
                                hint="The full address of an image, or empty." value=kept("logo_url", m.input.logo_url.clone())
                                error=field_error(save_error, "logo_url")/>
                            <div class="field">
                                <label for="mp-origins">"Allowed parent origins"</label>
                                <p class="hint-text" id="mp-origins-hint">"One a line, such as https://app.example.com. Browsers show the marketplace only inside pages of these origins."</p>
                                <textarea id="mp-origins" name="input[origins]" rows="4" class="mono" aria-describedby="mp-origins-hint"
                                    prop:value=move || origins_value.get()>{origins_value.get_untracked()}</textarea>
                                {move || field_error(save_error, "origins").get().map(|m| view! { <p class="field-error">{m}</p> })}
                            </div>
                            <button type="submit" class="btn primary">"Save"</button>
                        </ActionForm>
                    </section>
                    <section class="section" aria-labelledby="embed-heading">
                        <h2 id="embed-heading">"Embed it"</h2>
                        {m.preview_url.clone().map(|url| view! {
                            <p>
                                <a class="btn" href=url target="_blank" rel="external" data-testid="marketplace-preview">"Try it as an end user"</a>
                                " "<span class="muted small">"Opens the marketplace with an hour-long token for you (user id preview-<your id>); what you install there is real."</span>
                            </p>
                        })}
                        <p>"Put this in your product's page, with a token your backend signs for the signed-in user:"</p>
                        <pre class="code" data-testid="embed-snippet">{snippet}</pre>
                        <p>"Sign the token on your backend (Node.js with the jsonwebtoken package shown; any JWT library works):"</p>
                        <pre class="code">{SIGNING_EXAMPLE}</pre>
                        <p class="muted small">
                            "sub (your user's stable id) and exp (at most 24 hours ahead) are required; name and email are shown to your admins. "
                            "xti.hidden_integrations hides integrations (by id or name) from this user; xti.allowed_installs caps how many they may install."
                        </p>
                        <p>"Two smaller forms open one integration: /embed/install/<id> (install only) and /embed/auth/<id> (only connecting its credentials), each with ?token=."</p>
                        {(!m.published.is_empty()).then(|| view! {
                            <ul class="small" data-testid="published">
                                {m.published.iter().map(|(id, name)| view! { <li data-id=*id>{format!("{name}: id {id}")}</li> }).collect_view()}
                            </ul>
                        })}
                        {m.published.is_empty().then(|| view! {
                            <p class="notice warning">"No integration is published yet: publish one on its page (Marketplace listing) for it to appear."</p>
                        })}
                    </section>
                }.into_any()
            })}
        </Transition>
    }
}

const SIGNING_EXAMPLE: &str = r"const jwt = require('jsonwebtoken');

const token = jwt.sign(
  { sub: user.id, name: user.name, email: user.email,
    xti: { allowed_installs: 5 } },
  process.env.HUB_MARKETPLACE_SECRET,
  { algorithm: 'HS256', expiresIn: '1h' },
);";
