//! The Connectors page and its changes: the connectors in use and who uses them, the
//! catalogue (searched, by category), enabling a catalogue connector with its app's
//! client id and secret, writing a connector of one's own, and removing one. A change
//! is audited, then the registry is read again ([`Connectors::reload`]): it takes
//! effect without a restart. Connectors are the whole hub's, so only the company's
//! admins change them (the front doors check it).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{invalid, Actor, ServiceError};
use crate::connectors::{
    catalogue, console_definition, parse_custom, Connectors, Loaded, Source, ORIGIN_CATALOGUE, ORIGIN_CUSTOM,
};
use crate::db::console_connectors::{self, ConsoleConnectorRow, Usage};
use crate::db::{audit, Db};
use crate::domain::audit::AuditAction;
use crate::domain::connector::{AuthKind, Connector, ConnectorError};

/// The longest definition the console takes.
pub const DEFINITION_MAX: usize = 64 * 1024;

/// A connector in use and who uses it.
#[derive(Clone, Debug)]
pub struct InUse {
    pub loaded: Loaded,
    pub usage: Usage,
}

/// A catalogue entry, and whether and how the hub uses its name now.
#[derive(Clone, Debug)]
pub struct CatalogueEntry {
    pub connector: Connector,
    /// The variables `HUB_CATALOGUE` would need.
    pub missing_vars: Vec<String>,
    pub in_use: Option<Source>,
}

/// What the catalogue list shows: words to find, and a category.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub q: String,
    pub category: String,
}

#[derive(Clone, Debug)]
pub struct Overview {
    pub in_use: Vec<InUse>,
    /// The console's connectors that cannot be used, with why.
    pub broken: Vec<(String, String)>,
    /// The entries the filter lets through, by category and name.
    pub catalogue: Vec<CatalogueEntry>,
    pub catalogue_total: usize,
    pub categories: Vec<String>,
}

pub async fn overview(db: &Db, connectors: &Connectors, filter: &Filter) -> Result<Overview, ServiceError> {
    let registry = connectors.current();
    let usage: BTreeMap<String, Usage> = console_connectors::usage_all(db.pool())
        .await?
        .into_iter()
        .map(|(name, integrations, tenants)| (name, Usage { integrations, tenants }))
        .collect();
    let mut in_use: Vec<InUse> = registry
        .connectors
        .values()
        .map(|l| InUse { loaded: l.clone(), usage: usage.get(&l.connector.name).copied().unwrap_or_default() })
        .collect();
    in_use.sort_by_key(|c| c.loaded.connector.display_name.to_lowercase());
    let broken = console_connectors::all(db.pool())
        .await?
        .iter()
        .filter(|row| !registry.connectors.contains_key(&row.name))
        .filter_map(|row| console_definition(row, connectors.key()).err().map(|e| (row.name.clone(), e)))
        .collect();
    let words: Vec<String> = filter.q.split_whitespace().map(str::to_lowercase).collect();
    let all = catalogue::parsed();
    let mut categories: Vec<String> = all.iter().map(|(c, _)| c.category.clone()).collect();
    categories.dedup();
    let catalogue = all
        .iter()
        .filter(|(c, _)| filter.category.is_empty() || c.category == filter.category)
        .filter(|(c, _)| {
            let text = format!("{} {} {} {}", c.name, c.display_name, c.category, c.info).to_lowercase();
            words.iter().all(|w| text.contains(w.as_str()))
        })
        .map(|(c, missing)| CatalogueEntry {
            connector: c.clone(),
            missing_vars: missing.clone(),
            in_use: registry.connectors.get(&c.name).map(|l| l.source.clone()),
        })
        .collect();
    Ok(Overview { in_use, broken, catalogue, catalogue_total: all.len(), categories })
}

/// What a connector's page shows to change it: never its client secret.
#[derive(Clone, Debug)]
pub struct Editor {
    pub name: String,
    pub display_name: String,
    pub auth: AuthKind,
    /// Where the definition in use comes from, if it is in use.
    pub source: Option<Source>,
    /// The shipped definition of this name, if the catalogue has one.
    pub catalogue: Option<&'static str>,
    /// The console stores it; then `custom` (the admin's YAML in `definition`), the
    /// client id, and whether a secret is stored.
    pub in_console: bool,
    pub custom: bool,
    pub definition: String,
    pub client_id: String,
    pub has_secret: bool,
    /// Why the console's record cannot be used now.
    pub problem: Option<String>,
    pub usage: Usage,
}

/// The page of one connector: one in use, one the console stores, or one of the
/// catalogue.
pub async fn editor(db: &Db, connectors: &Connectors, name: &str) -> Result<Editor, ServiceError> {
    let registry = connectors.current();
    let loaded = registry.connectors.get(name);
    let row = console_connectors::get(db.pool(), name).await?;
    let shipped = catalogue::definition(name);
    // A console row that no longer loads still has its page, to be fixed or removed.
    let base = match (loaded, &row, shipped) {
        (Some(l), _, _) => Some(l.connector.clone()),
        (None, Some(r), _) if r.origin == ORIGIN_CUSTOM => parse_custom(&r.definition).ok(),
        (None, _, Some(_)) => catalogue::connector(name),
        (None, Some(_), None) => None,
        (None, None, None) => return Err(ServiceError::NotFound),
    };
    let problem = row.as_ref().and_then(|r| console_definition(r, connectors.key()).err());
    Ok(Editor {
        name: name.to_owned(),
        display_name: base.as_ref().map_or_else(|| name.to_owned(), |c| c.display_name.clone()),
        auth: base.as_ref().map_or(AuthKind::Oauth2, |c| c.auth),
        source: loaded.map(|l| l.source.clone()),
        catalogue: shipped,
        in_console: row.is_some(),
        custom: row.as_ref().is_some_and(|r| r.origin == ORIGIN_CUSTOM),
        definition: row.as_ref().map(|r| r.definition.clone()).unwrap_or_default(),
        client_id: row.as_ref().map(|r| r.client_id.clone()).unwrap_or_default(),
        has_secret: row.as_ref().is_some_and(|r| r.client_secret.is_some()),
        problem,
        usage: console_connectors::usage(db.pool(), name).await?,
    })
}

/// What the admin sent to enable a catalogue connector or to save their own.
#[derive(Clone, Debug, Default)]
pub struct ConnectorInput {
    /// The YAML of the admin's own connector; unused for a catalogue one.
    pub definition: String,
    pub client_id: String,
    /// Empty keeps the stored secret.
    pub client_secret: String,
    /// The admin was told how many tenants use the connector and saves anyway.
    pub confirm: bool,
}

/// Enables the catalogue's `name` (or replaces its client id and secret), in place of
/// a `HUB_CATALOGUE` entry of that name. Returns the name.
pub async fn enable(
    db: &Db,
    connectors: &Connectors,
    actor: &Actor,
    name: &str,
    input: ConnectorInput,
    now: DateTime<Utc>,
) -> Result<String, ServiceError> {
    let connector = catalogue::connector(name).ok_or(ServiceError::NotFound)?;
    let stored = console_connectors::get(db.pool(), name).await?.filter(|r| r.origin == ORIGIN_CATALOGUE);
    save(db, connectors, actor, &connector, ORIGIN_CATALOGUE, String::new(), stored, input, now).await?;
    Ok(name.to_owned())
}

/// Saves a connector the admin wrote: a new one (`name` is `None`) or a change to
/// theirs. A definition that does not load is refused with its line and column, or
/// the key at fault. Returns the name.
pub async fn save_custom(
    db: &Db,
    connectors: &Connectors,
    actor: &Actor,
    name: Option<&str>,
    mut input: ConnectorInput,
    now: DateTime<Utc>,
) -> Result<String, ServiceError> {
    input.definition = input.definition.replace("\r\n", "\n");
    if input.definition.len() > DEFINITION_MAX {
        return Err(invalid("definition", "A definition is at most 64 KiB."));
    }
    let connector = parse_custom(&input.definition).map_err(|e| invalid("definition", describe(&e)))?;
    if connector.name.contains('_') {
        return Err(invalid("definition", "name: lowercase letters, digits and '-' (no '_')"));
    }
    if connector.name == "new" {
        return Err(invalid("definition", "name: new is the address of the page for a new connector; choose another"));
    }
    let stored = console_connectors::get(db.pool(), &connector.name).await?;
    match name {
        Some(name) if name != connector.name => {
            return Err(invalid(
                "definition",
                format!("name: stays {name}; integrations and connections know the connector by it"),
            ));
        }
        Some(_) if stored.as_ref().is_none_or(|r| r.origin != ORIGIN_CUSTOM) => return Err(ServiceError::NotFound),
        None if stored.is_some() => {
            return Err(invalid(
                "definition",
                format!("name: the console already has a connector named {}; open it to change it", connector.name),
            ));
        }
        _ => {}
    }
    // The stored secret goes only where it went before: a change of the provider's
    // addresses (or of what a parameter in them may be) asks for it again.
    let stored = stored.map(|mut row| {
        let before = parse_custom(&row.definition).ok();
        if before.as_ref().is_none_or(|b| !same_provider(b, &connector)) {
            row.client_secret = None;
        }
        row
    });
    let definition = input.definition.clone();
    save(db, connectors, actor, &connector, ORIGIN_CUSTOM, definition, stored, input, now).await?;
    Ok(connector.name)
}

/// Whether two definitions send the client secret to the same places.
fn same_provider(a: &Connector, b: &Connector) -> bool {
    let urls = |c: &Connector| c.oauth2.as_ref().map(|o| (o.authorize_url.clone(), o.token_url.clone(), o.client_auth));
    let patterns = |c: &Connector| c.parameters.iter().map(|p| (p.name.clone(), p.pattern.clone())).collect::<Vec<_>>();
    urls(a) == urls(b) && patterns(a) == patterns(b)
}

/// A definition's fault as the editor shows it: where, then what.
pub fn describe(e: &ConnectorError) -> String {
    match e {
        ConnectorError::Syntax(y) => match (y.line, y.column) {
            (Some(line), Some(column)) => format!("Line {line}, column {column}: {}", y.message),
            _ => y.message.clone(),
        },
        ConnectorError::Invalid(m) => m.clone(),
    }
}

#[allow(clippy::too_many_arguments)]
async fn save(
    db: &Db,
    connectors: &Connectors,
    actor: &Actor,
    connector: &Connector,
    origin: &str,
    definition: String,
    stored: Option<ConsoleConnectorRow>,
    input: ConnectorInput,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let name = &connector.name;
    if let Some(Loaded { source: Source::File(path), .. }) = connectors.current().connectors.get(name) {
        let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        return Err(ServiceError::Conflict(format!(
            "{name} is defined by the file {file} of the hub's connectors folder, which comes first: \
             change that file and restart the hub, or give this connector another name."
        )));
    }
    let (client_id, client_secret) = if connector.auth == AuthKind::Oauth2 {
        let id = input.client_id.trim().to_owned();
        if id.is_empty() {
            return Err(invalid("client_id", "Paste the client id of the app you registered with the provider."));
        }
        if id.len() > 1000 || id.contains(|c: char| c.is_control() || c.is_whitespace()) {
            return Err(invalid("client_id", "A client id is one word without spaces, at most 1000 characters."));
        }
        let secret = input.client_secret.trim();
        let sealed = if secret.is_empty() {
            match stored.as_ref().and_then(|r| r.client_secret.clone()) {
                Some(kept) => kept,
                None if stored.as_ref().is_some_and(|r| r.origin == ORIGIN_CUSTOM) => {
                    return Err(invalid(
                        "client_secret",
                        "The provider's addresses changed: paste the client secret again (it goes only where it went before).",
                    ))
                }
                None => return Err(invalid("client_secret", "Paste the app's client secret.")),
            }
        } else {
            if secret.len() > 4096 || secret.contains(|c: char| c.is_control() || c.is_whitespace()) {
                return Err(invalid(
                    "client_secret",
                    "A client secret is one word without spaces, at most 4096 characters.",
                ));
            }
            connectors.key().encrypt(secret.as_bytes())
        };
        (id, Some(sealed))
    } else {
        (String::new(), None)
    };
    let usage = console_connectors::usage(db.pool(), name).await?;
    if usage.tenants > 0 && !input.confirm {
        return Err(invalid("confirm", in_use_warning(&connector.display_name, usage)));
    }
    let row = ConsoleConnectorRow {
        name: name.clone(),
        origin: origin.to_owned(),
        definition,
        client_id,
        client_secret,
        updated_at: now,
        updated_by: actor.label().to_owned(),
    };
    let mut tx = db.pool().begin().await?;
    console_connectors::put(&mut *tx, &row).await?;
    let entry = audit::Entry {
        actor,
        action: AuditAction::ConnectorSaved,
        object_type: "connector",
        object_id: Some(name.clone()),
        detail: serde_json::json!({
            "origin": origin,
            "new": stored.is_none(),
            "secret_replaced": !input.client_secret.trim().is_empty(),
            "tenants": usage.tenants,
        }),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    reload(connectors, db, now, None).await;
    Ok(())
}

/// Reads the connectors again after a change that is committed: a failure is logged
/// (the next change or start reads them), not the change's.
async fn reload(connectors: &Connectors, db: &Db, now: DateTime<Utc>, removed: Option<&str>) {
    if let Err(e) = connectors.reload_forgetting(db, now, removed).await {
        tracing::error!("reading the connectors again after a change: {e}");
    }
}

/// What the console says before a change to a connector tenants use.
pub fn in_use_warning(display_name: &str, usage: Usage) -> String {
    let (tenants, verb) = if usage.tenants == 1 {
        ("1 tenant".to_owned(), "uses")
    } else {
        (format!("{} tenants", usage.tenants), "use")
    };
    let integrations = match usage.integrations {
        1 => "1 integration".to_owned(),
        n => format!("{n} integrations"),
    };
    format!(
        "{tenants} of {integrations} {verb} {display_name}: their next sign-ins, token refreshes and runs use what \
         you save. A new client id makes the stored tokens stop working, so each tenant connects again. Tick \
         the box to save anyway."
    )
}

/// Takes a console connector out of use: the catalogue's stays in the catalogue (and
/// a `HUB_CATALOGUE` entry of its name comes back); the admin's own is forgotten.
/// Refused while an integration names it.
pub async fn remove(
    db: &Db,
    connectors: &Connectors,
    actor: &Actor,
    name: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    // Checked and deleted in one write transaction: an integration cannot come to
    // name it in between.
    let mut tx = db.begin_write().await?;
    let row = console_connectors::get(&mut *tx, name).await?.ok_or(ServiceError::NotFound)?;
    let usage = console_connectors::usage(&mut *tx, name).await?;
    if usage.integrations > 0 {
        let integrations = if usage.integrations == 1 {
            "1 integration names".to_owned()
        } else {
            format!("{} integrations name", usage.integrations)
        };
        return Err(ServiceError::Conflict(format!(
            "{integrations} {name} ({} tenants): take it out of their connectors first.",
            usage.tenants
        )));
    }
    console_connectors::delete(&mut *tx, name).await?;
    let entry = audit::Entry {
        actor,
        action: AuditAction::ConnectorRemoved,
        object_type: "connector",
        object_id: Some(name.to_owned()),
        detail: serde_json::json!({ "origin": row.origin }),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    // A `HUB_CATALOGUE` entry of the name comes back; otherwise integrations can no
    // longer name it.
    reload(connectors, db, now, Some(name)).await;
    Ok(())
}
