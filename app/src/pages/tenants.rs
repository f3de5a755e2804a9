//! Tenants: the list.

use leptos::prelude::*;

use crate::components::page::{EmptyState, PageHeader};

#[component]
pub fn TenantsPage() -> impl IntoView {
    view! {
        <PageHeader
            title="Tenants"
            lead="A tenant is one customer's installed instance of an integration, with its credentials, configuration and sync schedule."
        />
        <EmptyState title="No tenants yet">
            <p>
                "Tenants will be listed here with their integration, release, schedule and last run. "
                "They appear when you create one for a customer from an integration, or when a customer "
                "installs an integration from your in-app marketplace."
            </p>
        </EmptyState>
    }
}
