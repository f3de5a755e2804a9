//! Integrations: the list.

use leptos::prelude::*;

use crate::components::page::{EmptyState, PageHeader};

#[component]
pub fn IntegrationsPage() -> impl IntoView {
    view! {
        <PageHeader
            title="Integrations"
            lead="Each integration connects your product with one outside system, such as Slack or Shopify."
        />
        <EmptyState title="No integrations yet">
            <p>
                "Your integrations will be listed here with their releases and how many tenants use them. "
                "An integration points at a git repository whose PANDIUM.yaml says how to build and run it; "
                "once it exists, you build releases from that repository and install it for customers as tenants."
            </p>
        </EmptyState>
    }
}
