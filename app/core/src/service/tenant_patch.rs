//! Tenants as machines change them through the REST API: the whole creation flow at
//! once, a patch of any part, and the metadata. Every value is checked before anything
//! is written.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::tenants::{configs, insert_planned, plan, release_of, save_schedule, save_settings, visible};
use super::{invalid, Actor, Db, Scope, ServiceError};
use crate::db::audit;
use crate::db::tenants::{self, ScheduleUpdate, TenantRow};
use crate::domain::audit::AuditAction;
use crate::domain::form::{raw_from_values, schema_defaults, Audience, Form, Values};
use crate::domain::tenant::{NewTenantInput, Schedule, ScheduleInput, SetupStep, Source, VersionInput};
use crate::engine::runs::Engine;

/// What a patch may change; what it leaves out stays as it is.
#[derive(Debug, Default)]
pub struct Patch {
    pub release: Option<VersionInput>,
    /// Values by name, merged over the current ones.
    pub configs: Option<Value>,
    pub schedule: Option<ScheduleInput>,
    pub paused: Option<bool>,
}

/// Changes a live tenant's release choice, configuration, schedule or paused state,
/// and returns it as it is now.
pub async fn update(
    db: &Db,
    engine: &Engine,
    actor: &Actor,
    id: i64,
    patch: Patch,
    now: DateTime<Utc>,
) -> Result<TenantRow, ServiceError> {
    let t = visible(db, Scope::All, id).await?;
    if patch.release.is_some() || patch.configs.is_some() {
        let version = match patch.release {
            Some(r) => r,
            None => t.choice().map(VersionInput::of).unwrap_or_default(),
        };
        let mut merged = configs(&t);
        match patch.configs {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => merged.extend(m),
            Some(_) => return Err(invalid("configs", "configs must be a JSON object of values by name.")),
        }
        save_settings(db, actor, &t, &version, &raw_from_values(&merged), now).await?;
    }
    if patch.schedule.is_some() || patch.paused.is_some() {
        let t = visible(db, Scope::All, id).await?;
        let schedule = match patch.schedule {
            Some(s) => s,
            None => Schedule::from_parts(&t.schedule_kind, &t.schedule, &t.timezone)
                .map(|s| s.to_input())
                .unwrap_or_default(),
        };
        save_schedule(db, actor, &t, &schedule, patch.paused.unwrap_or(t.paused), now).await?;
        engine.wake();
    }
    tenants::get(db.pool(), id).await?.ok_or(ServiceError::NotFound)
}

/// The whole creation flow at once (the REST API): every value is checked before
/// anything is written, then the tenant, its configuration and its schedule are
/// written in one transaction, so a refused or failed request leaves nothing behind.
/// `configs` are merged over the release's defaults.
#[allow(clippy::too_many_arguments)]
pub async fn create_complete(
    db: &Db,
    engine: &Engine,
    actor: &Actor,
    integration_id: i64,
    input: &NewTenantInput,
    configs: Option<Value>,
    schedule: &ScheduleInput,
    paused: bool,
    now: DateTime<Utc>,
) -> Result<TenantRow, ServiceError> {
    let integration = crate::db::integrations::get(db.pool(), integration_id)
        .await?
        .ok_or_else(|| invalid("integration_id", "There is no integration with this id."))?;
    let integration = &integration;
    let configs = match configs {
        None | Some(Value::Null) => Values::new(),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(invalid("configs", "configs must be a JSON object of values by name.")),
    };
    let plan = plan(db, integration, input).await?;
    let defaults = schema_defaults(&plan.manifest.configs);
    let mut values = defaults.clone();
    values.extend(configs);
    let form = Form::build(&plan.manifest.configs, Audience::Hub);
    let read = form.read(&raw_from_values(&values), &Values::new()).map_err(ServiceError::InvalidFields)?;
    let configs_text = Value::Object(form.merge(&defaults, read, &Values::new())).to_string();
    let parsed = schedule.parse().map_err(ServiceError::Invalid)?;
    let (kind, text, tz) = parsed.to_parts();

    let mut tx = db.pool().begin().await?;
    let id = insert_planned(&mut tx, engine.key(), actor, integration, &plan, Source::Api, None, now).await?;
    // Configured: the step moves on to the schedule (credentials, if any, still wait
    // for their magic links).
    tenants::set_configs(&mut *tx, id, &configs_text, SetupStep::Schedule, now).await?;
    let fields: Vec<String> = form.fields().iter().map(|f| f.name.clone()).collect();
    let entry = audit::Entry {
        actor,
        action: AuditAction::Configured,
        object_type: "tenant",
        object_id: Some(id.to_string()),
        detail: json!({ "fields": fields }),
    };
    audit::record(&mut *tx, entry, now).await?;
    let next_fire_at = if paused { None } else { parsed.next_after(now, id) };
    let update = ScheduleUpdate { kind, schedule: &text, timezone: &tz, paused, next_fire_at, step: SetupStep::Done };
    tenants::set_schedule(&mut *tx, id, &update, now).await?;
    let entry = audit::Entry {
        actor,
        action: AuditAction::ScheduleSaved,
        object_type: "tenant",
        object_id: Some(id.to_string()),
        detail: json!({ "schedule": parsed.describe(), "paused": paused }),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    db.outbox_written();
    engine.wake();
    tenants::get(db.pool(), id).await?.ok_or(ServiceError::NotFound)
}

/// The tenant's metadata: what its runs and the API keep about it.
pub async fn metadata(db: &Db, id: i64) -> Result<serde_json::Map<String, serde_json::Value>, ServiceError> {
    let tenant = visible(db, Scope::All, id).await?;
    let text = tenants::metadata(db.pool(), tenant.id).await?.ok_or(ServiceError::NotFound)?;
    Ok(serde_json::from_str(&text).unwrap_or_default())
}

/// A shallow merge into the tenant's metadata (a `null` removes a key), checked
/// against the `metadata_schema` of the tenant's release before it is stored, as a
/// run's metadata file is. Returns the merged metadata.
pub async fn patch_metadata(
    db: &Db,
    actor: &Actor,
    id: i64,
    patch: &Value,
    now: DateTime<Utc>,
) -> Result<serde_json::Map<String, serde_json::Value>, ServiceError> {
    let Value::Object(patch) = patch else {
        return Err(invalid("body", "The body must be a JSON object."));
    };
    let tenant = &visible(db, Scope::All, id).await?;
    let mut merged = metadata(db, id).await?;
    for (k, v) in patch {
        if v.is_null() {
            merged.remove(k);
        } else {
            merged.insert(k.clone(), v.clone());
        }
    }
    let value = serde_json::Value::Object(merged.clone());
    if let Some(schema) = release_of(db, tenant).await?.and_then(|(_, m)| m.metadata_schema) {
        crate::domain::run::check_metadata(&schema, &value).map_err(|m| invalid("metadata", m))?;
    }
    let mut tx = db.pool().begin().await?;
    tenants::set_metadata(&mut *tx, tenant.id, &value.to_string(), now).await?;
    let entry = audit::Entry {
        actor,
        action: AuditAction::MetadataChanged,
        object_type: "tenant",
        object_id: Some(tenant.id.to_string()),
        detail: json!({ "keys": patch.keys().collect::<Vec<_>>() }),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    Ok(merged)
}
