//! Invitations, passwords, deactivation, partners, and the mail outbox.

use chrono::{Duration, TimeZone, Utc};
use hub_core::accounts::{self, NewUser};
use hub_core::auth;
use hub_core::db::audit::Actor;
use hub_core::db::{mail, Db};
use hub_core::domain::email::Email;
use hub_core::mail::{Mailer, SmtpSettings, Tls, MAX_ATTEMPTS};
use hub_core::service::ServiceError;

const URL: &str = "http://hub.test";

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).single().expect("valid")
}

async fn hub() -> (Db, Mailer, tempfile::TempDir) {
    let (db, dir) = crate::file_db().await;
    let email = Email::parse("admin@example.com").expect("email");
    auth::bootstrap(&db, "Acme", &email, Some("correct horse battery"), now()).await.expect("ok");
    let mailer = Mailer::new(db.clone(), None, "Hub <hub@example.com>").expect("mailer");
    (db, mailer, dir)
}

/// The token in the newest invitation mail to `to`.
async fn link_token(db: &Db, to: &str) -> String {
    let mails = mail::recent(db.pool(), 10).await.expect("mail");
    let m = mails.iter().find(|m| m.recipient == to).expect("a mail was queued");
    let start = m.body.find("/invite/").expect("a link") + "/invite/".len();
    m.body[start..].split_whitespace().next().expect("token").to_owned()
}

fn ann() -> NewUser {
    NewUser { name: "Ann Lee".into(), email: "Ann@Example.com".into(), organization_id: 1 }
}

#[tokio::test]
async fn an_invited_user_sets_a_password_once_and_signs_in() {
    let (db, mailer, _dir) = hub().await;
    accounts::add_user(&db, &mailer, &Actor::System, ann(), URL, now()).await.expect("added");
    let token = link_token(&db, "ann@example.com").await;
    assert!(token.len() >= 40);
    let who = accounts::invitation(&db, &token, now()).await.expect("valid link");
    assert_eq!(who.user_name, "Ann Lee");
    // Before the password is set, no sign-in is possible.
    assert!(auth::sign_in(&db, "ann@example.com", "", "10.0.0.1", now()).await.is_err());
    let short = accounts::accept_invitation(&db, &token, "short", now()).await;
    assert!(matches!(short, Err(ServiceError::Invalid(f)) if f.field == "password"));
    accounts::accept_invitation(&db, &token, "ann's long password", now()).await.expect("accepted");
    auth::sign_in(&db, "ann@example.com", "ann's long password", "10.0.0.1", now()).await.expect("signs in");
    let again = accounts::accept_invitation(&db, &token, "another long password", now()).await;
    assert!(matches!(again, Err(ServiceError::Conflict(m)) if m.contains("already been used")));
}

#[tokio::test]
async fn links_expire_after_seven_days() {
    let (db, mailer, _dir) = hub().await;
    accounts::add_user(&db, &mailer, &Actor::System, ann(), URL, now()).await.expect("added");
    let token = link_token(&db, "ann@example.com").await;
    let late = now() + Duration::days(7) + Duration::seconds(1);
    let r = accounts::accept_invitation(&db, &token, "ann's long password", late).await;
    assert!(matches!(r, Err(ServiceError::Conflict(m)) if m.contains("expired")));
    assert!(accounts::invitation(&db, &token, now() + Duration::days(6)).await.is_ok());
}

#[tokio::test]
async fn a_resend_replaces_the_old_link() {
    let (db, mailer, _dir) = hub().await;
    let id = accounts::add_user(&db, &mailer, &Actor::System, ann(), URL, now()).await.expect("added");
    let old = link_token(&db, "ann@example.com").await;
    accounts::resend_invitation(&db, &mailer, &Actor::System, id, URL, now()).await.expect("resent");
    let new = link_token(&db, "ann@example.com").await;
    assert_ne!(old, new);
    let r = accounts::invitation(&db, &old, now()).await;
    assert!(matches!(r, Err(ServiceError::Conflict(m)) if m.contains("replaced")));
    accounts::accept_invitation(&db, &new, "ann's long password", now()).await.expect("new link works");
}

#[tokio::test]
async fn bad_input_names_its_field() {
    let (db, mailer, _dir) = hub().await;
    for (input, field) in [
        (NewUser { name: " ".into(), ..ann() }, "name"),
        (NewUser { email: "not-an-email".into(), ..ann() }, "email"),
        (NewUser { email: "ADMIN@example.com".into(), ..ann() }, "email"),
        (NewUser { organization_id: 99, ..ann() }, "organization_id"),
    ] {
        match accounts::add_user(&db, &mailer, &Actor::System, input, URL, now()).await {
            Err(ServiceError::Invalid(f)) => assert_eq!(f.field, field),
            other => panic!("{field}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn deactivation_ends_sessions_at_once_but_never_for_the_primary_admin() {
    let (db, mailer, _dir) = hub().await;
    let id = accounts::add_user(&db, &mailer, &Actor::System, ann(), URL, now()).await.expect("added");
    let token = link_token(&db, "ann@example.com").await;
    accounts::accept_invitation(&db, &token, "ann's long password", now()).await.expect("accepted");
    let session = auth::sign_in(&db, "ann@example.com", "ann's long password", "10.0.0.1", now()).await.expect("in");
    accounts::deactivate_user(&db, &Actor::System, id, now()).await.expect("deactivated");
    assert!(auth::session_user(&db, &session, now()).await.expect("db").is_none());
    assert!(auth::sign_in(&db, "ann@example.com", "ann's long password", "10.0.0.1", now()).await.is_err());
    let primary = accounts::deactivate_user(&db, &Actor::System, 1, now()).await;
    assert!(matches!(primary, Err(ServiceError::Conflict(_))));
}

#[tokio::test]
async fn users_change_their_own_password() {
    let (db, _, _dir) = hub().await;
    let here = auth::sign_in(&db, "admin@example.com", "correct horse battery", "10.0.0.1", now()).await.expect("in");
    let elsewhere =
        auth::sign_in(&db, "admin@example.com", "correct horse battery", "10.0.0.2", now()).await.expect("in");
    let wrong = accounts::change_password(&db, 1, &here, "nope", "a brand new password", now()).await;
    assert!(matches!(wrong, Err(ServiceError::Invalid(f)) if f.field == "current_password"));
    accounts::change_password(&db, 1, &here, "correct horse battery", "a brand new password", now())
        .await
        .expect("changed");
    auth::sign_in(&db, "admin@example.com", "a brand new password", "10.0.0.1", now())
        .await
        .expect("new password works");
    // The session that changed it stays; the other one is ended.
    assert!(auth::session_user(&db, &here, now()).await.expect("db").is_some());
    assert!(auth::session_user(&db, &elsewhere, now()).await.expect("db").is_none());
    // An admin signs a user out everywhere: every session ends, and the audit log says so.
    assert_eq!(accounts::sign_out_everywhere(&db, &Actor::System, 1, now()).await.expect("ended"), 2);
    assert!(auth::session_user(&db, &here, now()).await.expect("db").is_none());
    let logged: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'signed out everywhere'")
        .fetch_one(db.pool())
        .await
        .expect("audit");
    assert_eq!(logged, 1);
    assert!(matches!(accounts::sign_out_everywhere(&db, &Actor::System, 99, now()).await, Err(ServiceError::NotFound)));
}

#[tokio::test]
async fn partners_are_created_and_renamed_with_unique_names() {
    let (db, _, _dir) = hub().await;
    let id = accounts::create_partner(&db, &Actor::System, "Globex", now()).await.expect("created");
    let dup = accounts::create_partner(&db, &Actor::System, "globex", now()).await;
    assert!(matches!(dup, Err(ServiceError::Invalid(f)) if f.field == "name"));
    accounts::rename_partner(&db, &Actor::System, id, "Globex Partners", now()).await.expect("renamed");
    // The company is not a partner and cannot be renamed here.
    assert!(matches!(accounts::rename_partner(&db, &Actor::System, 1, "X", now()).await, Err(ServiceError::NotFound)));
}

#[tokio::test]
async fn without_smtp_mail_is_kept_for_the_console() {
    let (db, mailer, _dir) = hub().await;
    accounts::add_user(&db, &mailer, &Actor::System, ann(), URL, now()).await.expect("added");
    assert_eq!(mailer.send_due(now()).await.expect("sent"), 1);
    let m = &mail::recent(db.pool(), 1).await.expect("mail")[0];
    assert_eq!(m.status, "kept");
    assert!(m.body.contains("/invite/"), "kept mail is the only way to read the link");
}

#[tokio::test]
async fn failed_deliveries_are_retried_with_backoff_then_marked_failed() {
    let (db, _, _dir) = hub().await;
    // A loopback port with nothing listening: every delivery fails.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let smtp = SmtpSettings { host: "127.0.0.1".into(), port, tls: Tls::None, user: None, password: None };
    let mailer = Mailer::new(db.clone(), Some(&smtp), "Hub <hub@example.com>").expect("mailer");
    accounts::add_user(&db, &mailer, &Actor::System, ann(), URL, now()).await.expect("added");
    assert_eq!(mailer.send_due(now()).await.expect("tried"), 1);
    let m = &mail::recent(db.pool(), 1).await.expect("mail")[0];
    assert_eq!((m.status.as_str(), m.attempts), ("queued", 1));
    assert!(m.last_error.is_some());
    // Not due again until the backoff has passed.
    assert_eq!(mailer.send_due(now() + Duration::seconds(10)).await.expect("none"), 0);
    let mut t = now();
    for _ in 1..MAX_ATTEMPTS {
        t += Duration::hours(2);
        mailer.send_due(t).await.expect("tried");
    }
    let m = &mail::recent(db.pool(), 1).await.expect("mail")[0];
    assert_eq!((m.status.as_str(), m.attempts), ("failed", MAX_ATTEMPTS));
    assert_eq!(m.body, "", "a message given up on is not kept readable: it held a sign-in link");
}
