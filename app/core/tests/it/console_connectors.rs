//! Connectors enabled and written in the console: sealed secrets, definitions checked
//! with their line and column, changes in use without a restart, the warning before a
//! change to a connector tenants use, and the connectors folder coming first.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;
use hub_core::connectors::{Connectors, Loaded, Registry, Source};
use hub_core::db::audit::Actor;
use hub_core::db::{tenants, Db};
use hub_core::domain::connector::Connector;
use hub_core::domain::integration::IntegrationInput;
use hub_core::domain::release::ReleaseChoice;
use hub_core::domain::tenant::{self, SetupStep};
use hub_core::egress::Egress;
use hub_core::secrets::SecretKey;
use hub_core::service::connectors::{self as console, ConnectorInput, Filter};
use hub_core::service::{self, ServiceError};

const CUSTOM: &str = "name: acme-crm
display_name: Acme CRM
auth: oauth2
oauth2:
  authorize_url: https://login.acme.example/authorize
  token_url: https://login.acme.example/token
  scopes: [contacts]
";

/// A hub whose connectors folder defines `pokeapi` (no credentials) and `slack`.
async fn hub() -> (Db, Connectors, Arc<SecretKey>, tempfile::TempDir) {
    let (db, dir) = crate::file_db().await;
    sqlx::query("INSERT INTO organizations (name, kind, created_at) VALUES ('Acme', 'company', '2026-01-01')")
        .execute(db.pool())
        .await
        .expect("org");
    let mut start = Registry::default();
    for text in [
        "name: pokeapi\ndisplay_name: PokéAPI\nauth: none\n",
        "name: slack\ndisplay_name: Slack (ours)\nauth: oauth2\noauth2:\n  authorize_url: https://slack.example/a\n  token_url: https://slack.example/t\n",
    ] {
        let (connector, _) = Connector::parse(text, |_| None).expect("parses");
        let source = Source::File(PathBuf::from(format!("{}.yaml", connector.name)));
        start.connectors.insert(connector.name.clone(), Loaded { connector, source, missing_vars: Vec::new() });
    }
    let key = Arc::new(SecretKey::generate());
    let connectors = Connectors::new(start, key.clone());
    connectors.reload(&db, Utc::now()).await.expect("loaded");
    (db, connectors, key, dir)
}

fn admin() -> Actor {
    Actor::System
}

fn input(definition: &str, client_id: &str, client_secret: &str) -> ConnectorInput {
    ConnectorInput {
        definition: definition.to_owned(),
        client_id: client_id.to_owned(),
        client_secret: client_secret.to_owned(),
        confirm: false,
    }
}

fn field_error(e: ServiceError) -> (String, String) {
    match e {
        ServiceError::Invalid(f) => (f.field, f.message),
        other => panic!("not a field error: {other:?}"),
    }
}

/// An integration naming `connector`, with `tenants` tenants.
async fn used_by(db: &Db, connector: &str, tenants: usize) {
    let repo = tempfile::tempdir().expect("repo");
    let input = IntegrationInput {
        name: format!("Uses {connector}"),
        connectors: vec![connector.to_owned()],
        repository: repo.path().to_string_lossy().into_owned(),
        ..Default::default()
    };
    let integration =
        service::integrations::create(db, &Egress::strict(), &Actor::System, 1, input, Utc::now()).await.expect("made");
    for n in 0..tenants {
        let name = format!("{connector}-{n}");
        let t = tenants::NewTenant {
            integration_id: integration,
            name: &name,
            choice: ReleaseChoice::Latest,
            configs: "{}",
            source: tenant::Source::Hub,
            setup_step: SetupStep::Done,
            created_by: None,
        };
        tenants::insert(db.pool(), &t, Utc::now()).await.expect("tenant");
    }
}

#[tokio::test]
async fn a_catalogue_connector_is_enabled_with_a_sealed_secret_and_used_at_once() {
    let (db, connectors, key, _dir) = hub().await;
    assert!(!connectors.current().connectors.contains_key("hubspot"));
    let missing = console::enable(&db, &connectors, &admin(), "hubspot", input("", "", ""), Utc::now()).await;
    assert_eq!(field_error(missing.expect_err("no client id")).0, "client_id");
    let no_secret = console::enable(&db, &connectors, &admin(), "hubspot", input("", "hub-id", ""), Utc::now()).await;
    assert_eq!(field_error(no_secret.expect_err("no secret")).0, "client_secret");

    console::enable(&db, &connectors, &admin(), "hubspot", input("", "hub-id", "s3cret-value"), Utc::now())
        .await
        .expect("enabled");
    // In use at once: the registry a request or a run reads now has it, secret and all.
    let current = connectors.current();
    let hubspot = &current.connectors["hubspot"];
    assert_eq!(hubspot.source, Source::Console { custom: false });
    let o = hubspot.connector.oauth2.as_ref().expect("oauth2");
    assert_eq!((o.client_id.as_str(), o.client_secret.as_str()), ("hub-id", "s3cret-value"));
    assert!(hubspot.missing_vars.is_empty());
    // Integrations may name it: the mirror has it, without the secret.
    let names = hub_core::db::connectors::names(db.pool()).await.expect("names");
    assert!(names.contains(&"hubspot".to_owned()), "{names:?}");
    // The secret is sealed at rest: nowhere in the database file in clear.
    let dump: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, coalesce(definition, '') FROM connectors UNION ALL SELECT action, detail FROM audit_log",
    )
    .fetch_all(db.pool())
    .await
    .expect("rows");
    assert!(dump.iter().all(|(_, text)| !text.contains("s3cret-value")), "{dump:?}");
    let sealed: Vec<u8> = sqlx::query_scalar("SELECT client_secret FROM console_connectors WHERE name = 'hubspot'")
        .fetch_one(db.pool())
        .await
        .expect("sealed");
    assert!(!sealed.windows(12).any(|w| w == b"s3cret-value"));
    assert_eq!(key.decrypt(&sealed).expect("unseals"), b"s3cret-value");

    // An empty secret keeps the stored one; a new client id replaces the old.
    console::enable(&db, &connectors, &admin(), "hubspot", input("", "hub-id-2", ""), Utc::now()).await.expect("saved");
    let o = connectors.current().connectors["hubspot"].connector.oauth2.clone().expect("oauth2");
    assert_eq!((o.client_id.as_str(), o.client_secret.as_str()), ("hub-id-2", "s3cret-value"));

    // A restarted hub (the same database and key) loads it again.
    let again = Connectors::new(Registry::default(), key.clone());
    again.reload(&db, Utc::now()).await.expect("reloaded");
    assert_eq!(again.current().connectors["hubspot"].connector.oauth2.as_ref().expect("o").client_id, "hub-id-2");
    // Under another key its secret cannot be unsealed: it is left out, and the
    // page says why.
    let other = Connectors::new(Registry::default(), Arc::new(SecretKey::generate()));
    other.reload(&db, Utc::now()).await.expect("reloaded");
    assert!(!other.current().connectors.contains_key("hubspot"));
    let overview = console::overview(&db, &other, &Filter::default()).await.expect("overview");
    assert!(
        overview.broken.iter().any(|(n, why)| n == "hubspot" && why.contains("another hub key")),
        "{:?}",
        overview.broken
    );

    // A connector that takes each tenant's own key needs nothing to enable.
    console::enable(&db, &connectors, &admin(), "stripe", input("", "", ""), Utc::now()).await.expect("stripe");
    assert!(connectors.current().connectors.contains_key("stripe"));
    let unknown = console::enable(&db, &connectors, &admin(), "no-such", input("", "a", "b"), Utc::now()).await;
    assert!(matches!(unknown, Err(ServiceError::NotFound)));
}

#[tokio::test]
async fn a_written_definition_is_checked_with_its_line_and_column_and_cannot_read_the_environment() {
    let (db, connectors, _key, _dir) = hub().await;
    let actor = admin();
    let save =
        |text: &str| console::save_custom(&db, &connectors, &actor, None, input(text, "id", "secret"), Utc::now());

    let broken = CUSTOM.replace("  scopes: [contacts]", "  scopes: [contacts\n  pkce: maybe");
    let (field, message) = field_error(save(&broken).await.expect_err("broken"));
    assert_eq!(field, "definition");
    assert!(message.starts_with("Line "), "{message}");
    assert!(message.contains(", column "), "{message}");

    let unknown_key = format!("{CUSTOM}colour: blue\n");
    let (_, message) = field_error(save(&unknown_key).await.expect_err("unknown key"));
    assert!(message.starts_with("Line 8, column 1:") && message.contains("colour"), "{message}");

    let environment = CUSTOM.replace("  scopes:", "  client_id: ${HUB_SECRET_KEY}\n  scopes:");
    let (_, message) = field_error(save(&environment).await.expect_err("environment"));
    assert!(message.contains("cannot read the hub's environment"), "{message}");

    let inline_secret = CUSTOM.replace("  scopes:", "  client_secret: inline\n  scopes:");
    let (_, message) = field_error(save(&inline_secret).await.expect_err("inline secret"));
    assert!(message.starts_with("oauth2.client_secret"), "{message}");

    let not_https = CUSTOM.replace("https://login.acme.example/token", "ftp://login.acme.example/token");
    let (_, message) = field_error(save(&not_https).await.expect_err("bad url"));
    assert!(message.starts_with("oauth2.token_url"), "{message}");

    // A name the connectors folder defines stays the folder's.
    let folder = CUSTOM.replace("name: acme-crm", "name: slack");
    assert!(matches!(save(&folder).await, Err(ServiceError::Conflict(m)) if m.contains("slack.yaml")));

    assert_eq!(save(CUSTOM).await.expect("saved"), "acme-crm");
    let current = connectors.current();
    let acme = &current.connectors["acme-crm"];
    assert_eq!(acme.source, Source::Console { custom: true });
    assert_eq!(acme.connector.oauth2.as_ref().expect("o").client_secret, "secret");
    // A second one of the name is refused; the saved one changes through its page,
    // where its name stays.
    assert_eq!(field_error(save(CUSTOM).await.expect_err("twice")).0, "definition");
    let renamed = CUSTOM.replace("name: acme-crm", "name: acme-two");
    let change = input(&renamed, "id", "");
    let refused = console::save_custom(&db, &connectors, &admin(), Some("acme-crm"), change, Utc::now()).await;
    assert!(field_error(refused.expect_err("renamed")).1.contains("stays acme-crm"));
    let scoped = CUSTOM.replace("[contacts]", "[contacts, deals]");
    console::save_custom(&db, &connectors, &admin(), Some("acme-crm"), input(&scoped, "id", ""), Utc::now())
        .await
        .expect("changed");
    let o = connectors.current().connectors["acme-crm"].connector.oauth2.clone().expect("o");
    assert_eq!(o.scopes, ["contacts", "deals"]);
    assert_eq!(o.client_secret, "secret", "an empty secret keeps the stored one");
    // The stored secret goes only where it went before: new addresses ask for it again.
    let moved = scoped.replace("login.acme.example/token", "collector.example/token");
    let refused =
        console::save_custom(&db, &connectors, &admin(), Some("acme-crm"), input(&moved, "id", ""), Utc::now()).await;
    let (field, message) = field_error(refused.expect_err("moved"));
    assert_eq!(field, "client_secret");
    assert!(message.contains("addresses changed"), "{message}");
    let editor = console::editor(&db, &connectors, "acme-crm").await.expect("editor");
    assert!(editor.custom && editor.has_secret && editor.definition.contains("deals"));
}

#[tokio::test]
async fn a_change_to_a_connector_tenants_use_needs_a_confirmation_that_names_how_many() {
    let (db, connectors, _key, _dir) = hub().await;
    console::save_custom(&db, &connectors, &admin(), None, input(CUSTOM, "id", "secret"), Utc::now())
        .await
        .expect("saved");
    used_by(&db, "acme-crm", 3).await;
    let change = input(&CUSTOM.replace("[contacts]", "[deals]"), "id", "");
    let refused = console::save_custom(&db, &connectors, &admin(), Some("acme-crm"), change.clone(), Utc::now()).await;
    let (field, message) = field_error(refused.expect_err("unconfirmed"));
    assert_eq!(field, "confirm");
    assert!(message.starts_with("3 tenants of 1 integration use Acme CRM"), "{message}");
    assert_eq!(connectors.current().connectors["acme-crm"].connector.oauth2.as_ref().expect("o").scopes, ["contacts"]);
    let confirmed = ConnectorInput { confirm: true, ..change };
    console::save_custom(&db, &connectors, &admin(), Some("acme-crm"), confirmed, Utc::now()).await.expect("saved");
    assert_eq!(connectors.current().connectors["acme-crm"].connector.oauth2.as_ref().expect("o").scopes, ["deals"]);

    // Removing it is refused while an integration names it.
    let refused = console::remove(&db, &connectors, &admin(), "acme-crm", Utc::now()).await;
    assert!(
        matches!(refused, Err(ServiceError::Conflict(m)) if m.contains("1 integration names acme-crm (3 tenants)"))
    );
    let overview = console::overview(&db, &connectors, &Filter::default()).await.expect("overview");
    let acme = overview.in_use.iter().find(|c| c.loaded.connector.name == "acme-crm").expect("listed");
    assert_eq!((acme.usage.integrations, acme.usage.tenants), (1, 3));
}

#[tokio::test]
async fn a_removed_connector_leaves_the_registry_and_a_disabled_catalogue_one_stays_in_the_catalogue() {
    let (db, connectors, _key, _dir) = hub().await;
    console::save_custom(&db, &connectors, &admin(), None, input(CUSTOM, "id", "secret"), Utc::now())
        .await
        .expect("saved");
    console::remove(&db, &connectors, &admin(), "acme-crm", Utc::now()).await.expect("removed");
    assert!(!connectors.current().connectors.contains_key("acme-crm"));
    let names = hub_core::db::connectors::names(db.pool()).await.expect("names");
    assert!(!names.contains(&"acme-crm".to_owned()), "integrations can no longer name it: {names:?}");
    assert!(matches!(console::editor(&db, &connectors, "acme-crm").await, Err(ServiceError::NotFound)));

    // A console row that no longer loads (as after an upgrade that checks more) still
    // has its page, which says why, and can be removed.
    console::save_custom(&db, &connectors, &admin(), None, input(CUSTOM, "id", "secret"), Utc::now())
        .await
        .expect("saved");
    sqlx::query("UPDATE console_connectors SET definition = 'name: acme-crm' WHERE name = 'acme-crm'")
        .execute(db.pool())
        .await
        .expect("spoiled");
    connectors.reload(&db, Utc::now()).await.expect("reloaded");
    assert!(!connectors.current().connectors.contains_key("acme-crm"));
    let editor = console::editor(&db, &connectors, "acme-crm").await.expect("its page");
    assert!(editor.problem.is_some() && editor.in_console, "{editor:?}");
    console::remove(&db, &connectors, &admin(), "acme-crm", Utc::now()).await.expect("removed");

    console::enable(&db, &connectors, &admin(), "zoom", input("", "zid", "zsecret"), Utc::now()).await.expect("on");
    console::remove(&db, &connectors, &admin(), "zoom", Utc::now()).await.expect("disabled");
    assert!(!connectors.current().connectors.contains_key("zoom"));
    let editor = console::editor(&db, &connectors, "zoom").await.expect("still in the catalogue");
    assert!(!editor.in_console && editor.source.is_none() && editor.catalogue.is_some());
    assert!(matches!(
        console::remove(&db, &connectors, &admin(), "zoom", Utc::now()).await,
        Err(ServiceError::NotFound)
    ));
}

#[tokio::test]
async fn the_catalogue_is_searched_and_filtered_by_category() {
    let (db, connectors, _key, _dir) = hub().await;
    let find = |q: &str, category: &str| {
        let filter = Filter { q: q.to_owned(), category: category.to_owned() };
        let (db, connectors) = (db.clone(), connectors.clone());
        async move {
            let o = console::overview(&db, &connectors, &filter).await.expect("overview");
            o.catalogue.into_iter().map(|e| e.connector.name).collect::<Vec<_>>()
        }
    };
    let all = find("", "").await;
    assert!(all.len() >= 30, "{all:?}");
    let crm = find("", "CRM").await;
    assert!(crm.contains(&"hubspot".to_owned()) && crm.contains(&"salesforce".to_owned()), "{crm:?}");
    assert!(!crm.contains(&"shopify".to_owned()), "{crm:?}");
    assert_eq!(find("SHOPIFY", "").await, ["shopify"]);
    assert!(find("shopify", "CRM").await.is_empty());
    assert!(find("no such thing", "").await.is_empty());
    let overview = console::overview(&db, &connectors, &Filter::default()).await.expect("overview");
    assert!(overview.categories.contains(&"E-commerce".to_owned()), "{:?}", overview.categories);
    // The folder's slack is the one in use, and the catalogue's line says so.
    let slack = overview.catalogue.iter().find(|e| e.connector.name == "slack").expect("slack");
    assert!(matches!(slack.in_use, Some(Source::File(_))));
    let enabled = console::enable(&db, &connectors, &admin(), "slack", input("", "a", "b"), Utc::now()).await;
    assert!(matches!(enabled, Err(ServiceError::Conflict(m)) if m.contains("slack.yaml")));
}
