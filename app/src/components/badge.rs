//! Badges for states and statuses: a tenant's (paused or running), a release's build
//! status, and the badge class of a run's phase.

use hub_core::domain::run::Phase;
use leptos::prelude::*;

/// A tenant's state: paused, or running on its schedule.
#[component]
pub fn TenantStateBadge(
    paused: bool,
    /// The badge's `data-testid`, where a test looks for it.
    #[prop(optional)]
    testid: Option<&'static str>,
) -> impl IntoView {
    if paused {
        view! { <span class="badge" data-testid=testid>"Paused"</span> }.into_any()
    } else {
        view! { <span class="badge succeeded" data-testid=testid>"Running"</span> }.into_any()
    }
}

/// A release's status as a badge.
#[component]
pub fn ReleaseStatusBadge(status: String) -> impl IntoView {
    let label = match status.as_str() {
        "queued" => "Queued",
        "building" => "Building…",
        "succeeded" => "Succeeded",
        "failed" => "Failed",
        other => other,
    }
    .to_owned();
    view! { <span class=format!("badge {status}") data-testid="release-status">{label}</span> }
}

/// The badge class of a run's phase, by its code.
pub fn phase_class(code: &str) -> &'static str {
    match Phase::parse(code) {
        Some(Phase::Succeeded) => "badge succeeded",
        Some(p) if p.is_failure() => "badge failed",
        Some(Phase::Queued | Phase::Running) => "badge building",
        _ => "badge",
    }
}
