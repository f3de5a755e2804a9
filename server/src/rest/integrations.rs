//! Integrations and their releases.

use app::api::ctx::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use hub_core::domain::release::ReleaseChoice;
use hub_core::service::integrations::{self as svc, IntegrationRow, ReleaseListRow};
use hub_core::service::Scope;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{id, optional_json_body, page_of, page_type, ApiError, ApiResult, Caller, ErrorBody, ListParams, SortKey};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Integration {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// The connectors each tenant connects, in order.
    pub connectors: Vec<String>,
    pub repository: String,
    pub branch: String,
    pub manifest_path: String,
    pub default_release_id: Option<i64>,
    pub run_timeout_secs: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Release {
    pub id: i64,
    pub integration_id: i64,
    pub name: String,
    pub git_ref: String,
    pub commit_sha: Option<String>,
    /// `queued`, `building`, `succeeded` or `failed`.
    pub status: String,
    pub error: Option<String>,
    pub run_command: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Its checkout was removed because nothing used it; it can no longer be chosen.
    pub files_removed: bool,
}

page_type!(IntegrationPage, Integration);
page_type!(ReleasePage, Release);

/// A build to queue.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct BuildRequest {
    /// A branch or tag; the integration's tracking branch when left out.
    pub git_ref: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BuildQueued {
    pub release_id: i64,
}

fn to_integration((i, connectors): (IntegrationRow, Vec<String>)) -> Integration {
    Integration {
        id: i.id,
        name: i.name,
        description: i.description,
        connectors,
        repository: i.repository,
        branch: i.branch,
        manifest_path: i.manifest_path,
        default_release_id: i.default_release_id,
        run_timeout_secs: i.run_timeout_secs,
        created_at: i.created_at,
        updated_at: i.updated_at,
    }
}

fn to_release(r: ReleaseListRow) -> Release {
    Release {
        id: r.id,
        integration_id: r.integration_id,
        name: r.name,
        git_ref: r.git_ref,
        commit_sha: r.commit_sha,
        status: r.status.as_str().to_owned(),
        error: r.error,
        run_command: r.run_command,
        created_at: r.created_at,
        finished_at: r.finished_at,
        files_removed: r.files_removed,
    }
}

pub(super) const INTEGRATION_SORT: [&str; 3] = ["name", "id", "created_at"];
pub(super) const RELEASE_SORT: [&str; 3] = ["id", "name", "created_at"];

/// Lists integrations.
#[utoipa::path(get, path = "/api/v2/integrations", operation_id = "listIntegrations", tag = "integrations", params(ListParams),
    responses((status = 200, description = "A page of integrations", body = IntegrationPage), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    _: Caller,
    Query(params): Query<ListParams>,
) -> ApiResult<Json<IntegrationPage>> {
    let paging = params.check(&INTEGRATION_SORT)?;
    let rows = svc::all(&state.db, Scope::All).await?;
    let (rows, total) = page_of(rows, &paging, |(i, _), f| match f {
        "name" => SortKey::Text(i.name.to_lowercase()),
        "created_at" => SortKey::Text(i.created_at.to_rfc3339()),
        _ => SortKey::Int(i.id),
    });
    let items = rows.into_iter().map(to_integration).collect();
    Ok(Json(IntegrationPage { items, total, limit: paging.limit, skip: paging.skip }))
}

/// Gets one integration.
#[utoipa::path(get, path = "/api/v2/integrations/{id}", operation_id = "getIntegration", tag = "integrations", params(("id" = i64, Path)),
    responses((status = 200, description = "The integration", body = Integration), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn get(State(state): State<AppState>, _: Caller, Path(raw): Path<String>) -> ApiResult<Json<Integration>> {
    Ok(Json(to_integration(svc::one(&state.db, Scope::All, id(&raw)?).await?)))
}

/// Lists an integration's releases, newest first by default.
#[utoipa::path(get, path = "/api/v2/integrations/{id}/releases", operation_id = "listReleases", tag = "integrations",
    params(("id" = i64, Path), ListParams),
    responses((status = 200, description = "A page of the integration's releases", body = ReleasePage), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn releases(
    State(state): State<AppState>,
    _: Caller,
    Path(raw): Path<String>,
    Query(params): Query<ListParams>,
) -> ApiResult<Json<ReleasePage>> {
    let paging = params.check(&RELEASE_SORT)?;
    let rows = svc::releases_of(&state.db, Scope::All, id(&raw)?).await?;
    let (rows, total) = page_of(rows, &paging, |r, f| match f {
        "name" => SortKey::Text(r.name.to_lowercase()),
        "created_at" => SortKey::Text(r.created_at.to_rfc3339()),
        _ => SortKey::Int(r.id),
    });
    Ok(Json(ReleasePage {
        items: rows.into_iter().map(to_release).collect(),
        total,
        limit: paging.limit,
        skip: paging.skip,
    }))
}

/// Gets one release of an integration.
#[utoipa::path(get, path = "/api/v2/integrations/{id}/releases/{release_id}", operation_id = "getRelease", tag = "integrations",
    params(("id" = i64, Path), ("release_id" = i64, Path)),
    responses((status = 200, description = "The release", body = Release), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn release(
    State(state): State<AppState>,
    _: Caller,
    Path((raw, release_raw)): Path<(String, String)>,
) -> ApiResult<Json<Release>> {
    Ok(Json(to_release(svc::release_of(&state.db, Scope::All, id(&raw)?, id(&release_raw)?).await?.summary())))
}

/// Gets the integration's default release.
/// A release's build log so far, as the console shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BuildLog {
    pub release_id: i64,
    /// `queued`, `building`, `succeeded` or `failed`.
    pub status: String,
    pub log: String,
    /// Why the build failed, when it did.
    pub error: Option<String>,
    /// True once the build has ended (succeeded or failed): the log grows no more.
    pub finished: bool,
}

/// Gets a release's build log (the whole log; a build's log is at most about 1 MB).
#[utoipa::path(get, path = "/api/v2/integrations/{id}/releases/{release_id}/log", operation_id = "getBuildLog",
    tag = "integrations", params(("id" = i64, Path), ("release_id" = i64, Path)),
    responses((status = 200, description = "The build log so far", body = BuildLog), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn build_log(
    State(state): State<AppState>,
    _: Caller,
    Path((raw, release_raw)): Path<(String, String)>,
) -> ApiResult<Json<BuildLog>> {
    let r = svc::release_of(&state.db, Scope::All, id(&raw)?, id(&release_raw)?).await?;
    Ok(Json(BuildLog {
        release_id: r.id,
        status: r.status.as_str().to_owned(),
        finished: r.finished_at.is_some(),
        log: r.build_log,
        error: r.error,
    }))
}

#[utoipa::path(get, path = "/api/v2/integrations/{id}/releases/default", operation_id = "getDefaultRelease", tag = "integrations",
    params(("id" = i64, Path)),
    responses((status = 200, description = "The release", body = Release), (status = 401, body = ErrorBody),
        (status = 404, description = "No such integration, or it has no default release", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn default_release(
    State(state): State<AppState>,
    _: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<Release>> {
    let r = svc::channel(&state.db, Scope::All, id(&raw)?, ReleaseChoice::Default).await?;
    Ok(Json(to_release(r.ok_or_else(ApiError::not_found)?.summary())))
}

/// Gets the integration's latest successful release.
#[utoipa::path(get, path = "/api/v2/integrations/{id}/releases/latest", operation_id = "getLatestRelease", tag = "integrations",
    params(("id" = i64, Path)),
    responses((status = 200, description = "The release", body = Release), (status = 401, body = ErrorBody),
        (status = 404, description = "No such integration, or it has no successful release", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn latest_release(
    State(state): State<AppState>,
    _: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<Release>> {
    let r = svc::channel(&state.db, Scope::All, id(&raw)?, ReleaseChoice::Latest).await?;
    Ok(Json(to_release(r.ok_or_else(ApiError::not_found)?.summary())))
}

/// Queues a build of a new release (the tracking branch, or a given branch or tag).
#[utoipa::path(post, path = "/api/v2/integrations/{id}/releases", operation_id = "buildRelease", tag = "integrations",
    params(("id" = i64, Path)), request_body = BuildRequest,
    responses((status = 202, description = "The build is queued; its release's id", body = BuildQueued), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn build(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    body: Result<Option<Json<serde_json::Value>>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<(StatusCode, Json<BuildQueued>)> {
    let git_ref = optional_json_body::<BuildRequest>(body)?.and_then(|b| b.git_ref);
    // As the document says: a ref given is taken as it is written (the console's form
    // trims what was typed; the service does too).
    if let Some(r) = &git_ref {
        hub_core::domain::integration::check_git_ref(r).map_err(|m| ApiError::invalid("git_ref", m))?;
    }
    let (builder, id) = (&state.builder, id(&raw)?);
    let release_id =
        svc::build_release(&state.db, builder, &actor, Scope::All, id, git_ref.as_deref(), Utc::now()).await?;
    Ok((StatusCode::ACCEPTED, Json(BuildQueued { release_id })))
}
