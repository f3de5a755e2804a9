//! Settings → Users, Add New User, Partners, Sent mail; the account page; and the
//! public page behind an invitation link.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::settings::list_users;
use crate::api::users::{
    get_invitation, list_organizations, list_sent_mail, AcceptInvitation, AddUser, ChangePassword, CreatePartner,
    DeactivateUser, RenamePartner, ResendInvitation, SignOutUser,
};
use crate::components::form::{field_error, successes, TextField};
use crate::components::loading::Loading;
use crate::components::page::{EmptyState, ErrorNotice, PageHeader, RefreshWhileBusy};
use crate::error::AppError;

/// Shows a non-field error of an action, or, when the address says `done=<key>`, the
/// success line for that key (the server redirects there after a success, so the line
/// shows with and without JavaScript).
fn outcome(
    value: impl Fn() -> Option<Result<(), AppError>> + Send + Sync + 'static,
    key: &'static str,
    done: &'static str,
) -> impl IntoView {
    let query = use_query_map();
    move || match value() {
        Some(Err(e)) if !matches!(e, AppError::Validation { .. }) => Some(view! { <ErrorNotice error=e/> }.into_any()),
        _ if query.read().get("done").as_deref() == Some(key) => {
            Some(view! { <p class="notice success" role="status">{done}</p> }.into_any())
        }
        _ => None,
    }
}

fn mail_state(status: Option<&str>, error: Option<&str>) -> String {
    match (status, error) {
        (Some("sent"), _) => "Invitation sent".to_owned(),
        (Some("kept"), _) => "Invitation in Sent mail (no SMTP)".to_owned(),
        (Some("queued"), None) => "Invitation being sent".to_owned(),
        (Some("queued"), Some(e)) => format!("Delivery failing, retrying: {e}"),
        (Some("failed"), e) => format!("Delivery failed: {}", e.unwrap_or("unknown error")),
        _ => String::new(),
    }
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let resend = ServerAction::<ResendInvitation>::new();
    let deactivate = ServerAction::<DeactivateUser>::new();
    let sign_out = ServerAction::<SignOutUser>::new();
    let refresh = RwSignal::new(0u32);
    let users =
        Resource::new(move || (resend.version().get(), deactivate.version().get(), refresh.get()), |_| list_users());
    view! {
        <PageHeader title="Users" lead="People who can sign in to this hub, from your company and from partner organizations.">
            <a class="btn primary" href="/settings/users/new">"Add New User"</a>
        </PageHeader>
        {outcome(move || resend.value().get(), "resent", "A new invitation was sent; the old link no longer works.")}
        {outcome(move || deactivate.value().get(), "deactivated", "The user was deactivated and signed out everywhere.")}
        {outcome(move || sign_out.value().get(), "signed_out", "The user was signed out everywhere; they must sign in again.")}
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match users.await {
                    Ok(list) => {
                        // Refresh while an invitation is still on its way.
                        let busy = list.iter().any(|u| u.status == "invited" && u.mail_status.as_deref() == Some("queued"));
                        view! {
                        <RefreshWhileBusy busy=busy refetch=move |()| refresh.update(|n| *n += 1)/>
                        <div class="table-wrap">
                            <table class="data-table">
                                <caption class="visually-hidden">"Users"</caption>
                                <thead>
                                    <tr>
                                        <th scope="col">"Name"</th><th scope="col">"Email"</th>
                                        <th scope="col">"Organization"</th><th scope="col">"Status"</th>
                                        <th scope="col">"Last sign-in"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {list.into_iter().map(|u| {
                                        let mail = mail_state(u.mail_status.as_deref(), u.mail_error.as_deref());
                                        let invited = u.status == "invited";
                                        let can_deactivate = !u.is_primary && u.status != "deactivated";
                                        let who = u.name.clone();
                                        view! {
                                            <tr data-user=u.email.clone()>
                                                <td>{u.name.clone()}<div class="muted small">{u.role.clone()}</div></td>
                                                <td>{u.email.clone()}</td>
                                                <td>{u.organization.clone()}{u.is_partner.then_some(view! { <span class="badge">"Partner"</span> })}</td>
                                                <td>
                                                    <span class=format!("badge {}", u.status)>{u.status.clone()}</span>
                                                    {invited.then(|| view! { <div class="muted small" data-testid="mail-state">{mail.clone()}</div> })}
                                                </td>
                                                <td class="nowrap">{u.last_sign_in.clone().unwrap_or_else(|| "Never".to_owned())}</td>
                                                <td class="actions">
                                                    {invited.then(|| view! {
                                                        <ActionForm action=resend>
                                                            <input type="hidden" name="user_id" value=u.id/>
                                                            <button type="submit" class="btn small">"Resend invitation"</button>
                                                        </ActionForm>
                                                    })}
                                                    {(u.status == "active").then(|| view! {
                                                        <ActionForm action=sign_out>
                                                            <input type="hidden" name="user_id" value=u.id/>
                                                            <button type="submit" class="btn small">"Sign out everywhere"</button>
                                                        </ActionForm>
                                                    })}
                                                    {can_deactivate.then(|| view! {
                                                        <details class="confirm">
                                                            <summary class="btn small danger">"Deactivate…"</summary>
                                                            <ActionForm action=deactivate attr:class="confirm-box">
                                                                <input type="hidden" name="user_id" value=u.id/>
                                                                <p>"Sign "{who.clone()}" out everywhere and block their sign-in?"</p>
                                                                <button type="submit" class="btn small danger-solid">"Yes, deactivate"</button>
                                                            </ActionForm>
                                                        </details>
                                                    })}
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any()},
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
pub fn NewUserPage() -> impl IntoView {
    let add = ServerAction::<AddUser>::new();
    let orgs = Resource::new(|| (), |_| list_organizations());
    let error = Signal::derive(move || add.value().get().and_then(Result::err));
    let kept =
        move |name: &'static str| Signal::derive(move || error.get().and_then(|e| e.kept(name)).unwrap_or_default());
    view! {
        <PageHeader title="Add New User" lead="They receive an email with a link to set their password, then sign in."/>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                let orgs = match orgs.await {
                    Ok(o) => o,
                    Err(e) => return view! { <ErrorNotice error=e/> }.into_any(),
                };
                let chosen = kept("organization_id");
                let org_error = field_error(error, "organization_id");
                view! {
                    <ActionForm action=add attr:class="form card">
                        <TextField name="name" id="name" label="Name" required=true value=kept("name") error=field_error(error, "name")/>
                        <TextField name="email" id="email" label="Email" required=true value=kept("email") error=field_error(error, "email")/>
                        <div class="field">
                            <label for="organization_id">"Organization"</label>
                            <p class="hint-text">"Your company, or one of your partner organizations."</p>
                            <select id="organization_id" name="organization_id"
                                aria-invalid=move || org_error.get().is_some().then_some("true")>
                                {orgs.into_iter().map(|o| {
                                    let id = o.id.to_string();
                                    let selected = { let id = id.clone(); move || chosen.get() == id };
                                    view! {
                                        <option value=id selected=selected>
                                            {o.name}{if o.is_partner { " (partner)" } else { "" }}
                                        </option>
                                    }
                                }).collect_view()}
                            </select>
                            {move || org_error.get().map(|m| view! { <p class="field-error">{m}</p> })}
                        </div>
                        {move || error.get().filter(|e| !matches!(e, AppError::Validation { .. })).map(|e| view! { <ErrorNotice error=e/> })}
                        <div class="form-actions">
                            <button type="submit" class="btn primary">"Add User"</button>
                            <a class="btn" href="/settings/users">"Cancel"</a>
                        </div>
                    </ActionForm>
                }.into_any()
            })}
        </Suspense>
    }
}

#[component]
pub fn PartnersPage() -> impl IntoView {
    let create = ServerAction::<CreatePartner>::new();
    let rename = ServerAction::<RenamePartner>::new();
    let (create_ok, rename_ok) = (successes(create), successes(rename));
    let orgs = Resource::new(move || (create_ok.get(), rename_ok.get()), |_| list_organizations());
    let create_error = Signal::derive(move || create.value().get().and_then(Result::err));
    let rename_error = Signal::derive(move || rename.value().get().and_then(Result::err));
    view! {
        <PageHeader
            title="Partners"
            lead="Partner organizations build or resell integrations with you. Their users see only their own organization's integrations and tenants."
        />
        <ActionForm action=create attr:class="form card inline-form">
            <TextField name="name" id="partner-name" label="New partner organization" required=true
                value=Signal::derive(move || create_error.get().and_then(|e| e.kept("name")).unwrap_or_default())
                error=field_error(create_error, "name")/>
            <button type="submit" class="btn primary">"Create Partner"</button>
        </ActionForm>
        {move || rename_error.get().and_then(|e| e.field_message("name").map(|m| (m, e.kept("name").unwrap_or_default()))).map(|(m, name)| view! {
            <p class="notice error" role="alert">"Could not rename to “"{name}"”: "{m}</p>
        })}
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match orgs.await {
                    Ok(list) => {
                        let partners: Vec<_> = list.into_iter().filter(|o| o.is_partner).collect();
                        if partners.is_empty() {
                            return view! {
                                <EmptyState title="No partner organizations yet">
                                    <p>"Partners you create appear here. Then add their people under Users, choosing the partner as their organization."</p>
                                </EmptyState>
                            }.into_any();
                        }
                        view! {
                            <div class="table-wrap section">
                                <table class="data-table">
                                    <caption class="visually-hidden">"Partner organizations"</caption>
                                    <thead><tr><th scope="col">"Name"</th><th scope="col">"Created"</th><th scope="col">"Rename"</th></tr></thead>
                                    <tbody>
                                        {partners.into_iter().map(|o| {
                                            let (row, label) = (o.name.clone(), o.name.clone());
                                            view! {
                                            <tr data-partner=row>
                                                <td>{o.name.clone()}</td>
                                                <td class="nowrap">{o.created_at.clone()}</td>
                                                <td>
                                                    <ActionForm action=rename attr:class="row-form">
                                                        <input type="hidden" name="id" value=o.id/>
                                                        <label class="visually-hidden" for=format!("rename-{}", o.id)>"New name for "{label}</label>
                                                        <input id=format!("rename-{}", o.id) name="name" type="text" value=o.name.clone() required/>
                                                        <button type="submit" class="btn small">"Rename"</button>
                                                    </ActionForm>
                                                </td>
                                            </tr>
                                        }}).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any()
                    }
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
pub fn SentMailPage() -> impl IntoView {
    let mails = Resource::new(|| (), |_| list_sent_mail());
    view! {
        <PageHeader
            title="Sent mail"
            lead="Every message the hub sent, or kept here because no SMTP server is configured (HUB_SMTP_HOST)."
        />
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match mails.await {
                    Ok(list) if list.is_empty() => view! {
                        <EmptyState title="No mail yet">
                            <p>"Invitations and other messages will be listed here as the hub sends them."</p>
                        </EmptyState>
                    }.into_any(),
                    Ok(list) => view! {
                        <div class="mail-list">
                            {list.into_iter().map(|m| view! {
                                <details class="card mail" data-recipient=m.recipient.clone()>
                                    <summary>
                                        <span class="strong">{m.subject.clone()}</span>
                                        " to "{m.recipient.clone()}
                                        <span class=format!("badge {}", m.status)>{m.status.clone()}</span>
                                        <span class="muted small">" "{m.created_at.clone()}</span>
                                    </summary>
                                    {m.last_error.clone().map(|e| view! { <p class="field-error small">{format!("Attempt {}: {e}", m.attempts)}</p> })}
                                    {if m.body.is_empty() {
                                        view! { <p class="muted small">"Not kept once it left: it held a link that signs someone in."</p> }.into_any()
                                    } else {
                                        view! { <pre class="mail-body">{m.body.clone()}</pre> }.into_any()
                                    }}
                                </details>
                            }).collect_view()}
                        </div>
                    }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let error = Signal::derive(move || change.value().get().and_then(Result::err));
    view! {
        <PageHeader title="Your account" lead="Change the password you sign in with."/>
        {outcome(move || change.value().get(), "password", "Your password was changed.")}
        <ActionForm action=change attr:class="form card">
            <PasswordField name="current_password" label="Current password" autocomplete="current-password" error=field_error(error, "current_password")/>
            <PasswordField name="new_password" label="New password" autocomplete="new-password" error=field_error(error, "new_password")/>
            <PasswordField name="confirm" label="New password again" autocomplete="new-password" error=field_error(error, "confirm")/>
            <p class="hint-text">"At least 10 characters."</p>
            <div class="form-actions"><button type="submit" class="btn primary">"Change Password"</button></div>
        </ActionForm>
    }
}

/// A password input; its value is never sent back to the page.
#[component]
fn PasswordField(
    name: &'static str,
    label: &'static str,
    autocomplete: &'static str,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=name>{label}</label>
            <input id=name name=name type="password" autocomplete=autocomplete required
                aria-invalid=move || error.get().is_some().then_some("true")/>
            {move || error.get().map(|m| view! { <p class="field-error" id=format!("{name}-error")>{m}</p> })}
        </div>
    }
}

/// The page behind an invitation link: set a password. Needs no session.
#[component]
pub fn InvitePage() -> impl IntoView {
    let params = use_params_map();
    let token = Memo::new(move |_| params.read().get("token").unwrap_or_default());
    let accept = ServerAction::<AcceptInvitation>::new();
    let info = Resource::new(move || token.get(), get_invitation);
    let error = Signal::derive(move || accept.value().get().and_then(Result::err));
    view! {
        <Title text="Set your password"/>
        <main class="auth-page">
            <div class="auth-card">
                <p class="brand auth-brand"><span class="brand-mark" aria-hidden="true">"◆"</span>"Integration Hub"</p>
                <Suspense fallback=Loading>
                    {move || Suspend::new(async move {
                        match info.await {
                            Ok(who) => view! {
                                <h1>"Set your password"</h1>
                                <p>"Welcome, "{who.name}". You will sign in as "<strong>{who.email}</strong>"."</p>
                                <ActionForm action=accept attr:class="form">
                                    <input type="hidden" name="token" value=move || token.get()/>
                                    <PasswordField name="password" label="Password" autocomplete="new-password" error=field_error(error, "password")/>
                                    <PasswordField name="confirm" label="Password again" autocomplete="new-password" error=field_error(error, "confirm")/>
                                    <p class="hint-text">"At least 10 characters."</p>
                                    {move || error.get().filter(|e| !matches!(e, AppError::Validation { .. })).map(|e| view! { <ErrorNotice error=e/> })}
                                    <button type="submit" class="btn primary wide">"Set Password"</button>
                                </ActionForm>
                            }.into_any(),
                            Err(e) => view! {
                                <h1>"This link cannot be used"</h1>
                                <p class="notice error" role="alert">{e.to_string()}</p>
                                <p><a href="/login">"Go to sign in"</a></p>
                            }.into_any(),
                        }
                    })}
                </Suspense>
            </div>
        </main>
    }
}
