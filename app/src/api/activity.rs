//! The audit log, newest first.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityEntry {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    /// What was changed, in words: "tenant acme", "integration Slack Sync".
    pub object: String,
    /// Its page, when it has one.
    pub href: Option<String>,
}

/// One page of the audit log: 50 entries older than `before` (the newest when absent).
#[server(endpoint = "activity")]
pub async fn list_activity(before: Option<i64>) -> Result<Vec<ActivityEntry>, AppError> {
    use super::ctx::{require_company_user, show_time, state};

    require_company_user().await?;
    let rows = hub_core::service::records::audit_log(&state()?.db, 50, before)
        .await
        .map_err(|e| super::ctx::service_error(e, Vec::new()))?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let kind = r.object_type.replace('_', " ");
            let href = r.object_id.as_deref().filter(|_| r.object_name.is_some()).and_then(|id| {
                let page = match r.object_type.as_str() {
                    "tenant" => "tenants",
                    "integration" => "integrations",
                    "release" => "releases",
                    "connector" => "connectors",
                    _ => return None,
                };
                Some(format!("/{page}/{id}"))
            });
            let object = match (r.object_name, r.object_id) {
                (Some(name), Some(id)) if r.object_type != "connector" => format!("{kind} {name} (#{id})"),
                (Some(name), _) => format!("{kind} {name}"),
                (None, Some(id)) => format!("{kind} #{id}"),
                (None, None) => kind,
            };
            ActivityEntry { id: r.id, at: show_time(r.at), actor: r.actor_label, action: r.action, object, href }
        })
        .collect())
}
