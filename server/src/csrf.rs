//! Cross-site request forgery: a request that changes something and that a browser
//! sent from another site is refused before any handler runs.
//!
//! Browsers say where a request comes from: `Sec-Fetch-Site` (every current browser)
//! and, on a POST, `Origin`. A state change is accepted only from the hub's own
//! origin (`same-origin`) or from the user's own hand (`none`: typed, bookmarked); a
//! sibling subdomain (`same-site`) is another site here, as is the page that frames
//! the marketplace (the frame's own posts are the hub's origin). A request with
//! neither header comes from no browser, so it carries no victim's cookie.
//!
//! The REST API (`/api/v2`, a key in a header) and inbound webhooks (`/hooks`, a token
//! in the address) use no cookie, so a forged one carries no authority: they are not
//! checked here.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use app::api::ctx::AppState;

/// What a refused request is told.
pub const REFUSED: &str = "This request came from another site, so the hub refused it. \
                           Open the hub's own page and try again.";

/// Why a request is refused, or `None` when it may go on.
pub fn refusal(method: &Method, path: &str, headers: &HeaderMap, public_url: &str) -> Option<&'static str> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    if path.starts_with("/api/v2/") || path.starts_with("/hooks/") {
        return None;
    }
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_ascii_lowercase);
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site")) {
        return (!matches!(site.as_str(), "same-origin" | "none")).then_some(REFUSED);
    }
    let origin = text(header::ORIGIN)?;
    let host = text(header::HOST);
    let ours = same_origin(&origin, public_url)
        || host.is_some_and(|h| origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) == Some(&h));
    (!ours).then_some(REFUSED)
}

/// Whether `origin` (lowercase) is the scheme, host and port of `public_url`.
fn same_origin(origin: &str, public_url: &str) -> bool {
    let url = public_url.trim_end_matches('/').to_ascii_lowercase();
    let end = url.find("://").map_or(url.len(), |i| url[i + 3..].find('/').map_or(url.len(), |j| i + 3 + j));
    url[..end] == *origin
}

/// The middleware: a clear 403 for a forged state change.
pub async fn guard(State(state): State<AppState>, req: Request<Body>, next: Next) -> Response {
    let why = refusal(req.method(), req.uri().path(), req.headers(), &state.public_url);
    match why {
        Some(message) => {
            tracing::warn!(path = %req.uri().path(), "a cross-site state change was refused");
            (StatusCode::FORBIDDEN, [(header::CACHE_CONTROL, "no-store")], message).into_response()
        }
        None => next.run(req).await,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    const HUB: &str = "https://hub.example.com";

    fn check(method: Method, path: &str, headers: &[(&'static str, &'static str)]) -> bool {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, HeaderValue::from_static(v));
        }
        refusal(&method, path, &map, HUB).is_none()
    }

    #[test]
    fn a_browser_may_change_things_only_from_the_hub_itself() {
        let post = |h| check(Method::POST, "/api/login", h);
        assert!(post(&[("sec-fetch-site", "same-origin")]));
        assert!(post(&[("sec-fetch-site", "none")]));
        assert!(!post(&[("sec-fetch-site", "same-site")]), "a sibling subdomain is another site");
        assert!(!post(&[("sec-fetch-site", "cross-site")]));
        // Sec-Fetch-Site decides when present, whatever Origin says.
        assert!(!post(&[("sec-fetch-site", "cross-site"), ("origin", HUB)]));
    }

    #[test]
    fn without_sec_fetch_site_the_origin_decides() {
        let post = |h| check(Method::POST, "/api/save_marketplace", h);
        assert!(post(&[("origin", "https://hub.example.com")]));
        assert!(post(&[("origin", "HTTPS://HUB.EXAMPLE.COM")]));
        assert!(!post(&[("origin", "https://app.example.com")]));
        assert!(!post(&[("origin", "https://hub.example.com.evil.example")]));
        assert!(!post(&[("origin", "http://hub.example.com")]), "another scheme is another origin");
        assert!(!post(&[("origin", "null")]));
        // The address the browser used, when the public URL is not set to it.
        assert!(post(&[("origin", "http://127.0.0.1:3000"), ("host", "127.0.0.1:3000")]));
        assert!(!post(&[("origin", "http://127.0.0.1:3001"), ("host", "127.0.0.1:3000")]));
        // No browser said anything: no cookie of a victim's comes with it.
        assert!(post(&[]));
    }

    #[test]
    fn reads_and_cookieless_doors_are_not_checked() {
        let cross = [("sec-fetch-site", "cross-site")];
        assert!(check(Method::GET, "/tenants", &cross));
        assert!(check(Method::POST, "/api/v2/tenants/1/sync", &cross));
        assert!(check(Method::POST, "/hooks/abc", &cross));
        assert!(!check(Method::POST, "/api/v2x", &cross));
        assert!(!check(Method::DELETE, "/api/anything", &cross));
    }

    #[test]
    fn the_public_origin_is_its_scheme_host_and_port() {
        assert!(same_origin("https://hub.example.com", "https://hub.example.com/"));
        assert!(same_origin("https://hub.example.com", "https://hub.example.com/base/path"));
        assert!(same_origin("http://127.0.0.1:3000", "http://127.0.0.1:3000"));
        assert!(!same_origin("http://127.0.0.1", "http://127.0.0.1:3000"));
    }
}
