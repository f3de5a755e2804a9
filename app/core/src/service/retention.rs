//! The retention settings and the disk use the Company page shows. The pruning itself
//! is the janitor's (`engine::janitor`).

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{FieldError, ServiceError};
use crate::db::audit::{self, Actor};
use crate::db::{webhooks as settings_store, Db};
use crate::domain::audit::AuditAction;
use crate::domain::retention::SETTING;
pub use crate::domain::retention::{Retention, FIXED};
pub use crate::engine::janitor::{DiskUse, Janitor, Pruned};

/// The settings in force.
pub async fn settings(janitor: &Janitor) -> Result<Retention, ServiceError> {
    Ok(janitor.settings().await?)
}

/// What the hub's data takes on disk now.
pub async fn disk_use(janitor: &Janitor) -> Result<DiskUse, ServiceError> {
    Ok(janitor.disk_use().await?)
}

/// Saves the settings form, with its audit entry; the janitor applies it at its next step.
pub async fn save(
    db: &Db,
    actor: &Actor,
    log_days: &str,
    runs_per_tenant: &str,
    now: DateTime<Utc>,
) -> Result<Retention, ServiceError> {
    let r = Retention::parse(log_days, runs_per_tenant).map_err(|errors| {
        ServiceError::InvalidFields(
            errors.into_iter().map(|(field, message)| FieldError { field: field.to_owned(), message }).collect(),
        )
    })?;
    let mut tx = db.pool().begin().await?;
    settings_store::set_setting(&mut *tx, SETTING, &serde_json::to_string(&r).unwrap_or_default(), now).await?;
    let entry = audit::Entry {
        actor,
        action: AuditAction::RetentionSaved,
        object_type: "settings",
        object_id: None,
        detail: json!({ "log_days": r.log_days, "runs_per_tenant": r.runs_per_tenant }),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    Ok(r)
}
