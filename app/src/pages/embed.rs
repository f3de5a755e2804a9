//! The embedded marketplace: pages shown inside the company's product, in an iframe.
//! Each is opened with `?token=<JWT>`; every link and form carries the token on (no
//! cookie), and `form` says which of the three embeddable forms the user is in:
//! `full` (the marketplace), `install` (one integration) or `auth` (only its
//! credentials). Nothing of the console shows here.

use hub_core::domain::connector::AuthKind;
use hub_core::domain::schedule::Preset;
use hub_core::domain::tenant::SetupStep;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::marketplace::{
    embed_app, embed_home, embed_href, embed_listing, AppItem, Brand, EmbedConfigure, EmbedConnection, EmbedContinue,
    EmbedCredentials, EmbedDisconnect, EmbedInstall, EmbedRun, EmbedSchedule, EmbedUninstall, MarketApp, Tile,
};
use crate::components::config_form::ConfigFields;
use crate::components::page::RefreshWhileBusy;
use crate::error::AppError;

/// The token and the form kind of this page, from its query.
#[derive(Clone, Debug, PartialEq)]
struct Embed {
    token: String,
    form: String,
}

impl Embed {
    fn href(&self, path: &str) -> String {
        embed_href(path, &self.token, &self.form)
    }

    fn full(&self) -> bool {
        self.form != "install" && self.form != "auth"
    }
}

fn use_embed(form: Option<&'static str>) -> Memo<Embed> {
    let query = use_query_map();
    Memo::new(move |_| {
        query.with(|q| Embed {
            token: q.get("token").unwrap_or_default(),
            form: form.map(str::to_owned).or_else(|| q.get("form")).unwrap_or_else(|| "full".to_owned()),
        })
    })
}

fn id_param() -> Memo<Option<i64>> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get("id").and_then(|v| v.parse::<i64>().ok()))
}

fn loading() -> impl IntoView {
    view! { <p class="muted">"Loading…"</p> }
}

/// Hidden fields every embedded form posts.
fn carried(e: &Embed) -> impl IntoView {
    view! {
        <input type="hidden" name="token" value=e.token.clone()/>
        <input type="hidden" name="form" value=e.form.clone()/>
    }
}

/// A refused token, or another failure, as a page inside the frame.
#[component]
fn Refused(error: AppError) -> impl IntoView {
    let (title, text) = match &error {
        AppError::TokenRefused(m) => ("This page could not be opened", m.clone()),
        AppError::NotFound => ("Not found", "This integration or app is not available to you.".to_owned()),
        other => ("Something went wrong", other.to_string()),
    };
    view! {
        <main class="embed embed-refused" data-testid="embed-refused">
            <h1>{title}</h1>
            <p class="notice error" role="alert">{text}</p>
        </main>
    }
}

/// The frame around an embedded page: the marketplace's name, logo and colour.
#[component]
fn Frame(brand: Brand, e: Embed, children: Children) -> impl IntoView {
    let style = format!("--accent: {}", brand.accent);
    view! {
        <Title text=brand.title.clone()/>
        <div class="embed" style=style>
            <header class="embed-header">
                {(!brand.logo_url.is_empty()).then(|| view! { <img class="embed-logo" src=brand.logo_url.clone() alt=""/> })}
                <span class="embed-title">{brand.title.clone()}</span>
                {e.full().then(|| view! {
                    <nav class="embed-nav" aria-label="Marketplace">
                        <a href=e.href("/embed")>"All integrations"</a>
                        <a href=format!("{}#my-apps", e.href("/embed"))>"My Apps"</a>
                    </nav>
                })}
                <span class="embed-user muted small" data-testid="embed-user">{brand.user.clone()}</span>
            </header>
            <main class="embed-body">{children()}</main>
        </div>
    }
}

fn done_notice() -> impl IntoView {
    let query = use_query_map();
    move || {
        query
            .with(|q| match q.get("done").as_deref() {
                Some("uninstalled") => Some("Uninstalled. It no longer syncs."),
                Some("configured") => Some("Settings saved."),
                Some("scheduled") => Some("Schedule saved."),
                Some("run") => Some("A sync was asked for; it starts in a moment."),
                _ => None,
            })
            .map(|n| view! { <p class="notice success" role="status" data-testid="embed-notice">{n}</p> })
    }
}

/// `/embed`: the full marketplace.
#[component]
pub fn EmbedHomePage() -> impl IntoView {
    let e = use_embed(None);
    let query = use_query_map();
    let data = Resource::new(move || e.get().token, embed_home);
    view! {
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let e = e.get_untracked();
                let home = match data.await {
                    Ok(h) => h,
                    Err(err) => return view! { <Refused error=err/> }.into_any(),
                };
                // With a single integration on offer and nothing installed, its install
                // flow opens at once.
                if home.tiles.len() == 1 && home.apps.is_empty() && query.with_untracked(|q| q.get("done").is_none()) {
                    let path = e.href(&format!("/embed/integrations/{}", home.tiles[0].id));
                    return view! { <Redirect path=path/> }.into_any();
                }
                let category = query.with_untracked(|q| q.get("category").unwrap_or_default());
                let tag = query.with_untracked(|q| q.get("tag").unwrap_or_default());
                let mut categories: Vec<String> = home.tiles.iter().flat_map(|t| t.categories.clone()).collect();
                categories.sort_unstable_by_key(|c| c.to_lowercase());
                categories.dedup();
                let mut tags: Vec<String> = home.tiles.iter().flat_map(|t| t.tags.clone()).collect();
                tags.sort_unstable_by_key(|c| c.to_lowercase());
                tags.dedup();
                let shown: Vec<Tile> = home
                    .tiles
                    .iter()
                    .filter(|t| category.is_empty() || t.categories.contains(&category))
                    .filter(|t| tag.is_empty() || t.tags.contains(&tag))
                    .cloned()
                    .collect();
                view! {
                    <Frame brand=home.brand.clone() e=e.clone()>
                        {done_notice()}
                        <section aria-labelledby="my-apps" class="embed-section">
                            <h2 id="my-apps">"My Apps"</h2>
                            {if home.apps.is_empty() {
                                view! { <p class="muted" data-testid="no-apps">"Nothing installed yet. Pick an integration below."</p> }.into_any()
                            } else {
                                view! { <AppList apps=home.apps.clone() e=e.clone()/> }.into_any()
                            }}
                        </section>
                        <section aria-labelledby="browse" class="embed-section">
                            <h2 id="browse">"Integrations"</h2>
                            <form method="get" action="/embed" class="embed-filters">
                                <input type="hidden" name="token" value=e.token.clone()/>
                                <label>"Category "
                                    <select name="category">
                                        <option value="">"All"</option>
                                        {categories.into_iter().map(|c| view! { <option value=c.clone() selected=c == category>{c.clone()}</option> }).collect_view()}
                                    </select>
                                </label>
                                <label>"Tag "
                                    <select name="tag">
                                        <option value="">"All"</option>
                                        {tags.into_iter().map(|c| view! { <option value=c.clone() selected=c == tag>{c.clone()}</option> }).collect_view()}
                                    </select>
                                </label>
                                <button type="submit" class="btn small">"Filter"</button>
                            </form>
                            {if shown.is_empty() {
                                view! { <p class="muted" data-testid="no-tiles">"No integrations match."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="tiles" data-testid="tiles">
                                        {shown.into_iter().map(|t| view! { <TileCard t=t e=e.clone()/> }).collect_view()}
                                    </ul>
                                }.into_any()
                            }}
                        </section>
                    </Frame>
                }.into_any()
            })}
        </Suspense>
    }
}

#[component]
fn TileCard(t: Tile, e: Embed) -> impl IntoView {
    view! {
        <li class="tile card" data-integration=t.name.clone()>
            <h3><a href=e.href(&format!("/embed/integrations/{}", t.id))>{t.name.clone()}</a>
                {t.flag.clone().map(|(n, c)| view! { <span class="flag" style=format!("background: {c}")>{n}</span> })}
            </h3>
            <p>{t.short_description.clone()}</p>
            <p class="muted small">{t.categories.join(" · ")}</p>
        </li>
    }
}

#[component]
fn AppList(apps: Vec<AppItem>, e: Embed) -> impl IntoView {
    view! {
        <ul class="app-list" data-testid="my-apps">
            {apps.into_iter().map(|a| view! {
                <li data-app=a.integration.clone()>
                    <a href=e.href(&format!("/embed/apps/{}", a.id))>{a.integration.clone()}</a>
                    " "<span class="badge">{a.status.clone()}</span>
                </li>
            }).collect_view()}
        </ul>
    }
}

/// One integration: its description and Install. `/embed/integrations/:id` in the
/// full marketplace, `/embed/install/:id` as the install-only form, and
/// `/embed/auth/:id` as the auth-only form (which goes straight to the user's
/// installed tenant when there is one).
#[component]
pub fn EmbedListingPage(form: &'static str) -> impl IntoView {
    let e = use_embed(Some(form));
    let id = id_param();
    let install = ServerAction::<EmbedInstall>::new();
    let data = Resource::new(
        move || (e.get().token, id.get()),
        |(token, id)| async move { embed_listing(token, id.ok_or(AppError::NotFound)?).await },
    );
    let query = use_query_map();
    view! {
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let e = e.get_untracked();
                let l = match data.await {
                    Ok(l) => l,
                    Err(err) => return view! { <Refused error=err/> }.into_any(),
                };
                if form == "auth" && query.with_untracked(|q| q.get("done").is_none()) {
                    if let Some(a) = l.apps.first() {
                        return view! { <Redirect path=e.href(&format!("/embed/apps/{}", a.id))/> }.into_any();
                    }
                }
                let error = move || install.value().get().and_then(Result::err);
                let t = l.tile.clone();
                view! {
                    <Frame brand=l.brand.clone() e=e.clone()>
                        {done_notice()}
                        <h1>{t.name.clone()}
                            {t.flag.clone().map(|(n, c)| view! { <span class="flag" style=format!("background: {c}")>{n}</span> })}
                        </h1>
                        <p class="lead">{t.short_description.clone()}</p>
                        {(!t.long_description.is_empty()).then(|| view! { <p class="embed-long">{t.long_description.clone()}</p> })}
                        {(!t.categories.is_empty() || !t.tags.is_empty()).then(|| view! {
                            <p class="muted small">{t.categories.iter().chain(t.tags.iter()).cloned().collect::<Vec<_>>().join(" · ")}</p>
                        })}
                        {(!l.apps.is_empty()).then(|| view! {
                            <h2>"Installed"</h2>
                            <AppList apps=l.apps.clone() e=e.clone()/>
                        })}
                        {move || error().map(|err| view! { <p class="notice error" role="alert">{err.to_string()}</p> })}
                        {match t.blocked.clone() {
                            Some(why) => view! { <p class="notice warning" data-testid="install-blocked">{why}</p> }.into_any(),
                            None => view! {
                                <ActionForm action=install>
                                    {carried(&e)}
                                    <input type="hidden" name="integration_id" value=t.id/>
                                    <button type="submit" class="btn primary embed-primary">
                                        {if form == "auth" { format!("Connect {}", t.name) } else if l.apps.is_empty() { "Install".to_owned() } else { "Install again".to_owned() }}
                                    </button>
                                </ActionForm>
                            }.into_any(),
                        }}
                    </Frame>
                }.into_any()
            })}
        </Suspense>
    }
}

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
    let data = Resource::new(
        move || {
            (
                e.get().token,
                id.get(),
                refresh.get()
                    + credentials.version().get()
                    + cont.version().get()
                    + configure.version().get()
                    + schedule.version().get()
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
        <Transition fallback=loading>
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
                {if c.connected {
                    view! { <span class="badge succeeded" data-testid="connection-status">"✓ Connected"</span> }.into_any()
                } else {
                    view! { <span class="badge" data-testid="connection-status">"Not connected"</span> }.into_any()
                }}
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
                            <li data-run=r.id data-phase=r.phase_code.clone()>
                                <details>
                                    <summary>
                                        <span data-testid="run-phase">{r.phase.clone()}</span>
                                        {format!(" · {} · {}{}", r.mode, r.started, r.duration.clone().map(|d| format!(" · {d}")).unwrap_or_default())}
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
