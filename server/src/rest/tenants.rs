//! Tenants: list, get, create, update, archive, and their metadata.

use app::api::ctx::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use hub_core::domain::tenant::{NewTenantInput, ScheduleInput, VersionInput};
use hub_core::service::tenant_patch::{self as patch, Patch};
use hub_core::service::tenants::{self as svc, TenantRow};
use hub_core::service::Scope;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{id, json_body, page_type, whole_param, ApiResult, Caller, ErrorBody, ListParams, MAX_ID};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Tenant {
    pub id: i64,
    pub name: String,
    pub integration_id: i64,
    pub integration_name: String,
    pub release: ReleaseChoice,
    /// The configuration values.
    #[schema(value_type = Object)]
    pub configs: Value,
    pub schedule: Schedule,
    pub paused: bool,
    /// `hub`, `marketplace` or `api`.
    pub source: String,
    /// False while the creation flow has steps left (credentials, configuration, schedule).
    pub setup_complete: bool,
    pub next_run_at: Option<DateTime<Utc>>,
    pub last_run_phase: Option<String>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Which release a tenant runs: a channel (`default`, `latest`) or a specific release.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct ReleaseChoice {
    /// `default`, `latest`, or `specific` (with `release_id`). `default` when left out.
    pub channel: Option<String>,
    #[serde(default, deserialize_with = "super::optional_whole")]
    pub release_id: Option<i64>,
}

impl ReleaseChoice {
    fn input(&self) -> VersionInput {
        match (self.channel.as_deref(), self.release_id) {
            (Some("specific") | None, Some(id)) => {
                VersionInput { release_mode: "specific".into(), release_id: id.to_string(), channel: String::new() }
            }
            (Some("specific"), None) => VersionInput { release_mode: "specific".into(), ..Default::default() },
            (channel, _) => VersionInput {
                release_mode: "channel".into(),
                release_id: String::new(),
                channel: channel.unwrap_or("default").to_owned(),
            },
        }
    }
}

/// A sync schedule: a preset (`every_5_minutes`, `every_15_minutes`, `every_30_minutes`,
/// `hourly`, `every_6_hours`, `every_12_hours`, `daily`, `weekly`) or a 5-field cron
/// expression with a time zone (UTC by default).
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct Schedule {
    pub preset: Option<String>,
    pub cron: Option<String>,
    pub timezone: Option<String>,
    /// The schedule in words (in answers only).
    #[serde(default, skip_deserializing)]
    pub description: Option<String>,
}

impl Schedule {
    fn input(&self) -> ScheduleInput {
        match &self.cron {
            Some(cron) => ScheduleInput {
                kind: "advanced".into(),
                preset: String::new(),
                cron: cron.clone(),
                timezone: self.timezone.clone().unwrap_or_default(),
            },
            None => ScheduleInput {
                kind: "simple".into(),
                preset: self.preset.clone().unwrap_or_default(),
                cron: String::new(),
                timezone: String::new(),
            },
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NewTenant {
    pub name: String,
    #[serde(deserialize_with = "super::whole")]
    pub integration_id: i64,
    #[serde(default, deserialize_with = "super::optional_object")]
    pub release: Option<ReleaseChoice>,
    /// Configuration values; the release's defaults fill what is left out.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub configs: Option<Value>,
    /// The daily preset when left out.
    #[serde(default, deserialize_with = "super::optional_object")]
    pub schedule: Option<Schedule>,
    /// True (paused) when left out.
    #[serde(default)]
    pub paused: Option<bool>,
}

/// What to change; everything left out stays as it is.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct TenantUpdate {
    #[serde(default, deserialize_with = "super::optional_object")]
    pub release: Option<ReleaseChoice>,
    /// Configuration values to change (merged into the current ones).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub configs: Option<Value>,
    #[serde(default, deserialize_with = "super::optional_object")]
    pub schedule: Option<Schedule>,
    #[serde(default)]
    pub paused: Option<bool>,
}

page_type!(TenantPage, Tenant);

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TenantFilter {
    /// Only this integration's tenants.
    #[param(value_type = Option<i64>, minimum = 0, maximum = 9_007_199_254_740_991_i64)]
    pub integration_id: Option<String>,
}

pub fn to_tenant(t: TenantRow) -> Tenant {
    let schedule = hub_core::domain::tenant::Schedule::from_parts(&t.schedule_kind, &t.schedule, &t.timezone);
    let is_cron = t.schedule_kind == "cron";
    let setup_complete = t.step() == hub_core::domain::tenant::SetupStep::Done;
    let release = match t.choice() {
        Some(hub_core::domain::release::ReleaseChoice::Specific(id)) => {
            ReleaseChoice { channel: Some("specific".into()), release_id: Some(id) }
        }
        Some(c) => ReleaseChoice { channel: Some(c.kind().to_owned()), release_id: None },
        None => ReleaseChoice::default(),
    };
    Tenant {
        configs: serde_json::from_str(&t.configs).unwrap_or(Value::Object(serde_json::Map::new())),
        schedule: Schedule {
            preset: (!is_cron).then(|| t.schedule.clone()),
            cron: is_cron.then(|| t.schedule.clone()),
            timezone: Some(t.timezone.clone()),
            description: schedule.as_ref().map(hub_core::domain::tenant::Schedule::describe),
        },
        id: t.id,
        name: t.name,
        integration_id: t.integration_id,
        integration_name: t.integration_name,
        release,
        paused: t.paused,
        source: t.source.as_str().to_owned(),
        setup_complete,
        next_run_at: t.next_fire_at,
        last_run_phase: t.last_run_phase.map(|p| p.as_str().to_owned()),
        last_run_at: t.last_run_at,
        created_at: t.created_at,
        updated_at: t.updated_at,
    }
}

/// A live tenant, or 404.
async fn tenant(state: &AppState, raw: &str) -> ApiResult<TenantRow> {
    Ok(svc::visible(&state.db, Scope::All, id(raw)?).await?)
}

pub(super) const TENANT_SORT: [&str; 5] = ["id", "name", "created_at", "updated_at", "last_run_at"];

/// Lists live tenants, optionally of one integration.
#[utoipa::path(get, path = "/api/v2/tenants", operation_id = "listTenants", tag = "tenants", params(ListParams, TenantFilter),
    responses((status = 200, description = "A page of live tenants", body = TenantPage), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    _: Caller,
    Query(params): Query<ListParams>,
    Query(filter): Query<TenantFilter>,
) -> ApiResult<Json<TenantPage>> {
    let paging = params.check(&TENANT_SORT)?;
    let integration = whole_param("integration_id", filter.integration_id.as_deref(), 0..=MAX_ID)?;
    let (rows, total) = svc::page(&state.db, integration, paging.sort, paging.limit, paging.skip).await?;
    Ok(Json(TenantPage {
        items: rows.into_iter().map(to_tenant).collect(),
        total,
        limit: paging.limit,
        skip: paging.skip,
    }))
}

/// Gets one tenant.
#[utoipa::path(get, path = "/api/v2/tenants/{id}", operation_id = "getTenant", tag = "tenants", params(("id" = i64, Path)),
    responses((status = 200, description = "The tenant", body = Tenant), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn get(State(state): State<AppState>, _: Caller, Path(raw): Path<String>) -> ApiResult<Json<Tenant>> {
    Ok(Json(to_tenant(tenant(&state, &raw).await?)))
}

/// Creates a tenant with its release choice, configuration and schedule (paused by default).
#[utoipa::path(post, path = "/api/v2/tenants", operation_id = "createTenant", tag = "tenants", request_body = NewTenant,
    responses((status = 201, description = "The tenant, made", body = Tenant), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Caller(actor): Caller,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<(StatusCode, Json<Tenant>)> {
    let input: NewTenant = json_body(body)?;
    let version = input.release.unwrap_or_default().input();
    let new = NewTenantInput {
        name: input.name.clone(),
        release_mode: version.release_mode,
        release_id: version.release_id,
        channel: version.channel,
    };
    let schedule = input.schedule.unwrap_or(Schedule { preset: Some("daily".into()), ..Default::default() });
    let paused = input.paused.unwrap_or(true);
    let (db, engine, integration) = (&state.db, &state.engine, input.integration_id);
    let t = patch::create_complete(
        db,
        engine,
        &actor,
        integration,
        &new,
        input.configs,
        &schedule.input(),
        paused,
        Utc::now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(to_tenant(t))))
}

/// Changes a tenant's release choice, configuration, schedule or paused state.
#[utoipa::path(patch, path = "/api/v2/tenants/{id}", operation_id = "updateTenant", tag = "tenants", params(("id" = i64, Path)),
    request_body = TenantUpdate,
    responses((status = 200, description = "The tenant", body = Tenant), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Tenant>> {
    let input: TenantUpdate = json_body(body)?;
    let p = Patch {
        release: input.release.as_ref().map(ReleaseChoice::input),
        configs: input.configs,
        schedule: input.schedule.as_ref().map(Schedule::input),
        paused: input.paused,
    };
    let t = patch::update(&state.db, &state.engine, &actor, id(&raw)?, p, Utc::now()).await?;
    Ok(Json(to_tenant(t)))
}

/// Archives a tenant: it stops running and leaves the lists.
#[utoipa::path(delete, path = "/api/v2/tenants/{id}", operation_id = "archiveTenant", tag = "tenants", params(("id" = i64, Path)),
    responses((status = 204, description = "Archived"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn archive(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    let t = tenant(&state, &raw).await?;
    svc::archive(&state.db, &actor, &t, Utc::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Gets a tenant's metadata.
#[utoipa::path(get, path = "/api/v2/tenants/{id}/metadata", operation_id = "getTenantMetadata", tag = "tenants", params(("id" = i64, Path)),
    responses((status = 200, description = "The tenant's metadata", body = Object), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn metadata(State(state): State<AppState>, _: Caller, Path(raw): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(Value::Object(patch::metadata(&state.db, id(&raw)?).await?)))
}

/// Merges keys into a tenant's metadata, checked against the release's metadata schema.
#[utoipa::path(patch, path = "/api/v2/tenants/{id}/metadata", operation_id = "updateTenantMetadata", tag = "tenants", params(("id" = i64, Path)),
    request_body(content = Object, description = "Keys to set; a null removes a key"),
    responses((status = 200, description = "The tenant's metadata", body = Object), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn patch_metadata(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Value>> {
    let body: Value = json_body(body)?;
    Ok(Json(Value::Object(patch::patch_metadata(&state.db, &actor, id(&raw)?, &body, Utc::now()).await?)))
}
