//! OAuth2 through the magic link against a real token endpoint on loopback (a small
//! provider written here, so each test controls its answers): the authorization code
//! flow with PKCE and a single-use state, denied consent, token refresh with rotation
//! and races, and a sweep of every response and log line for secrets.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::routing::post;
use axum::{Form, Json, Router};
use chrono::{Duration, Utc};
use hub_core::db::audit::Actor;
use hub_core::db::{releases, Db};
use hub_core::domain::integration::IntegrationInput;
use hub_core::domain::manifest::Manifest;
use hub_core::domain::tenant::{NewTenantInput, Source};
use hub_core::secrets::SecretKey;
use hub_core::service;
use hub_core::service::connections::{ready_credentials, OAuthTokens};
use serde_json::{json, Value};

use crate::http::{Answer, Hub};

const CLIENT_SECRET: &str = "provider-client-secret-3141";
const STRIPE_KEY: &str = "sk_live_never_shown_2718";

/// What the provider does when asked to refresh.
#[derive(Clone, Copy, PartialEq)]
enum RefreshMode {
    Rotate,
    /// Another refresh "wins" first: the hub's store gets new tokens, then the
    /// provider refuses the old refresh token.
    RaceThenInvalid,
    Invalid,
    /// The tenant is disconnected while the provider answers; then it rotates.
    DisconnectMeanwhile,
    /// The tenant is connected anew while the provider answers; then it rotates.
    ReconnectMeanwhile,
}

struct Provider {
    challenge: Option<String>,
    mode: RefreshMode,
    refreshes: u32,
    /// Set for `RaceThenInvalid`: where the winning refresh stores its tokens.
    race: Option<(Db, Arc<SecretKey>, i64)>,
}

type Shared = Arc<Mutex<Provider>>;

async fn token(
    State(p): State<Shared>,
    Form(f): Form<std::collections::HashMap<String, String>>,
) -> (StatusCode, Json<Value>) {
    let grant = f.get("grant_type").cloned().unwrap_or_default();
    if grant == "authorization_code" {
        use sha2::Digest;
        let verifier = f.get("code_verifier").cloned().unwrap_or_default();
        let digest = sha2::Sha256::digest(verifier.as_bytes());
        let computed = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, digest);
        let expected = p.lock().expect("lock").challenge.clone();
        if f.get("code").map(String::as_str) != Some("good-code") || Some(computed) != expected {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": "invalid_grant", "error_description": "bad code or verifier" })),
            );
        }
        return (
            StatusCode::OK,
            Json(
                json!({ "access_token": "at-first-1111", "refresh_token": "rt-first-1111", "expires_in": 600, "token_type": "bearer" }),
            ),
        );
    }
    let (mode, race, n) = {
        let mut p = p.lock().expect("lock");
        p.refreshes += 1;
        (p.mode, p.race.clone(), p.refreshes)
    };
    match mode {
        RefreshMode::Rotate => (
            StatusCode::OK,
            Json(
                json!({ "access_token": format!("at-rotated-{n}"), "refresh_token": format!("rt-rotated-{n}"), "expires_in": 3600, "token_type": "bearer" }),
            ),
        ),
        RefreshMode::RaceThenInvalid => {
            if let Some((db, key, tenant)) = race {
                let winner = OAuthTokens {
                    access_token: "at-winner".into(),
                    refresh_token: Some("rt-winner".into()),
                    expires_at: Some(Utc::now() + Duration::hours(1)),
                    scope: None,
                    ..Default::default()
                };
                let sealed = key.encrypt(serde_json::to_string(&winner).expect("json").as_bytes());
                let before = self::sealed(&db, tenant).await.expect("connected");
                hub_core::db::connections::store_refreshed(db.pool(), tenant, "mockauth", &sealed, &before)
                    .await
                    .expect("stored");
            }
            (StatusCode::BAD_REQUEST, Json(json!({ "error": "invalid_grant" })))
        }
        RefreshMode::Invalid => {
            (StatusCode::BAD_REQUEST, Json(json!({ "error": "invalid_grant", "error_description": "token revoked" })))
        }
        RefreshMode::DisconnectMeanwhile | RefreshMode::ReconnectMeanwhile => {
            let (db, key, tenant) = race.expect("the hub to change");
            if mode == RefreshMode::DisconnectMeanwhile {
                service::connections::disconnect(&db, &Actor::System, tenant, "mockauth", Utc::now())
                    .await
                    .expect("disconnected");
            } else {
                let newer = OAuthTokens {
                    access_token: "at-reconnected".into(),
                    refresh_token: Some("rt-reconnected".into()),
                    expires_at: Some(Utc::now() + Duration::hours(1)),
                    scope: None,
                    ..Default::default()
                };
                let sealed = key.encrypt(serde_json::to_string(&newer).expect("json").as_bytes());
                hub_core::db::connections::connect(db.pool(), tenant, "mockauth", &sealed, Utc::now())
                    .await
                    .expect("connected");
            }
            (
                StatusCode::OK,
                Json(
                    json!({ "access_token": "at-stale", "refresh_token": "rt-stale", "expires_in": 3600, "token_type": "bearer" }),
                ),
            )
        }
    }
}

/// The provider on a loopback port, and its state.
async fn provider() -> (String, Shared) {
    let shared =
        Arc::new(Mutex::new(Provider { challenge: None, mode: RefreshMode::Rotate, refreshes: 0, race: None }));
    let app = Router::new().route("/token", post(token)).with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (url, shared)
}

/// A hub whose connectors folder has `mockauth` (OAuth2 at the provider) and Stripe.
async fn hub_with_provider(url: &str) -> (server::startup::Prepared, tempfile::TempDir) {
    hub_with_connectors(url, &[]).await
}

/// [`hub_with_provider`] with more definitions: (file name, text).
async fn hub_with_connectors(url: &str, more: &[(&str, &str)]) -> (server::startup::Prepared, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let connectors = dir.path().join("connectors");
    std::fs::create_dir_all(&connectors).expect("dir");
    for (name, text) in more {
        std::fs::write(connectors.join(name), text).expect("write");
    }
    std::fs::write(
        connectors.join("mockauth.yaml"),
        format!(
            "name: mockauth\ndisplay_name: Mock Auth\nauth: oauth2\noauth2:\n  authorize_url: {url}/authorize\n  token_url: {url}/token\n  scopes: [read]\n  client_id: hub-client\n  client_secret: {CLIENT_SECRET}\n"
        ),
    )
    .expect("write");
    std::fs::copy(format!("{}/../connectors/stripe.yaml", env!("CARGO_MANIFEST_DIR")), connectors.join("stripe.yaml"))
        .expect("copy");
    let data = dir.path().join("data").to_string_lossy().into_owned();
    let config = server::config::Config::from_vars(|k| match k {
        "HUB_DATA_DIR" => Some(data.clone()),
        // The in-process hub is a test binary: the sandbox's helper is the real one.
        "HUB_SANDBOX_HELPER" => Some(env!("CARGO_BIN_EXE_server").to_owned()),
        "HUB_ADMIN_EMAIL" => Some("admin@example.com".to_owned()),
        "HUB_ADMIN_PASSWORD" => Some("correct horse battery".to_owned()),
        "HUB_CONNECTORS_DIR" => Some(connectors.to_string_lossy().into_owned()),
        "HUB_PUBLIC_URL" => Some("http://hub.test".to_owned()),
        "HUB_DEMO" => Some("off".to_owned()),
        // The provider listens on loopback.
        "HUB_ALLOW_PRIVATE_TARGETS" => Some("127.0.0.0/8".to_owned()),
        _ => None,
    })
    .expect("config");
    (server::startup::prepare(&config).await.expect("prepared"), dir)
}

/// A tenant of an integration that needs both connectors.
async fn tenant(db: &Db, key: &SecretKey) -> i64 {
    tenant_of(db, key, &["mockauth", "stripe"]).await
}

/// A tenant of an integration that needs `connectors`.
async fn tenant_of(db: &Db, key: &SecretKey, connectors: &[&str]) -> i64 {
    let now = Utc::now();
    let input = IntegrationInput {
        name: "Mock Sync".into(),
        repository: "/srv/git/x".into(),
        connectors: connectors.iter().map(|c| (*c).to_owned()).collect(),
        ..Default::default()
    };
    let id = service::integrations::create(db, &hub_core::egress::Egress::strict(), &Actor::System, 1, input, now)
        .await
        .expect("integration");
    let release = releases::insert_queued(db.pool(), id, "main", None, now).await.expect("queued");
    releases::claim(db.pool(), release, now).await.expect("claim");
    let manifest = serde_json::to_string(&Manifest::parse("version: 1.0\nrun: x\n").expect("m")).expect("json");
    let ok = releases::Success { commit_sha: "abc", run_command: "x", manifest_json: &manifest };
    releases::succeed(db.pool(), release, &ok, now).await.expect("ok");
    service::integrations::set_default(db, &Actor::System, service::Scope::All, id, release, now)
        .await
        .expect("default");
    let integration = hub_core::db::integrations::get(db.pool(), id).await.expect("get").expect("row");
    let input = NewTenantInput {
        name: "acme".into(),
        release_mode: "channel".into(),
        channel: "default".into(),
        ..Default::default()
    };
    service::tenants::create(db, key, &Actor::System, &integration, &input, Source::Hub, now).await.expect("tenant")
}

/// The magic link's token, unsealed as the tenant's page does; the table holds only its hash.
async fn magic_token(db: &Db, key: &SecretKey, tenant: i64, connector: &str) -> String {
    let (hash, sealed): (String, Vec<u8>) =
        sqlx::query_as("SELECT magic_token, magic_sealed FROM connections WHERE tenant_id = ? AND connector_name = ?")
            .bind(tenant)
            .bind(connector)
            .fetch_one(db.pool())
            .await
            .expect("token");
    let token = String::from_utf8(key.decrypt(&sealed).expect("unsealed")).expect("text");
    assert_eq!(hash, hub_core::secrets::token_hash(&token), "only the hash is stored in clear");
    token
}

async fn sealed(db: &Db, tenant: i64) -> Option<Vec<u8>> {
    hub_core::db::connections::credentials(db.pool(), tenant, "mockauth").await.expect("read")
}

async fn status(db: &Db, tenant: i64) -> (String, Option<String>) {
    sqlx::query_as("SELECT status, status_reason FROM connections WHERE tenant_id = ? AND connector_name = 'mockauth'")
        .bind(tenant)
        .fetch_one(db.pool())
        .await
        .expect("status")
}

fn location(a: &Answer) -> String {
    a.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// What the `failed` of a redirect to a magic link's page says, opened with the hub
/// key for the link the address names: the address carries only the sealed text.
fn said(key: &SecretKey, a: &Answer) -> String {
    let to = location(a);
    let failed = query_param(&to, "failed");
    assert!(!failed.is_empty() && !failed.contains('%'), "sealed, URL-safe: {to}");
    let token = to.trim_start_matches("/connect/").split('?').next().unwrap_or_default().to_owned();
    service::connections::failure_message(key, &token, &failed, Utc::now()).expect("opens")
}

fn query_param(url: &str, name: &str) -> String {
    url.split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default()
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .unwrap_or_default()
        .to_owned()
}

/// Log lines written while the guard lives, on this thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_magic_link_connects_through_oauth2_and_no_secret_is_ever_shown() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let (url, provider) = provider().await;
    let (p, dir) = hub_with_provider(&url).await;
    let (db, key) = (p.state.db.clone(), p.state.key.clone());
    let tenant = tenant(&db, &key).await;
    let token = magic_token(&db, &key, tenant, "mockauth").await;
    let hub = Hub { router: p.router, _dir: dir };
    let mut seen: Vec<String> = Vec::new();
    let mut keep = |a: &Answer| seen.push(format!("{:?}\n{}", a.headers, a.body));

    // The link's page needs no hub session and names only the integration and connector.
    let page = hub.get(&format!("/connect/{token}"), None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Connect Mock Auth to Mock Sync"), "{}", page.body);
    keep(&page);

    // Start: to the provider, with PKCE S256 and a state.
    let start = hub.get(&format!("/connect/{token}/start"), None).await;
    assert!(start.status.is_redirection(), "{}", start.status);
    let authorize = location(&start);
    assert!(authorize.starts_with(&format!("{url}/authorize?")), "{authorize}");
    assert_eq!(query_param(&authorize, "code_challenge_method"), "S256");
    assert_eq!(query_param(&authorize, "redirect_uri"), "http%3A%2F%2Fhub.test%2Foauth%2Fcallback");
    let state = query_param(&authorize, "state");
    assert!(state.len() >= 22, "at least 128 bits: {state}");
    provider.lock().expect("lock").challenge = Some(query_param(&authorize, "code_challenge"));
    keep(&start);

    // The provider sends the browser back with a code: connected.
    let back = hub.get(&format!("/oauth/callback?state={state}&code=good-code"), None).await;
    assert_eq!(location(&back), format!("/connect/{token}?connected=1"), "{}", back.body);
    keep(&back);
    assert_eq!(status(&db, tenant).await.0, "connected");
    let stored = sealed(&db, tenant).await.expect("credentials");
    assert!(!String::from_utf8_lossy(&stored).contains("at-first"), "sealed at rest");

    // The same state again is refused, and nothing changes.
    let replay = hub.get(&format!("/oauth/callback?state={state}&code=good-code"), None).await;
    assert!(said(&key, &replay).contains("expired or was already used"), "{}", location(&replay));
    keep(&replay);
    assert_eq!(sealed(&db, tenant).await.as_ref(), Some(&stored));

    // Denied consent: a message, and the old connection stays as it was.
    let start = hub.get(&format!("/connect/{token}/start"), None).await;
    let state = query_param(&location(&start), "state");
    let denied = hub.get(&format!("/oauth/callback?state={state}&error=access_denied"), None).await;
    assert!(location(&denied).starts_with(&format!("/connect/{token}?failed=")), "{}", location(&denied));
    assert!(said(&key, &denied).starts_with("Consent was not given"));
    // The page shows the hub's sealed words, never text put in a link by hand.
    let shown = hub.get(&location(&denied), None).await;
    assert!(shown.body.contains("Consent was not given"), "{}", shown.body);
    let forged =
        hub.get(&format!("/connect/{token}?failed=Your%20account%20is%20locked.%20Call%20555-0100"), None).await;
    assert_eq!(forged.status, StatusCode::OK);
    assert!(!forged.body.contains("555-0100") && !forged.body.contains("connect-failed"), "{}", forged.body);
    // Nor what the hub sealed for another link.
    let failure = query_param(&location(&denied), "failed");
    let elsewhere = hub.get(&format!("/connect/unknown?failed={failure}"), None).await;
    assert!(!elsewhere.body.contains("Consent was not given"), "{}", elsewhere.body);
    keep(&denied);
    let shown = hub.get(&location(&denied), None).await;
    assert!(shown.body.contains("Consent was not given, so nothing changed."), "{}", shown.body);
    keep(&shown);
    assert_eq!(status(&db, tenant).await.0, "connected");
    assert_eq!(sealed(&db, tenant).await.as_ref(), Some(&stored));

    // A failed token exchange (a wrong code) also leaves everything as it was.
    let start = hub.get(&format!("/connect/{token}/start"), None).await;
    let state = query_param(&location(&start), "state");
    let bad = hub.get(&format!("/oauth/callback?state={state}&code=forged"), None).await;
    assert!(said(&key, &bad).contains("did not accept"), "{}", location(&bad));
    keep(&bad);
    assert_eq!(sealed(&db, tenant).await.as_ref(), Some(&stored));

    // The Stripe key through its own magic link, then everything an admin sees.
    let stripe = magic_token(&db, &key, tenant, "stripe").await;
    let saved = hub.call("magic_link_save", &format!("token={stripe}&fields%5Bapi_key%5D={STRIPE_KEY}"), None).await;
    assert!(saved.status.is_success() || saved.status.is_redirection(), "{} {}", saved.status, saved.body);
    keep(&saved);
    let cookie = hub.sign_in_as("admin%40example.com", "correct+horse+battery").await;
    for path in [
        format!("/tenants/{tenant}"),
        format!("/tenants/{tenant}/settings"),
        "/tenants".to_owned(),
        format!("/connect/{stripe}"),
    ] {
        let a = hub.get(&path, Some(&cookie)).await;
        assert_eq!(a.status, StatusCode::OK, "{path}");
        keep(&a);
    }
    let a = hub.call("tenant", &format!("id={tenant}"), Some(&cookie)).await;
    assert!(a.body.contains("\"status\":\"connected\""), "{}", a.body);
    keep(&a);
    let a = hub.call("magic_link", &format!("token={stripe}"), None).await;
    keep(&a);
    let a = hub.call("magic_link", "token=not-a-token", None).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    // Disconnect and reconnect: the link stays the same.
    let a = hub.call("disconnect_connection", &format!("tenant_id={tenant}&connector=mockauth"), Some(&cookie)).await;
    assert!(a.status.is_success(), "{}", a.body);
    assert_eq!(status(&db, tenant).await.0, "disconnected");
    assert_eq!(sealed(&db, tenant).await, None);
    assert_eq!(magic_token(&db, &key, tenant, "mockauth").await, token);

    let logged = String::from_utf8_lossy(&logs.0.lock().expect("lock")).into_owned();
    for secret in ["at-first-1111", "rt-first-1111", CLIENT_SECRET, STRIPE_KEY] {
        for s in &seen {
            assert!(!s.contains(secret), "a response shows {secret}: {s}");
        }
        assert!(!logged.contains(secret), "the log shows {secret}");
    }
    assert!(seen.len() > 10, "the sweep saw every answer of the flow");
}

/// Stores tokens for the tenant's `mockauth` connection as a finished flow would.
async fn store_tokens(db: &Db, key: &SecretKey, tenant: i64, refresh: &str, expires_in: Duration) {
    let tokens = OAuthTokens {
        access_token: "at-old".into(),
        refresh_token: Some(refresh.into()),
        expires_at: Some(Utc::now() + expires_in),
        scope: None,
        ..Default::default()
    };
    let sealed = key.encrypt(serde_json::to_string(&tokens).expect("json").as_bytes());
    hub_core::db::connections::connect(db.pool(), tenant, "mockauth", &sealed, Utc::now()).await.expect("connected");
}

async fn stored_tokens(db: &Db, key: &SecretKey, tenant: i64) -> OAuthTokens {
    let sealed = sealed(db, tenant).await.expect("credentials");
    serde_json::from_slice(&key.decrypt(&sealed).expect("decrypt")).expect("tokens")
}

#[tokio::test]
async fn tokens_are_refreshed_before_they_expire_and_failures_are_told_apart_from_races() {
    let (url, provider) = provider().await;
    let (p, _dir) = hub_with_provider(&url).await;
    let (db, key, registry) = (p.state.db.clone(), p.state.key.clone(), p.state.connectors.current());
    let tenant = tenant(&db, &key).await;
    let egress = p.state.egress.clone();
    let ready = || ready_credentials(&db, &key, &registry, &egress, "http://hub.test", tenant, "mockauth", Utc::now());

    // Far from expiry: used as stored, the provider is not asked.
    store_tokens(&db, &key, tenant, "rt-1", Duration::hours(2)).await;
    assert_eq!(ready().await.expect("ready")["access_token"], "at-old");
    assert_eq!(provider.lock().expect("lock").refreshes, 0);

    // Within 15 minutes of expiry: refreshed, and the rotated refresh token is stored at once.
    store_tokens(&db, &key, tenant, "rt-1", Duration::minutes(10)).await;
    let fresh = ready().await.expect("refreshed");
    assert_eq!(fresh["access_token"], "at-rotated-1");
    let now_stored = stored_tokens(&db, &key, tenant).await;
    assert_eq!(now_stored.refresh_token.as_deref(), Some("rt-rotated-1"));
    assert!(now_stored.expires_at.is_some_and(|t| t > Utc::now() + Duration::minutes(50)));

    // `invalid_grant` because another refresh won the race: the winner's tokens are used
    // and the connection stays connected.
    store_tokens(&db, &key, tenant, "rt-raced", Duration::minutes(1)).await;
    {
        let mut pr = provider.lock().expect("lock");
        pr.mode = RefreshMode::RaceThenInvalid;
        pr.race = Some((db.clone(), key.clone(), tenant));
    }
    let after_race = ready().await.expect("the winner's tokens");
    assert_eq!(after_race["access_token"], "at-winner");
    assert_eq!(status(&db, tenant).await.0, "connected");

    // A real refusal: the connection is marked as error with the reason.
    store_tokens(&db, &key, tenant, "rt-revoked", Duration::minutes(1)).await;
    provider.lock().expect("lock").mode = RefreshMode::Invalid;
    let err = ready().await.expect_err("refused");
    assert!(err.0.contains("invalid_grant") && err.0.contains("token revoked"), "{err}");
    let (state, reason) = status(&db, tenant).await;
    assert_eq!(state, "error");
    assert!(reason.is_some_and(|r| r.contains("connect again")));
}

#[tokio::test]
async fn a_token_endpoint_inside_the_hubs_network_is_not_called_unless_allowed() {
    let (url, provider) = provider().await;
    let (p, _dir) = hub_with_provider(&url).await;
    let (db, key, registry) = (p.state.db.clone(), p.state.key.clone(), p.state.connectors.current());
    let tenant = tenant(&db, &key).await;
    store_tokens(&db, &key, tenant, "rt-1", Duration::minutes(10)).await;
    let strict = hub_core::egress::Egress::strict();
    let refused = ready_credentials(&db, &key, &registry, &strict, "http://hub.test", tenant, "mockauth", Utc::now())
        .await
        .expect_err("the provider is on loopback");
    assert!(refused.0.contains("127.0.0.1, a loopback address"), "{refused}");
    assert_eq!(provider.lock().expect("lock").refreshes, 0, "no request reached it");
    // The hub in this test lists loopback: the same refresh goes through.
    store_tokens(&db, &key, tenant, "rt-1", Duration::minutes(10)).await;
    let egress = p.state.egress.clone();
    ready_credentials(&db, &key, &registry, &egress, "http://hub.test", tenant, "mockauth", Utc::now())
        .await
        .expect("refreshed");
    assert_eq!(provider.lock().expect("lock").refreshes, 1);
}

/// What the link's data endpoint answers for `token`: its status and body.
async fn link_answer(hub: &Hub, token: &str) -> (StatusCode, String) {
    let a = hub.call("magic_link", &format!("token={token}"), None).await;
    (a.status, a.body)
}

#[tokio::test]
async fn a_replaced_link_is_refused_with_words_and_its_sign_in_in_flight_fails() {
    let (url, _provider) = provider().await;
    let (p, dir) = hub_with_provider(&url).await;
    let (db, key) = (p.state.db.clone(), p.state.key.clone());
    let tenant = tenant(&db, &key).await;
    let hub = Hub { router: p.router, _dir: dir };
    let cookie = hub.sign_in_as("admin%40example.com", "correct+horse+battery").await;
    let old = magic_token(&db, &key, tenant, "mockauth").await;
    let page = hub.get(&format!("/tenants/{tenant}"), Some(&cookie)).await;
    assert!(page.body.contains(&format!("/connect/{old}")) && page.body.contains("Replace link"), "{}", page.body);
    // A sign-in started through the old link, then the link is replaced.
    let start = hub.get(&format!("/connect/{old}/start"), None).await;
    let state = query_param(&location(&start), "state");
    assert!(!state.is_empty());
    let a = hub.call("replace_magic_link", &format!("tenant_id={tenant}&connector=mockauth"), Some(&cookie)).await;
    assert!(a.status.is_success(), "{} {}", a.status, a.body);

    let new = magic_token(&db, &key, tenant, "mockauth").await;
    assert_ne!(new, old);
    let (status, body) = link_answer(&hub, &old).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("This link was replaced by a newer one"), "{body}");
    let page = hub.get(&format!("/connect/{old}"), None).await;
    assert!(page.body.contains("This link was replaced by a newer one"), "{}", page.body);
    assert_eq!(link_answer(&hub, &new).await.0, StatusCode::OK);
    let late = hub.get(&format!("/oauth/callback?state={state}&code=whatever"), None).await;
    assert!(!said(&key, &late).is_empty(), "{}", location(&late));
    assert_eq!(self::status(&db, tenant).await.0, "disconnected", "the old link's sign-in changed nothing");
    let audit: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'magic link replaced'")
        .fetch_one(db.pool())
        .await
        .expect("audit");
    assert_eq!(audit, 1);

    // A sign-in started through the new link, whose link changes before the provider
    // answers (a replacement racing the start): it does not finish, and the browser is
    // not sent to the current link's page.
    let start = hub.get(&format!("/connect/{new}/start"), None).await;
    let state = query_param(&location(&start), "state");
    sqlx::query("UPDATE connections SET magic_token = 'hash-of-a-newer-link' WHERE tenant_id = ? AND connector_name = 'mockauth'")
        .bind(tenant)
        .execute(db.pool())
        .await
        .expect("raced");
    let late = hub.get(&format!("/oauth/callback?state={state}&code=good-code"), None).await;
    let back = location(&late);
    assert!(back.starts_with("/connect/unknown?failed=") && said(&key, &late).contains("replaced"), "{back}");
    assert_eq!(self::status(&db, tenant).await.0, "disconnected");
    sqlx::query("UPDATE connections SET magic_token = ? WHERE tenant_id = ? AND connector_name = 'mockauth'")
        .bind(hub_core::secrets::token_hash(&new))
        .bind(tenant)
        .execute(db.pool())
        .await
        .expect("back");

    // Someone who may not see the tenant cannot replace its links.
    let a = hub.call("replace_magic_link", &format!("tenant_id={tenant}&connector=mockauth"), None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    assert_eq!(magic_token(&db, &key, tenant, "mockauth").await, new);
}

#[tokio::test]
async fn linking_the_tenant_to_another_marketplace_user_replaces_its_links() {
    let (url, _provider) = provider().await;
    let (p, dir) = hub_with_provider(&url).await;
    let (db, key) = (p.state.db.clone(), p.state.key.clone());
    let tenant = tenant(&db, &key).await;
    let hub = Hub { router: p.router, _dir: dir };
    let row = || async { hub_core::db::tenants::get(db.pool(), tenant).await.expect("read").expect("tenant") };
    service::marketplace::link(&db, &key, &Actor::System, &row().await, "ann", "Ann", "", Utc::now())
        .await
        .expect("linked");
    let anns = magic_token(&db, &key, tenant, "stripe").await;
    // Linked again to the same user: the link stays.
    service::marketplace::link(&db, &key, &Actor::System, &row().await, "ann", "Ann", "", Utc::now())
        .await
        .expect("linked");
    assert_eq!(magic_token(&db, &key, tenant, "stripe").await, anns);
    // To another user: Ann's link no longer lets her change the tenant's credentials.
    service::marketplace::link(&db, &key, &Actor::System, &row().await, "bob", "Bob", "", Utc::now())
        .await
        .expect("relinked");
    assert_ne!(magic_token(&db, &key, tenant, "stripe").await, anns);
    let (status, body) = link_answer(&hub, &anns).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let saved = hub.call("magic_link_save", &format!("token={anns}&fields%5Bapi_key%5D=sk_ann"), None).await;
    assert_eq!(saved.status, StatusCode::NOT_FOUND, "{}", saved.body);
    assert_eq!(hub_core::db::connections::credentials(db.pool(), tenant, "stripe").await.expect("read"), None);
}

#[tokio::test]
async fn links_expire_when_the_setting_says_and_the_marketplace_renews_its_users() {
    let (url, _provider) = provider().await;
    let (p, dir) = hub_with_provider(&url).await;
    let (db, key) = (p.state.db.clone(), p.state.key.clone());
    let tenant = tenant(&db, &key).await;
    let _hub = Hub { router: p.router, _dir: dir };
    let registry = p.state.connectors.clone();
    let token = magic_token(&db, &key, tenant, "stripe").await;
    let conn = service::connections::save_link_settings(&db, &Actor::System, "0", Utc::now()).await;
    assert!(conn.is_err(), "0 days is refused");
    service::connections::save_link_settings(&db, &Actor::System, "7", Utc::now()).await.expect("saved");
    let at = |days: i64| Utc::now() + Duration::days(days);
    assert!(service::connections::by_magic_token(&db, &registry, &token, at(6)).await.is_ok());
    let expired = service::connections::by_magic_token(&db, &registry, &token, at(8)).await.map(drop);
    assert_eq!(expired, Err(service::connections::ConnectError::ExpiredLink));

    // The tenant's marketplace user opens the app after the link expired: it is renewed.
    service::marketplace::link(
        &db,
        &key,
        &Actor::System,
        &hub_core::db::tenants::get(db.pool(), tenant).await.expect("read").expect("tenant"),
        "ann",
        "Ann",
        "",
        Utc::now(),
    )
    .await
    .expect("linked");
    let ann = hub_core::domain::marketplace::EndUser {
        sub: "ann".into(),
        name: None,
        email: None,
        rules: Default::default(),
        exp: at(9).timestamp(),
    };
    service::embed::app_page(&db, &key, "http://hub.test", &ann, tenant, at(8)).await.expect("page");
    let renewed = magic_token(&db, &key, tenant, "stripe").await;
    assert_ne!(renewed, token);
    assert!(service::connections::by_magic_token(&db, &registry, &renewed, at(8)).await.is_ok());

    // Without the setting, links do not expire.
    service::connections::save_link_settings(&db, &Actor::System, "", Utc::now()).await.expect("saved");
    assert!(service::connections::by_magic_token(&db, &registry, &renewed, at(10_000)).await.is_ok());
}

#[tokio::test]
async fn links_made_before_they_were_sealed_keep_working_and_leave_the_table() {
    let (url, _provider) = provider().await;
    let (p, _dir) = hub_with_provider(&url).await;
    let (db, key, registry) = (p.state.db.clone(), p.state.key.clone(), p.state.connectors.clone());
    let tenant = tenant(&db, &key).await;
    // As an earlier version stored it: the token in clear, nothing sealed.
    sqlx::query(
        "UPDATE connections SET magic_token = 'old-clear-token', magic_sealed = NULL, magic_issued_at = NULL
         WHERE tenant_id = ? AND connector_name = 'stripe'",
    )
    .bind(tenant)
    .execute(db.pool())
    .await
    .expect("old row");
    assert!(service::connections::by_magic_token(&db, &registry, "old-clear-token", Utc::now()).await.is_err());
    assert_eq!(service::connections::seal_clear_links(&db, &key, Utc::now()).await.expect("sealed"), 1);
    assert_eq!(service::connections::seal_clear_links(&db, &key, Utc::now()).await.expect("sealed"), 0);
    assert_eq!(magic_token(&db, &key, tenant, "stripe").await, "old-clear-token");
    assert!(service::connections::by_magic_token(&db, &registry, "old-clear-token", Utc::now()).await.is_ok());
    let clear: i64 = sqlx::query_scalar("SELECT count(*) FROM connections WHERE magic_token = 'old-clear-token'")
        .fetch_one(db.pool())
        .await
        .expect("count");
    assert_eq!(clear, 0);
}

#[tokio::test]
async fn a_refresh_never_undoes_a_disconnect_or_a_reconnect_made_while_it_waited() {
    let (url, provider) = provider().await;
    let (p, _dir) = hub_with_provider(&url).await;
    let (db, key, registry) = (p.state.db.clone(), p.state.key.clone(), p.state.connectors.current());
    let tenant = tenant(&db, &key).await;
    let egress = p.state.egress.clone();
    provider.lock().expect("lock").race = Some((db.clone(), key.clone(), tenant));
    let ready = || ready_credentials(&db, &key, &registry, &egress, "http://hub.test", tenant, "mockauth", Utc::now());

    // Disconnected while the provider answered: it stays disconnected, nothing stored.
    store_tokens(&db, &key, tenant, "rt-1", Duration::minutes(10)).await;
    provider.lock().expect("lock").mode = RefreshMode::DisconnectMeanwhile;
    let refused = ready().await.expect_err("no longer connected");
    assert_eq!(refused.0, "not connected");
    assert_eq!(self::status(&db, tenant).await.0, "disconnected");
    assert_eq!(sealed(&db, tenant).await, None, "the refreshed token was not stored");

    // Reconnected while the provider answered: the new connection's tokens stand.
    store_tokens(&db, &key, tenant, "rt-1", Duration::minutes(10)).await;
    provider.lock().expect("lock").mode = RefreshMode::ReconnectMeanwhile;
    let used = ready().await.expect("ready");
    assert_eq!(used["access_token"], "at-reconnected");
    assert_eq!(stored_tokens(&db, &key, tenant).await.access_token, "at-reconnected");
    assert_eq!(self::status(&db, tenant).await.0, "connected");
}

/// What the shop provider saw of one token request.
#[derive(Clone, Debug, Default)]
struct TokenRequest {
    shop: String,
    content_type: String,
    /// The client id and secret from Basic authentication, if any.
    basic: Option<String>,
    /// The request's values, from its form or JSON body.
    values: std::collections::BTreeMap<String, String>,
}

type Seen = Arc<Mutex<Vec<TokenRequest>>>;

/// A provider whose URLs carry the customer's shop (`/shops/<shop>/token`), whose
/// answers have no `token_type`, give `expires_in` as text, and carry the shop's
/// instance URL; it takes the client's credentials however they come, and records
/// how they came.
async fn shop_token(
    State(seen): State<Seen>,
    axum::extract::Path(shop): axum::extract::Path<String>,
    headers: axum::http::HeaderMap,
    body: String,
) -> (StatusCode, Json<Value>) {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let values: std::collections::BTreeMap<String, String> = if content_type.starts_with("application/json") {
        serde_json::from_str::<std::collections::BTreeMap<String, String>>(&body).unwrap_or_default()
    } else {
        url::form_urlencoded::parse(body.as_bytes()).into_owned().collect()
    };
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    let code = values.get("code").cloned();
    seen.lock().expect("lock").push(TokenRequest { shop: shop.clone(), content_type, basic, values });
    if code.as_deref() != Some("shop-code") {
        return (StatusCode::BAD_REQUEST, Json(json!({ "error": "invalid_grant" })));
    }
    (
        StatusCode::OK,
        Json(json!({
            "access_token": format!("at-{shop}-5151"),
            "refresh_token": format!("rt-{shop}-5151"),
            "expires_in": "3600",
            "instance_url": format!("https://{shop}.instance.example"),
            "ignored": "not kept",
        })),
    )
}

/// A hub whose `shopauth` connector reaches the shop provider, with `options` added
/// to its oauth2 section.
async fn shop_hub(options: &str) -> (server::startup::Prepared, tempfile::TempDir, String, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new().route("/shops/{shop}/token", post(shop_token)).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    let definition = format!(
        "name: shopauth\ndisplay_name: Shop Auth\nauth: oauth2\nparameters:\n  - {{ name: shop, label: Shop name, pattern: '[a-z]+', help: The name before .shop.example, example: acme }}\noauth2:\n  authorize_url: {url}/shops/{{shop}}/authorize\n  token_url: {url}/shops/{{shop}}/token\n  scopes: [read, write]\n  scope_separator: ','\n  client_id: hub-client\n  client_secret: {CLIENT_SECRET}\n  pkce: false\n  authorization_params: {{ access_type: offline }}\n  token_fields: [instance_url]\n  callback_fields: [realmId]\n{options}api_base_url: '{{instance_url}}/api/{{shop}}'\n"
    );
    let (p, dir) = hub_with_connectors(&url, &[("shopauth.yaml", &definition)]).await;
    (p, dir, url, seen)
}

#[tokio::test]
async fn a_connector_whose_urls_name_the_customers_shop_asks_for_it_and_keeps_what_the_token_answer_names() {
    let (p, dir, url, seen) = shop_hub("  client_auth: body\n").await;
    let (db, key, registry, egress) =
        (p.state.db.clone(), p.state.key.clone(), p.state.connectors.current(), p.state.egress.clone());
    let tenant = tenant_of(&db, &key, &["shopauth"]).await;
    let token = magic_token(&db, &key, tenant, "shopauth").await;
    let hub = Hub { router: p.router, _dir: dir };

    // The link's page asks for the shop, in a form that starts the sign-in.
    let page = hub.get(&format!("/connect/{token}"), None).await;
    assert!(
        page.body.contains(&format!(r#"action="/connect/{token}/start""#))
            && page.body.contains(r#"name="shop""#)
            && page.body.contains("The name before .shop.example"),
        "{}",
        page.body
    );

    // Without a shop, or with one that would leave its place in the URL: back to the
    // page with why, and what was typed, and nothing is started.
    for (query, why) in [("", "Shop name: enter a value"), ("?shop=evil.example%2Fx", "only letters")] {
        let start = hub.get(&format!("/connect/{token}/start{query}"), None).await;
        let back = location(&start);
        assert!(back.starts_with(&format!("/connect/{token}?failed=")) && said(&key, &start).contains(why), "{back}");
        if !query.is_empty() {
            assert!(back.ends_with("&shop=evil.example/x"), "{back}");
        }
    }
    let start = hub.get(&format!("/connect/{token}/start?shop=Acme"), None).await;
    assert_eq!(said(&key, &start), "Shop name: not a valid value, like acme", "{}", location(&start));
    let states: i64 =
        sqlx::query_scalar("SELECT count(*) FROM oauth_states").fetch_one(db.pool()).await.expect("count");
    assert_eq!(states, 0);

    // With a shop: the shop's consent screen, scopes joined by a comma, the extra
    // parameter, and no PKCE for this provider.
    let start = hub.get(&format!("/connect/{token}/start?shop=acme"), None).await;
    let authorize = location(&start);
    assert!(authorize.starts_with(&format!("{url}/shops/acme/authorize?")), "{authorize}");
    assert_eq!(query_param(&authorize, "scope"), "read%2Cwrite");
    assert_eq!(query_param(&authorize, "access_type"), "offline");
    assert_eq!(query_param(&authorize, "code_challenge"), "");
    let state = query_param(&authorize, "state");
    let back = hub.get(&format!("/oauth/callback?state={state}&code=shop-code&realmId=4620816365&other=x"), None).await;
    assert_eq!(location(&back), format!("/connect/{token}?connected=1"));

    // The token request went to the shop's endpoint, with the client's credentials in
    // the body as the connector says.
    let request = seen.lock().expect("lock").last().cloned().expect("a token request");
    assert_eq!(request.shop, "acme");
    assert!(request.content_type.starts_with("application/x-www-form-urlencoded"), "{}", request.content_type);
    assert_eq!(request.basic, None);
    assert_eq!(request.values.get("client_id").map(String::as_str), Some("hub-client"));
    assert_eq!(request.values.get("client_secret").map(String::as_str), Some(CLIENT_SECRET));

    // Stored: the shop and the instance URL (not what the connector does not name), and
    // a lifetime read from the text `expires_in`.
    let stored: OAuthTokens = serde_json::from_slice(
        &key.decrypt(
            &hub_core::db::connections::credentials(db.pool(), tenant, "shopauth")
                .await
                .expect("read")
                .expect("stored"),
        )
        .expect("open"),
    )
    .expect("tokens");
    assert_eq!(stored.access_token, "at-acme-5151");
    assert_eq!(stored.parameters.get("shop").map(String::as_str), Some("acme"));
    assert_eq!(stored.fields.get("instance_url").map(String::as_str), Some("https://acme.instance.example"));
    assert_eq!(stored.fields.get("realmId").map(String::as_str), Some("4620816365"), "kept from the redirect");
    assert_eq!(stored.fields.len(), 2, "{:?}", stored.fields);
    assert!(stored.expires_at.is_some_and(|at| at > Utc::now() + Duration::minutes(55)));

    // What a run gets: the token, the shop, the instance URL and the base URL made of them.
    let creds = ready_credentials(&db, &key, &registry, &egress, "http://hub.test", tenant, "shopauth", Utc::now())
        .await
        .expect("ready");
    let vars = hub_core::domain::run::secret_env("shopauth", true, &creds);
    for (name, value) in [
        ("PAN_SEC_SHOPAUTH_OAUTH_ACCESS_TOKEN", "at-acme-5151"),
        ("PAN_SEC_SHOPAUTH_SHOP", "acme"),
        ("PAN_SEC_SHOPAUTH_INSTANCE_URL", "https://acme.instance.example"),
    ] {
        assert!(vars.contains(&(name.to_owned(), value.to_owned())), "{name} in {vars:?}");
    }
    let connector = &registry.connectors["shopauth"].connector;
    let base = connector.api_base_url_for(&hub_core::domain::connector::connection_values(&creds));
    assert_eq!(base.as_deref(), Some("https://acme.instance.example/api/acme"));

    // A refresh goes to the same shop's endpoint, and keeps the instance URL.
    let mut due = stored.clone();
    due.expires_at = Some(Utc::now() + Duration::minutes(5));
    let sealed = key.encrypt(serde_json::to_string(&due).expect("json").as_bytes());
    hub_core::db::connections::connect(db.pool(), tenant, "shopauth", &sealed, Utc::now()).await.expect("stored");
    let refused = ready_credentials(&db, &key, &registry, &egress, "http://hub.test", tenant, "shopauth", Utc::now())
        .await
        .expect_err("this provider refuses refreshes");
    assert!(refused.0.contains("invalid_grant"), "{refused}");
    let request = seen.lock().expect("lock").last().cloned().expect("a refresh");
    assert_eq!(
        (request.shop.as_str(), request.values.get("grant_type").map(String::as_str)),
        ("acme", Some("refresh_token"))
    );
    assert_eq!(request.values.get("refresh_token").map(String::as_str), Some("rt-acme-5151"));
}

#[tokio::test]
async fn client_credentials_go_in_basic_authentication_unless_told_and_json_bodies_are_json() {
    for (options, json_body, basic) in [("", false, true), ("  client_auth: body\n  token_body: json\n", true, false)] {
        let (p, dir, url, seen) = shop_hub(options).await;
        let (db, key) = (p.state.db.clone(), p.state.key.clone());
        let tenant = tenant_of(&db, &key, &["shopauth"]).await;
        let token = magic_token(&db, &key, tenant, "shopauth").await;
        let hub = Hub { router: p.router, _dir: dir };
        let start = hub.get(&format!("/connect/{token}/start?shop=beta"), None).await;
        assert!(location(&start).starts_with(&format!("{url}/shops/beta/authorize?")), "{}", location(&start));
        let state = query_param(&location(&start), "state");
        let back = hub.get(&format!("/oauth/callback?state={state}&code=shop-code"), None).await;
        assert_eq!(location(&back), format!("/connect/{token}?connected=1"), "{options}");
        let request = seen.lock().expect("lock").last().cloned().expect("a token request");
        assert_eq!(
            request.content_type.starts_with("application/json"),
            json_body,
            "{options}: {}",
            request.content_type
        );
        assert_eq!(request.values.get("code").map(String::as_str), Some("shop-code"));
        assert_eq!(request.values.get("grant_type").map(String::as_str), Some("authorization_code"));
        if basic {
            assert_eq!(request.basic, Some(format!("hub-client:{CLIENT_SECRET}")));
            assert_eq!(request.values.get("client_secret"), None);
        } else {
            assert_eq!(request.basic, None);
            assert_eq!(request.values.get("client_secret").map(String::as_str), Some(CLIENT_SECRET));
        }
    }
}

/// An OAuth2 connector the hub has no app for says so where it is chosen and where it
/// would be connected, instead of sending the customer to a page that refuses; a
/// connector that needs no credentials is connected and offers nothing to undo.
#[tokio::test]
async fn a_connector_without_its_app_says_so_where_it_is_chosen_and_connected() {
    let (url, _provider) = provider().await;
    let bare = "name: bare\ndisplay_name: Bare CRM\nauth: oauth2\noauth2:\n  authorize_url: https://bare.example/a\n  token_url: https://bare.example/t\n  client_id: ${BARE_CLIENT_ID}\n";
    let none = "name: open-data\ndisplay_name: Open Data\nauth: none\n";
    let (p, dir) = hub_with_connectors(&url, &[("bare.yaml", bare), ("open.yaml", none)]).await;
    let (db, key) = (p.state.db.clone(), p.state.key.clone());
    let hub = Hub { router: p.router, _dir: dir };
    let cookie = hub.sign_in_as("admin%40example.com", "correct+horse+battery").await;

    let form = hub.call("integration_form", "", Some(&cookie)).await;
    let v: Value = serde_json::from_str(&form.body).expect("json");
    let choices = v["connectors"].as_array().expect("choices");
    assert!(choices.contains(&json!(["bare", "Bare CRM", false])), "{choices:?}");
    assert!(choices.contains(&json!(["mockauth", "Mock Auth", true])), "{choices:?}");
    assert!(choices.contains(&json!(["open-data", "Open Data", true])), "{choices:?}");

    let tenant = tenant_of(&db, &key, &["mockauth", "bare", "open-data"]).await;
    for page in [format!("/tenants/{tenant}"), format!("/tenants/{tenant}/setup/credentials")] {
        let a = hub.get(&page, Some(&cookie)).await;
        assert_eq!(a.status, StatusCode::OK, "{page}");
        assert_eq!(a.body.matches(r#"data-testid="not-configured""#).count(), 1, "{page}: {}", a.body);
        assert!(a.body.contains("Bare CRM is not set up on this hub yet"), "{page}");
        assert!(a.body.contains(r#"href="/connectors/bare""#), "{page}");
    }
    let page = hub.get(&format!("/tenants/{tenant}"), Some(&cookie)).await;
    assert!(!page.body.contains("Remove the stored Open Data credentials"), "nothing to disconnect");
    assert!(!page.body.contains("Open Data is not connected"), "{}", page.body);
}
