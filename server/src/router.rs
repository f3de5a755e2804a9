//! The HTTP router: console pages, server functions, health check, static files.

use std::sync::OnceLock;

use app::api::ctx::{session_token, AppState, PageUser};
use app::{shell, App};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};

/// The app's routes, listed once per process. Listing them renders the app with
/// resource loading switched off, and leptos keeps that switch in one process-wide
/// flag: a page rendered elsewhere in the process meanwhile (another hub starting in
/// the same process, as the tests do) would wait for its data forever.
fn routes() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

pub fn build(state: AppState) -> Router {
    let routes = routes();
    let options = state.leptos_options.clone();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/connect/{token}/start", get(oauth_start))
        .route(hub_core::service::connections::CALLBACK_PATH, get(oauth_callback))
        .nest("/api/v2", crate::rest::router(state.clone()))
        .route(
            "/hooks/{token}",
            axum::routing::post(crate::rest::hooks::receive)
                .layer(axum::extract::DefaultBodyLimit::max(crate::rest::hooks::MAX_BODY + 1)),
        )
        .route(
            "/hooks/push/{token}",
            axum::routing::post(crate::rest::hooks::push)
                .layer(axum::extract::DefaultBodyLimit::max(crate::rest::hooks::MAX_BODY + 1)),
        )
        .leptos_routes_with_context(
            &state,
            routes,
            {
                let state = state.clone();
                move || provide_context(state.clone())
            },
            move || shell(options.clone()),
        )
        .fallback(files_or_not_found)
        .layer(middleware::from_fn_with_state(state.clone(), page_guard))
        .layer(middleware::from_fn_with_state(state.clone(), frame_policy))
        .layer(middleware::from_fn_with_state(state.clone(), crate::form_errors::guard))
        // Outermost: a forged state change is refused before anything else runs.
        .layer(middleware::from_fn_with_state(state.clone(), crate::csrf::guard))
        // Pages, server functions and API answers go out compressed when the client
        // accepts it; the site's files already have their compressed twins.
        .layer(tower_http::compression::CompressionLayer::new())
        .with_state(state)
}

/// The site's files, served on their own; anything else is the app's not-found page.
/// (leptos's file handler gives a file the response options of whatever reactive
/// owner is current on the thread, and another request's redirect once reached a
/// stylesheet that way.)
async fn files_or_not_found(State(state): State<AppState>, req: Request<Body>) -> Response {
    use tower::ServiceExt as _;
    let mut probe = Request::builder().method(req.method()).uri(req.uri());
    for (name, value) in req.headers() {
        probe = probe.header(name, value);
    }
    if let Ok(probe) = probe.body(Body::empty()) {
        let files = tower_http::services::ServeDir::new(&*state.leptos_options.site_root)
            .precompressed_br()
            .precompressed_gzip();
        let Ok(found) = files.oneshot(probe).await;
        if matches!(found.status(), StatusCode::OK | StatusCode::NOT_MODIFIED | StatusCode::PARTIAL_CONTENT) {
            let mut found = found.map(Body::new);
            let headers = found.headers_mut();
            headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static(cache_policy(req.uri().path())));
            headers.insert(header::VARY, header::HeaderValue::from_static("accept-encoding"));
            return found;
        }
    }
    let uri = req.uri().clone();
    leptos_axum::file_and_error_handler::<AppState, _>(shell)(uri, State(state), req).await
}

/// How long a browser keeps a site file: a year, never asking again, for a file named
/// by its content (a new build gives it a new name); otherwise it asks each time
/// whether the file changed.
fn cache_policy(path: &str) -> &'static str {
    let content_named = path.strip_prefix("/pkg/").is_some_and(|name| {
        name.split('.').any(|part| {
            part.len() == 22
                && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && part.bytes().any(|b| b.is_ascii_alphanumeric())
        })
    });
    if content_named {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

/// 200 when the database answers, 503 otherwise.
async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    if state.db.is_reachable().await {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
    }
}

/// A magic link's Connect button (a form, when the connector asks for parameters):
/// starts the OAuth2 flow and sends the browser to the provider's consent screen, or
/// back to the link's page with the reason.
async fn oauth_start(
    State(state): State<AppState>,
    axum::extract::Path(token): axum::extract::Path<String>,
    axum::extract::Query(parameters): axum::extract::Query<std::collections::BTreeMap<String, String>>,
) -> Response {
    use hub_core::service::connections::{failure_param, start_oauth};
    let (db, key, registry, public) = (&state.db, &state.key, &state.connectors, &state.public_url);
    let started = start_oauth(db, key, registry, public, &token, &parameters, chrono::Utc::now()).await;
    match started {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(e) => {
            // The values typed come back to their fields, to be corrected.
            let typed: String = parameters
                .iter()
                .filter(|(name, value)| {
                    let sized = name.len() <= 63 && value.len() <= hub_core::domain::connector::PARAMETER_MAX;
                    sized && !matches!(name.as_str(), "failed" | "connected")
                })
                .take(8)
                .map(|(name, value)| format!("&{}={}", encode(name), encode(value)))
                .collect();
            let failed = failure_param(key, &token, &e, chrono::Utc::now());
            Redirect::to(&format!("/connect/{}?failed={failed}{typed}", encode(&token))).into_response()
        }
    }
}

/// Where the provider sends the browser back: finishes the flow, then shows the
/// outcome on the magic link's page.
async fn oauth_callback(
    State(state): State<AppState>,
    axum::extract::Query(cb): axum::extract::Query<hub_core::service::connections::Callback>,
) -> Response {
    use hub_core::service::connections::finish_oauth;
    let (token, outcome) = finish_oauth(
        &state.db,
        &state.key,
        &state.connectors,
        &state.egress,
        &state.public_url,
        &cb,
        chrono::Utc::now(),
    )
    .await;
    let failed = |t: &str, e| hub_core::service::connections::failure_param(&state.key, t, &e, chrono::Utc::now());
    let location = match (token, outcome) {
        (Some(t), Ok(())) => format!("/connect/{}?connected=1", encode(&t)),
        (Some(t), Err(e)) => format!("/connect/{}?failed={}", encode(&t), failed(&t, e)),
        (None, Err(e)) => format!("/connect/unknown?failed={}", failed("unknown", e)),
        (None, Ok(())) => "/connect/unknown".to_owned(),
    };
    let mut resp = Redirect::to(&location).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    resp
}

/// Pages that anyone may open.
fn is_public(path: &str) -> bool {
    path == "/login"
        || path == "/healthz"
        // Invitation and magic links: the token in the path is the credential.
        || path.starts_with("/invite/")
        || path.starts_with("/connect/")
        // The embedded marketplace: the company's token in the query is the credential.
        || path == "/embed"
        || path.starts_with("/embed/")
        || path.starts_with("/oauth/")
        || path.starts_with("/hooks/")
        || path.starts_with("/api/")
        || is_static(path)
}

/// The built site (`/pkg`) and the files of the public folder (favicon, images), which
/// have an extension.
fn is_static(path: &str) -> bool {
    path.starts_with("/pkg/") || path.rsplit('/').next().is_some_and(|last| last.contains('.'))
}

/// Sends page requests without a live session to the sign-in page before any
/// rendering, so pages behave the same with and without JavaScript. Server
/// functions are not guarded here: each checks the session itself.
async fn page_guard(State(state): State<AppState>, mut req: Request<Body>, next: Next) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    let path = req.uri().path().to_owned();
    let user = match session_token(req.headers()) {
        Some(t) => hub_core::auth::session_user(&state.db, &t, chrono::Utc::now()).await.ok().flatten(),
        None => None,
    };
    let signed_in = user.is_some();
    if let Some(user) = user {
        // The page's server functions take the user from here (`require_user`).
        req.extensions_mut().insert(PageUser(user));
    }
    if path == "/login" && signed_in {
        return Redirect::to("/").into_response();
    }
    if is_public(&path) || signed_in {
        return next.run(req).await;
    }
    let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let location = if target == "/" { "/login".to_owned() } else { format!("/login?next={}", encode(target)) };
    let mut resp = Redirect::to(&location).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    resp
}

/// The headers every answer gets: no content-type guessing; pages and server
/// functions (which may show a secret, and are one user's anyway) never cached and
/// their addresses (magic links, marketplace tokens) never sent to another site as a
/// referrer. And who may put the hub's pages in a frame: the embedded marketplace only
/// the allowed parent origins of Settings → Marketplace (`frame-ancestors`); every other
/// page nobody.
async fn frame_policy(State(state): State<AppState>, req: Request<Body>, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, header::HeaderValue::from_static("nosniff"));
    if is_static(&path) {
        return resp;
    }
    h.insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, header::HeaderValue::from_static("same-origin"));
    if path.starts_with("/api/") {
        return resp;
    }
    let embedded = path == "/embed" || path.starts_with("/embed/");
    let policy = if embedded {
        match hub_core::service::marketplace::settings(state.db.pool()).await {
            Ok(s) => hub_core::domain::marketplace::frame_ancestors(&s.origins),
            Err(e) => {
                tracing::error!("reading the marketplace settings: {e}");
                hub_core::domain::marketplace::frame_ancestors(&[])
            }
        }
    } else {
        hub_core::domain::marketplace::frame_ancestors(&[])
    };
    // A page's own policy (scripts, styles; see `app::content_policy`) gets the frame
    // rule added; other answers get the frame rule alone.
    let existing = resp.headers().get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok());
    let policy = existing.map_or_else(|| policy.clone(), |p| format!("{p}; {policy}"));
    if let Ok(v) = header::HeaderValue::from_str(&policy) {
        resp.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    resp
}

/// Percent-encodes a path for use as a query value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_paths() {
        for p in [
            "/login",
            "/healthz",
            "/api/login",
            "/api/v2/tenants",
            "/hooks/abc",
            "/pkg/hub.wasm",
            "/favicon.svg",
            "/invite/abc",
            "/embed",
            "/embed/apps/3",
        ] {
            assert!(is_public(p), "{p}");
        }
        for p in ["/", "/integrations", "/settings/users", "/tenants/12", "/embedded", "/settings/marketplace"] {
            assert!(!is_public(p), "{p}");
        }
    }

    #[test]
    fn only_files_named_by_their_content_are_kept_for_good() {
        for p in [
            "/pkg/hub.Zp3n1pAGmeXvOTUFaXxQ3A.wasm",
            "/pkg/chunk_12.x-Y_z0123456789abcdefg.wasm",
            "/pkg/__wasm_split.Zp3n1pAGmeXvOTUFaXxQ3A.js",
        ] {
            assert_eq!(cache_policy(p), "public, max-age=31536000, immutable", "{p}");
        }
        for p in [
            "/pkg/hub.wasm",
            "/pkg/__wasm_split.______________________.js",
            "/favicon.svg",
            "/Zp3n1pAGmeXvOTUFaXxQ3A.svg",
            "/pkg/hub.Zp3n1pAGmeXvOTUFaXxQ.css",
        ] {
            assert_eq!(cache_policy(p), "no-cache", "{p}");
        }
    }

    #[test]
    fn next_is_encoded() {
        assert_eq!(encode("/tenants?q=a b&x=1"), "/tenants%3Fq%3Da%20b%26x%3D1");
    }
}
