use chrono::{Duration, TimeZone, Utc};
use hub_core::auth::{self, AuthError};
use hub_core::db::Db;
use hub_core::domain::email::Email;

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).single().expect("valid")
}

async fn hub_with_admin() -> (Db, tempfile::TempDir) {
    let (db, dir) = crate::file_db().await;
    let email = Email::parse("admin@example.com").expect("email");
    auth::bootstrap(&db, "Acme", &email, Some("correct horse battery"), now())
        .await
        .expect("bootstrap")
        .expect("created");
    (db, dir)
}

#[tokio::test]
async fn bootstrap_runs_once_and_generates_a_password_when_none_is_given() {
    let (db, _dir) = crate::file_db().await;
    let email = Email::parse("root@example.com").expect("email");
    let first = auth::bootstrap(&db, "Acme", &email, None, now()).await.expect("ok").expect("created");
    let password = first.generated_password.expect("generated");
    assert!(password.len() >= 16);
    assert!(auth::bootstrap(&db, "Acme", &email, None, now()).await.expect("ok").is_none());
    auth::sign_in(&db, "root@example.com", &password, "10.0.0.1", now()).await.expect("signs in");
    let audit: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log").fetch_one(db.pool()).await.expect("n");
    assert_eq!(audit, 2);
}

#[tokio::test]
async fn two_hubs_starting_at_once_on_one_database_make_one_admin() {
    let (db, dir) = crate::file_db().await;
    // A second pool on the same file, as a second hub process would open.
    let other = Db::open(&dir.path().join(hub_core::db::DB_FILE)).await.expect("db");
    let email = Email::parse("root@example.com").expect("email");
    let (a, b) = tokio::join!(
        auth::bootstrap(&db, "Acme", &email, Some("correct horse battery"), now()),
        auth::bootstrap(&other, "Acme", &email, Some("correct horse battery"), now()),
    );
    let made = [a.expect("first start"), b.expect("second start")].into_iter().flatten().count();
    assert_eq!(made, 1);
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(db.pool()).await.expect("n");
    let companies: i64 =
        sqlx::query_scalar("SELECT count(*) FROM organizations").fetch_one(db.pool()).await.expect("n");
    assert_eq!((users, companies), (1, 1));
}

#[tokio::test]
async fn sign_in_opens_a_session_that_sign_out_closes() {
    let (db, _dir) = hub_with_admin().await;
    let token =
        auth::sign_in(&db, " Admin@Example.com ", "correct horse battery", "10.0.0.1", now()).await.expect("ok");
    let user = auth::session_user(&db, &token, now()).await.expect("db").expect("session");
    assert_eq!(user.email, "admin@example.com");
    assert!(user.is_admin && user.is_primary);
    // Only the hash is stored.
    let stored: String = sqlx::query_scalar("SELECT token_hash FROM sessions").fetch_one(db.pool()).await.expect("row");
    assert_ne!(stored, token);
    auth::sign_out(&db, &token).await.expect("ok");
    assert!(auth::session_user(&db, &token, now()).await.expect("db").is_none());
}

#[tokio::test]
async fn sessions_expire_when_idle() {
    let (db, _dir) = hub_with_admin().await;
    let token = auth::sign_in(&db, "admin@example.com", "correct horse battery", "10.0.0.1", now()).await.expect("ok");
    let later = now() + auth::SESSION_IDLE + Duration::seconds(1);
    assert!(auth::session_user(&db, &token, later).await.expect("db").is_none());
}

#[tokio::test]
async fn wrong_passwords_are_refused_then_throttled() {
    let (db, _dir) = hub_with_admin().await;
    for i in 0..5 {
        let err = auth::sign_in(&db, "admin@example.com", "wrong", "10.0.0.1", now() + Duration::seconds(i)).await;
        assert!(matches!(err, Err(AuthError::InvalidCredentials)), "{err:?}");
    }
    // Even the right password is refused while throttled, and the message says how long.
    let err =
        auth::sign_in(&db, "admin@example.com", "correct horse battery", "10.0.0.1", now() + Duration::minutes(1))
            .await
            .expect_err("throttled");
    assert!(matches!(err, AuthError::Throttled(_)));
    assert!(err.to_string().contains("Try again in 14 minutes"), "{err}");
    // After the window, the right password works and clears the failures.
    auth::sign_in(&db, "admin@example.com", "correct horse battery", "10.0.0.1", now() + Duration::minutes(16))
        .await
        .expect("signs in after the window");
}

#[tokio::test]
async fn unknown_emails_are_answered_like_wrong_passwords() {
    let (db, _dir) = hub_with_admin().await;
    let err = auth::sign_in(&db, "nobody@example.com", "whatever", "10.0.0.1", now()).await;
    assert!(matches!(err, Err(AuthError::InvalidCredentials)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_parallel_wrong_passwords_get_exactly_the_allowed_tries() {
    let (db, _dir) = hub_with_admin().await;
    let tries: Vec<_> = (0..50)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move { auth::sign_in(&db, "admin@example.com", "wrong", "10.0.0.1", now()).await })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tries {
        answers.push(t.await.expect("task"));
    }
    let refused = answers.iter().filter(|a| matches!(a, Err(AuthError::InvalidCredentials))).count();
    let throttled = answers.iter().filter(|a| matches!(a, Err(AuthError::Throttled(_)))).count();
    assert_eq!((refused, throttled), (hub_core::domain::throttle::MAX_FAILURES, 45));
}

#[tokio::test]
async fn a_lockout_at_one_address_leaves_the_owner_in_at_another() {
    let (db, _dir) = hub_with_admin().await;
    for i in 0..5 {
        let err = auth::sign_in(&db, "admin@example.com", "wrong", "203.0.113.9", now() + Duration::seconds(i)).await;
        assert!(matches!(err, Err(AuthError::InvalidCredentials)), "{err:?}");
    }
    let at = now() + Duration::seconds(10);
    let locked = auth::sign_in(&db, "admin@example.com", "correct horse battery", "203.0.113.9", at).await;
    assert!(matches!(locked, Err(AuthError::Throttled(_))), "{locked:?}");
    auth::sign_in(&db, "admin@example.com", "correct horse battery", "192.0.2.1", at).await.expect("another address");
}

#[tokio::test]
async fn an_address_guessing_many_emails_is_locked_out() {
    let (db, _dir) = hub_with_admin().await;
    let max = hub_core::domain::throttle::MAX_FROM_ADDRESS;
    for i in 0..max {
        let email = format!("guess{i}@example.com");
        let at = now() + Duration::seconds(i64::try_from(i).expect("small"));
        let err = auth::sign_in(&db, &email, "wrong", "203.0.113.9", at).await;
        assert!(matches!(err, Err(AuthError::InvalidCredentials)), "{err:?}");
    }
    let err =
        auth::sign_in(&db, "admin@example.com", "correct horse battery", "203.0.113.9", now() + Duration::minutes(1))
            .await;
    assert!(matches!(err, Err(AuthError::Throttled(_))), "{err:?}");
}

#[tokio::test]
async fn an_over_long_email_or_password_is_refused_before_any_work() {
    let (db, _dir) = hub_with_admin().await;
    let long_email = format!("{}@example.com", "a".repeat(2 * 1024 * 1024));
    let err = auth::sign_in(&db, &long_email, "x", "10.0.0.1", now()).await;
    assert!(matches!(err, Err(AuthError::InvalidCredentials)), "{err:?}");
    let err = auth::sign_in(&db, "admin@example.com", &"p".repeat(1025), "10.0.0.1", now()).await;
    assert!(matches!(err, Err(AuthError::InvalidCredentials)), "{err:?}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM login_failures").fetch_one(db.pool()).await.expect("n");
    assert_eq!(stored, 0, "nothing was stored");
}
