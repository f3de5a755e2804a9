//! Badges for states and statuses: a tenant's (paused or running), a release's build
//! status, and the badge class of a run's phase.

use hub_core::domain::release::ReleaseStatus;
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
pub fn ReleaseStatusBadge(status: ReleaseStatus) -> impl IntoView {
    let label = match status {
        ReleaseStatus::Queued => "Queued",
        ReleaseStatus::Building => "Building…",
        ReleaseStatus::Succeeded => "Succeeded",
        ReleaseStatus::Failed => "Failed",
    };
    view! { <span class=format!("badge {}", status.as_str()) data-testid="release-status">{label}</span> }
}

/// The badge class of a run's phase.
pub fn phase_class(phase: Phase) -> &'static str {
    match phase {
        Phase::Succeeded => "badge succeeded",
        p if p.is_failure() => "badge failed",
        Phase::Queued | Phase::Running => "badge building",
        _ => "badge",
    }
}
