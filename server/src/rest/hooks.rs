//! Inbound webhooks: `POST /hooks/<token>` queues a `webhook` run of the tenant the
//! token belongs to (the token in the URL is the credential); `POST
//! /hooks/push/<token>` is an integration's push URL, for GitHub, GitLab and
//! Bitbucket push events, each checked against the integration's push secret.

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

fn too_large() -> Response {
    (StatusCode::PAYLOAD_TOO_LARGE, Json(json!({ "error": "too_large", "message": "The body is over 1 MB." })))
        .into_response()
}

pub async fn receive(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if body.len() > MAX_BODY {
        return too_large();
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    match hub_core::service::runs::webhook(&state.db, &state.engine, &token, &body, content_type, Utc::now()).await {
        Ok(id) => (StatusCode::ACCEPTED, Json(json!({ "trigger_id": id }))).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// A push event at an integration's push URL: 202 with the queued release when it
/// builds, 200 when there is nothing to build, 401 when the signature (or GitLab's
/// token) is wrong, 404 for an unknown URL.
pub async fn push(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if body.len() > MAX_BODY {
        return too_large();
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let event = hub_core::service::repository::PushEvent {
        github_event: header("x-github-event"),
        github_signature: header("x-hub-signature-256"),
        gitlab_event: header("x-gitlab-event"),
        gitlab_token: header("x-gitlab-token"),
        bitbucket_event: header("x-event-key"),
        bitbucket_signature: header("x-hub-signature"),
        body: &body,
    };
    use hub_core::service::repository::{receive_push, PushOutcome};
    match receive_push(&state.db, &state.builder, &state.key, &token, &event, Utc::now()).await {
        Ok(PushOutcome::Built { release_id }) => {
            (StatusCode::ACCEPTED, Json(json!({ "outcome": "built", "release_id": release_id }))).into_response()
        }
        Ok(PushOutcome::Ignored(why)) => {
            (StatusCode::OK, Json(json!({ "outcome": "ignored", "message": why }))).into_response()
        }
        Ok(PushOutcome::Refused(why)) => {
            (StatusCode::UNAUTHORIZED, Json(json!({ "error": "unauthorized", "message": why }))).into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}
