//! The REST API under `/api/v2`: JSON in and out, authenticated by `X-API-Key`.
//!
//! Handlers are thin: they read the request, call the same core services the console
//! calls (`hub_core::service`), and shape the answer. Every rule lives in the core.
//! The OpenAPI document is generated from these handlers' annotations (`openapi`).

use app::api::ctx::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hub_core::domain::api_key::KeyScope;
use hub_core::service::Actor;
use hub_core::service::ServiceError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

pub mod hooks;
mod integrations;
pub mod openapi;
mod runs;
mod tenants;

/// The header that carries the API key.
pub const KEY_HEADER: &str = "x-api-key";

/// `/api/v2/...`, each route behind the key check (the OpenAPI document is public).
pub fn router(state: AppState) -> Router<AppState> {
    let guarded = Router::new()
        .route("/integrations", get(integrations::list))
        .route("/integrations/{id}", get(integrations::get))
        .route("/integrations/{id}/releases", get(integrations::releases).post(integrations::build))
        .route("/integrations/{id}/releases/default", get(integrations::default_release))
        .route("/integrations/{id}/releases/latest", get(integrations::latest_release))
        .route("/integrations/{id}/releases/{release_id}", get(integrations::release))
        .route("/integrations/{id}/releases/{release_id}/log", get(integrations::build_log))
        .route("/tenants", get(tenants::list).post(tenants::create))
        .route("/tenants/{id}", get(tenants::get).patch(tenants::update).delete(tenants::archive))
        .route("/tenants/{id}/metadata", get(tenants::metadata).patch(tenants::patch_metadata))
        .route("/tenants/{id}/sync", post(runs::sync))
        .route("/tenants/{id}/runs", get(runs::list))
        .route("/runs/{id}", get(runs::get))
        .route("/runs/{id}/log", get(runs::log))
        .route("/runs/triggers/{id}/status", get(runs::trigger_status))
        .route("/schedules/preview", get(runs::preview))
        .route_layer(middleware::from_fn_with_state(state, require_key));
    Router::new()
        .route("/openapi.json", get(openapi::document))
        .merge(guarded)
        .fallback(not_found)
        .layer(middleware::from_fn(json_errors))
}

/// Every error answer of the API is JSON in the `ErrorBody` shape. The framework's own
/// refusals come as plain text (a query that does not parse, a method the path does
/// not take, a body over the size limit); their words become the message.
async fn json_errors(req: Request, next: Next) -> Response {
    let answer = next.run(req).await;
    let status = answer.status();
    let json = answer
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json || !(status.is_client_error() || status.is_server_error()) {
        return answer;
    }
    let (parts, body) = answer.into_parts();
    let text = axum::body::to_bytes(body, 16 * 1024).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_owned();
    let message = if text.is_empty() { status.canonical_reason().unwrap_or("Refused.").to_owned() } else { text };
    let mut out = ApiError::new(status, status_code_word(status), message).into_response();
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(v) = parts.headers.get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}

/// The `error` code of an answer with this status.
fn status_code_word(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "malformed",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::CONFLICT => "conflict",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        s if s.is_server_error() => "internal",
        _ => "refused",
    }
}

/// A JSON body, or the error for one that is not: not JSON at all (400), sent without
/// `Content-Type: application/json` (415), over the size limit (413), or not an object
/// of the expected shape (422, naming the field, as `a.b` or `a[0]`, where it went
/// wrong). Handlers take the body as a `Value` and call this: serde would otherwise
/// take a JSON array for a struct, field by field.
pub fn json_body<T: DeserializeOwned>(body: Result<Json<Value>, JsonRejection>) -> ApiResult<T> {
    let Json(value) = body.map_err(refused_body)?;
    typed(value)
}

/// As `json_body`, for a body that may be left out (no `Content-Type` either).
pub fn optional_json_body<T: DeserializeOwned>(
    body: Result<Option<Json<Value>>, JsonRejection>,
) -> ApiResult<Option<T>> {
    body.map_err(refused_body)?.map(|Json(value)| typed(value)).transpose()
}

fn typed<T: DeserializeOwned>(value: Value) -> ApiResult<T> {
    if !value.is_object() {
        return Err(ApiError::invalid("body", "The body must be a JSON object."));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "body".to_owned() } else { path };
        ApiError::invalid(&field, format!("The body does not fit: {}.", e.inner()))
    })
}

fn refused_body(e: JsonRejection) -> ApiError {
    let status = e.status();
    ApiError::new(status, status_code_word(status), e.body_text())
}

/// The caller, from the key the middleware accepted.
#[derive(Clone, Debug)]
pub struct Caller(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(ApiError::unauthorized)
    }
}

async fn require_key(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let Some(key) = api_key(req.headers()) else {
        return ApiError::unauthorized().into_response();
    };
    match hub_core::service::api_keys::authenticate(&state.db, &key, chrono::Utc::now()).await {
        Ok(Some((_, KeyScope::Read))) if !matches!(*req.method(), Method::GET | Method::HEAD) => ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "This API key may only read (its scope is read only): make a key with full access to change things.",
        )
        .into_response(),
        Ok(Some((actor, _))) => {
            req.extensions_mut().insert(Caller(actor));
            next.run(req).await
        }
        Ok(None) => ApiError::unauthorized().into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

fn api_key(headers: &HeaderMap) -> Option<String> {
    headers.get(KEY_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned).filter(|k| !k.is_empty())
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}

/// The body of every error answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// A stable code: `unauthorized`, `not_found`, `invalid`, `conflict`, `internal`.
    pub error: String,
    /// What went wrong, in words.
    pub message: String,
    /// The field a validation error is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Further broken fields, when there are several.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldErrorBody>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FieldErrorBody {
    pub field: String,
    pub message: String,
}

/// An error answer: a status and a JSON body (and, for a fair-use refusal, the
/// seconds to wait, sent as `Retry-After`).
#[derive(Debug)]
pub struct ApiError(StatusCode, ErrorBody, Option<i64>);

impl ApiError {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        let body = ErrorBody { error: code.to_owned(), message: message.into(), field: None, errors: Vec::new() };
        Self(status, body, None)
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "A valid API key is required in the X-API-Key header.")
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "There is no such resource.")
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message);
        e.1.field = Some(field.to_owned());
        e
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(f) => Self::invalid(&f.field, f.message),
            ServiceError::InvalidFields(errors) => {
                let mut all: Vec<FieldErrorBody> =
                    errors.into_iter().map(|e| FieldErrorBody { field: e.field, message: e.message }).collect();
                if all.is_empty() {
                    return Self::invalid("body", "The request has errors.");
                }
                let first = all.remove(0);
                let mut err = Self::invalid(&first.field, first.message);
                err.1.errors = all;
                err
            }
            ServiceError::NotFound => Self::not_found(),
            ServiceError::Conflict(m) => Self::new(StatusCode::CONFLICT, "conflict", m),
            ServiceError::Limited { message, retry_after_secs } => {
                let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message);
                e.2 = Some(retry_after_secs);
                e
            }
            ServiceError::Db(e) => {
                tracing::error!("api: {e}");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "Something went wrong on the hub.")
            }
        }
    }
}

impl From<hub_core::service::DbError> for ApiError {
    fn from(e: hub_core::service::DbError) -> Self {
        ServiceError::Db(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self.2 {
            Some(secs) => (self.0, [(axum::http::header::RETRY_AFTER, secs.to_string())], Json(self.1)).into_response(),
            None => (self.0, Json(self.1)).into_response(),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// `limit`, `skip` and `sort_by` of every list. They are read as text and checked
/// here, so that a bad one gets the JSON error naming it; the document gives their
/// real types and ranges.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// How many items to return: 1 to 500, 100 by default.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 500)]
    pub limit: Option<String>,
    /// How many items to skip first: 0 to 1,000,000,000.
    #[param(value_type = Option<i64>, minimum = 0, maximum = 1_000_000_000)]
    pub skip: Option<String>,
    /// `field__ASC` or `field__DESC` (`asc` and `desc` in lowercase too), with a field
    /// the list can be sorted by (listed in the enum).
    pub sort_by: Option<String>,
}

/// A checked `ListParams`.
pub struct Paging {
    pub limit: i64,
    pub skip: i64,
    /// The column (from the resource's allow-list) and whether descending.
    pub sort: (&'static str, bool),
}

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 500;
pub const MAX_SKIP: i64 = 1_000_000_000;
/// The largest id a query parameter takes: the largest whole number a JSON number
/// (a double) holds exactly, as the document says.
pub const MAX_ID: i64 = 9_007_199_254_740_991;

/// A whole number of `range` from a query parameter written as digits (no sign, no
/// spaces, nothing else); None when absent.
pub fn whole_param(name: &str, raw: Option<&str>, range: std::ops::RangeInclusive<i64>) -> ApiResult<Option<i64>> {
    let Some(text) = raw else { return Ok(None) };
    let n = Some(text)
        .filter(|t| !t.is_empty() && t.len() <= 19 && t.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|t| t.parse::<i64>().ok())
        .filter(|n| range.contains(n));
    match n {
        Some(n) => Ok(Some(n)),
        None => Err(ApiError::invalid(
            name,
            format!("{name} must be a whole number from {} to {}.", range.start(), range.end()),
        )),
    }
}

/// A whole number from a JSON body, written as an integer or with a zero fraction
/// (`3.0`): JSON Schema's `integer` is both, and clients made from the document may
/// send either.
pub fn whole<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    whole_of(&n).ok_or_else(|| serde::de::Error::custom(format!("{n} is not a whole number")))
}

/// As `whole`, for a field that may be null or left out.
pub fn optional_whole<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<serde_json::Number>::deserialize(d)? {
        None => Ok(None),
        Some(n) => whole_of(&n).map(Some).ok_or_else(|| serde::de::Error::custom(format!("{n} is not a whole number"))),
    }
}

/// A JSON object (or null) read into `T`. serde's derive also reads a struct from an
/// array of its fields in order (`[null, null]`), which the document does not allow:
/// here only an object gets through, and an error inside it keeps its path.
pub fn optional_object<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    d.deserialize_option(ObjectOnly(std::marker::PhantomData::<T>))
}

struct ObjectOnly<T>(std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for ObjectOnly<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object or null")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Some)
    }
}

fn whole_of(n: &serde_json::Number) -> Option<i64> {
    // Beyond 2^53 a double no longer holds every whole number.
    n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() <= MAX_ID as f64).map(|f| f as i64))
}

/// The values `sort_by` takes for these fields, as the document lists them.
pub fn sort_values(fields: &[&str]) -> Vec<String> {
    fields.iter().flat_map(|f| ["ASC", "DESC", "asc", "desc"].map(|d| format!("{f}__{d}"))).collect()
}

impl ListParams {
    /// Checks the parameters against a resource's sortable fields (the first is the
    /// default, ascending).
    pub fn check(&self, sortable: &[&'static str]) -> ApiResult<Paging> {
        let limit = whole_param("limit", self.limit.as_deref(), 1..=MAX_LIMIT)?.unwrap_or(DEFAULT_LIMIT);
        let skip = whole_param("skip", self.skip.as_deref(), 0..=MAX_SKIP)?.unwrap_or(0);
        let sort = match self.sort_by.as_deref() {
            None => (sortable[0], false),
            Some(s) => {
                let bad = || {
                    ApiError::invalid(
                        "sort_by",
                        format!(
                            "sort_by must be field__ASC or field__DESC, with a field among: {}.",
                            sortable.join(", ")
                        ),
                    )
                };
                let (field, dir) = s.rsplit_once("__").ok_or_else(bad)?;
                let desc = match dir {
                    "ASC" | "asc" => false,
                    "DESC" | "desc" => true,
                    _ => return Err(bad()),
                };
                (*sortable.iter().find(|f| **f == field).ok_or_else(bad)?, desc)
            }
        };
        Ok(Paging { limit, skip, sort })
    }
}

/// One page of a list: `items`, with how many there are in all (`total`).
macro_rules! page_type {
    ($name:ident, $item:ty) => {
        #[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
            /// How many items there are in all.
            pub total: i64,
            pub limit: i64,
            pub skip: i64,
        }
    };
}
pub(crate) use page_type;

/// Sorts and pages a list held in memory (integrations and releases are few).
pub fn page_of<T>(mut items: Vec<T>, paging: &Paging, key: impl Fn(&T, &str) -> SortKey) -> (Vec<T>, i64) {
    let (field, desc) = paging.sort;
    items.sort_by(|a, b| {
        let o = key(a, field).cmp(&key(b, field));
        if desc {
            o.reverse()
        } else {
            o
        }
    });
    let total = i64::try_from(items.len()).unwrap_or(i64::MAX);
    let skip = usize::try_from(paging.skip).unwrap_or(usize::MAX);
    let limit = usize::try_from(paging.limit).unwrap_or(0);
    (items.into_iter().skip(skip).take(limit).collect(), total)
}

/// What an in-memory list sorts by.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
pub enum SortKey {
    Int(i64),
    Text(String),
}

/// The request's id path segment as a number, or 404.
pub fn id(raw: &str) -> ApiResult<i64> {
    raw.parse().map_err(|_| ApiError::not_found())
}
