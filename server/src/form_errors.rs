//! A failed form post without JavaScript comes back as a redirect whose URL carries
//! the error and the form's typed values (leptos's `__err`, base64 of JSON). Those
//! values must not sit readable in a URL (browser history, proxy logs), and an
//! `__err` somebody else made must not pre-fill a console form. So a redirect's
//! `__err` is sealed with the hub key, stamped with the time; a request's `__err` is
//! honoured only when it unseals and is at most [`LIFETIME`] old, and dropped
//! otherwise (with its `__path`).

use app::api::ctx::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use hub_core::secrets::SecretKey;

/// How long a sealed error is honoured: enough to follow the redirect.
pub const LIFETIME: Duration = Duration::minutes(10);

const ERR: &str = "__err";
/// What the hub seals here, so no other sealed value opens as a form's error.
const PURPOSE: &str = "form-error";
const PATH: &str = "__path";

/// Opens the `__err` of the request and seals the `__err` of the answer's redirect.
/// (The browser drops both from its address before hydrating: see the frontend.)
pub async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let now = Utc::now();
    if let Some(opened) = req.uri().query().filter(|q| carries_error(q)).map(|q| open_query(&state.key, q, now)) {
        let path = req.uri().path();
        let with = if opened.is_empty() { path.to_owned() } else { format!("{path}?{opened}") };
        if let Ok(uri) = with.parse::<Uri>() {
            *req.uri_mut() = uri;
        }
    }
    let mut resp = next.run(req).await;
    let sealed = resp
        .headers()
        .get(header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .filter(|l| l.split_once('?').is_some_and(|(_, q)| carries_error(q)))
        .map(|l| seal_location(&state.key, l, now));
    if let Some(value) = sealed.and_then(|l| HeaderValue::from_str(&l).ok()) {
        resp.headers_mut().insert(header::LOCATION, value);
    }
    resp
}

/// `value` sealed with the time it was made.
pub fn seal(key: &SecretKey, value: &str, at: DateTime<Utc>) -> String {
    hub_core::secrets::seal_stamped(key, PURPOSE, value, at)
}

/// The value sealed in `sealed`, when it unseals and is fresh at `now`.
pub fn open(key: &SecretKey, sealed: &str, now: DateTime<Utc>) -> Option<String> {
    hub_core::secrets::open_stamped(key, PURPOSE, sealed, now, LIFETIME)
}

/// Whether a query has an `__err` or `__path`, however its keys are encoded.
fn carries_error(query: &str) -> bool {
    url::form_urlencoded::parse(query.as_bytes()).any(|(k, _)| k == ERR || k == PATH)
}

/// The query rebuilt with its other pairs as they were and, at the end, the `__path`
/// and `__err` that `change` makes of its last `__path` and last `__err` (keys
/// compared decoded, as leptos reads them; a page that failed twice in a row carries
/// two, and the newest comes last).
fn rewrite_error(
    query: &str,
    change: impl FnOnce(Option<String>, Option<String>) -> (Option<String>, Option<String>),
) -> String {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let last = |name: &str| pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let (path, err) = change(last(PATH), last(ERR));
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs.iter().filter(|(k, _)| k != ERR && k != PATH) {
        out.append_pair(k, v);
    }
    if let Some(p) = path {
        out.append_pair(PATH, &p);
    }
    if let Some(e) = err {
        out.append_pair(ERR, &e);
    }
    out.finish()
}

/// The query with its `__err` opened beside its `__path`, or without either when it
/// does not open.
fn open_query(key: &SecretKey, query: &str, now: DateTime<Utc>) -> String {
    rewrite_error(query, |path, err| match (path, err.and_then(|e| open(key, &e, now))) {
        (Some(p), Some(o)) => (Some(p), Some(o)),
        _ => (None, None),
    })
}

/// The redirect's location with its `__err` sealed.
fn seal_location(key: &SecretKey, location: &str, now: DateTime<Utc>) -> String {
    let (base, query) = location.split_once('?').unwrap_or((location, ""));
    let (query, fragment) = query.split_once('#').map_or((query, None), |(q, f)| (q, Some(f)));
    let query = rewrite_error(query, |path, err| (path, err.map(|e| seal(key, &e, now))));
    let mut sealed = format!("{base}?{query}");
    if let Some(f) = fragment {
        sealed.push('#');
        sealed.push_str(f);
    }
    sealed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_error_opens_while_fresh_and_nothing_else_opens() {
        let key = SecretKey::generate();
        let now = Utc::now();
        let sealed = seal(&key, "eyJWYWxpZGF0aW9uIjp7fX0=", now);
        assert!(!sealed.contains("eyJ"), "nothing readable is left");
        assert_eq!(open(&key, &sealed, now + Duration::minutes(9)).as_deref(), Some("eyJWYWxpZGF0aW9uIjp7fX0="));
        assert_eq!(open(&key, &sealed, now + Duration::minutes(11)), None, "stale");
        assert_eq!(open(&SecretKey::generate(), &sealed, now), None, "another hub's key");
        assert_eq!(open(&key, "eyJWYWxpZGF0aW9uIjp7fX0=", now), None, "made by hand");

        let location = format!("/settings/company?done=1&__path=%2Fapi%2Fx&{ERR}=abc%3D#top");
        let out = seal_location(&key, &location, now);
        assert!(out.starts_with("/settings/company?done=1&__path=%2Fapi%2Fx&__err=") && out.ends_with("#top"), "{out}");
        let query = out.split_once('?').map(|(_, q)| q.trim_end_matches("#top")).unwrap_or_default();
        assert_eq!(open_query(&key, query, now), "done=1&__path=%2Fapi%2Fx&__err=abc%3D");
        assert_eq!(open_query(&key, "a=1&__path=%2Fapi%2Fx&__err=forged", now), "a=1");
        // An encoded key is the same key.
        assert_eq!(open_query(&key, "a=1&%5F%5Fpath=%2Fapi%2Fx&%5F%5Ferr=forged", now), "a=1");
        assert!(carries_error("%5F%5Ferr=x") && !carries_error("err=x"));
        // A second failure on a page that showed one: only the newest stays.
        let again = format!("/p?__path=%2Fa&__err={}&__path=%2Fb&__err=new", seal(&key, "old", now));
        let out = seal_location(&key, &again, now);
        let query = out.split_once('?').map(|(_, q)| q).unwrap_or_default();
        assert_eq!(open_query(&key, query, now), "__path=%2Fb&__err=new");
    }
}
