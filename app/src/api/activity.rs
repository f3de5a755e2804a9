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
    pub object: String,
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
        .map(|r| ActivityEntry {
            id: r.id,
            at: show_time(r.at),
            actor: r.actor_label,
            action: r.action,
            object: match r.object_id {
                Some(id) => format!("{} #{id}", r.object_type),
                None => r.object_type,
            },
        })
        .collect())
}
