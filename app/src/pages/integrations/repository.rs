//! `/integrations/:id/repository`: how the hub fetches the integration's code (a
//! deploy key, an access token, or nothing), the SSH host key it pinned, and builds
//! on push with the deliveries received.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::detail::param_id;
use crate::api::repository::{
    get_repository_access, PinHostKeys, PushDelivery, RepositoryAccess, SetPushBuilds, SetRepositoryAccess,
};
use crate::components::copy::CopyButton;
use crate::components::form::{field_error, successes};
use crate::components::loading::Loading;
use crate::components::page::{ErrorNotice, PageHeader};
use crate::error::AppError;
use crate::pages::access::Revealed;

/// What a `?saved=` says: only these words, never text from the address.
fn saved_notice(key: &str) -> Option<&'static str> {
    Some(match key {
        "access" => "Repository access saved. The next build fetches with it.",
        "pinned" => "Host key pinned. A build fails if the host shows another key.",
        "forgotten" => "The pinned host key is forgotten. The next build pins the key the host shows.",
        _ => return None,
    })
}

/// A value to take away: readable and selectable as it is, with a Copy button once
/// the page's script runs (without it, select the text and copy).
#[component]
fn CopyField(label: &'static str, id: &'static str, value: String) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <textarea id=id readonly=true rows="2" class="mono copy-value" data-testid=id>{value.clone()}</textarea>
            <CopyButton value=value/>
        </div>
    }
}

#[component]
pub fn RepositoryPage() -> impl IntoView {
    let id = param_id("id");
    let query = use_query_map();
    let set_access = ServerAction::<SetRepositoryAccess>::new();
    let pin = ServerAction::<PinHostKeys>::new();
    let push = ServerAction::<SetPushBuilds>::new();
    let (access_ok, pin_ok) = (successes(set_access), successes(pin));
    let data = Resource::new(
        move || (id.get(), access_ok.get(), pin_ok.get(), push.version().get()),
        |(id, ..)| async move { get_repository_access(id.ok_or(AppError::NotFound)?).await },
    );
    let access_error = Signal::derive(move || set_access.value().get().and_then(Result::err));
    let pin_error = Signal::derive(move || pin.value().get().and_then(Result::err));
    let push_error = Signal::derive(move || push.value().get().and_then(Result::err));
    let saved = move || query.read().get("saved").and_then(|k| saved_notice(&k));

    view! {
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                let r: RepositoryAccess = match data.await {
                    Ok(r) => r,
                    Err(e) => return view! { <PageHeader title="Repository Access"/><ErrorNotice error=e/> }.into_any(),
                };
                let chosen = {
                    let stored = r.access.clone();
                    Signal::derive(move || access_error.get().and_then(|e| e.kept("access")).unwrap_or_else(|| stored.clone()))
                };
                let revealed = r.revealed_secret.clone();
                let fresh_secret = Signal::derive(move || {
                    push.value().get().and_then(Result::ok).flatten().or_else(|| revealed.clone())
                });
                let has_token = r.access == "token";
                let has_key = r.public_key.is_some();
                view! {
                    <PageHeader title="Repository Access" lead=format!("How the hub fetches {}.", r.repository)
                        breadcrumbs=vec![
                            ("Integrations".to_owned(), "/integrations".to_owned()),
                            (r.integration_name.clone(), format!("/integrations/{}", r.integration_id)),
                        ]/>
                    {move || saved().map(|m| view! { <p class="notice success" role="status">{m}</p> })}
                    <ActionForm action=set_access attr:class="form card">
                        <input type="hidden" name="id" value=r.integration_id/>
                        <fieldset class="field">
                            <legend>"Credentials"</legend>
                            <div class="checks stacked">
                                <label class="check">
                                    <input type="radio" name="access" value="none" checked=move || chosen.get() == "none"/>
                                    "None: a public repository, or a path on the hub's machine"
                                </label>
                                <label class="check">
                                    <input type="radio" name="access" value="ssh" checked=move || chosen.get() == "ssh"/>
                                    "SSH deploy key: the hub makes a key pair and shows you the public key to add at the host"
                                </label>
                                <label class="check">
                                    <input type="radio" name="access" value="token" checked=move || chosen.get() == "token"/>
                                    "HTTPS access token: a personal, project or app token that may read the repository"
                                </label>
                            </div>
                            {move || field_error(access_error, "access").get().map(|m| view! { <p class="field-error">{m}</p> })}
                        </fieldset>
                        {has_key.then(|| view! {
                            <label class="check">
                                <input type="checkbox" name="new_key" value="on"/>
                                "Make a new deploy key (the current one stops being used; remove it at the host)"
                            </label>
                        })}
                        <fieldset class="field">
                            <legend>"Access token (for HTTPS)"</legend>
                            <div class="field-row">
                                <div class="field">
                                    <label for="username">"User name"</label>
                                    <input id="username" name="username" type="text" autocomplete="off"
                                        value=access_error.get_untracked().and_then(|e| e.kept("username")).unwrap_or_else(|| r.username.clone())/>
                                    <p class="hint-text">"Empty: x-access-token (GitHub). GitLab: oauth2 or any name. Bitbucket app passwords and Azure DevOps tokens: your account name."</p>
                                    {move || field_error(access_error, "username").get().map(|m| view! { <p class="field-error">{m}</p> })}
                                </div>
                                <div class="field">
                                    <label for="token">"Token"</label>
                                    <input id="token" name="token" type="password" autocomplete="off"/>
                                    <p class="hint-text">{if has_token {
                                        "A token is stored (it is never shown). Leave empty to keep it."
                                    } else {
                                        "Kept sealed with the hub's key, given to git only while it fetches, never shown again."
                                    }}</p>
                                    {move || field_error(access_error, "token").get().map(|m| view! { <p class="field-error">{m}</p> })}
                                </div>
                            </div>
                        </fieldset>
                        {move || access_error.get().filter(|e| !matches!(e, AppError::Validation { .. })).map(|e| view! { <ErrorNotice error=e/> })}
                        <div class="form-actions">
                            <button type="submit" class="btn primary">"Save Repository Access"</button>
                        </div>
                    </ActionForm>
                    {r.public_key.clone().map(|key| view! {
                        <section class="card section" aria-labelledby="key-heading">
                            <h2 id="key-heading">"Deploy Key"</h2>
                            <CopyField label="Public key" id="deploy-key" value=key/>
                            <p class="small">"Add it where the host keeps read-only keys for this repository:"</p>
                            <ul class="small">
                                <li>"GitHub: the repository's Settings → Deploy keys → Add deploy key (leave “Allow write access” off)."</li>
                                <li>"GitLab: the project's Settings → Repository → Deploy keys."</li>
                                <li>"Bitbucket: Repository settings → Access keys → Add key."</li>
                                <li>"Azure DevOps (no per-repository keys): User settings → SSH public keys, for a user who may read the repository."</li>
                            </ul>
                            <p class="small">"Use the repository's SSH address, such as git@github.com:acme/slack-sync.git."</p>
                        </section>
                    })}
                    {(r.access == "ssh").then(|| {
                        let keys = r.host_keys.clone();
                        view! {
                            <section class="card section" aria-labelledby="host-heading">
                                <h2 id="host-heading">"SSH Host Key"</h2>
                                {if keys.is_empty() {
                                    view! { <p class="muted">"None pinned yet: the first build that fetches pins the key the host shows, and later builds refuse any other."</p> }.into_any()
                                } else {
                                    view! {
                                        <p>"Pinned:"</p>
                                        <ul class="mono small" data-testid="host-keys">{keys.iter().map(|k| view! { <li>{k.clone()}</li> }).collect_view()}</ul>
                                    }.into_any()
                                }}
                                <ActionForm action=pin attr:class="form">
                                    <input type="hidden" name="id" value=r.integration_id/>
                                    <div class="field">
                                        <label for="known_hosts">"Pin a host key"</label>
                                        <textarea id="known_hosts" name="known_hosts" rows="2" class="mono"
                                            placeholder="github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA…"
                                            aria-invalid=move || field_error(pin_error, "known_hosts").get().is_some().then_some("true")
                                        >{pin_error.get_untracked().and_then(|e| e.kept("known_hosts")).unwrap_or_default()}</textarea>
                                        <p class="hint-text">"Lines as ssh-keyscan prints them, checked against a source you trust (GitHub and GitLab publish theirs)."</p>
                                        {move || field_error(pin_error, "known_hosts").get().map(|m| view! { <p class="field-error">{m}</p> })}
                                    </div>
                                    <div class="form-actions">
                                        <button type="submit" class="btn">"Pin Host Key"</button>
                                        <button type="submit" class="btn" name="forget" value="on">"Forget Pinned Key"</button>
                                    </div>
                                </ActionForm>
                            </section>
                        }
                    })}
                    <section class="card section" aria-labelledby="push-heading">
                        <h2 id="push-heading">"Build on Push"</h2>
                        {move || fresh_secret.get().map(|s| view! {
                            <Revealed title="Push secret" secret=s
                                note="Copy it now: it is shown only once. Paste it as the webhook's secret (GitHub, Bitbucket) or secret token (GitLab)."/>
                        })}
                        {move || push_error.get().map(|e| view! { <ErrorNotice error=e/> })}
                        {match r.push_url.clone() {
                            Some(url) => view! {
                                <p>{format!("Pushes to {} (and tags) build the pushed commit; pushes to other branches build nothing.", r.branch)}</p>
                                <CopyField label="Push URL" id="push-url" value=url/>
                                <ul class="small">
                                    <li>"GitHub: Settings → Webhooks → Add webhook: this Payload URL, content type application/json, the secret, “Just the push event”."</li>
                                    <li>"GitLab: Settings → Webhooks: this URL, the secret as Secret token, Push events and Tag push events."</li>
                                    <li>"Bitbucket: Repository settings → Webhooks: this URL, the secret, trigger Repository push."</li>
                                </ul>
                                <ActionForm action=push attr:class="form inline-form">
                                    <input type="hidden" name="id" value=r.integration_id/>
                                    <input type="hidden" name="push" value="default"/>
                                    <label class="check">
                                        <input type="checkbox" name="sets_default" value="on" checked=r.push_sets_default/>
                                        "A successful build of a push becomes the default release"
                                    </label>
                                    <button type="submit" class="btn">"Save"</button>
                                </ActionForm>
                                <div class="form-actions">
                                    <ActionForm action=push attr:class="inline-form">
                                        <input type="hidden" name="id" value=r.integration_id/>
                                        <input type="hidden" name="push" value="on"/>
                                        {r.push_sets_default.then(|| view! { <input type="hidden" name="sets_default" value="on"/> })}
                                        <button type="submit" class="btn">"New URL and Secret"</button>
                                    </ActionForm>
                                    <ActionForm action=push attr:class="inline-form">
                                        <input type="hidden" name="id" value=r.integration_id/>
                                        <input type="hidden" name="push" value="off"/>
                                        <button type="submit" class="btn danger">"Turn Off"</button>
                                    </ActionForm>
                                </div>
                            }.into_any(),
                            None => view! {
                                <p class="muted">"Off. Turned on, the hub gives a URL and a secret for the repository host's push webhook, and builds each push to the tracking branch."</p>
                                <ActionForm action=push attr:class="form inline-form">
                                    <input type="hidden" name="id" value=r.integration_id/>
                                    <input type="hidden" name="push" value="on"/>
                                    <label class="check">
                                        <input type="checkbox" name="sets_default" value="on"/>
                                        "A successful build of a push becomes the default release"
                                    </label>
                                    <button type="submit" class="btn primary">"Turn On Build on Push"</button>
                                </ActionForm>
                            }.into_any(),
                        }}
                        <Deliveries deliveries=r.deliveries.clone()/>
                    </section>
                }.into_any()
            })}
        </Transition>
    }
}

#[component]
fn Deliveries(deliveries: Vec<PushDelivery>) -> impl IntoView {
    if deliveries.is_empty() {
        return view! { <p class="muted small">"No push received yet."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="data-table">
                <caption>"Pushes received (the newest 50)"</caption>
                <thead><tr>
                    <th scope="col">"Received"</th><th scope="col">"From"</th><th scope="col">"Ref"</th>
                    <th scope="col">"Commit"</th><th scope="col">"Outcome"</th>
                </tr></thead>
                <tbody>
                    {deliveries.into_iter().map(|d| {
                        let outcome = match (d.outcome.as_str(), d.release_id) {
                            ("built", Some(release)) => view! {
                                <a href=format!("/releases/{release}")>"Built"</a>
                            }.into_any(),
                            ("built", None) => "Built".into_any(),
                            ("refused", _) => view! { <span>"Refused: "{d.detail.clone()}</span> }.into_any(),
                            _ => view! { <span>"Ignored: "{d.detail.clone()}</span> }.into_any(),
                        };
                        view! {
                            <tr data-testid="push-delivery">
                                <td>{d.received_at}</td>
                                <td>{format!("{} ({})", d.provider, d.event)}</td>
                                <td class="mono">{d.git_ref.unwrap_or_default()}</td>
                                <td class="mono">{d.commit.unwrap_or_default()}</td>
                                <td>{outcome}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
