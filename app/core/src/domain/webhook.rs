//! The events the hub sends to the notification URL.

/// Each event's name (the payload's `type`) and what it means, in words.
pub const EVENTS: [(&str, &str); 4] = [
    ("integration_created", "An integration was created"),
    ("tenant_created", "A tenant was created (in the console, the marketplace or the API)"),
    ("tenant_archived", "A tenant was archived"),
    ("run_failed", "A run failed"),
];

pub fn is_event(name: &str) -> bool {
    EVENTS.iter().any(|(e, _)| *e == name)
}
