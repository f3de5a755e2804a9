//! Integrations and their releases: the reads each front door shows, and the changes
//! (validated, written and audited in one transaction).

use chrono::{DateTime, Utc};

use super::{invalid, is_unique_violation, Actor, Scope, ServiceError};
use crate::db::integrations::{IntegrationListRow, ListingRow};
pub use crate::db::releases::ReleaseListRow;
use crate::db::tenants::TenantBriefRow;
use crate::db::{audit, connectors, integrations, releases, tenants, Db};
pub use crate::db::{IntegrationRow, ReleaseRow};
use crate::domain::audit::AuditAction;
use crate::domain::integration::{check_git_ref, repository_host, IntegrationInput};
use crate::domain::marketplace::ListingInput;
use crate::domain::release::{ReleaseChoice, ReleaseStatus};
use crate::egress::Egress;
use crate::engine::builder::Builder;

/// The integration, when the scope may see it; otherwise not found (its existence is
/// not revealed).
pub async fn visible(db: &Db, scope: Scope, id: i64) -> Result<IntegrationRow, ServiceError> {
    match integrations::get(db.pool(), id).await? {
        Some(r) if scope.allows(r.organization_id) => Ok(r),
        _ => Err(ServiceError::NotFound),
    }
}

pub async fn list(db: &Db, scope: Scope) -> Result<Vec<IntegrationListRow>, ServiceError> {
    Ok(integrations::list(db.pool(), scope.organization()).await?)
}

/// Ids and names, for filters.
pub async fn names(db: &Db, scope: Scope) -> Result<Vec<(i64, String)>, ServiceError> {
    Ok(integrations::names(db.pool(), scope.organization()).await?)
}

/// One integration with everything its page shows.
#[derive(Debug)]
pub struct Detail {
    pub integration: IntegrationRow,
    pub connectors: Vec<String>,
    /// Newest first.
    pub releases: Vec<ReleaseListRow>,
    pub latest: Option<i64>,
    pub tenants: Vec<TenantBriefRow>,
}

pub async fn detail(db: &Db, scope: Scope, id: i64) -> Result<Detail, ServiceError> {
    let integration = visible(db, scope, id).await?;
    Ok(Detail {
        connectors: integrations::connectors_of(db.pool(), id).await?,
        releases: releases::list_for(db.pool(), id).await?,
        latest: releases::latest_succeeded(db.pool(), id).await?,
        tenants: tenants::list_for_integration(db.pool(), id).await?,
        integration,
    })
}

/// The integration form: the stored integration and its connectors (none for a new
/// one), and every connector the hub has, as (name, display name, whether the hub
/// can collect its credentials yet).
pub struct FormData {
    pub current: Option<(IntegrationRow, Vec<String>)>,
    pub connectors: Vec<(String, String, bool)>,
}

pub async fn form(db: &Db, scope: Scope, id: Option<i64>) -> Result<FormData, ServiceError> {
    let current = match id {
        Some(id) => Some((visible(db, scope, id).await?, integrations::connectors_of(db.pool(), id).await?)),
        None => None,
    };
    let connectors = connectors::list(db.pool())
        .await?
        .into_iter()
        .map(|c| {
            let def = super::tenants::parse_definition(&c.definition);
            let configured = def.is_some_and(|d| d.oauth2.is_none_or(|o| !o.client_id.is_empty()));
            (c.name, c.display_name, configured)
        })
        .collect();
    Ok(FormData { current, connectors })
}

/// One release with its integration, and which release is the latest successful one.
pub struct ReleaseDetail {
    pub release: ReleaseRow,
    pub integration: IntegrationRow,
    pub latest: Option<i64>,
}

pub async fn release(db: &Db, scope: Scope, id: i64) -> Result<ReleaseDetail, ServiceError> {
    let release = releases::get(db.pool(), id).await?.ok_or(ServiceError::NotFound)?;
    let integration = visible(db, scope, release.integration_id).await?;
    let latest = releases::latest_succeeded(db.pool(), release.integration_id).await?;
    Ok(ReleaseDetail { release, integration, latest })
}

/// An integration's releases, newest first.
pub async fn releases_of(db: &Db, scope: Scope, integration_id: i64) -> Result<Vec<ReleaseListRow>, ServiceError> {
    visible(db, scope, integration_id).await?;
    Ok(releases::list_for(db.pool(), integration_id).await?)
}

/// One release of the integration, or not found when it belongs to another.
pub async fn release_of(db: &Db, scope: Scope, integration_id: i64, id: i64) -> Result<ReleaseRow, ServiceError> {
    visible(db, scope, integration_id).await?;
    releases::get(db.pool(), id).await?.filter(|r| r.integration_id == integration_id).ok_or(ServiceError::NotFound)
}

/// The release a channel (`Default` or `Latest`) points at now.
pub async fn channel(
    db: &Db,
    scope: Scope,
    integration_id: i64,
    choice: ReleaseChoice,
) -> Result<Option<ReleaseRow>, ServiceError> {
    visible(db, scope, integration_id).await?;
    Ok(releases::resolve(db.pool(), integration_id, choice).await?)
}

/// One integration the scope may see, with its connectors' names.
pub async fn one(db: &Db, scope: Scope, id: i64) -> Result<(IntegrationRow, Vec<String>), ServiceError> {
    let row = visible(db, scope, id).await?;
    let connectors = integrations::connectors_of(db.pool(), id).await?;
    Ok((row, connectors))
}

/// Every integration the scope may see, each with its connectors' names, by name.
/// (Two queries, read together: one per integration made the REST list wait for a
/// connection that many times under load.)
pub async fn all(db: &Db, scope: Scope) -> Result<Vec<(IntegrationRow, Vec<String>)>, ServiceError> {
    let org = scope.organization();
    let (rows, connectors) =
        tokio::try_join!(integrations::all(db.pool(), org), integrations::all_connectors(db.pool(), org))?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let names = connectors.iter().filter(|(i, _)| *i == row.id).map(|(_, c)| c.clone()).collect();
            (row, names)
        })
        .collect())
}

/// The marketplace listing of an integration the scope may see.
pub async fn listing(db: &Db, scope: Scope, id: i64) -> Result<ListingRow, ServiceError> {
    visible(db, scope, id).await?;
    integrations::listing(db.pool(), id).await?.ok_or(ServiceError::NotFound)
}

/// Every published listing, for the marketplace's settings page.
pub async fn published(db: &Db) -> Result<Vec<ListingRow>, ServiceError> {
    Ok(integrations::published(db.pool()).await?)
}

/// Saves the marketplace listing, with its audit entry.
pub async fn save_listing(
    db: &Db,
    actor: &Actor,
    scope: Scope,
    id: i64,
    input: &ListingInput,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    visible(db, scope, id).await?;
    let listing = input.validate().map_err(ServiceError::Invalid)?;
    let mut tx = db.pool().begin().await?;
    if !integrations::set_listing(&mut *tx, id, &listing, now).await? {
        return Err(ServiceError::NotFound);
    }
    let entry = audit::Entry {
        actor,
        action: AuditAction::ListingSaved,
        object_type: "integration",
        object_id: Some(id.to_string()),
        detail: serde_json::json!({ "published": listing.published }),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Validates the form, that every chosen connector exists, and that the repository's
/// host is one the hub may fetch from (the builder checks again before each clone).
async fn check_input(db: &Db, egress: &Egress, input: IntegrationInput) -> Result<IntegrationInput, ServiceError> {
    let input = input.validate().map_err(ServiceError::Invalid)?;
    if let Some((host, port)) = repository_host(&input.repository) {
        egress.check_host(&host, port).await.map_err(|e| invalid("repository", e.to_string()))?;
    }
    let known = connectors::names(db.pool()).await?;
    if let Some(unknown) = input.connectors.iter().find(|c| !known.contains(c)) {
        return Err(invalid("connectors", format!("The hub has no connector named {unknown}.")));
    }
    Ok(input)
}

pub async fn create(
    db: &Db,
    egress: &Egress,
    actor: &Actor,
    organization_id: i64,
    input: IntegrationInput,
    now: DateTime<Utc>,
) -> Result<i64, ServiceError> {
    let input = check_input(db, egress, input).await?;
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
        action: AuditAction::Created,
        object_type: "integration",
        object_id: Some(id.to_string()),
        detail: serde_json::json!({ "name": input.name, "repository": input.repository }),
    };
    audit::record(&mut *tx, entry, now).await?;
    let event = serde_json::json!({ "integration": { "id": id, "name": input.name } });
    crate::outbox::emit(&mut tx, "integration_created", event, now).await?;
    tx.commit().await?;
    db.outbox_written();
    Ok(id)
}

#[allow(clippy::too_many_arguments)]
pub async fn update(
    db: &Db,
    egress: &Egress,
    actor: &Actor,
    scope: Scope,
    id: i64,
    input: IntegrationInput,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let before = visible(db, scope, id).await?;
    let input = check_input(db, egress, input).await?;
    let mut tx = db.pool().begin().await?;
    // Credentials were given for the repository's host: another host gets none of them.
    use crate::domain::integration::repository_host;
    let moved = repository_host(&before.repository) != repository_host(&input.repository);
    let forgot_token = moved && before.repo_access == "token";
    if moved {
        integrations::forget_host(&mut *tx, id).await?;
    }
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
        action: AuditAction::Updated,
        object_type: "integration",
        object_id: Some(id.to_string()),
        detail: serde_json::json!({ "name": input.name, "host_changed": moved, "token_forgotten": forgot_token }),
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
    scope: Scope,
    integration_id: i64,
    git_ref: Option<&str>,
    now: DateTime<Utc>,
) -> Result<i64, ServiceError> {
    let integration = visible(db, scope, integration_id).await?;
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
        action: AuditAction::BuildQueued,
        object_type: "release",
        object_id: Some(id.to_string()),
        detail: serde_json::json!({ "integration": integration_id, "ref": git_ref }),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    builder.wake();
    Ok(id)
}

pub async fn set_default(
    db: &Db,
    actor: &Actor,
    scope: Scope,
    integration_id: i64,
    release_id: i64,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    visible(db, scope, integration_id).await?;
    let release = releases::get(db.pool(), release_id).await?.ok_or(ServiceError::NotFound)?;
    if release.integration_id != integration_id {
        return Err(ServiceError::NotFound);
    }
    if release.status != ReleaseStatus::Succeeded {
        return Err(ServiceError::Conflict("Only a successful build can be the default release.".to_owned()));
    }
    if release.files_removed {
        return Err(ServiceError::Conflict(
            "This release's files were removed because nothing used it: build its git ref again.".to_owned(),
        ));
    }
    let mut tx = db.pool().begin().await?;
    integrations::set_default_release(&mut *tx, integration_id, release_id, now).await?;
    let entry = audit::Entry {
        actor,
        action: AuditAction::DefaultReleaseSet,
        object_type: "integration",
        object_id: Some(integration_id.to_string()),
        detail: serde_json::json!({ "release": release_id, "name": release.name }),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    Ok(())
}
