//! The embedded marketplace through the real router: tokens signed as a company's
//! backend signs them (with a JWT library), every bad token refused with nothing
//! created, each end user confined to their own tenants, the `xti` rules, and the
//! frame policy.

use axum::http::{header, StatusCode};
use chrono::Utc;
use hub_core::db::audit::Actor;
use hub_core::db::{integrations, tenants};
use hub_core::domain::marketplace::ListingInput;
use hub_core::service::marketplace as mp;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::http::{Answer, Hub};
use crate::tenants::integration_with_release;

const ORIGIN: &str = "http://127.0.0.1:4999";

struct Market {
    hub: Hub,
    db: hub_core::db::Db,
    key: std::sync::Arc<hub_core::secrets::SecretKey>,
    secret: String,
    integration: i64,
}

async fn market() -> Market {
    market_with(&[]).await
}

/// A marketplace on a hub with `extra` variables set.
async fn market_with(extra: &[(&str, &str)]) -> Market {
    let (p, dir) = crate::http::prepared_with(false, extra).await;
    let db = p.state.db.clone();
    let now = Utc::now();
    let (integration, _) = integration_with_release(&db, 1, "Stripe Sync").await;
    let listing = ListingInput {
        published: "on".into(),
        short_description: "Payments into your books".into(),
        categories: "Finance".into(),
        ..Default::default()
    };
    assert!(integrations::set_listing(db.pool(), integration, &listing.validate().expect("listing"), now)
        .await
        .expect("listing saved"));
    let look = hub_core::domain::marketplace::MarketplaceInput {
        name: "Acme Apps".into(),
        origins: ORIGIN.into(),
        ..Default::default()
    };
    mp::save_settings(&db, &Actor::System, &look, now).await.expect("settings");
    let secret = mp::rotate_secret(&db, &p.state.key, &Actor::System, "0", now).await.expect("secret");
    Market { key: p.state.key.clone(), hub: Hub { router: p.router, _dir: dir }, db, secret, integration }
}

fn sign(alg: Algorithm, claims: &serde_json::Value, key: &str) -> String {
    encode(&Header::new(alg), claims, &EncodingKey::from_secret(key.as_bytes())).expect("signed")
}

fn token(m: &Market, sub: &str, xti: serde_json::Value) -> String {
    let now = Utc::now().timestamp();
    sign(
        Algorithm::HS256,
        &json!({ "sub": sub, "name": format!("User {sub}"), "email": format!("{sub}@example.com"), "iat": now, "exp": now + 3600, "xti": xti }),
        &m.secret,
    )
}

async fn call(m: &Market, endpoint: &str, form: &str) -> Answer {
    m.hub.call(endpoint, form, None).await
}

async fn tenant_count(m: &Market) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM tenants").fetch_one(m.db.pool()).await.expect("count")
}

#[tokio::test]
async fn every_bad_token_is_refused_with_its_reason_and_creates_nothing() {
    let m = market().await;
    let now = Utc::now().timestamp();
    let good = json!({ "sub": "u-1", "exp": now + 600 });
    let unsigned = {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine as _;
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(good.to_string())
        )
    };
    let cases = [
        (unsigned, "alg: none"),
        (sign(Algorithm::HS384, &good, &m.secret), "only HS256"),
        (sign(Algorithm::HS256, &good, "mpsec_not-the-secret"), "signature does not match"),
        (sign(Algorithm::HS256, &json!({ "sub": "u-1", "exp": now - 600 }), &m.secret), "expired"),
        (
            sign(Algorithm::HS256, &json!({ "sub": "u-1", "exp": now + 600, "nbf": now + 3600 }), &m.secret),
            "not valid yet",
        ),
        (sign(Algorithm::HS256, &json!({ "exp": now + 600 }), &m.secret), "no sub claim"),
        (sign(Algorithm::HS256, &json!({ "sub": "u-1" }), &m.secret), "no exp claim"),
        (sign(Algorithm::HS256, &json!({ "sub": "u-1", "exp": now + 3 * 86_400 }), &m.secret), "24 hours"),
        ("garbage".to_owned(), "not a JWT"),
    ];
    for (t, reason) in &cases {
        let a = call(&m, "embed_install", &format!("token={t}&integration_id={}", m.integration)).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{reason}: {}", a.body);
        assert!(a.body.contains(reason), "{reason}: {}", a.body);
        let a = call(&m, "embed_home", &format!("token={t}")).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{reason}: {}", a.body);
        // The page itself says why, inside the frame.
        let page = m.hub.get(&format!("/embed?token={t}"), None).await;
        assert!(page.body.contains("This page could not be opened"), "{reason}");
    }
    assert_eq!(tenant_count(&m).await, 0);
}

#[tokio::test]
async fn end_users_see_and_change_only_their_own_tenants() {
    let m = market().await;
    let ann = token(&m, "ann", json!({}));
    let bob = token(&m, "bob", json!({}));

    let a = call(&m, "embed_install", &format!("token={ann}&integration_id={}", m.integration)).await;
    assert!(a.status.is_success() || a.status.is_redirection(), "{} {}", a.status, a.body);
    let mine = tenants::of_external(m.db.pool(), "ann").await.expect("ann's");
    assert_eq!(mine.len(), 1);
    let t = &mine[0];
    assert_eq!((t.source.as_str(), t.name.as_str()), ("marketplace", "stripe-sync-ann"));
    assert_eq!((t.external_name.as_deref(), t.external_email.as_deref()), (Some("User ann"), Some("ann@example.com")));
    assert_eq!(t.choice(), Some(hub_core::domain::release::ReleaseChoice::Default));

    // Ann sees it; Bob sees an empty My Apps and a 404 for Ann's tenant at every door.
    let home = call(&m, "embed_home", &format!("token={ann}")).await;
    assert!(home.body.contains(&format!("\"id\":{}", t.id)), "{}", home.body);
    let home = call(&m, "embed_home", &format!("token={bob}")).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("\"apps\":[]"), "{}", home.body);
    let id = t.id;
    for (endpoint, args) in [
        ("embed_app", format!("tenant_id={id}")),
        ("embed_credentials", format!("tenant_id={id}&connector=stripe&fields%5Bapi_key%5D=sk_live_x")),
        ("embed_continue", format!("tenant_id={id}")),
        ("embed_configure", format!("tenant_id={id}&input%5Bcfg%5D%5Bchannel%5D%5B0%5D=x")),
        ("embed_schedule", format!("tenant_id={id}&preset=hourly&paused=false")),
        ("embed_run", format!("tenant_id={id}")),
        ("embed_disconnect", format!("tenant_id={id}&connector=stripe")),
        ("embed_uninstall", format!("tenant_id={id}")),
    ] {
        let a = call(&m, endpoint, &format!("token={bob}&{args}")).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{endpoint}: {}", a.body);
    }
    let after = tenants::get(m.db.pool(), id).await.expect("read").expect("tenant");
    assert!(!after.archived && after.step() == hub_core::domain::tenant::SetupStep::Credentials);
    assert_eq!(after.configs, t.configs);

    // A hub tenant is nobody's until an admin links it.
    let bob_apps = |m: &Market| {
        let db = m.db.clone();
        async move { tenants::of_external(db.pool(), "bob").await.expect("bob's").len() }
    };
    assert_eq!(bob_apps(&m).await, 0);
    let row = tenants::get(m.db.pool(), id).await.expect("read").expect("tenant");
    mp::link(&m.db, &m.key, &Actor::System, &row, "bob", "Bob", "", Utc::now()).await.expect("linked");
    assert_eq!(bob_apps(&m).await, 1);
    let a = call(&m, "embed_app", &format!("token={bob}&tenant_id={id}")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let a = call(&m, "embed_app", &format!("token={ann}&tenant_id={id}")).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);

    // Ann's own changes work: the API key connector's fields, then uninstall.
    let again = call(&m, "embed_install", &format!("token={ann}&integration_id={}", m.integration)).await;
    assert!(again.status.is_success() || again.status.is_redirection(), "{}", again.body);
    let second = tenants::of_external(m.db.pool(), "ann").await.expect("ann's");
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].name, "stripe-sync-ann-2", "the first name is still taken");
    let sid = second[0].id;
    let a = call(
        &m,
        "embed_credentials",
        &format!("token={ann}&tenant_id={sid}&connector=stripe&fields%5Bapi_key%5D=sk_live_x"),
    )
    .await;
    assert!(a.status.is_success() || a.status.is_redirection(), "{}", a.body);
    let a = call(&m, "embed_uninstall", &format!("token={ann}&tenant_id={sid}")).await;
    assert!(a.status.is_success() || a.status.is_redirection(), "{}", a.body);
    assert!(tenants::of_external(m.db.pool(), "ann").await.expect("ann's").is_empty());
    let audit: Vec<(String, String)> = sqlx::query_as(
        "SELECT actor_kind, actor_label FROM audit_log WHERE object_type = 'tenant' AND action = 'archived'",
    )
    .fetch_all(m.db.pool())
    .await
    .expect("audit");
    assert_eq!(audit, vec![("marketplace".to_owned(), "ann".to_owned())]);
}

#[tokio::test]
async fn extra_rules_hide_integrations_and_cap_installs() {
    let m = market().await;
    let hidden = token(&m, "cy", json!({ "hidden_integrations": [m.integration] }));
    let home = call(&m, "embed_home", &format!("token={hidden}")).await;
    assert!(home.body.contains("\"tiles\":[]"), "{}", home.body);
    let a = call(&m, "embed_install", &format!("token={hidden}&integration_id={}", m.integration)).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);
    let by_name = token(&m, "cy", json!({ "hidden_integrations": ["Stripe Sync"] }));
    let a = call(&m, "embed_listing", &format!("token={by_name}&integration_id={}", m.integration)).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);

    let capped = token(&m, "dee", json!({ "allowed_installs": 1 }));
    let a = call(&m, "embed_install", &format!("token={capped}&integration_id={}", m.integration)).await;
    assert!(a.status.is_success() || a.status.is_redirection(), "{}", a.body);
    let a = call(&m, "embed_install", &format!("token={capped}&integration_id={}", m.integration)).await;
    assert_eq!(a.status, StatusCode::CONFLICT, "{}", a.body);
    assert!(a.body.contains("reached that limit"), "{}", a.body);
    assert_eq!(tenant_count(&m).await, 1);

    // An unpublished integration is offered to nobody.
    let off = ListingInput { published: String::new(), ..Default::default() };
    integrations::set_listing(m.db.pool(), m.integration, &off.validate().expect("listing"), Utc::now())
        .await
        .expect("unpublished");
    let anyone = token(&m, "eve", json!({}));
    let a = call(&m, "embed_install", &format!("token={anyone}&integration_id={}", m.integration)).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);
}

#[tokio::test]
async fn a_replaced_secret_is_accepted_only_during_its_grace_period() {
    let m = market().await;
    let old = token(&m, "ann", json!({}));
    let a = call(&m, "embed_home", &format!("token={old}")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let now = Utc::now();
    let fresh = mp::rotate_secret(&m.db, &m.key, &Actor::System, "2", now).await.expect("rotated");
    // Signed with the new secret: accepted.
    let new_token = sign(Algorithm::HS256, &json!({ "sub": "ann", "exp": now.timestamp() + 6 * 3600 }), &fresh);
    assert!(mp::verify(&m.db, &m.key, &new_token, now).await.is_ok());
    // The old secret: accepted within its two hours, refused after them.
    let old_long = sign(Algorithm::HS256, &json!({ "sub": "ann", "exp": now.timestamp() + 6 * 3600 }), &m.secret);
    assert!(mp::verify(&m.db, &m.key, &old_long, now + chrono::Duration::minutes(110)).await.is_ok());
    let late = mp::verify(&m.db, &m.key, &old_long, now + chrono::Duration::minutes(130)).await;
    assert!(matches!(late, Err(mp::TokenError::Refused(ref r)) if r.contains("signature does not match")), "{late:?}");
    assert!(mp::verify(&m.db, &m.key, &new_token, now + chrono::Duration::minutes(130)).await.is_ok());
    let a = call(&m, "embed_home", &format!("token={old}")).await;
    assert_eq!(a.status, StatusCode::OK, "still accepted in the grace period: {}", a.body);
    mp::end_grace(&m.db, &Actor::System, Utc::now()).await.expect("ended");
    let a = call(&m, "embed_home", &format!("token={old}")).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
}

#[tokio::test]
async fn only_the_allowed_origins_may_frame_the_marketplace() {
    let m = market().await;
    let t = token(&m, "ann", json!({}));
    let page = m.hub.get(&format!("/embed?token={t}"), None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csp = page.headers.get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(csp.starts_with("default-src 'self'; script-src 'self' 'nonce-"), "{csp}");
    assert!(csp.ends_with(&format!("; frame-ancestors {ORIGIN}")), "{csp}");
    assert!(page.body.contains("Acme Apps"));
    // No cookie is set or needed: the token travels in the address, kept out of caches
    // and other sites.
    assert!(page.headers.get(header::SET_COOKIE).is_none());
    assert_eq!(page.headers.get(header::CACHE_CONTROL).and_then(|v| v.to_str().ok()), Some("no-store"));
    assert_eq!(page.headers.get(header::REFERRER_POLICY).and_then(|v| v.to_str().ok()), Some("same-origin"));
    let console = m.hub.get("/login", None).await;
    let csp = console.headers.get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(csp.ends_with("; frame-ancestors 'none'"), "{csp}");
}

#[tokio::test]
async fn one_users_installs_and_syncs_stop_at_their_limits_and_others_go_on() {
    let m = market_with(&[("HUB_LIMIT_INSTALLS_PER_USER", "2"), ("HUB_LIMIT_RUNS_PER_USER", "2")]).await;
    let (ann, bob) = (token(&m, "ann", json!({})), token(&m, "bob", json!({})));
    let install = |t: &str| format!("token={t}&integration_id={}", m.integration);
    // Install, uninstall, install: two installs in the hour, so a third is refused.
    let a = call(&m, "embed_install", &install(&ann)).await;
    assert!(a.status.is_success() || a.status.is_redirection(), "{} {}", a.status, a.body);
    let first = tenants::of_external(m.db.pool(), "ann").await.expect("ann's")[0].id;
    let a = call(&m, "embed_uninstall", &format!("token={ann}&tenant_id={first}")).await;
    assert!(a.status.is_success() || a.status.is_redirection(), "{} {}", a.status, a.body);
    let a = call(&m, "embed_install", &install(&ann)).await;
    assert!(a.status.is_success() || a.status.is_redirection(), "{} {}", a.status, a.body);
    let a = call(&m, "embed_install", &install(&ann)).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.body);
    assert!(
        a.body.contains("You installed 2 integrations in the last hour, the most this hub allows. Try again in "),
        "{}",
        a.body
    );
    assert_eq!(tenants::of_external(m.db.pool(), "ann").await.expect("ann's").len(), 1);
    // Bob is not held back by Ann.
    let a = call(&m, "embed_install", &install(&bob)).await;
    assert!(a.status.is_success() || a.status.is_redirection(), "{} {}", a.status, a.body);

    // Ann's syncs: two in the hour, then refused with when to try again.
    let mine = tenants::of_external(m.db.pool(), "ann").await.expect("ann's")[0].id;
    sqlx::query("UPDATE tenants SET setup_step = 'done' WHERE id = ?")
        .bind(mine)
        .execute(m.db.pool())
        .await
        .expect("done");
    let run = |t: &str, id: i64| format!("token={t}&tenant_id={id}");
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(call(&m, "embed_run", &run(&ann, mine)).await);
    }
    let taken = answers.iter().filter(|a| a.status.is_success() || a.status.is_redirection()).count();
    assert_eq!(taken, 2, "{:?}", answers.iter().map(|a| (a.status, a.body.clone())).collect::<Vec<_>>());
    let last = answers.last().expect("an answer");
    assert_eq!(last.status, StatusCode::TOO_MANY_REQUESTS, "{}", last.body);
    assert!(last.body.contains("You asked for 2 syncs in the last hour"), "{}", last.body);
}
