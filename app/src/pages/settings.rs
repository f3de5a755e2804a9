//! Settings: company, users, marketplace.

use leptos::prelude::*;

use crate::api::settings::{company_info, list_users};
use crate::components::page::{EmptyState, ErrorNotice, PageHeader};

#[component]
pub fn CompanyPage() -> impl IntoView {
    let info = Resource::new(|| (), |_| company_info());
    view! {
        <PageHeader title="Company" lead="Your organization, which owns this hub and its integrations."/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
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
    }
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let users = Resource::new(|| (), |_| list_users());
    view! {
        <PageHeader title="Users" lead="People who can sign in to this hub, from your company and from partner organizations."/>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match users.await {
                    Ok(list) => view! {
                        <div class="table-wrap">
                            <table class="data-table">
                                <caption class="visually-hidden">"Users"</caption>
                                <thead>
                                    <tr>
                                        <th scope="col">"Name"</th><th scope="col">"Email"</th>
                                        <th scope="col">"Organization"</th><th scope="col">"Role"</th>
                                        <th scope="col">"Status"</th><th scope="col">"Last sign-in"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {list.into_iter().map(|u| view! {
                                        <tr>
                                            <td>{u.name}</td>
                                            <td>{u.email}</td>
                                            <td>{u.organization}</td>
                                            <td>{u.role}</td>
                                            <td><span class=format!("badge {}", u.status)>{u.status.clone()}</span></td>
                                            <td class="nowrap">{u.last_sign_in.unwrap_or_else(|| "Never".to_owned())}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        <p class="muted hint">"Inviting users by email, and partner organizations, come with user management."</p>
                    }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn MarketplacePage() -> impl IntoView {
    view! {
        <PageHeader title="Marketplace" lead="The in-app marketplace your customers use inside your own product."/>
        <EmptyState title="The marketplace is not set up yet">
            <p>
                "Its signing secret, allowed parent origins, name, colour and logo, and a ready-to-paste "
                "embed snippet will be shown here. Published integrations then appear to your customers "
                "as tiles they can install, connect and configure themselves."
            </p>
        </EmptyState>
    }
}
