//! Settings: company, users, marketplace.

use leptos::prelude::*;

use crate::api::settings::company_info;
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
