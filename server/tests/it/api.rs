//! The REST API through the real router: every endpoint's success, 401, 404 and 422,
//! paging and sorting; every answer checked against the OpenAPI document the hub
//! serves; inbound webhooks; and outgoing webhooks to a receiver on loopback.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use chrono::Utc;
use hmac::{Hmac, Mac};
use hub_core::db::audit::Actor;
use hub_core::db::{releases, Db};
use hub_core::domain::integration::IntegrationInput;
use hub_core::domain::manifest::Manifest;
use hub_core::service;
use hub_core::worker::{self, Clock};
use serde_json::{json, Value};

use crate::http::{prepared_with, Hub};

const MANIFEST: &str = r#"
version: 1.0
run: python3 main.py
configs:
  schema:
    type: object
    required: [channel]
    properties:
      channel: { type: string, default: general }
      batch_size: { type: integer, default: 50, minimum: 1, maximum: 500 }
      verbose: { type: boolean, default: false }
metadata_schema:
  schema: { type: object, properties: { cursor: { type: string } } }
"#;

/// An integration with one successful release, made default.
async fn integration(db: &Db, name: &str) -> (i64, i64) {
    let now = Utc::now();
    let input = IntegrationInput { name: name.into(), repository: "/srv/git/x".into(), ..Default::default() };
    let id = service::integrations::create(db, &hub_core::egress::Egress::strict(), &Actor::System, 1, input, now)
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

/// The hub, a live key, and the OpenAPI document every answer is checked against.
struct Api {
    hub: Hub,
    db: Db,
    state: app::api::ctx::AppState,
    key: String,
    doc: Value,
}

struct Reply {
    status: StatusCode,
    json: Value,
}

impl Api {
    async fn new() -> Self {
        Self::with(&[]).await
    }

    /// A hub with `extra` variables set.
    async fn with(extra: &[(&str, &str)]) -> Self {
        let (p, dir) = prepared_with(false, extra).await;
        let db = p.state.db.clone();
        let state = p.state.clone();
        let admin = Actor::User { id: 1, email: "admin@example.com".into() };
        let (_, key) = service::api_keys::create(
            &db,
            &admin,
            &hub_core::service::api_keys::NewKeyInput::full("tests"),
            Utc::now(),
        )
        .await
        .expect("key");
        let hub = Hub { router: p.router, _dir: dir };
        let a = hub.get("/api/v2/openapi.json", None).await;
        assert_eq!(a.status, StatusCode::OK, "the document is public");
        let doc = serde_json::from_str(&a.body).expect("the document is JSON");
        Self { hub, db, state, key, doc }
    }

    async fn send_as(&self, method: Method, path: &str, body: Option<Value>, key: Option<&str>) -> Reply {
        let mut req = Request::builder().method(method.clone()).uri(path);
        if let Some(k) = key {
            req = req.header("X-API-Key", k);
        }
        let body = match body {
            Some(b) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        let a = self.hub.send(req.body(body).expect("request")).await;
        let json = if a.body.is_empty() { Value::Null } else { serde_json::from_str(&a.body).expect("a JSON answer") };
        let reply = Reply { status: a.status, json };
        self.check_against_document(&method, path, &reply);
        reply
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.send_as(method, path, body, Some(&self.key.clone())).await
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }

    /// The answer's status must be documented for its operation, and its body must
    /// match the documented schema.
    fn check_against_document(&self, method: &Method, path: &str, reply: &Reply) {
        let bare = path.split('?').next().unwrap_or(path);
        let paths = self.doc["paths"].as_object().expect("paths");
        let Some((template, item)) = paths.iter().find(|(t, _)| matches_template(t, bare)) else {
            assert_eq!(reply.status, StatusCode::NOT_FOUND, "{bare} is not in the document");
            return;
        };
        let op = &item[method.as_str().to_lowercase()];
        assert!(op.is_object(), "{method} {template} is not documented");
        let response = &op["responses"][reply.status.as_str()];
        assert!(response.is_object(), "{method} {template} answered {}, which is not documented", reply.status);
        let Some(schema) = response.pointer("/content/application~1json/schema") else {
            assert!(reply.json.is_null(), "{method} {template} {} has no documented body", reply.status);
            return;
        };
        let mut wrapper = schema.clone();
        if let Some(obj) = wrapper.as_object_mut() {
            obj.insert("components".into(), self.doc["components"].clone());
        }
        let validator = jsonschema::draft202012::new(&wrapper).expect("a valid schema");
        let errors: Vec<String> =
            validator.iter_errors(&reply.json).map(|e| format!("{}: {e}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{method} {path} {}: {errors:?}\n{}", reply.status, reply.json);
    }
}

fn matches_template(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| (t.starts_with('{') && t.ends_with('}')) || t == p)
}

#[tokio::test]
async fn every_endpoint_refuses_a_missing_wrong_or_revoked_key() {
    let api = Api::new().await;
    let admin = Actor::User { id: 1, email: "admin@example.com".into() };
    let (revoked_id, revoked) =
        service::api_keys::create(&api.db, &admin, &hub_core::service::api_keys::NewKeyInput::full("old"), Utc::now())
            .await
            .expect("key");
    service::api_keys::revoke(&api.db, &admin, revoked_id, Utc::now()).await.expect("revoked");
    let calls = [
        (Method::GET, "/api/v2/integrations"),
        (Method::GET, "/api/v2/integrations/1"),
        (Method::GET, "/api/v2/integrations/1/releases"),
        (Method::POST, "/api/v2/integrations/1/releases"),
        (Method::GET, "/api/v2/integrations/1/releases/default"),
        (Method::GET, "/api/v2/integrations/1/releases/latest"),
        (Method::GET, "/api/v2/integrations/1/releases/1"),
        (Method::GET, "/api/v2/tenants"),
        (Method::POST, "/api/v2/tenants"),
        (Method::GET, "/api/v2/tenants/1"),
        (Method::PATCH, "/api/v2/tenants/1"),
        (Method::DELETE, "/api/v2/tenants/1"),
        (Method::GET, "/api/v2/tenants/1/metadata"),
        (Method::PATCH, "/api/v2/tenants/1/metadata"),
        (Method::POST, "/api/v2/tenants/1/sync"),
        (Method::GET, "/api/v2/tenants/1/runs"),
        (Method::GET, "/api/v2/runs/1"),
        (Method::GET, "/api/v2/runs/1/log"),
        (Method::GET, "/api/v2/runs/triggers/1/status"),
        (Method::GET, "/api/v2/schedules/preview?cron=*+*+*+*+*"),
    ];
    for (method, path) in calls {
        for key in [None, Some("hub_not-a-key"), Some("wrong"), Some(revoked.as_str())] {
            let r = api.send_as(method.clone(), path, Some(json!({})), key).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{method} {path} with {key:?}");
            assert_eq!(r.json["error"], "unauthorized");
        }
    }
    // The key's last use is kept; the revoked one is listed as revoked.
    let keys = hub_core::db::api_keys::list(api.db.pool()).await.expect("keys");
    assert!(keys.iter().any(|k| k.name == "old" && k.revoked_at.is_some()));
    assert!(keys.iter().all(|k| k.name != "tests" || k.last_used_at.is_none()), "no call with the live key yet");
    assert_eq!(api.get("/api/v2/integrations").await.status, StatusCode::OK);
    let keys = hub_core::db::api_keys::list(api.db.pool()).await.expect("keys");
    assert!(keys.iter().any(|k| k.name == "tests" && k.last_used_at.is_some()));
    // The stored hash is not the key.
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT key_hash FROM api_keys").fetch_all(api.db.pool()).await.expect("hashes");
    assert!(stored.iter().all(|h| h != &api.key && h != &revoked && h.len() == 64));
}

#[tokio::test]
async fn integrations_and_releases_with_paging_and_sorting() {
    let api = Api::new().await;
    let (a, release) = integration(&api.db, "Alpha Sync").await;
    let (b, _) = integration(&api.db, "Beta Sync").await;
    integration(&api.db, "Gamma Sync").await;

    let r = api.get("/api/v2/integrations").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json["total"], 3);
    assert_eq!(r.json["limit"], 100);
    let names =
        |r: &Reply| r.json["items"].as_array().expect("items").iter().map(|i| i["name"].clone()).collect::<Vec<_>>();
    assert_eq!(names(&r), [json!("Alpha Sync"), json!("Beta Sync"), json!("Gamma Sync")]);
    let r = api.get("/api/v2/integrations?sort_by=name__DESC&limit=1&skip=1").await;
    assert_eq!(names(&r), [json!("Beta Sync")]);
    assert_eq!((r.json["total"].clone(), r.json["skip"].clone()), (json!(3), json!(1)));
    for bad in ["limit=0", "limit=501", "limit=x", "skip=-1", "sort_by=name", "sort_by=secret__ASC", "sort_by=name__UP"]
    {
        let r = api.get(&format!("/api/v2/integrations?{bad}")).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(r.json["error"], "invalid");
        assert!(r.json["field"].is_string() && r.json["message"].is_string(), "{}", r.json);
    }

    let r = api.get(&format!("/api/v2/integrations/{a}")).await;
    assert_eq!((r.status, r.json["default_release_id"].clone()), (StatusCode::OK, json!(release)));
    for missing in ["/api/v2/integrations/999", "/api/v2/integrations/abc", "/api/v2/integrations/999/releases"] {
        assert_eq!(api.get(missing).await.status, StatusCode::NOT_FOUND, "{missing}");
    }
    let r = api.get(&format!("/api/v2/integrations/{a}/releases")).await;
    assert_eq!(r.json["items"][0]["id"], release);
    assert_eq!(api.get(&format!("/api/v2/integrations/{a}/releases/{release}")).await.status, StatusCode::OK);
    // A release of another integration is not found under this one.
    assert_eq!(api.get(&format!("/api/v2/integrations/{b}/releases/{release}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(api.get(&format!("/api/v2/integrations/{a}/releases/default")).await.json["id"], release);
    assert_eq!(api.get(&format!("/api/v2/integrations/{a}/releases/latest")).await.json["id"], release);

    let r =
        api.send(Method::POST, &format!("/api/v2/integrations/{a}/releases"), Some(json!({ "git_ref": "v2" }))).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let queued = r.json["release_id"].as_i64().expect("id");
    let row = releases::get(api.db.pool(), queued).await.expect("read").expect("queued");
    assert_eq!((row.git_ref.as_str(), row.status.as_str()), ("v2", "queued"));
    let r = api
        .send(Method::POST, &format!("/api/v2/integrations/{a}/releases"), Some(json!({ "git_ref": "-bad ref" })))
        .await;
    assert_eq!((r.status, r.json["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("git_ref")));
    // The build is audited as the key's.
    let by: String = sqlx::query_scalar("SELECT actor_label FROM audit_log WHERE action = 'build queued'")
        .fetch_one(api.db.pool())
        .await
        .expect("audited");
    assert_eq!(by, "tests");
}

#[tokio::test]
async fn tenants_are_created_changed_listed_and_archived() {
    let api = Api::new().await;
    let (integration_id, release) = integration(&api.db, "Alpha Sync").await;
    let (other, _) = integration(&api.db, "Beta Sync").await;

    // Every broken rule is a 422 naming the field, and creates nothing.
    let bad = [
        (json!({ "name": "Bad Name", "integration_id": integration_id }), "name"),
        (json!({ "name": "ok", "integration_id": 999 }), "integration_id"),
        (
            json!({ "name": "ok", "integration_id": integration_id, "configs": { "batch_size": 9999 } }),
            "cfg.batch_size",
        ),
        (json!({ "name": "ok", "integration_id": integration_id, "schedule": { "cron": "61 * * * *" } }), "cron"),
        (
            json!({ "name": "ok", "integration_id": integration_id, "schedule": { "cron": "* * * * *", "timezone": "Mars/Base" } }),
            "timezone",
        ),
        (json!({ "name": "ok", "integration_id": integration_id, "release": { "channel": "nightly" } }), "channel"),
        (json!({ "name": 5 }), "name"),
        (
            json!({ "name": "ok", "integration_id": integration_id, "release": { "release_id": "7" } }),
            "release.release_id",
        ),
        (json!(["ok", integration_id]), "body"),
        // A struct is an object, never the array of its fields.
        (json!({ "name": "ok", "integration_id": integration_id, "release": [null, null] }), "release"),
        (json!({ "name": "ok", "integration_id": integration_id, "schedule": ["daily", null, null] }), "schedule"),
        (json!({ "name": "ok", "integration_id": 1.5 }), "integration_id"),
    ];
    for (body, field) in bad {
        let r = api.send(Method::POST, "/api/v2/tenants", Some(body.clone())).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(r.json["field"], field, "{body}: {}", r.json);
    }
    assert_eq!(api.get("/api/v2/tenants").await.json["total"], 0, "nothing was created");

    // An id written with a zero fraction is the same whole number.
    let r = api
        .send(
            Method::POST,
            "/api/v2/tenants",
            Some(json!({ "name": "acme", "integration_id": integration_id as f64, "configs": { "batch_size": 20, "verbose": true } })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    let id = r.json["id"].as_i64().expect("id");
    assert_eq!(r.json["paused"], true, "paused by default");
    assert_eq!(r.json["source"], "api");
    assert_eq!(r.json["setup_complete"], true);
    assert_eq!(r.json["configs"], json!({ "channel": "general", "batch_size": 20, "verbose": true }));
    assert_eq!(r.json["schedule"]["preset"], "daily");
    assert_eq!(r.json["release"]["channel"], "default");
    // The same name again is refused.
    let r = api
        .send(Method::POST, "/api/v2/tenants", Some(json!({ "name": "acme", "integration_id": integration_id })))
        .await;
    assert_eq!((r.status, r.json["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("name")));

    let r = api
        .send(
            Method::POST,
            "/api/v2/tenants",
            Some(json!({
                "name": "globex", "integration_id": integration_id, "paused": false,
                "release": { "release_id": release },
                "schedule": { "cron": "*/10 * * * *", "timezone": "Europe/Paris" },
            })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
    assert_eq!((r.json["paused"].clone(), r.json["release"]["channel"].clone()), (json!(false), json!("specific")));
    assert!(r.json["next_run_at"].is_string(), "a running tenant has its next run");
    let globex = r.json["id"].as_i64().expect("id");
    let r =
        api.send(Method::POST, "/api/v2/tenants", Some(json!({ "name": "initech", "integration_id": other }))).await;
    assert_eq!(r.status, StatusCode::CREATED);

    // Lists: filter, sort, page.
    let r = api.get("/api/v2/tenants").await;
    assert_eq!(r.json["total"], 3);
    let r = api.get(&format!("/api/v2/tenants?integration_id={integration_id}&sort_by=name__DESC")).await;
    let names: Vec<Value> = r.json["items"].as_array().expect("items").iter().map(|t| t["name"].clone()).collect();
    assert_eq!(names, [json!("globex"), json!("acme")]);
    let r = api.get("/api/v2/tenants?sort_by=id__ASC&limit=2&skip=2").await;
    assert_eq!((r.json["items"].as_array().map(Vec::len), r.json["total"].clone()), (Some(1), json!(3)));
    assert_eq!(api.get("/api/v2/tenants?integration_id=x").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(api.get("/api/v2/tenants?sort_by=configs__ASC").await.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Update: a shallow change keeps the rest.
    let r = api
        .send(Method::PATCH, &format!("/api/v2/tenants/{id}"), Some(json!({ "configs": { "channel": "ops" } })))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    assert_eq!(r.json["configs"], json!({ "channel": "ops", "batch_size": 20, "verbose": true }));
    let r = api
        .send(
            Method::PATCH,
            &format!("/api/v2/tenants/{id}"),
            Some(json!({ "schedule": { "preset": "hourly" }, "paused": false })),
        )
        .await;
    assert_eq!((r.json["schedule"]["preset"].clone(), r.json["paused"].clone()), (json!("hourly"), json!(false)));
    let r = api
        .send(Method::PATCH, &format!("/api/v2/tenants/{id}"), Some(json!({ "configs": { "batch_size": 0 } })))
        .await;
    assert_eq!((r.status, r.json["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("cfg.batch_size")));
    let r = api
        .send(Method::PATCH, &format!("/api/v2/tenants/{id}"), Some(json!({ "schedule": { "preset": "sometimes" } })))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(api.get(&format!("/api/v2/tenants/{id}")).await.json["configs"]["batch_size"], 20, "nothing lost");
    assert_eq!(api.send(Method::PATCH, "/api/v2/tenants/999", Some(json!({}))).await.status, StatusCode::NOT_FOUND);

    // Archive.
    let r = api.send(Method::DELETE, &format!("/api/v2/tenants/{globex}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(api.get(&format!("/api/v2/tenants/{globex}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        api.send(Method::DELETE, &format!("/api/v2/tenants/{globex}"), None).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(api.get("/api/v2/tenants").await.json["total"], 2);
}

#[tokio::test]
async fn syncs_triggers_runs_and_logs() {
    let api = Api::new().await;
    let (integration_id, _) = integration(&api.db, "Alpha Sync").await;
    let r = api
        .send(Method::POST, "/api/v2/tenants", Some(json!({ "name": "acme", "integration_id": integration_id })))
        .await;
    let id = r.json["id"].as_i64().expect("id");

    let r = api
        .send(Method::POST, &format!("/api/v2/tenants/{id}/sync?mode=init"), Some(json!({ "since": "2026-01-01" })))
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.json);
    let trigger = r.json["trigger_id"].as_i64().expect("trigger");
    let r = api.get(&format!("/api/v2/runs/triggers/{trigger}/status")).await;
    assert_eq!(
        (r.json["status"].clone(), r.json["mode"].clone(), r.json["kind"].clone()),
        (json!("waiting"), json!("init"), json!("api"))
    );
    let payload: String = sqlx::query_scalar("SELECT payload FROM run_triggers WHERE id = ?")
        .bind(trigger)
        .fetch_one(api.db.pool())
        .await
        .expect("payload");
    assert_eq!(serde_json::from_str::<Value>(&payload).expect("json"), json!({ "since": "2026-01-01" }));

    assert_eq!(
        api.send(Method::POST, &format!("/api/v2/tenants/{id}/sync?mode=fast"), None).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let r = api.send_as(Method::POST, &format!("/api/v2/tenants/{id}/sync"), None, Some(&api.key.clone())).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "no payload is fine");
    assert_eq!(api.send(Method::POST, "/api/v2/tenants/999/sync", None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(api.get("/api/v2/runs/triggers/999/status").await.status, StatusCode::NOT_FOUND);

    // The engine takes the triggers. The release has no checkout here, so the run fails
    // as a platform issue: still a run with a phase and a log entry.
    worker::run_until_idle(&api.state.engine, Utc::now()).await.expect("ran");
    let r = api.get(&format!("/api/v2/runs/triggers/{trigger}/status")).await;
    assert_eq!(r.json["status"], "failed_platform", "{}", r.json);
    let run = r.json["run_id"].as_i64().expect("run");
    let r = api.get(&format!("/api/v2/tenants/{id}/runs")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.json["total"].as_i64().expect("total") >= 1);
    assert_eq!(r.json["items"][0]["phase_label"], "Failed (Platform Issue)");
    let r = api.get(&format!("/api/v2/runs/{run}")).await;
    assert_eq!((r.json["mode"].clone(), r.json["tenant_id"].clone()), (json!("init"), json!(id)));
    let r = api.get(&format!("/api/v2/runs/{run}/log")).await;
    assert_eq!((r.status, r.json["finished"].clone()), (StatusCode::OK, json!(true)));
    // A long log comes a window of whole pieces at a time, the end first.
    for n in 0..3 {
        let piece = format!("piece {n}\n").repeat(80_000);
        hub_core::db::run_logs::append_log(
            &mut api.state.db.pool().acquire().await.expect("connection"),
            run,
            n,
            &piece,
            Utc::now(),
        )
        .await
        .expect("log");
    }
    let end = api.get(&format!("/api/v2/runs/{run}/log")).await;
    assert_eq!((end.json["first_piece"].clone(), end.json["last_piece"].clone()), (json!(1), json!(2)), "{}", end.json);
    assert_eq!((end.json["earlier"].clone(), end.json["later"].clone()), (json!(true), json!(false)));
    assert_eq!(end.json["bytes"], json!(3 * 640_000));
    let earlier = api.get(&format!("/api/v2/runs/{run}/log?before=1")).await;
    assert!(earlier.json["log"].as_str().is_some_and(|l| l.starts_with("piece 0\n") && l.len() == 640_000));
    assert_eq!((earlier.json["earlier"].clone(), earlier.json["later"].clone()), (json!(false), json!(true)));
    assert_eq!(api.get("/api/v2/runs/999").await.status, StatusCode::NOT_FOUND);
    assert_eq!(api.get("/api/v2/runs/999/log").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        api.get(&format!("/api/v2/tenants/{id}/runs?sort_by=phase__ASC")).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

#[tokio::test]
async fn metadata_is_merged_and_checked_against_the_release_schema() {
    let api = Api::new().await;
    let (integration_id, _) = integration(&api.db, "Alpha Sync").await;
    let r = api
        .send(Method::POST, "/api/v2/tenants", Some(json!({ "name": "acme", "integration_id": integration_id })))
        .await;
    let id = r.json["id"].as_i64().expect("id");
    let path = format!("/api/v2/tenants/{id}/metadata");
    assert_eq!(api.get(&path).await.json, json!({}));
    let r = api.send(Method::PATCH, &path, Some(json!({ "cursor": "abc", "seen": 3 }))).await;
    assert_eq!((r.status, r.json.clone()), (StatusCode::OK, json!({ "cursor": "abc", "seen": 3 })));
    let r = api.send(Method::PATCH, &path, Some(json!({ "seen": null, "extra": true }))).await;
    assert_eq!(r.json, json!({ "cursor": "abc", "extra": true }));
    let r = api.send(Method::PATCH, &path, Some(json!({ "cursor": 42 }))).await;
    assert_eq!((r.status, r.json["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("metadata")));
    assert_eq!(api.get(&path).await.json, json!({ "cursor": "abc", "extra": true }), "a refused patch changes nothing");
    assert_eq!(api.send(Method::PATCH, &path, Some(json!([1]))).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(api.get("/api/v2/tenants/999/metadata").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn schedule_previews() {
    let api = Api::new().await;
    let r =
        api.get("/api/v2/schedules/preview?cron=0+9+*+*+1-5&tz=Europe/Paris&count=3&after=2026-03-27T12:00:00Z").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    // Friday the 27th at 09:00 Paris has passed; then Monday the 30th (after the change
    // to summer time, so 07:00 UTC), Tuesday, Wednesday.
    assert_eq!(r.json["next"], json!(["2026-03-30T07:00:00Z", "2026-03-31T07:00:00Z", "2026-04-01T07:00:00Z"]));
    assert!(r.json["description"].as_str().is_some_and(|d| !d.is_empty()));
    let r = api.get("/api/v2/schedules/preview?cron=*/15+*+*+*+*").await;
    assert_eq!(r.json["next"].as_array().map(Vec::len), Some(5));
    assert_eq!(r.json["timezone"], "UTC");
    for (query, field) in [
        ("cron=61+*+*+*+*", "cron"),
        ("", "cron"),
        ("cron=*+*+*+*+*&tz=Nowhere", "tz"),
        ("cron=*+*+*+*+*&count=0", "count"),
        ("cron=*+*+*+*+*&count=101", "count"),
        ("cron=*+*+*+*+*&after=yesterday", "after"),
    ] {
        let r = api.get(&format!("/api/v2/schedules/preview?{query}")).await;
        assert_eq!((r.status, r.json["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!(field)), "{query}");
    }
}

#[tokio::test]
async fn the_document_lists_every_route_and_unknown_routes_are_json_404s() {
    let api = Api::new().await;
    let paths = api.doc["paths"].as_object().expect("paths");
    assert_eq!(paths.len(), 16, "{:?}", paths.keys().collect::<Vec<_>>());
    assert!(api.doc["components"]["securitySchemes"]["api_key"]["name"] == "X-API-Key");
    // The check every answer goes through does refuse a body that breaks the schema.
    let wrapper = json!({ "$ref": "#/components/schemas/Tenant", "components": api.doc["components"].clone() });
    let validator = jsonschema::draft202012::new(&wrapper).expect("schema");
    assert!(!validator.is_valid(&json!({ "id": "x" })));
    let r = api.get("/api/v2/nothing-here").await;
    assert_eq!((r.status, r.json["error"].clone()), (StatusCode::NOT_FOUND, json!("not_found")));
}

/// Every operation has a name of its own, and every answer a description.
#[tokio::test]
async fn every_operation_is_named_once_and_every_answer_described() {
    let api = Api::new().await;
    let mut names = Vec::new();
    for (path, item) in api.doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            let name = op["operationId"].as_str().expect("an operationId").to_owned();
            assert!(name.chars().next().is_some_and(|c| c.is_ascii_lowercase()) && name.len() > 4, "{name}");
            for (status, answer) in op["responses"].as_object().expect("responses") {
                let d = answer["description"].as_str().unwrap_or_default();
                assert!(!d.is_empty(), "{method} {path} {status} has no description");
            }
            names.push(name);
        }
    }
    let count = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), count, "an operationId is used twice");
    let links = &api.doc["paths"]["/api/v2/tenants"]["post"]["responses"]["201"]["links"];
    assert_eq!(links["getTenant"]["parameters"]["id"], "$response.body#/id");
}

/// What the framework refuses before a handler runs is answered in the API's JSON
/// error shape, with a status the document lists for the operation.
#[tokio::test]
async fn refusals_before_a_handler_are_json_errors_the_document_lists() {
    let api = Api::new().await;
    let (integration_id, _) = integration(&api.db, "Alpha Sync").await;
    let raw = |method: Method, path: &str, content_type: Option<&str>, body: Vec<u8>| {
        let mut req = Request::builder().method(method).uri(path).header("X-API-Key", &api.key);
        if let Some(t) = content_type {
            req = req.header(header::CONTENT_TYPE, t);
        }
        req.body(Body::from(body)).expect("request")
    };
    let json = Some("application/json");
    let big = format!("{{\"name\": \"{}\"}}", "a".repeat(3 << 20)).into_bytes();
    let cases = [
        (raw(Method::POST, "/api/v2/tenants", json, b"{\"name\": ".to_vec()), 400, "malformed"),
        (raw(Method::POST, "/api/v2/tenants", Some("text/plain"), b"{}".to_vec()), 415, "unsupported_media_type"),
        (raw(Method::POST, "/api/v2/tenants", json, big), 413, "too_large"),
        (raw(Method::POST, "/api/v2/tenants/1/sync", json, b"[1]".to_vec()), 422, "invalid"),
        (raw(Method::POST, "/api/v2/tenants/1/sync", json, b"{".to_vec()), 400, "malformed"),
        (raw(Method::GET, "/api/v2/tenants?limit=1&limit=2", None, Vec::new()), 400, "malformed"),
        (raw(Method::GET, "/api/v2/tenants?limit=+5", None, Vec::new()), 422, "invalid"),
        (raw(Method::GET, "/api/v2/tenants?sort_by=name__UP", None, Vec::new()), 422, "invalid"),
        (raw(Method::GET, "/api/v2/schedules/preview?cron=*+*+*+*+*&tz=utc", None, Vec::new()), 422, "invalid"),
        (
            raw(Method::POST, "/api/v2/integrations/1/releases", json, b"{\"git_ref\": \" main\"}".to_vec()),
            422,
            "invalid",
        ),
        (raw(Method::PUT, "/api/v2/tenants", json, b"{}".to_vec()), 405, "method_not_allowed"),
    ];
    // A tenant for the sync cases.
    let made = api
        .send(Method::POST, "/api/v2/tenants", Some(json!({ "name": "acme", "integration_id": integration_id })))
        .await;
    assert_eq!(made.status, StatusCode::CREATED);
    for (req, status, code) in cases {
        let (method, path) = (req.method().clone(), req.uri().to_string());
        let a = api.hub.send(req).await;
        let body: Value =
            serde_json::from_str(&a.body).unwrap_or_else(|_| panic!("{method} {path}: not JSON: {}", a.body));
        assert_eq!((a.status.as_u16(), body["error"].as_str()), (status, Some(code)), "{method} {path}: {body}");
        assert!(!body["message"].as_str().unwrap_or_default().is_empty(), "{body}");
        if status != 405 {
            api.check_against_document(&method, &path, &Reply { status: a.status, json: body });
        }
    }
}

#[tokio::test]
async fn an_inbound_webhook_queues_a_webhook_run_with_its_body_in_a_file() {
    let api = Api::new().await;
    let (integration_id, _) = integration(&api.db, "Alpha Sync").await;
    let r = api
        .send(Method::POST, "/api/v2/tenants", Some(json!({ "name": "acme", "integration_id": integration_id })))
        .await;
    let id = r.json["id"].as_i64().expect("id");
    let tenant = hub_core::db::tenants::get(api.db.pool(), id).await.expect("read").expect("tenant");
    let s = &api.state;
    let url = service::tenants::rotate_webhook(&s.db, &s.key, &s.public_url, &Actor::System, &tenant, Utc::now())
        .await
        .expect("made");
    let path = url.strip_prefix(&s.public_url).expect("a hub URL").to_owned();
    assert!(path.starts_with("/hooks/") && path.len() > 40, "{path}");

    let body = r#"{"order": 17, "note": "ünïcode"}"#;
    let req =
        Request::post(&path).header(header::CONTENT_TYPE, "application/json").body(Body::from(body)).expect("req");
    let a = api.hub.send(req).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.body);
    let trigger = serde_json::from_str::<Value>(&a.body).expect("json")["trigger_id"].as_i64().expect("id");
    let (kind, mode, payload): (String, String, String) =
        sqlx::query_as("SELECT kind, mode, payload FROM run_triggers WHERE id = ?")
            .bind(trigger)
            .fetch_one(api.db.pool())
            .await
            .expect("trigger");
    assert_eq!((kind.as_str(), mode.as_str()), ("webhook", "webhook"));
    let payload: Value = serde_json::from_str(&payload).expect("json");
    let file = payload["payload_file"].as_str().expect("a file path");
    assert_eq!(std::fs::read_to_string(file).expect("the body was kept"), body);
    assert_eq!(payload["content_type"], "application/json");

    // A wrong token, and the old URL after a new one was made, are refused.
    let wrong = Request::post("/hooks/not-a-token").body(Body::from("{}")).expect("req");
    assert_eq!(api.hub.send(wrong).await.status, StatusCode::NOT_FOUND);
    service::tenants::rotate_webhook(&s.db, &s.key, &s.public_url, &Actor::System, &tenant, Utc::now())
        .await
        .expect("again");
    let old = Request::post(&path).body(Body::from("{}")).expect("req");
    assert_eq!(api.hub.send(old).await.status, StatusCode::NOT_FOUND);
    // Too large a body is refused before anything is kept.
    let big = Request::post(service::tenants::webhook_of(&s.db, &s.key, "", id).await.expect("url").expect("some"))
        .body(Body::from(vec![b'x'; 2 * 1024 * 1024]))
        .expect("req");
    assert_eq!(api.hub.send(big).await.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_push_url_queues_a_build_only_for_a_signed_push_of_the_tracking_branch() {
    let api = Api::new().await;
    let (id, _) = integration(&api.db, "Pushed Sync").await;
    let s = &api.state;
    let set =
        |push| service::repository::set_push(&s.db, &s.key, &Actor::System, service::Scope::All, id, push, Utc::now());
    let secrets = set(Some(true)).await.expect("on").expect("a URL and secret");
    let path = format!("/hooks/push/{}", secrets.token);
    let commit = "0123456789abcdef0123456789abcdef01234567";
    let push = |to: &str| json!({ "ref": to, "after": commit, "deleted": false }).to_string();
    let request = |path: &str, event: &str, signature: &str, body: String| {
        Request::post(path)
            .header(header::CONTENT_TYPE, "application/json")
            .header("X-GitHub-Event", event)
            .header("X-Hub-Signature-256", signature)
            .body(Body::from(body))
            .expect("req")
    };
    let queued = || async {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM releases WHERE integration_id = ? AND status = 'queued'")
            .bind(id)
            .fetch_one(api.db.pool())
            .await
            .expect("count");
        n
    };

    // Signed with another secret, unsigned, or at an unknown URL: nothing is queued.
    let body = push("refs/heads/main");
    let forged = service::repository::sign("not-the-secret", body.as_bytes());
    let a = api.hub.send(request(&path, "push", &forged, body.clone())).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    let a = api.hub.send(request(&path, "push", "", body.clone())).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{}", a.body);
    let signed = service::repository::sign(&secrets.secret, body.as_bytes());
    let a = api.hub.send(request("/hooks/push/not-a-token", "push", &signed, body.clone())).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);
    // A ping and a push to another branch are answered and ignored.
    let a = api.hub.send(request(&path, "ping", &service::repository::sign(&secrets.secret, b"{}"), "{}".into())).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let other = push("refs/heads/feature");
    let a = api
        .hub
        .send(request(&path, "push", &service::repository::sign(&secrets.secret, other.as_bytes()), other))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body.contains("feature"), "{}", a.body);
    assert_eq!(queued().await, 0);

    // The signed push of main queues a release of that commit, which becomes default
    // when it succeeds.
    let a = api.hub.send(request(&path, "push", &signed, body.clone())).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.body);
    let release = serde_json::from_str::<Value>(&a.body).expect("json")["release_id"].as_i64().expect("id");
    let (name, git_ref, make_default): (String, String, bool) =
        sqlx::query_as("SELECT name, git_ref, make_default FROM releases WHERE id = ?")
            .bind(release)
            .fetch_one(api.db.pool())
            .await
            .expect("release");
    assert_eq!((name.as_str(), git_ref.as_str(), make_default), ("v2 (main @ 0123456)", commit, true));
    assert_eq!(queued().await, 1);

    // Every delivery is kept for the admin, newest first.
    let view = service::repository::view(&s.db, &s.key, service::Scope::All, id).await.expect("view");
    let outcomes: Vec<&str> = view.deliveries.iter().map(|d| d.outcome.as_str()).collect();
    assert_eq!(outcomes, ["built", "ignored", "ignored", "refused", "refused"]);

    // Turned off, the old URL is unknown.
    set(None).await.expect("off");
    let a = api.hub.send(request(&path, "push", &signed, body)).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);
}

/// One request the test receiver got: its headers (lowercase names) and body.
type Delivered = (HashMap<String, String>, String);

/// What the test receiver got.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Delivered>>>);

/// A receiver on loopback that fails the first request with 500 and accepts the rest.
async fn receiver() -> (String, Received) {
    let got = Received::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let state = state.clone();
            async move {
                let headers = headers
                    .iter()
                    .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
                    .collect();
                let mut all = state.0.lock().expect("lock");
                all.push((headers, body));
                if all.len() == 1 {
                    (StatusCode::INTERNAL_SERVER_ERROR, "not yet")
                } else {
                    (StatusCode::OK, "thanks")
                }
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), got)
}

/// The egress guard as an operator who lists loopback sets it: the receivers here are
/// on loopback.
fn local() -> hub_core::egress::Egress {
    hub_core::egress::Egress::allowing("127.0.0.0/8").expect("a range")
}

#[tokio::test]
async fn outgoing_webhooks_are_signed_retried_and_shown() {
    let api = Api::new().await;
    let s = api.state.clone();
    let admin = Actor::User { id: 1, email: "admin@example.com".into() };
    let (url, got) = receiver().await;
    let all: Vec<String> = hub_core::domain::webhook::EVENTS.iter().map(|(e, _)| (*e).to_owned()).collect();
    let secret = service::webhooks::save_settings(&s.db, &s.key, &local(), &admin, &url, &all, Utc::now())
        .await
        .expect("saved")
        .expect("the first save makes a secret");
    // Saving again keeps the secret; a bad URL or event is refused.
    assert!(service::webhooks::save_settings(&s.db, &s.key, &local(), &admin, &url, &all, Utc::now())
        .await
        .expect("saved")
        .is_none());
    assert!(service::webhooks::save_settings(&s.db, &s.key, &local(), &admin, "ftp://x", &all, Utc::now())
        .await
        .is_err());
    assert!(service::webhooks::save_settings(&s.db, &s.key, &local(), &admin, &url, &["nope".into()], Utc::now())
        .await
        .is_err());

    // Four events: an integration, a tenant made and archived, a failed run.
    let (integration_id, _) = integration(&api.db, "Alpha Sync").await;
    let r = api
        .send(Method::POST, "/api/v2/tenants", Some(json!({ "name": "acme", "integration_id": integration_id })))
        .await;
    let id = r.json["id"].as_i64().expect("id");
    api.send(Method::POST, &format!("/api/v2/tenants/{id}/sync"), None).await;
    worker::run_until_idle(&s.engine, Utc::now()).await.expect("ran");
    api.send(Method::DELETE, &format!("/api/v2/tenants/{id}"), None).await;

    // The deliverer's clock is the test's: the retry of the delivery that failed
    // comes when the test moves the clock on, without waiting for it.
    let retry = service::webhooks::Retry::default();
    let t0 = Utc::now();
    let time = Arc::new(Mutex::new(t0));
    let clock = Clock::from_fn({
        let time = time.clone();
        move || *time.lock().expect("clock")
    });
    let deliverer =
        service::webhooks::Deliverer::new(s.db.clone(), s.key.clone(), retry).with_egress(local()).with_clock(clock);
    worker::run_until_idle(&deliverer, t0).await.expect("delivered");
    let pending = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'")
            .fetch_one(api.db.pool())
            .await
            .expect("count")
    };
    assert_eq!(pending().await, 1, "the first try of one delivery failed");
    let just_before = t0 + chrono::Duration::from_std(retry.first).expect("span") - chrono::Duration::seconds(1);
    worker::run_until_idle(&deliverer, just_before).await.expect("nothing due");
    assert_eq!(pending().await, 1, "not retried before its time");
    let later = t0 + chrono::Duration::from_std(retry.first).expect("span");
    *time.lock().expect("clock") = later;
    worker::run_until_idle(&deliverer, later).await.expect("delivered");
    assert_eq!(pending().await, 0);
    let rows = hub_core::db::webhooks::recent(api.db.pool(), 10).await.expect("rows");
    let mut events: Vec<&str> = rows.iter().map(|d| d.event.as_str()).collect();
    events.sort_unstable();
    assert_eq!(events, ["integration_created", "run_failed", "tenant_archived", "tenant_created"]);
    assert!(rows.iter().all(|d| d.status == "delivered"), "{rows:?}");
    assert_eq!(rows.iter().map(|d| d.attempts).sum::<i64>(), 5, "one delivery was retried once");
    assert!(rows.iter().any(|d| d.attempts == 2 && d.last_status == Some(200)));

    let got = got.0.lock().expect("lock").clone();
    assert_eq!(got.len(), 5);
    for (headers, body) in &got {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
        mac.update(body.as_bytes());
        let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(headers.get("x-hub-signature-256"), Some(&format!("sha256={expected}")), "{body}");
        let payload: Value = serde_json::from_str(body).expect("json");
        assert_eq!(headers.get("x-hub-event").map(String::as_str), payload["type"].as_str());
        assert!(payload["timestamp"].as_str().is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()));
    }
    let failed =
        got.iter().map(|(_, b)| serde_json::from_str::<Value>(b).expect("json")).find(|p| p["type"] == "run_failed");
    let failed = failed.expect("run_failed was sent");
    assert_eq!(
        (failed["data"]["tenant"]["name"].clone(), failed["data"]["run"]["phase"].clone()),
        (json!("acme"), json!("failed_platform"))
    );
}

#[tokio::test]
async fn a_receiver_that_is_down_slows_nothing_and_is_retried_later() {
    let api = Api::new().await;
    let s = api.state.clone();
    let admin = Actor::User { id: 1, email: "admin@example.com".into() };
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let url = format!("http://127.0.0.1:{port}/hook");
    service::webhooks::save_settings(
        &s.db,
        &s.key,
        &local(),
        &admin,
        &url,
        &["integration_created".into()],
        Utc::now(),
    )
    .await
    .expect("saved");
    integration(&api.db, "Alpha Sync").await;
    let deliverer = service::webhooks::Deliverer::new(s.db.clone(), s.key.clone(), service::webhooks::Retry::default())
        .with_egress(local());
    assert_eq!(deliverer.deliver_due(Utc::now()).await.expect("tried"), 1);
    let row = hub_core::db::webhooks::recent(api.db.pool(), 1).await.expect("rows").remove(0);
    assert_eq!((row.status.as_str(), row.attempts), ("pending", 1));
    assert_eq!(row.last_error.as_deref(), Some("The receiver could not be reached."));
    let wait = row.next_attempt_at.expect("a retry") - Utc::now();
    assert!(wait > chrono::Duration::seconds(20) && wait <= chrono::Duration::seconds(30), "{wait}");
    // Nothing is due again until then.
    assert_eq!(deliverer.deliver_due(Utc::now()).await.expect("tried"), 0);
    // The last attempt gives up.
    let retry = service::webhooks::Retry::default();
    assert!(retry.next(retry.attempts, Utc::now()).is_none());
    let now = Utc::now();
    assert_eq!(retry.next(2, now).map(|t| (t - now).num_seconds()), Some(120), "then 2 minutes");
}

#[tokio::test]
async fn a_receiver_is_called_only_where_the_guard_allows_and_read_only_as_far_as_is_kept() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let api = Api::new().await;
    let s = api.state.clone();
    let admin = Actor::User { id: 1, email: "admin@example.com".into() };
    // A receiver that answers without end: a chunked body, written until the hub hangs up.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let served = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        let mut request = vec![0u8; 64 * 1024];
        let _ = socket.read(&mut request).await;
        socket.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").await.expect("head");
        let chunk = format!("{:x}\r\n{}\r\n", 4096, "x".repeat(4096));
        let mut written = 0usize;
        while socket.write_all(chunk.as_bytes()).await.is_ok() {
            written += 4096;
        }
        written
    });
    service::webhooks::save_settings(
        &s.db,
        &s.key,
        &local(),
        &admin,
        &url,
        &["integration_created".into()],
        Utc::now(),
    )
    .await
    .expect("saved");
    integration(&api.db, "Alpha Sync").await;

    // The hub's own guard (nothing listed) refuses the receiver saved while loopback was allowed.
    let strict = service::webhooks::Deliverer::new(s.db.clone(), s.key.clone(), service::webhooks::Retry::default());
    assert_eq!(strict.deliver_due(Utc::now()).await.expect("tried"), 1);
    let row = hub_core::db::webhooks::recent(api.db.pool(), 1).await.expect("rows").remove(0);
    let said = row.last_error.clone().unwrap_or_default();
    assert!(said.contains("127.0.0.1, a loopback address"), "{said}");
    assert_eq!(row.last_status, None, "no request was sent");

    // Allowed, it is delivered: of an endless answer the first 2 KB are kept, and the
    // hub hangs up instead of reading on until its timeout.
    let retry = service::webhooks::Retry { timeout: std::time::Duration::from_secs(30), ..Default::default() };
    let allowed = service::webhooks::Deliverer::new(s.db.clone(), s.key.clone(), retry).with_egress(local());
    let later = Utc::now() + chrono::Duration::minutes(1);
    let tried = tokio::time::timeout(std::time::Duration::from_secs(20), allowed.deliver_due(later))
        .await
        .expect("the hub stopped reading long before its timeout");
    assert_eq!(tried.expect("tried"), 1);
    let row = hub_core::db::webhooks::recent(api.db.pool(), 1).await.expect("rows").remove(0);
    assert_eq!((row.status.as_str(), row.last_status), ("delivered", Some(200)));
    assert_eq!(row.last_response.map(|r| r.len()), Some(2048));
    let written =
        tokio::time::timeout(std::time::Duration::from_secs(20), served).await.expect("hung up").expect("served");
    assert!(written < 64 * 1024 * 1024, "{written}");
}

#[tokio::test]
async fn a_committed_event_wakes_the_deliverer_at_once() {
    let api = Api::new().await;
    let s = api.state.clone();
    let admin = Actor::User { id: 1, email: "admin@example.com".into() };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let _ = tx.send(body);
            async { StatusCode::OK }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    service::webhooks::save_settings(
        &s.db,
        &s.key,
        &local(),
        &admin,
        &url,
        &["integration_created".into()],
        Utc::now(),
    )
    .await
    .expect("saved");
    // The deliverer's loop starts idle: nothing is due, so it would sleep for a minute.
    let deliverer = service::webhooks::Deliverer::new(s.db.clone(), s.key.clone(), service::webhooks::Retry::default())
        .with_egress(local());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker::run(deliverer, Clock::system(), async move {
        let _ = stop_rx.await;
    }));
    // Two events one after the other: after the first delivery nothing is due, so the
    // loop sleeps its longest (a minute). Only the signal raised by the second
    // commit can bring the second delivery sooner.
    for name in ["Alpha Sync", "Beta Sync"] {
        integration(&api.db, name).await;
        let body = tokio::time::timeout(std::time::Duration::from_secs(20), rx.recv())
            .await
            .expect("delivered without waiting for the loop's timer")
            .expect("a body");
        assert!(body.contains("\"integration_created\"") && body.contains(name), "{body}");
    }
    let _ = stop_tx.send(());
    running.await.expect("the loop ends on stop");
}

#[tokio::test]
async fn an_organizations_syncs_and_a_tenants_webhook_calls_stop_at_their_limits_exactly() {
    let api = Api::with(&[("HUB_LIMIT_RUNS_PER_ORGANIZATION", "5"), ("HUB_LIMIT_WEBHOOKS_PER_TENANT", "3")]).await;
    let (integration_id, _) = integration(&api.db, "Alpha Sync").await;
    let mut ids = Vec::new();
    for name in ["acme", "globex"] {
        let r =
            api.send(Method::POST, "/api/v2/tenants", Some(json!({ "name": name, "integration_id": integration_id })));
        ids.push(r.await.json["id"].as_i64().expect("id"));
    }
    // Twelve sync requests at once, over two tenants: exactly five are taken.
    let mut asks = tokio::task::JoinSet::new();
    for n in 0..12 {
        let req = Request::post(format!("/api/v2/tenants/{}/sync", ids[n % 2]))
            .header("X-API-Key", api.key.as_str())
            .body(Body::empty())
            .expect("req");
        let router = api.hub.router.clone();
        asks.spawn(async move { tower::ServiceExt::oneshot(router, req).await.expect("answered") });
    }
    let mut statuses = Vec::new();
    let mut refused = None;
    while let Some(answer) = asks.join_next().await {
        let answer = answer.expect("task");
        statuses.push(answer.status());
        if answer.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(answer);
        }
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::ACCEPTED).count(), 5, "{statuses:?}");
    let refused = refused.expect("a refusal");
    let wait: i64 = refused
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((3000..=3600).contains(&wait), "{wait}");
    let body = http_body_util::BodyExt::collect(refused.into_body()).await.expect("body").to_bytes();
    let body: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(body["error"], "rate_limited");
    let said = body["message"].as_str().unwrap_or_default();
    assert!(
        said.starts_with(
            "Your organization asked for 5 syncs in the last hour, the most this hub allows. Try again in "
        ),
        "{said}"
    );
    let triggers: i64 =
        sqlx::query_scalar("SELECT count(*) FROM run_triggers").fetch_one(api.db.pool()).await.expect("count");
    assert_eq!(triggers, 5, "a refused request leaves nothing");

    // A tenant's webhook calls: three a minute, then 429; another tenant's are its own.
    let s = &api.state;
    let mut paths = Vec::new();
    for id in &ids {
        let tenant = hub_core::db::tenants::get(api.db.pool(), *id).await.expect("read").expect("tenant");
        let url = service::tenants::rotate_webhook(&s.db, &s.key, &s.public_url, &Actor::System, &tenant, Utc::now())
            .await
            .expect("made");
        paths.push(url.strip_prefix(&s.public_url).expect("a hub URL").to_owned());
    }
    let hook = |path: &str| Request::post(path).body(Body::from("{}")).expect("req");
    for _ in 0..3 {
        assert_eq!(api.hub.send(hook(&paths[0])).await.status, StatusCode::ACCEPTED);
    }
    let over = api.hub.send(hook(&paths[0])).await;
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS, "{}", over.body);
    assert!(over.body.contains("This tenant took 3 webhook calls in the last minute"), "{}", over.body);
    assert!(over.headers.contains_key(header::RETRY_AFTER));
    assert_eq!(api.hub.send(hook(&paths[1])).await.status, StatusCode::ACCEPTED);
    let bodies = std::fs::read_dir(api.state.engine.webhooks_dir()).map(|d| d.count()).unwrap_or(0);
    assert_eq!(bodies, 4, "a refused call's body is not kept");
}

#[tokio::test]
async fn a_read_only_key_only_reads_and_keys_end_with_their_expiry_and_their_creator() {
    use hub_core::service::api_keys::{authenticate, create, NewKeyInput};
    let api = Api::new().await;
    let admin = Actor::User { id: 1, email: "admin@example.com".into() };
    let input = |scope: &str, days: &str| NewKeyInput {
        name: format!("{scope} {days}"),
        scope: scope.to_owned(),
        expires_in_days: days.to_owned(),
    };
    // Bad input is named by field.
    for (bad, field) in [(input("admin", ""), "scope"), (input("read", "0"), "expires_in_days")] {
        match create(&api.db, &admin, &bad, Utc::now()).await {
            Err(service::ServiceError::Invalid(f)) => assert_eq!(f.field, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    let (_, reader) = create(&api.db, &admin, &input("read", ""), Utc::now()).await.expect("key");
    let r = api.send_as(Method::GET, "/api/v2/tenants", None, Some(&reader)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    let (integration_id, _) = integration(&api.db, "Alpha Sync").await;
    let body = json!({ "name": "acme", "integration_id": integration_id });
    let r = api.send_as(Method::POST, "/api/v2/tenants", Some(body.clone()), Some(&reader)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.json);
    assert!(r.json["message"].as_str().unwrap_or_default().contains("may only read"), "{}", r.json);
    let tenants: i64 = sqlx::query_scalar("SELECT count(*) FROM tenants").fetch_one(api.db.pool()).await.expect("n");
    assert_eq!(tenants, 0);

    // A key made to last a day works for a day.
    let (_, daily) = create(&api.db, &admin, &input("full", "1"), Utc::now()).await.expect("key");
    assert!(authenticate(&api.db, &daily, Utc::now() + chrono::Duration::hours(23)).await.expect("read").is_some());
    assert!(authenticate(&api.db, &daily, Utc::now() + chrono::Duration::hours(25)).await.expect("read").is_none());

    // Its creator deactivated, a key stops working; the page says why.
    assert_eq!(api.send_as(Method::GET, "/api/v2/tenants", None, Some(&reader)).await.status, StatusCode::OK);
    sqlx::query("UPDATE users SET status = 'deactivated' WHERE id = 1").execute(api.db.pool()).await.expect("gone");
    let r = api.send_as(Method::GET, "/api/v2/tenants", None, Some(&reader)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let keys = service::records::api_keys(&api.db).await.expect("keys");
    assert!(keys.iter().filter(|k| k.name.starts_with("read")).all(|k| k.creator_gone));
}

#[tokio::test]
async fn a_rest_create_that_fails_at_its_last_write_leaves_no_tenant_behind() {
    let api = Api::new().await;
    let (integration_id, _) = integration(&api.db, "Alpha Sync").await;
    // The database refuses the create's last write, as a full disk or a crash would.
    sqlx::query(
        "CREATE TRIGGER fail_last_write BEFORE INSERT ON audit_log WHEN NEW.action = 'schedule saved'
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
    )
    .execute(api.db.pool())
    .await
    .expect("trigger");
    let body = json!({ "name": "acme", "integration_id": integration_id, "schedule": { "preset": "daily" } });
    // Sent past the document check: a 500 is not part of the contract.
    let req = Request::post("/api/v2/tenants")
        .header("X-API-Key", api.key.as_str())
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("req");
    let a = api.hub.send(req).await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", a.body);
    for table in ["tenants", "connections", "webhook_deliveries"] {
        let n: i64 =
            sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(api.db.pool()).await.expect("n");
        assert_eq!(n, 0, "{table}");
    }
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE object_type = 'tenant'")
        .fetch_one(api.db.pool())
        .await
        .expect("n");
    assert_eq!(n, 0);
    // Once the database takes it, the same request makes the whole tenant.
    sqlx::query("DROP TRIGGER fail_last_write").execute(api.db.pool()).await.expect("dropped");
    let r = api.send(Method::POST, "/api/v2/tenants", Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json);
}
