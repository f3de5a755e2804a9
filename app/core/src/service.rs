//! Operations that change integrations and releases: validation, the write, and the
//! audit entry together, so the console and (later) the REST API share one copy.

use chrono::{DateTime, Utc};

use crate::db::audit::{self, Actor};
use crate::db::{connectors, integrations, releases, Db, DbError};
use crate::domain::integration::{check_git_ref, FieldError, IntegrationInput};
use crate::engine::builder::Builder;

pub mod api_keys;
pub mod connections;
pub mod marketplace;
pub mod tenants;
pub mod webhooks;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{}: {}", .0.field, .0.message)]
    Invalid(FieldError),
    /// Several fields of one form broke their rules (a configuration form).
    #[error("{} fields are invalid", .0.len())]
    InvalidFields(Vec<FieldError>),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("database: {0}")]
    Db(#[from] DbError),
}

pub(crate) fn invalid(field: &str, message: impl Into<String>) -> ServiceError {
    ServiceError::Invalid(FieldError { field: field.to_owned(), message: message.into() })
}

/// Validates the form, and that every chosen connector exists.
async fn check_input(db: &Db, input: IntegrationInput) -> Result<IntegrationInput, ServiceError> {
    let input = input.validate().map_err(ServiceError::Invalid)?;
    let known = connectors::names(db.pool()).await?;
    if let Some(unknown) = input.connectors.iter().find(|c| !known.contains(c)) {
        return Err(invalid("connectors", format!("The hub has no connector named {unknown}.")));
    }
    Ok(input)
}

/// True when a write broke a UNIQUE constraint (a name or email already taken).
pub fn is_unique_violation(e: &DbError) -> bool {
    e.as_database_error().is_some_and(|d| d.is_unique_violation())
}

pub async fn create_integration(
    db: &Db,
    actor: &Actor,
    organization_id: i64,
    input: IntegrationInput,
    now: DateTime<Utc>,
) -> Result<i64, ServiceError> {
    let input = check_input(db, input).await?;
    let mut tx = db.pool().begin().await?;
    let id = match integrations::insert(&mut tx, organization_id, &input, now).await {
        Ok(id) => id,
        Err(e) if is_unique_violation(&e) => {
            return Err(invalid("name", "An integration with this name already exists."))
        }
        Err(e) => return Err(e.into()),
    };
    let entry = audit::Entry {
        actor,
        action: "created",
        object_type: "integration",
        object_id: Some(id.to_string()),
        detail: serde_json::json!({ "name": input.name, "repository": input.repository }),
    };
    audit::record(&mut *tx, entry, now).await?;
    let event = serde_json::json!({ "integration": { "id": id, "name": input.name } });
    webhooks::emit(&mut tx, "integration_created", event, now).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn update_integration(
    db: &Db,
    actor: &Actor,
    id: i64,
    input: IntegrationInput,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let input = check_input(db, input).await?;
    let mut tx = db.pool().begin().await?;
    match integrations::update(&mut tx, id, &input, now).await {
        Ok(true) => {}
        Ok(false) => return Err(ServiceError::NotFound),
        Err(e) if is_unique_violation(&e) => {
            return Err(invalid("name", "An integration with this name already exists."))
        }
        Err(e) => return Err(e.into()),
    }
    let entry = audit::Entry {
        actor,
        action: "updated",
        object_type: "integration",
        object_id: Some(id.to_string()),
        detail: serde_json::json!({ "name": input.name }),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Queues a build of `git_ref` (the tracking branch when empty) and wakes the builder.
pub async fn build_release(
    db: &Db,
    builder: &Builder,
    actor: &Actor,
    integration_id: i64,
    git_ref: Option<&str>,
    now: DateTime<Utc>,
) -> Result<i64, ServiceError> {
    let integration = integrations::get(db.pool(), integration_id).await?.ok_or(ServiceError::NotFound)?;
    let git_ref = git_ref.map(str::trim).filter(|r| !r.is_empty()).unwrap_or(&integration.branch).to_owned();
    check_git_ref(&git_ref).map_err(|m| invalid("git_ref", m))?;
    let mut tx = db.pool().begin().await?;
    let user = match actor {
        Actor::User { id, .. } => Some(*id),
        Actor::ApiKey { .. } | Actor::Marketplace { .. } | Actor::System => None,
    };
    let id = releases::insert_queued(&mut *tx, integration_id, &git_ref, user, now).await?;
    let entry = audit::Entry {
        actor,
        action: "build queued",
        object_type: "release",
        object_id: Some(id.to_string()),
        detail: serde_json::json!({ "integration": integration_id, "ref": git_ref }),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    builder.wake();
    Ok(id)
}

pub async fn set_default_release(
    db: &Db,
    actor: &Actor,
    integration_id: i64,
    release_id: i64,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let release = releases::get(db.pool(), release_id).await?.ok_or(ServiceError::NotFound)?;
    if release.integration_id != integration_id {
        return Err(ServiceError::NotFound);
    }
    if release.status != "succeeded" {
        return Err(ServiceError::Conflict("Only a successful build can be the default release.".to_owned()));
    }
    let mut tx = db.pool().begin().await?;
    integrations::set_default_release(&mut *tx, integration_id, release_id, now).await?;
    let entry = audit::Entry {
        actor,
        action: "default release set",
        object_type: "integration",
        object_id: Some(integration_id.to_string()),
        detail: serde_json::json!({ "release": release_id, "name": release.name }),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    Ok(())
}
