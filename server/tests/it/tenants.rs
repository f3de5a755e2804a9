//! The tenant creation flow through the real router, as a browser without JavaScript
//! posts it; the list's filters; and who may see which tenant.

use axum::http::{header, StatusCode};
use chrono::Utc;
use hub_core::accounts::{self, NewUser};
use hub_core::db::audit::Actor;
use hub_core::db::{mail, releases, Db};
use hub_core::domain::integration::IntegrationInput;
use hub_core::domain::manifest::Manifest;
use hub_core::service;

use crate::http::{prepared, Hub};

const MANIFEST: &str = r#"
version: 1.0
run: python3 main.py
connectors: [stripe, pokeapi]
configs:
  schema:
    type: object
    required: [channel]
    properties:
      channel: { type: string, default: general }
      batch_size: { type: integer, default: 50, min: 1, max: 500 }
      level: { $ref: '#/definitions/levels' }
      user: { $ref: '#/definitions/users' }
    definitions:
      levels: { enum: [debug, info] }
      users: { type: string, oneOf: [{ const: placeholder, title: Placeholder }] }
"#;

/// An integration with one successful release carrying `MANIFEST`, made default.
pub(crate) async fn integration_with_release(db: &Db, org: i64, name: &str) -> (i64, i64) {
    let now = Utc::now();
    let input = IntegrationInput {
        name: name.into(),
        repository: "/srv/git/x".into(),
        connectors: vec!["stripe".into(), "pokeapi".into()],
        ..Default::default()
    };
    let id = service::integrations::create(db, &hub_core::egress::Egress::strict(), &Actor::System, org, input, now)
        .await
        .expect("integration");
    let release = releases::insert_queued(db.pool(), id, "main", None, now).await.expect("queued");
    assert!(releases::claim(db.pool(), release, now).await.expect("claim"));
    let manifest = serde_json::to_string(&Manifest::parse(MANIFEST).expect("manifest")).expect("json");
    let ok = releases::Success { commit_sha: "abc123", run_command: "python3 main.py", manifest_json: &manifest };
    releases::succeed(db.pool(), release, &ok, now).await.expect("succeeded");
    service::integrations::set_default(db, &Actor::System, service::Scope::All, id, release, now)
        .await
        .expect("default");
    (id, release)
}

fn location(a: &crate::http::Answer) -> String {
    a.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// A plain HTML form post, as a browser without JavaScript sends it.
async fn post_form(hub: &Hub, endpoint: &str, form: &str, cookie: &str) -> crate::http::Answer {
    let req = axum::http::Request::post(format!("/api/{endpoint}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html")
        .header(header::REFERER, "http://localhost/tenants/new")
        .header(header::COOKIE, cookie)
        .body(axum::body::Body::from(form.to_owned()))
        .expect("request");
    hub.send(req).await
}

#[tokio::test]
async fn the_whole_flow_saves_a_tenant_and_keeps_every_typed_value_on_errors() {
    let (p, dir) = prepared(false).await;
    let db = p.state.db.clone();
    let (integration, _) = integration_with_release(&db, 1, "Stripe Sync").await;
    let hub = Hub { router: p.router, _dir: dir };
    let cookie = hub.sign_in_as("admin%40example.com", "correct+horse+battery").await;

    // Step 1: a bad name is refused with the rule, and nothing is created.
    let a = hub
        .call(
            "create_tenant",
            &format!("integration_id={integration}&input%5Bname%5D=Acme+Corp&input%5Brelease_mode%5D=channel&input%5Bchannel%5D=default"),
            Some(&cookie),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert!(a.body.contains("lowercase letters") && a.body.contains("Acme Corp"), "message and kept value: {}", a.body);
    let a = hub.call("tenants", "query%5Bq%5D=&query%5Bsort%5D=name&query%5Bpage%5D=1", Some(&cookie)).await;
    assert!(a.body.contains("\"total\":0"), "{}", a.body);

    // Without JavaScript the error comes back to the form's page.
    let a = post_form(
        &hub,
        "create_tenant",
        &format!("integration_id={integration}&input%5Bname%5D=-acme&input%5Brelease_mode%5D=channel&input%5Bchannel%5D=latest"),
        &cookie,
    )
    .await;
    assert!(a.status.is_redirection(), "{} {}", a.status, a.body);
    assert!(location(&a).contains("__err"), "{}", location(&a));

    let a = post_form(
        &hub,
        "create_tenant",
        &format!("integration_id={integration}&input%5Bname%5D=acme&input%5Brelease_mode%5D=channel&input%5Bchannel%5D=default"),
        &cookie,
    )
    .await;
    assert!(a.status.is_redirection(), "{} {}", a.status, a.body);
    let tenant: i64 = location(&a)
        .trim_start_matches("/tenants/")
        .trim_end_matches("/setup")
        .parse()
        .unwrap_or_else(|_| panic!("redirect to the setup: {}", location(&a)));
    // The same name again is taken.
    let a = hub
        .call(
            "create_tenant",
            &format!("integration_id={integration}&input%5Bname%5D=acme&input%5Brelease_mode%5D=channel&input%5Bchannel%5D=default"),
            Some(&cookie),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);

    // The unfinished tenant says what it lacks; its defaults are prefilled.
    let a = hub.call("tenant", &format!("id={tenant}"), Some(&cookie)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let t: serde_json::Value = serde_json::from_str(&a.body).expect("json");
    assert_eq!(t["step"], "credentials");
    assert_eq!(t["raw"]["channel"], serde_json::json!(["general"]));
    let lacks = t["lacks"].to_string();
    assert!(lacks.contains("Stripe is not connected") && lacks.contains("schedule"), "{lacks}");
    assert!(!lacks.contains("PokeAPI"), "a connector without credentials is connected from the start: {lacks}");
    assert!(t["connections"][0]["magic_link"].as_str().is_some_and(|l| l.len() > 60), "{}", t["connections"]);

    // Step 2: an API key, stored encrypted and never shown again.
    let secret = "sk_live_0123456789abcdef";
    let a = hub
        .call(
            "save_tenant_credentials",
            &format!("tenant_id={tenant}&connector=stripe&fields%5Bapi_key%5D="),
            Some(&cookie),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "an empty key: {}", a.body);
    let a = hub
        .call(
            "save_tenant_credentials",
            &format!("tenant_id={tenant}&connector=stripe&fields%5Bapi_key%5D={secret}"),
            Some(&cookie),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let stored: Vec<u8> = sqlx::query_scalar("SELECT credentials FROM connections WHERE connector_name = 'stripe'")
        .fetch_one(db.pool())
        .await
        .expect("row");
    assert!(!String::from_utf8_lossy(&stored).contains(secret), "credentials are sealed at rest");
    let a = hub.call("finish_tenant_credentials", &format!("tenant_id={tenant}"), Some(&cookie)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);

    // Step 3: a missing required value and a number out of range, both reported; the
    // typed values survive as a draft.
    let a = hub
        .call(
            "save_tenant_configs",
            &format!("tenant_id={tenant}&input%5Bcfg%5D%5Bchannel%5D%5B0%5D=&input%5Bcfg%5D%5Bbatch_size%5D%5B0%5D=900&input%5Bcfg%5D%5Blevel%5D%5B0%5D=info"),
            Some(&cookie),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert!(a.body.contains("cfg.channel") && a.body.contains("At most 500."), "{}", a.body);
    let t: serde_json::Value =
        serde_json::from_str(&hub.call("tenant", &format!("id={tenant}"), Some(&cookie)).await.body).expect("json");
    assert_eq!(t["raw"]["batch_size"], serde_json::json!(["900"]), "the draft keeps what was typed");
    assert_eq!(t["raw"]["level"], serde_json::json!(["info"]));
    let a = hub
        .call(
            "save_tenant_configs",
            &format!("tenant_id={tenant}&input%5Bcfg%5D%5Bchannel%5D%5B0%5D=ops&input%5Bcfg%5D%5Bbatch_size%5D%5B0%5D=100&input%5Bcfg%5D%5Blevel%5D%5B0%5D=info"),
            Some(&cookie),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let configs: String = sqlx::query_scalar("SELECT configs FROM tenants WHERE id = ?")
        .bind(tenant)
        .fetch_one(db.pool())
        .await
        .expect("row");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&configs).expect("json"),
        serde_json::json!({ "channel": "ops", "batch_size": 100, "level": "info" })
    );

    // Steps 4 and 5: an invalid cron is refused with its reason; a valid one is saved.
    let a = hub
        .call(
            "save_tenant_schedule",
            &format!("tenant_id={tenant}&input%5Bkind%5D=advanced&input%5Bcron%5D=61+*+*+*+*&input%5Btimezone%5D=Europe%2FBerlin&paused=false"),
            Some(&cookie),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert!(a.body.contains("minute must be from 0 to 59"), "{}", a.body);
    let t: serde_json::Value =
        serde_json::from_str(&hub.call("tenant", &format!("id={tenant}"), Some(&cookie)).await.body).expect("json");
    assert_eq!(
        (t["schedule"]["cron"].as_str(), t["paused"].as_bool()),
        (Some("61 * * * *"), Some(false)),
        "draft kept"
    );
    let a = hub
        .call(
            "save_tenant_schedule",
            &format!("tenant_id={tenant}&input%5Bkind%5D=advanced&input%5Bcron%5D=30+9+*+*+mon-fri&input%5Btimezone%5D=Europe%2FBerlin&paused=false"),
            Some(&cookie),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let t: serde_json::Value =
        serde_json::from_str(&hub.call("tenant", &format!("id={tenant}"), Some(&cookie)).await.body).expect("json");
    assert_eq!(t["step"], "done");
    assert_eq!(t["lacks"], serde_json::json!([]), "{}", t["lacks"]);
    assert!(t["schedule_text"].as_str().is_some_and(|s| s.contains("09:30") && s.contains("Europe/Berlin")), "{t}");
    assert!(t["next_fire_at"].is_string(), "a running tenant has its next fire time");

    // The detail page renders; no response of the flow ever showed the secret.
    let page = hub.get(&format!("/tenants/{tenant}"), Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("acme") && page.body.contains("Connected"), "{}", page.body);
    assert!(!page.body.contains(secret));
    let a = hub.call("tenant", &format!("id={tenant}"), Some(&cookie)).await;
    assert!(!a.body.contains(secret));
}

#[tokio::test]
async fn the_list_searches_filters_sorts_and_pages() {
    let (p, dir) = prepared(false).await;
    let db = p.state.db.clone();
    let (a_int, _) = integration_with_release(&db, 1, "Alpha").await;
    let (b_int, _) = integration_with_release(&db, 1, "Beta").await;
    let now = Utc::now();
    let int_a = hub_core::db::integrations::get(db.pool(), a_int).await.expect("get").expect("a");
    let int_b = hub_core::db::integrations::get(db.pool(), b_int).await.expect("get").expect("b");
    for i in 0..30 {
        let integration = if i % 3 == 0 { &int_b } else { &int_a };
        let input = hub_core::domain::tenant::NewTenantInput {
            name: format!("customer-{i:02}"),
            release_mode: "channel".into(),
            channel: "default".into(),
            ..Default::default()
        };
        service::tenants::create(
            &db,
            &hub_core::secrets::SecretKey::generate(),
            &Actor::System,
            integration,
            &input,
            hub_core::domain::tenant::Source::Hub,
            now,
        )
        .await
        .expect("tenant");
    }
    sqlx::query("UPDATE tenants SET paused = 0 WHERE name IN ('customer-01', 'customer-02')")
        .execute(db.pool())
        .await
        .expect("running");
    sqlx::query("UPDATE tenants SET last_run_phase = 'failed_timeout', last_run_at = ? WHERE name = 'customer-05'")
        .bind(now)
        .execute(db.pool())
        .await
        .expect("failed");
    let hub = Hub { router: p.router, _dir: dir };
    let cookie = hub.sign_in_as("admin%40example.com", "correct+horse+battery").await;
    let list = |query: &'static str| {
        let hub = &hub;
        let cookie = cookie.clone();
        async move {
            let a = hub.get(&format!("/tenants{query}"), Some(&cookie)).await;
            assert_eq!(a.status, StatusCode::OK, "{query}");
            a.body
        }
    };
    let page = list("").await;
    assert!(page.contains("1–25 of 30") && page.contains("customer-00") && !page.contains("customer-25"), "page 1");
    let page = list("?page=2").await;
    assert!(page.contains("26–30 of 30") && page.contains("customer-29") && !page.contains("customer-00"), "page 2");
    let page = list("?q=-1").await;
    assert!(page.contains("of 10") && page.contains("customer-19"), "search");
    let page = list("?state=running").await;
    assert!(page.contains("1–2 of 2") && page.contains("customer-01"), "running");
    let page = list("?state=failed").await;
    assert!(page.contains("1–1 of 1") && page.contains("customer-05") && page.contains("Failed (Timeout)"), "failed");
    let page = list("?state=not_connected").await;
    assert!(page.contains("of 30"), "every tenant still lacks its Stripe key");
    let page = hub.get(&format!("/tenants?integration={b_int}&sort=-name"), Some(&cookie)).await.body;
    assert!(page.contains("1–10 of 10"), "integration filter");
    let first = page.find("customer-27").expect("27");
    let later = page.find("customer-03").expect("03");
    assert!(first < later, "Z to A");
}

#[tokio::test]
async fn a_partner_user_reaches_only_their_organizations_tenants() {
    let (p, dir) = prepared(false).await;
    let (db, mailer) = (p.state.db.clone(), p.state.mailer.clone());
    let now = Utc::now();
    let globex = accounts::create_partner(&db, &Actor::System, "Globex", now).await.expect("partner");
    let (company_int, _) = integration_with_release(&db, 1, "Company Sync").await;
    let row = hub_core::db::integrations::get(db.pool(), company_int).await.expect("get").expect("row");
    let input = hub_core::domain::tenant::NewTenantInput {
        name: "secret-customer".into(),
        release_mode: "channel".into(),
        channel: "default".into(),
        ..Default::default()
    };
    let tenant = service::tenants::create(
        &db,
        &hub_core::secrets::SecretKey::generate(),
        &Actor::System,
        &row,
        &input,
        hub_core::domain::tenant::Source::Hub,
        now,
    )
    .await
    .expect("tenant");
    let user = NewUser { name: "Pat".into(), email: "pat@globex.example".into(), organization_id: globex };
    accounts::add_user(&db, &mailer, &Actor::System, user, "http://hub.test", now).await.expect("invited");
    let body = mail::recent(db.pool(), 1).await.expect("mail").remove(0).body;
    let token = body[body.find("/invite/").expect("link") + 8..].split_whitespace().next().expect("token").to_owned();
    let hub = Hub { router: p.router, _dir: dir };
    let form = format!("token={token}&password=pat+long+password&confirm=pat+long+password");
    hub.call("accept_invitation", &form, None).await;
    let cookie = hub.sign_in_as("pat%40globex.example", "pat+long+password").await;

    let a = hub.call("tenants", "query%5Bq%5D=&query%5Bsort%5D=name&query%5Bpage%5D=1", Some(&cookie)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(!a.body.contains("secret-customer") && a.body.contains("\"total\":0"), "{}", a.body);
    for (endpoint, args) in [
        ("tenant", format!("id={tenant}")),
        ("new_tenant_form", format!("integration_id={company_int}")),
        (
            "create_tenant",
            format!("integration_id={company_int}&input%5Bname%5D=x&input%5Brelease_mode%5D=channel&input%5Bchannel%5D=default"),
        ),
        ("save_tenant_credentials", format!("tenant_id={tenant}&connector=stripe&fields%5Bapi_key%5D=x")),
        ("finish_tenant_credentials", format!("tenant_id={tenant}")),
        ("save_tenant_configs", format!("tenant_id={tenant}")),
        ("save_tenant_schedule", format!("tenant_id={tenant}&input%5Bkind%5D=simple&input%5Bpreset%5D=hourly&paused=true")),
        ("save_tenant_settings", format!("tenant_id={tenant}&version%5Brelease_mode%5D=channel")),
        ("disconnect_connection", format!("tenant_id={tenant}&connector=stripe")),
        ("archive_tenant", format!("tenant_id={tenant}")),
    ] {
        let a = hub.call(endpoint, &args, Some(&cookie)).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{endpoint}: {}", a.body);
        assert!(!a.body.contains("secret-customer"), "{endpoint} leaked: {}", a.body);
    }
}
