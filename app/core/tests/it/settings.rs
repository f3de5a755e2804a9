//! Hub-wide settings (the marketplace's, the notifications') changed by many requests
//! at once on the file database. Each change reads the stored settings and writes
//! them back, so it must begin with `Db::begin_write`: a plain (deferred) transaction
//! that read before another change committed fails at its first write with
//! SQLITE_BUSY_SNAPSHOT, and one that finds another writer holding the lock with
//! SQLITE_BUSY, both at once, without the busy timeout (the busy-snapshot fix this
//! guards). With plain transactions most of this burst fails.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::Utc;
use hub_core::db::audit::Actor;
use hub_core::domain::marketplace::MarketplaceInput;
use hub_core::egress::Egress;
use hub_core::secrets::SecretKey;
use hub_core::service::{marketplace as mp, webhooks, ServiceError};

const ORIGIN: &str = "http://127.0.0.1:4999";
const EVENT: &str = "tenant_created";

/// What one concurrent change returned.
enum Done {
    Look,
    MarketSecret(String),
    Notifications(Option<String>),
}

/// The secret a stored setting holds, unsealed.
fn unseal(key: &SecretKey, sealed: Option<&str>) -> String {
    let bytes = STANDARD.decode(sealed.expect("a secret is stored")).expect("base64");
    String::from_utf8(key.decrypt(&bytes).expect("sealed with the hub key")).expect("text")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_settings_changes_at_once_all_succeed_and_none_is_lost() {
    const EACH: usize = 16;
    let (db, _dir) = crate::file_db().await;
    let key = Arc::new(SecretKey::generate());
    let mut tasks = Vec::new();
    for n in 0..EACH {
        for kind in 0..3 {
            let (db, key) = (db.clone(), key.clone());
            tasks.push(tokio::spawn(async move {
                let now = Utc::now();
                match kind {
                    0 => {
                        let look = MarketplaceInput {
                            name: format!("Apps {n}"),
                            origins: ORIGIN.into(),
                            ..Default::default()
                        };
                        mp::save_settings(&db, &Actor::System, &look, now).await.map(|()| Done::Look)
                    }
                    1 => mp::rotate_secret(&db, &key, &Actor::System, "0", now).await.map(Done::MarketSecret),
                    _ => {
                        let url = format!("https://example.com/hooks/{n}");
                        webhooks::save_settings(
                            &db,
                            &key,
                            &Egress::strict(),
                            &Actor::System,
                            &url,
                            &[EVENT.to_owned()],
                            now,
                        )
                        .await
                        .map(Done::Notifications)
                    }
                }
            }));
        }
    }
    let mut market_secrets = Vec::new();
    let mut made_notification_secrets = Vec::new();
    for t in tasks {
        let done: Result<Done, ServiceError> = t.await.expect("task");
        match done.expect("every change succeeds") {
            Done::Look => {}
            Done::MarketSecret(s) => market_secrets.push(s),
            Done::Notifications(fresh) => made_notification_secrets.extend(fresh),
        }
    }

    // The marketplace keeps one of the names written and one of the secrets made:
    // neither kind of change undid the other.
    let market = mp::settings(db.pool()).await.expect("settings");
    let names: Vec<String> = (0..EACH).map(|n| format!("Apps {n}")).collect();
    assert!(names.contains(&market.name), "{:?}", market.name);
    assert_eq!(market.origins, vec![ORIGIN.to_owned()]);
    assert_eq!(market_secrets.len(), EACH);
    assert!(market_secrets.contains(&unseal(&key, market.secret.as_deref())));
    assert!(market.previous.is_none(), "a grace of 0 keeps no old secret");

    // The notifications keep one of the addresses written; the secret was made once
    // (by the first save with an address), and every later save saw it.
    let notifications = webhooks::settings(db.pool()).await.expect("settings");
    let urls: Vec<String> = (0..EACH).map(|n| format!("https://example.com/hooks/{n}")).collect();
    assert!(urls.contains(&notifications.url), "{:?}", notifications.url);
    assert_eq!(notifications.events, vec![EVENT.to_owned()]);
    assert_eq!(made_notification_secrets.len(), 1, "one secret made, not one per racing save");
    assert_eq!(unseal(&key, notifications.secret.as_deref()), made_notification_secrets[0]);

    // Each change was audited once.
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_log
         WHERE action IN ('marketplace saved', 'marketplace secret made', 'notifications saved')",
    )
    .fetch_one(db.pool())
    .await
    .expect("audit");
    assert_eq!(audited, i64::try_from(3 * EACH).expect("n"));
}
