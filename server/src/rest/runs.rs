//! Syncs on demand, runs and their logs, and schedule previews.

use app::api::ctx::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use hub_core::domain::run::TriggerKind;
use hub_core::domain::schedule::{parse_time_zone, CronExpr};
use hub_core::service::runs::{self as svc, RunRow};
use hub_core::service::Scope;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{id, page_type, whole_param, ApiError, ApiResult, Caller, ErrorBody, ListParams, MAX_SKIP};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Run {
    pub id: i64,
    pub tenant_id: i64,
    pub integration_id: i64,
    pub release_name: Option<String>,
    /// `init`, `normal` or `webhook`.
    pub mode: String,
    /// `queued`, `running`, `succeeded`, `failed_integration`, `failed_timeout`,
    /// `failed_refresh`, `failed_platform`, `failed_metadata` or `skipped`.
    pub phase: String,
    /// The phase in words, as the console shows it.
    pub phase_label: String,
    pub scheduled: bool,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub exit_code: Option<i32>,
    /// The run's context: the last line of its stdout, when it was JSON.
    #[schema(value_type = Option<Object>)]
    pub context: Option<Value>,
    pub error: Option<String>,
    /// Which try of its triggers this run is: 1, or more for a retry after a failure
    /// of the platform.
    pub attempt: i64,
    /// For a retry, the run of the first try.
    pub retry_of: Option<i64>,
}

page_type!(RunPage, Run);

fn to_run(r: RunRow) -> Run {
    Run {
        context: r.stdout_context.as_deref().and_then(|c| serde_json::from_str(c).ok()),
        phase_label: r.phase.label().to_owned(),
        id: r.id,
        tenant_id: r.tenant_id,
        integration_id: r.integration_id,
        release_name: r.release_name,
        mode: r.mode.as_str().to_owned(),
        phase: r.phase.as_str().to_owned(),
        scheduled: r.scheduled,
        queued_at: r.queued_at,
        started_at: r.started_at,
        finished_at: r.finished_at,
        exit_code: r.exit_code,
        error: r.error,
        attempt: r.attempt,
        retry_of: r.first_run,
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SyncParams {
    /// `normal` (the default) or `init`.
    pub mode: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SyncQueued {
    pub trigger_id: i64,
}

/// Asks for a sync of the tenant (mode init or normal), with an optional JSON payload.
#[utoipa::path(post, path = "/api/v2/tenants/{id}/sync", operation_id = "syncTenant", tag = "runs", params(("id" = i64, Path), SyncParams),
    request_body(content = Option<Object>, description = "An optional payload, handed to the run in PAN_CTX_RUN_TRIGGERS"),
    responses((status = 202, description = "The sync is asked for; its trigger's id", body = SyncQueued), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "The organization's syncs per hour are used up; see Retry-After")),
    security(("api_key" = [])))]
pub async fn sync(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(raw): Path<String>,
    Query(params): Query<SyncParams>,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<SyncQueued>)> {
    let (engine, id) = (&state.engine, id(&raw)?);
    let tenant = hub_core::service::tenants::visible(&state.db, Scope::All, id).await?;
    let mode = svc::requested_mode(params.mode.as_deref().unwrap_or("normal"))?;
    let payload: Option<Value> = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let value: Value = serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, "malformed", format!("The payload is not JSON: {e}."))
        })?;
        if !(value.is_object() || value.is_null()) {
            return Err(ApiError::invalid("body", "The payload must be a JSON object."));
        }
        Some(value).filter(|v| !v.is_null())
    };
    let trigger_id =
        svc::request(&state.db, engine, &actor, tenant.id, TriggerKind::Api, mode, payload.as_ref(), Utc::now())
            .await?;
    Ok((StatusCode::ACCEPTED, Json(SyncQueued { trigger_id })))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TriggerStatus {
    pub trigger_id: i64,
    pub tenant_id: i64,
    /// `schedule`, `manual`, `api` or `webhook`.
    pub kind: String,
    pub mode: String,
    pub created_at: DateTime<Utc>,
    /// `waiting` until a run takes the trigger, then the run's phase.
    pub status: String,
    pub run_id: Option<i64>,
}

/// Tells whether a trigger is still waiting, or the phase of the run that took it.
#[utoipa::path(get, path = "/api/v2/runs/triggers/{id}/status", operation_id = "getTriggerStatus", tag = "runs", params(("id" = i64, Path)),
    responses((status = 200, description = "The trigger's state, and its run once one has started", body = TriggerStatus), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn trigger_status(
    State(state): State<AppState>,
    _: Caller,
    Path(raw): Path<String>,
) -> ApiResult<Json<TriggerStatus>> {
    let t = svc::trigger_status(&state.db, id(&raw)?).await?;
    Ok(Json(TriggerStatus {
        trigger_id: t.id,
        tenant_id: t.tenant_id,
        kind: t.kind.as_str().to_owned(),
        mode: t.mode.as_str().to_owned(),
        created_at: t.created_at,
        status: t.phase.map_or("waiting", |p| p.as_str()).to_owned(),
        run_id: t.run_id,
    }))
}

pub(super) const RUN_SORT: [&str; 4] = ["id", "queued_at", "started_at", "finished_at"];

/// Lists a tenant's runs, newest first by default.
#[utoipa::path(get, path = "/api/v2/tenants/{id}/runs", operation_id = "listTenantRuns", tag = "runs", params(("id" = i64, Path), ListParams),
    responses((status = 200, description = "A page of the tenant's runs", body = RunPage), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn list(
    State(state): State<AppState>,
    _: Caller,
    Path(raw): Path<String>,
    Query(params): Query<ListParams>,
) -> ApiResult<Json<RunPage>> {
    let mut params = params;
    if params.sort_by.is_none() {
        params.sort_by = Some("id__DESC".to_owned());
    }
    let paging = params.check(&RUN_SORT)?;
    let (rows, total) = svc::page(&state.db, id(&raw)?, paging.sort, paging.limit, paging.skip).await?;
    Ok(Json(RunPage { items: rows.into_iter().map(to_run).collect(), total, limit: paging.limit, skip: paging.skip }))
}

/// Gets one run.
#[utoipa::path(get, path = "/api/v2/runs/{id}", operation_id = "getRun", tag = "runs", params(("id" = i64, Path)),
    responses((status = 200, description = "The run", body = Run), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn get(State(state): State<AppState>, _: Caller, Path(raw): Path<String>) -> ApiResult<Json<Run>> {
    Ok(Json(to_run(svc::get(&state.db, Scope::All, id(&raw)?).await?)))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RunLog {
    pub run_id: i64,
    /// A window of the run's stderr (about 1 MB of whole pieces), with every credential
    /// masked: its end unless `before` or `from` was given.
    pub log: String,
    /// The first and last pieces in the window; absent when it is empty.
    pub first_piece: Option<i64>,
    pub last_piece: Option<i64>,
    /// Pieces come before the window (ask again with `before=first_piece`), or after it
    /// (`from=last_piece + 1`).
    pub earlier: bool,
    pub later: bool,
    /// The whole log's size in bytes.
    pub bytes: i64,
    /// The log was cut at the hub's limit.
    pub truncated: bool,
    /// The retention settings deleted the log.
    pub removed: bool,
    pub finished: bool,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogParams {
    /// The window just before this piece.
    #[param(value_type = Option<i64>, minimum = 0, maximum = 1_000_000_000)]
    pub before: Option<String>,
    /// The window from this piece on.
    #[param(value_type = Option<i64>, minimum = 0, maximum = 1_000_000_000)]
    pub from: Option<String>,
}

/// Gets a window of a run's log (its stderr, with credentials masked).
#[utoipa::path(get, path = "/api/v2/runs/{id}/log", operation_id = "getRunLog", tag = "runs", params(("id" = i64, Path), LogParams),
    responses((status = 200, description = "A window of the run's log", body = RunLog), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn log(
    State(state): State<AppState>,
    _: Caller,
    Path(raw): Path<String>,
    Query(params): Query<LogParams>,
) -> ApiResult<Json<RunLog>> {
    let before = whole_param("before", params.before.as_deref(), 0..=MAX_SKIP)?;
    let from = whole_param("from", params.from.as_deref(), 0..=MAX_SKIP)?;
    let at = svc::LogAt::of(before, from);
    let (r, w) = svc::with_log(&state.db, Scope::All, id(&raw)?, at).await?;
    Ok(Json(RunLog {
        run_id: r.id,
        log: w.text,
        first_piece: w.pieces.map(|p| p.0),
        last_piece: w.pieces.map(|p| p.1),
        earlier: w.earlier,
        later: w.later,
        bytes: r.log_bytes,
        truncated: r.log_truncated,
        removed: r.log_removed_at.is_some(),
        finished: r.finished_at.is_some(),
    }))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PreviewParams {
    /// A 5-field cron expression (minute hour day-of-month month day-of-week), or a
    /// shortcut such as `@daily`.
    #[param(required = true)]
    pub cron: Option<String>,
    /// An IANA time zone; UTC by default.
    pub tz: Option<String>,
    /// How many fire times: 1 to 100, 5 by default.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub count: Option<String>,
    /// An RFC 3339 time; now by default.
    #[param(value_type = Option<String>, format = DateTime)]
    pub after: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SchedulePreview {
    pub cron: String,
    pub timezone: String,
    /// The expression in words.
    pub description: String,
    pub next: Vec<DateTime<Utc>>,
}

/// Previews the next fire times of a cron expression in a time zone.
#[utoipa::path(get, path = "/api/v2/schedules/preview", operation_id = "previewSchedule", tag = "schedules", params(PreviewParams),
    responses((status = 200, description = "The expression in words, and its next fire times", body = SchedulePreview), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn preview(_: Caller, Query(p): Query<PreviewParams>) -> ApiResult<Json<SchedulePreview>> {
    let cron = p.cron.unwrap_or_default();
    if cron.trim().is_empty() {
        return Err(ApiError::invalid("cron", "Give a cron expression, such as */15 * * * *."));
    }
    let expr = CronExpr::parse(&cron).map_err(|e| ApiError::invalid("cron", e.0))?;
    let tz_name = p.tz.unwrap_or_else(|| "UTC".to_owned());
    let tz = parse_time_zone(&tz_name).ok().filter(|tz| tz.name() == tz_name).ok_or_else(|| {
        ApiError::invalid("tz", format!("{tz_name:?} is not a time zone; use a name like Europe/Berlin or UTC"))
    })?;
    let count = whole_param("count", p.count.as_deref(), 1..=100)?.map_or(5, |n| usize::try_from(n).unwrap_or(5));
    let after = match p.after.as_deref() {
        None => Utc::now(),
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map_err(|_| ApiError::invalid("after", "after must be an RFC 3339 time, such as 2026-01-01T00:00:00Z."))?
            .with_timezone(&Utc),
    };
    Ok(Json(SchedulePreview {
        description: expr.describe(),
        next: expr.upcoming(after, tz, count),
        cron: cron.trim().to_owned(),
        timezone: tz_name,
    }))
}
