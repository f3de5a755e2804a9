//! Partner users reach only their own organization's data, through every endpoint.

use axum::http::StatusCode;
use chrono::Utc;
use hub_core::accounts::{self, NewUser};
use hub_core::db::audit::Actor;
use hub_core::db::mail;
use hub_core::domain::integration::IntegrationInput;
use hub_core::service;

use crate::http::{prepared, Hub};

fn integration(name: &str) -> IntegrationInput {
    IntegrationInput { name: name.into(), repository: "/srv/git/x".into(), ..Default::default() }
}

#[tokio::test]
async fn a_partner_user_sees_only_their_organization_and_no_company_settings() {
    let (p, dir) = prepared(false).await;
    let (db, mailer) = (p.state.db.clone(), p.state.mailer.clone());
    let now = Utc::now();
    let globex = accounts::create_partner(&db, &Actor::System, "Globex", now).await.expect("partner");
    let company_int = service::integrations::create(
        &db,
        &hub_core::egress::Egress::strict(),
        &Actor::System,
        1,
        integration("Company Sync"),
        now,
    )
    .await
    .expect("c");
    let partner_int = service::integrations::create(
        &db,
        &hub_core::egress::Egress::strict(),
        &Actor::System,
        globex,
        integration("Globex Sync"),
        now,
    )
    .await
    .expect("p");
    let input = NewUser { name: "Pat".into(), email: "pat@globex.example".into(), organization_id: globex };
    accounts::add_user(&db, &mailer, &Actor::System, input, "http://hub.test", now).await.expect("invited");
    let body = mail::recent(db.pool(), 1).await.expect("mail").remove(0).body;
    let token = body[body.find("/invite/").expect("link") + 8..].split_whitespace().next().expect("token").to_owned();

    let hub = Hub { router: p.router, _dir: dir };
    // The invitation endpoints are public: the token is the credential.
    let a = hub.call("invitation", &format!("token={token}"), None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let a = hub
        .call("accept_invitation", &format!("token={token}&password=pat+long+password&confirm=pat+long+password"), None)
        .await;
    assert!(a.status.is_success() || a.status.is_redirection(), "{} {}", a.status, a.body);
    let a = hub
        .call("accept_invitation", &format!("token={token}&password=pat+long+password&confirm=pat+long+password"), None)
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "a used link is refused: {}", a.body);
    let cookie = hub.sign_in_as("pat%40globex.example", "pat+long+password").await;

    let a = hub.call("integrations", "", Some(&cookie)).await;
    assert!(a.body.contains("Globex Sync") && !a.body.contains("Company Sync"), "{}", a.body);
    // Another organization's integration does not exist for this user, through any endpoint.
    for (endpoint, args) in [
        ("integration", format!("id={company_int}")),
        ("integration_form", format!("id={company_int}")),
        ("update_integration", format!("id={company_int}&input%5Bname%5D=x&input%5Brepository%5D=y")),
        ("build_release", format!("integration_id={company_int}")),
        ("set_default_release", format!("integration_id={company_int}&release_id=1")),
        ("repository_access", format!("id={company_int}")),
        ("set_repository_access", format!("id={company_int}&access=ssh&new_key=1")),
        ("pin_host_keys", format!("id={company_int}&forget=1")),
        ("set_push_builds", format!("id={company_int}&push=on")),
    ] {
        let a = hub.call(endpoint, &args, Some(&cookie)).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{endpoint}: {}", a.body);
        assert!(!a.body.contains("Company Sync"), "{endpoint} leaked: {}", a.body);
    }
    // Their own is theirs.
    let a = hub.call("integration", &format!("id={partner_int}"), Some(&cookie)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    // Company settings, users and mail are refused.
    for (endpoint, args) in [
        ("users", ""),
        ("company", ""),
        ("activity", ""),
        ("organizations", ""),
        ("sent_mail", ""),
        ("add_user", "name=x&email=x%40example.com&organization_id=1"),
        ("resend_invitation", "user_id=1"),
        ("deactivate_user", "user_id=1"),
        ("create_partner", "name=x"),
        ("rename_partner", &format!("id={globex}&name=x")),
        ("api_access", ""),
        ("create_api_key", "name=x"),
        ("revoke_api_key", "id=1"),
        ("notifications", ""),
        ("save_notifications", "url=http%3A%2F%2Flocalhost%2Fx"),
        ("rotate_webhook_secret", ""),
        ("marketplace_settings", ""),
        ("save_marketplace", "input%5Bname%5D=x"),
        ("rotate_marketplace_secret", "grace_hours=1"),
        ("end_marketplace_grace", ""),
        ("save_listing", "integration_id=1&input%5Bshort_description%5D=x"),
        ("link_marketplace_user", "tenant_id=1&sub=u"),
        ("connector", "name=hubspot"),
        ("enable_connector", "name=hubspot&client_id=a&client_secret=b"),
        ("save_connector", "definition=name%3A+x"),
        ("remove_connector", "name=slack"),
    ] {
        let a = hub.call(endpoint, args, Some(&cookie)).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{endpoint}: {}", a.body);
        assert!(!a.body.contains("admin@example.com"), "{endpoint} leaked: {}", a.body);
    }
    // A company admin sees both.
    let admin = hub.sign_in_as("admin%40example.com", "correct+horse+battery").await;
    let a = hub.call("integrations", "", Some(&admin)).await;
    assert!(a.body.contains("Globex Sync") && a.body.contains("Company Sync"), "{}", a.body);
    // Deactivating Pat ends Pat's session at once.
    let a = hub.call("users", "", Some(&admin)).await;
    let pat: serde_json::Value = serde_json::from_str(&a.body).expect("json");
    let id =
        pat.as_array().expect("list").iter().find(|u| u["email"] == "pat@globex.example").expect("pat")["id"].clone();
    let a = hub.call("deactivate_user", &format!("user_id={id}"), Some(&admin)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(hub.call("current_user", "", Some(&cookie)).await.status, StatusCode::UNAUTHORIZED);
}
