//! Integrations and their releases.

use hub_core::domain::integration::IntegrationInput;
use hub_core::domain::release::ReleaseStatus;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationSummary {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub connectors: String,
    pub release_count: i64,
    pub tenant_count: i64,
    pub default_release: Option<String>,
    pub latest_release: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseSummary {
    pub id: i64,
    pub name: String,
    pub git_ref: String,
    pub commit: Option<String>,
    pub status: ReleaseStatus,
    pub error: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
    pub is_default: bool,
    pub is_latest: bool,
    /// Its checkout was removed because nothing used it: it cannot be chosen.
    pub files_removed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationDetail {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub repository: String,
    pub branch: String,
    pub manifest_path: String,
    pub connectors: Vec<String>,
    /// How the hub fetches the repository, in words ("SSH deploy key", …), with
    /// "builds on push" when it does.
    pub access: String,
    pub releases: Vec<ReleaseSummary>,
    pub tenants: Vec<TenantBrief>,
    /// A release is queued or building: the page refreshes until it is not.
    pub busy: bool,
    pub created_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantBrief {
    pub id: i64,
    pub name: String,
    /// "Pinned: v2 (main)", "Default channel" or "Latest channel".
    pub release: String,
    pub paused: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseDetail {
    pub release: ReleaseSummary,
    pub integration_id: i64,
    pub integration_name: String,
    pub build_log: String,
    pub run_command: Option<String>,
    /// What sandbox the build had (its layers), or that it ran unsandboxed.
    pub sandbox: Option<String>,
    /// The parsed PANDIUM.yaml in brief: version, base, connectors, config fields.
    pub manifest: Option<ManifestBrief>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestBrief {
    pub version: String,
    pub base: Option<String>,
    pub build: Option<String>,
    pub connectors: Vec<String>,
    pub properties: Vec<String>,
    pub dynamic: Vec<String>,
    pub has_uischema: bool,
    pub has_metadata_schema: bool,
}

/// The integration form: what is stored now (empty for a new one), and the choices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationForm {
    pub input: IntegrationInput,
    /// (name, display name, whether the hub can collect its credentials yet).
    pub connectors: Vec<(String, String, bool)>,
}

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use hub_core::domain::manifest::Manifest;
    use hub_core::domain::release::ReleaseChoice;
    use hub_core::service::integrations::{Detail, ReleaseListRow};

    use super::*;
    use crate::api::ctx::show_time;

    pub use crate::api::ctx::service_error;

    pub fn summary(r: &ReleaseListRow, default: Option<i64>, latest: Option<i64>) -> ReleaseSummary {
        ReleaseSummary {
            id: r.id,
            name: r.name.clone(),
            git_ref: r.git_ref.clone(),
            commit: r.commit_sha.as_ref().map(|c| c.chars().take(12).collect()),
            status: r.status,
            error: r.error.clone(),
            created_at: show_time(r.created_at),
            finished_at: r.finished_at.map(show_time),
            is_default: default == Some(r.id),
            is_latest: latest == Some(r.id),
            files_removed: r.files_removed,
        }
    }

    pub fn brief(manifest_json: &str) -> Option<ManifestBrief> {
        let m: Manifest = serde_json::from_str(manifest_json).ok()?;
        let schema = &m.configs.schema;
        Some(ManifestBrief {
            dynamic: schema.definitions.iter().filter(|(_, d)| d.is_dynamic()).map(|(n, _)| n.clone()).collect(),
            properties: schema.properties.keys().cloned().collect(),
            has_uischema: m.configs.uischema.is_some(),
            has_metadata_schema: m.metadata_schema.is_some(),
            version: m.version,
            base: m.base,
            build: m.build,
            connectors: m.connectors,
        })
    }

    /// How the hub fetches the repository, in words.
    fn access_words(access: &str, push_on: bool) -> String {
        let how = match hub_core::domain::integration::RepoAccess::parse(access).unwrap_or_default() {
            hub_core::domain::integration::RepoAccess::None => "No credentials",
            hub_core::domain::integration::RepoAccess::Ssh => "SSH deploy key",
            hub_core::domain::integration::RepoAccess::Token => "HTTPS access token",
        };
        if push_on {
            format!("{how}; builds on push")
        } else {
            how.to_owned()
        }
    }

    /// The integration's page: its releases and the tenants that use it.
    pub(super) fn detail(d: Detail) -> IntegrationDetail {
        let row = d.integration;
        let tenants = d
            .tenants
            .into_iter()
            .map(|t| TenantBrief {
                id: t.id,
                release: ReleaseChoice::label(t.choice(), t.release_name.as_deref()),
                name: t.name,
                paused: t.paused,
            })
            .collect();
        let busy = d.releases.iter().any(|r| !r.status.is_finished());
        IntegrationDetail {
            tenants,
            id: row.id,
            busy,
            releases: d.releases.iter().map(|r| summary(r, row.default_release_id, d.latest)).collect(),
            name: row.name,
            description: row.description,
            repository: row.repository,
            branch: row.branch,
            manifest_path: row.manifest_path,
            connectors: d.connectors,
            access: access_words(&row.repo_access, row.push_on),
            created_at: show_time(row.created_at),
        }
    }
}

#[server(endpoint = "integrations")]
pub async fn list_integrations() -> Result<Vec<IntegrationSummary>, AppError> {
    use hub_core::service::Scope;

    use crate::api::ctx::{require_user, service_error, state};
    let user = require_user().await?;
    let rows = hub_core::service::integrations::list(&state()?.db, Scope::of(&user))
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    Ok(rows
        .into_iter()
        .map(|r| IntegrationSummary {
            id: r.id,
            name: r.name,
            description: r.description,
            connectors: r.connectors.unwrap_or_default(),
            release_count: r.release_count,
            tenant_count: r.tenant_count,
            default_release: r.default_release,
            latest_release: r.latest_release,
        })
        .collect())
}

#[server(endpoint = "integration")]
pub async fn get_integration(id: i64) -> Result<IntegrationDetail, AppError> {
    use hub_core::service::Scope;

    use crate::api::ctx::{require_user, service_error, state};
    let user = require_user().await?;
    let d = hub_core::service::integrations::detail(&state()?.db, Scope::of(&user), id)
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    Ok(server::detail(d))
}

/// The form's current values (`id` absent for a new integration) and its choices.
#[server(endpoint = "integration_form")]
pub async fn get_integration_form(id: Option<i64>) -> Result<IntegrationForm, AppError> {
    use hub_core::service::Scope;

    use crate::api::ctx::{require_user, service_error, state};
    let user = require_user().await?;
    let f = hub_core::service::integrations::form(&state()?.db, Scope::of(&user), id)
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    let input = match f.current {
        Some((row, connectors)) => IntegrationInput {
            connectors,
            name: row.name,
            description: row.description,
            repository: row.repository,
            branch: row.branch,
            manifest_path: row.manifest_path,
            run_timeout_minutes: (row.run_timeout_secs / 60).max(1).to_string(),
        },
        None => IntegrationInput {
            branch: "main".into(),
            manifest_path: "PANDIUM.yaml".into(),
            run_timeout_minutes: hub_core::domain::integration::DEFAULT_RUN_MINUTES.to_string(),
            ..Default::default()
        },
    };
    Ok(IntegrationForm { input, connectors: f.connectors })
}

/// The form's values as text, to show them again after a failed plain POST.
#[cfg(feature = "ssr")]
fn kept(input: &IntegrationInput) -> Vec<(String, String)> {
    vec![
        ("name".into(), input.name.clone()),
        ("description".into(), input.description.clone()),
        ("repository".into(), input.repository.clone()),
        ("branch".into(), input.branch.clone()),
        ("manifest_path".into(), input.manifest_path.clone()),
        ("run_timeout_minutes".into(), input.run_timeout_minutes.clone()),
        ("connectors".into(), input.connectors.join(",")),
    ]
}

#[server(endpoint = "create_integration")]
pub async fn create_integration(input: IntegrationInput) -> Result<(), AppError> {
    use crate::api::ctx::{require_user, state};
    let user = require_user().await?;
    let keep = kept(&input);
    let st = state()?;
    let id = hub_core::service::integrations::create(
        &st.db,
        &st.egress,
        &user.actor(),
        user.organization_id,
        input,
        chrono::Utc::now(),
    )
    .await
    .map_err(|e| server::service_error(e, keep))?;
    leptos_axum::redirect(&format!("/integrations/{id}"));
    Ok(())
}

#[server(endpoint = "update_integration")]
pub async fn update_integration(id: i64, input: IntegrationInput) -> Result<(), AppError> {
    use hub_core::service::Scope;

    use crate::api::ctx::{require_user, state};
    let user = require_user().await?;
    let keep = kept(&input);
    let st = state()?;
    hub_core::service::integrations::update(
        &st.db,
        &st.egress,
        &user.actor(),
        Scope::of(&user),
        id,
        input,
        chrono::Utc::now(),
    )
    .await
    .map_err(|e| server::service_error(e, keep))?;
    leptos_axum::redirect(&format!("/integrations/{id}"));
    Ok(())
}

/// Queues a build of `git_ref`, or of the tracking branch when it is empty.
#[server(endpoint = "build_release")]
pub async fn build_release(integration_id: i64, git_ref: Option<String>) -> Result<i64, AppError> {
    use hub_core::service::Scope;

    use crate::api::ctx::{require_user, state};
    let user = require_user().await?;
    let st = state()?;
    let keep = vec![("git_ref".to_owned(), git_ref.clone().unwrap_or_default())];
    hub_core::service::integrations::build_release(
        &st.db,
        &st.builder,
        &user.actor(),
        Scope::of(&user),
        integration_id,
        git_ref.as_deref(),
        chrono::Utc::now(),
    )
    .await
    .map_err(|e| server::service_error(e, keep))
}

#[server(endpoint = "set_default_release")]
pub async fn set_default_release(integration_id: i64, release_id: i64) -> Result<(), AppError> {
    use hub_core::service::Scope;

    use crate::api::ctx::{require_user, state};
    let user = require_user().await?;
    let (actor, scope, now) = (user.actor(), Scope::of(&user), chrono::Utc::now());
    hub_core::service::integrations::set_default(&state()?.db, &actor, scope, integration_id, release_id, now)
        .await
        .map_err(|e| server::service_error(e, Vec::new()))
}

#[server(endpoint = "release")]
pub async fn get_release(id: i64) -> Result<ReleaseDetail, AppError> {
    use hub_core::service::Scope;

    use crate::api::ctx::{require_user, service_error, state};
    let user = require_user().await?;
    let d = hub_core::service::integrations::release(&state()?.db, Scope::of(&user), id)
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    let row = d.release;
    Ok(ReleaseDetail {
        release: server::summary(&row.summary(), d.integration.default_release_id, d.latest),
        integration_id: d.integration.id,
        integration_name: d.integration.name,
        manifest: row.manifest.as_deref().and_then(server::brief),
        build_log: row.build_log,
        run_command: row.run_command,
        sandbox: row.sandbox,
    })
}
