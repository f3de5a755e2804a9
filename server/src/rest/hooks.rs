//! Inbound webhooks: `POST /hooks/<token>` queues a `webhook` run of the tenant the
//! token belongs to. The token in the URL is the credential.

use app::api::ctx::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde_json::json;

use super::ApiError;

/// The largest body a webhook may send.
pub const MAX_BODY: usize = 1024 * 1024;

pub async fn receive(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if body.len() > MAX_BODY {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            Json(json!({ "error": "too_large", "message": "The body is over 1 MB." })),
        )
            .into_response();
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    match hub_core::service::runs::webhook(&state.db, &state.engine, &token, &body, content_type, Utc::now()).await {
        Ok(id) => (StatusCode::ACCEPTED, Json(json!({ "trigger_id": id }))).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}
