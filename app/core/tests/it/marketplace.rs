//! The marketplace's install cap (`xti.allowed_installs`) when one end user's
//! installs arrive at the same time, on the file database.

use std::sync::Arc;

use chrono::Utc;
use hub_core::db::{integrations, releases, Db};
use hub_core::domain::fair_use::FairUse;
use hub_core::domain::integration::IntegrationInput;
use hub_core::domain::manifest::Manifest;
use hub_core::domain::marketplace::{EndUser, ExtraRules, ListingInput};
use hub_core::secrets::SecretKey;
use hub_core::service::{marketplace as mp, ServiceError};

/// A published integration with a default release (no connectors); returns its id.
/// Made with the storage calls, as the console would have left it.
async fn published_integration(db: &Db) -> i64 {
    let now = Utc::now();
    sqlx::query("INSERT INTO organizations (name, kind, created_at) VALUES ('Acme', 'company', '2026-01-01')")
        .execute(db.pool())
        .await
        .expect("org");
    let input = IntegrationInput { name: "Stripe Sync".into(), repository: "/srv/git/x".into(), ..Default::default() }
        .validate()
        .expect("input");
    let mut tx = db.pool().begin().await.expect("tx");
    let id = integrations::insert(&mut tx, 1, &input, now).await.expect("integration");
    tx.commit().await.expect("commit");
    let release = releases::insert_queued(db.pool(), id, "main", None, now).await.expect("queued");
    assert!(releases::claim(db.pool(), release, now).await.expect("claim"));
    let manifest = Manifest::parse("version: 0.5\nrun: sh run.sh\n").expect("manifest");
    let manifest = serde_json::to_string(&manifest).expect("json");
    let ok = releases::Success { commit_sha: "abc123", run_command: "sh run.sh", manifest_json: &manifest };
    releases::succeed(db.pool(), release, &ok, now).await.expect("succeeded");
    integrations::set_default_release(db.pool(), id, release, now).await.expect("default");
    let listing = ListingInput { published: "on".into(), short_description: "Payments".into(), ..Default::default() };
    assert!(integrations::set_listing(db.pool(), id, &listing.validate().expect("listing"), now)
        .await
        .expect("listing saved"));
    id
}

/// An end user as a valid token names them.
fn user(sub: &str, allowed_installs: Option<u32>) -> EndUser {
    EndUser {
        sub: sub.to_owned(),
        name: Some(format!("User {sub}")),
        email: Some(format!("{sub}@example.com")),
        rules: ExtraRules { allowed_installs, ..Default::default() },
        exp: Utc::now().timestamp() + 3600,
    }
}

async fn tenants_of(db: &Db, sub: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM tenants WHERE external_user = ?")
        .bind(sub)
        .fetch_one(db.pool())
        .await
        .expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_installs_of_one_user_never_pass_the_cap() {
    const CAP: u32 = 3;
    const TRIES: usize = 10;
    let (db, _dir) = crate::file_db().await;
    let integration = published_integration(&db).await;
    let capped = user("dee", Some(CAP));
    // Another user, without a cap, installs in the same burst.
    let free = user("eve", None);
    let key = Arc::new(SecretKey::generate());
    let mut tasks = Vec::new();
    for n in 0..TRIES + 4 {
        let (db, key, who) = (db.clone(), key.clone(), if n < TRIES { capped.clone() } else { free.clone() });
        tasks.push(tokio::spawn(async move {
            let r = mp::install(&db, &key, &who, FairUse::default().installs_per_user, integration, Utc::now()).await;
            (who.sub, r)
        }));
    }
    let mut installed = Vec::new();
    let mut refused = 0;
    let mut free_installed = 0;
    for t in tasks {
        match t.await.expect("task") {
            (sub, Ok(id)) if sub == "dee" => installed.push(id),
            (_, Ok(_)) => free_installed += 1,
            (sub, Err(ServiceError::Conflict(m))) if sub == "dee" => {
                assert!(m.contains("reached that limit") && m.contains(&CAP.to_string()), "{m}");
                refused += 1;
            }
            (sub, Err(e)) => panic!("an install of {sub} failed otherwise: {e:?}"),
        }
    }
    assert_eq!(installed.len(), CAP as usize, "exactly the cap installs");
    assert_eq!(refused, TRIES - CAP as usize);
    assert_eq!(free_installed, 4);
    assert_eq!(tenants_of(&db, "dee").await, i64::from(CAP));
    assert_eq!(tenants_of(&db, "eve").await, 4);
    // The installed tenants are the user's, each under its own name.
    let apps = mp::apps(&db, &capped).await.expect("apps");
    let mut ids: Vec<i64> = apps.iter().map(|t| t.id).collect();
    ids.sort_unstable();
    installed.sort_unstable();
    assert_eq!(ids, installed);
    let mut names: Vec<&str> = apps.iter().map(|t| t.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), CAP as usize);
    // Once at the cap, one more is refused too.
    let again = mp::install(&db, &key, &capped, FairUse::default().installs_per_user, integration, Utc::now()).await;
    assert!(matches!(again, Err(ServiceError::Conflict(_))), "{again:?}");
}
