//! The connectors a hub uses: definitions from its folder and the shipped catalogue's
//! that the operator names (`HUB_CATALOGUE`), read at start; those an admin enabled
//! or wrote in the console, read at start and again after each change; the registry
//! of what is loaded (client secrets are in memory in clear, in the database only
//! sealed); and the check of a connection's parameters.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};

use crate::db::console_connectors::{self, ConsoleConnectorRow};
use crate::db::{connectors as table, Db, DbError};
use crate::domain::connector::{fill, AuthKind, Connector, ConnectorError, Parameter};
use crate::secrets::SecretKey;

pub mod catalogue;

/// A definition that cannot be used: where it is, and the line and column when the
/// YAML parser found the fault.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error("{path}:{line}:{column}: {message}")]
    At { path: String, line: usize, column: usize, message: String },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("{path}: a connector named {name} is already defined in {other}")]
    Duplicate { path: String, name: String, other: String },
    #[error("HUB_CATALOGUE: the catalogue has no connector named {0}")]
    NotInCatalogue(String),
}

/// The loaded connectors by name.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    pub connectors: BTreeMap<String, Loaded>,
}

/// Where a loaded definition came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A file of the connectors folder.
    File(PathBuf),
    /// The shipped catalogue, named in `HUB_CATALOGUE`.
    Catalogue,
    /// The console: the catalogue's definition an admin enabled, or one they wrote
    /// (`custom`).
    Console { custom: bool },
}

impl Source {
    fn describe(&self) -> String {
        match self {
            Self::File(p) => p.display().to_string(),
            Self::Catalogue => "the catalogue".to_owned(),
            Self::Console { .. } => "the console".to_owned(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Loaded {
    pub connector: Connector,
    pub source: Source,
    /// `${VAR}`s the environment did not set.
    pub missing_vars: Vec<String>,
}

/// Parses a definition as [`Connector::parse`] does, and checks that its parameters'
/// patterns are regular expressions.
pub fn parse(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<(Connector, Vec<String>), ConnectorError> {
    let (connector, missing) = Connector::parse(text, env)?;
    for (i, p) in connector.parameters.iter().enumerate() {
        pattern(p).map_err(|m| ConnectorError::Invalid(format!("parameters[{i}].pattern: {m}")))?;
    }
    if let Some(o) = &connector.oauth2 {
        for (key, url) in [("authorize_url", &o.authorize_url), ("token_url", &o.token_url)] {
            check_authority(url, &connector).map_err(|m| ConnectorError::Invalid(format!("oauth2.{key}: {m}")))?;
        }
    }
    Ok((connector, missing))
}

/// A name in braces in a URL's host must be a parameter with a pattern that says what
/// it may be, and none may be in its user part: otherwise whoever connects could send
/// the token request, which carries the client secret, to a host of their own. The
/// URL is read by the parser that sends the request, each name replaced by a marker.
fn check_authority(template: &str, c: &Connector) -> Result<(), String> {
    // Only parameters may be named here (`Connector::parse` checked it).
    let marker = |i: usize| format!("hubvalue{i}x");
    let filled = fill(template, |name| c.parameters.iter().position(|p| p.name == name).map(marker))?;
    let url = url::Url::parse(&filled).map_err(|e| format!("{template:?} is not a URL ({e})"))?;
    let host = url.host_str().unwrap_or_default();
    for (i, p) in c.parameters.iter().enumerate() {
        let name = &p.name;
        if url.username().contains(&marker(i)) || url.password().is_some_and(|w| w.contains(&marker(i))) {
            return Err(format!("{{{name}}} cannot be in the URL's user part"));
        }
        if host.contains(&marker(i)) && p.pattern.is_none() {
            return Err(format!("{{{name}}} is in the host, so it needs a pattern that lists what it may be"));
        }
    }
    Ok(())
}

/// A parameter's pattern, matching whole values.
fn pattern(p: &Parameter) -> Result<Option<regex::Regex>, String> {
    p.pattern
        .as_deref()
        .map(|pat| {
            regex::RegexBuilder::new(&format!("^(?:{pat})$"))
                .size_limit(1 << 20)
                .build()
                .map_err(|e| e.to_string().lines().last().unwrap_or_default().trim().to_owned())
        })
        .transpose()
}

/// Checks the values given for a connector's parameters: each one present, in the
/// safe shape, matching its pattern. Returns them trimmed, or the first parameter
/// that is wrong with why.
pub fn check_parameters(
    c: &Connector,
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, (String, String)> {
    let mut values = BTreeMap::new();
    for p in &c.parameters {
        let value = given.get(&p.name).map(|v| v.trim()).unwrap_or_default();
        let wrong = |m: String| (p.name.clone(), m);
        p.check_shape(value).map_err(wrong)?;
        let matches = pattern(p).map_err(wrong)?.is_none_or(|re| re.is_match(value));
        if !matches {
            let example = if p.example.is_empty() { String::new() } else { format!(", like {}", p.example) };
            return Err(wrong(format!("{}: not a valid value{example}", p.label)));
        }
        values.insert(p.name.clone(), value.to_owned());
    }
    Ok(values)
}

/// Reads the definitions a hub uses: every `*.yaml` / `*.yml` file of `dir`, in name
/// order, then the catalogue's connectors named in `catalogue`. A name defined twice
/// is refused, unless a file overrides a catalogue entry.
pub fn load(dir: &Path, catalogue: &[String], env: impl Fn(&str) -> Option<String>) -> Result<Registry, LoadError> {
    let mut registry = load_dir(dir, &env)?;
    for name in catalogue {
        let text = catalogue::definition(name).ok_or_else(|| LoadError::NotInCatalogue(name.clone()))?;
        if registry.connectors.contains_key(name) {
            tracing::info!(connector = %name, "the connectors folder's definition is used, not the catalogue's");
            continue;
        }
        let (connector, missing_vars) = parse(text, &env)
            .map_err(|e| LoadError::Invalid { path: format!("the catalogue's {name}"), message: e.to_string() })?;
        registry
            .connectors
            .insert(connector.name.clone(), Loaded { connector, source: Source::Catalogue, missing_vars });
    }
    Ok(registry)
}

/// Reads every `*.yaml` / `*.yml` file of `dir`, in name order.
pub fn load_dir(dir: &Path, env: impl Fn(&str) -> Option<String>) -> Result<Registry, LoadError> {
    let show = |p: &Path| p.display().to_string();
    let entries = std::fs::read_dir(dir).map_err(|e| LoadError::Io { path: show(dir), message: e.to_string() })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    let mut registry = Registry::default();
    for path in files {
        let text =
            std::fs::read_to_string(&path).map_err(|e| LoadError::Io { path: show(&path), message: e.to_string() })?;
        let (connector, missing_vars) = parse(&text, &env).map_err(|e| match e {
            ConnectorError::Syntax(y) => match (y.line, y.column) {
                (Some(line), Some(column)) => LoadError::At { path: show(&path), line, column, message: y.message },
                _ => LoadError::Invalid { path: show(&path), message: y.message },
            },
            ConnectorError::Invalid(message) => LoadError::Invalid { path: show(&path), message },
        })?;
        if let Some(other) = registry.connectors.get(&connector.name) {
            return Err(LoadError::Duplicate {
                path: show(&path),
                name: connector.name,
                other: other.source.describe(),
            });
        }
        registry
            .connectors
            .insert(connector.name.clone(), Loaded { connector, source: Source::File(path), missing_vars });
    }
    Ok(registry)
}

impl Registry {
    /// Mirrors the definitions into the database so integrations can name them.
    pub async fn store(&self, db: &Db, now: DateTime<Utc>) -> Result<(), DbError> {
        let mut tx = db.pool().begin().await?;
        for loaded in self.connectors.values() {
            table::upsert(&mut *tx, &loaded.connector, &loaded.missing_vars, now).await?;
        }
        tx.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::connector::AuthKind;

    fn given(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn parameters_are_checked_against_their_pattern_and_shape() {
        let text = catalogue::definition("zoho").expect("zoho");
        let (zoho, _) = parse(text, |_| None).expect("valid");
        assert_eq!(check_parameters(&zoho, &given(&[("region", " eu ")])), Ok(given(&[("region", "eu")])));
        assert_eq!(check_parameters(&zoho, &given(&[("region", "com.au")])), Ok(given(&[("region", "com.au")])));
        for bad in ["de", "eu.evil", "com/x", ""] {
            let (name, message) = check_parameters(&zoho, &given(&[("region", bad)])).expect_err(bad);
            assert_eq!(name, "region");
            assert!(message.starts_with("Zoho data center: "), "{message}");
        }
        let (name, _) = check_parameters(&zoho, &BTreeMap::new()).expect_err("missing");
        assert_eq!(name, "region");

        let broken = text.replace(r"com|eu|in", "com|(eu");
        let e = parse(&broken, |_| None).expect_err("unclosed group").to_string();
        assert!(e.starts_with("parameters[0].pattern: ") && e.contains("unclosed"), "{e}");
    }

    #[test]
    fn a_parameter_in_a_host_needs_a_pattern() {
        let text = |url: &str, pattern: &str| {
            format!("name: k\ndisplay_name: K\nauth: oauth2\nparameters: [{{ name: shop, label: Shop{pattern} }}]\noauth2:\n  authorize_url: https://login.example/authorize\n  token_url: {url}\n")
        };
        for (url, needle) in [
            ("https://{shop}.shop.example/token", "is in the host"),
            ("https://{shop}/token", "is in the host"),
            ("https://api.{shop}/token", "is in the host"),
            ("https:///{shop}/token", "is in the host"),
            ("https://{shop}.co.uk/token", "is in the host"),
            ("https://{shop}@login.example/token", "user part"),
            ("https://login.example:{shop}/token", "is not a URL"),
        ] {
            let e = parse(&text(url, ""), |_| None).expect_err(url).to_string();
            assert!(e.starts_with("oauth2.token_url: ") && e.contains(needle), "{url}: {e}");
        }
        for url in
            ["https://{shop}.shop.example/token", "https://{shop}/token", "https://{shop}.shop.example:8443/token"]
        {
            assert!(parse(&text(url, ", pattern: 'eu|us'"), |_| None).is_ok(), "{url} with a pattern");
        }
        assert!(parse(&text("https://login.example/{shop}/token", ""), |_| None).is_ok(), "in the path");
    }

    #[test]
    fn every_catalogue_definition_loads_and_says_how_to_use_it() {
        let all = catalogue::all();
        assert!(all.len() >= 35, "{}", all.len());
        let mut oauth2 = 0;
        for (name, text) in all {
            let (c, missing) = parse(text, |_| None).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(&c.name, name, "the file is named after its connector");
            assert!(!c.category.is_empty() && !c.info.is_empty(), "{name}: a category and a description");
            if c.auth == AuthKind::Oauth2 {
                oauth2 += 1;
                let var = name.to_uppercase();
                assert_eq!(missing, vec![format!("{var}_CLIENT_ID"), format!("{var}_CLIENT_SECRET")], "{name}");
                assert!(c.info.contains(&format!("{var}_CLIENT_ID")), "{name}: the description names its variables");
                assert!(
                    !c.register_url.is_empty() && !c.docs_url.is_empty(),
                    "{name}: where to register, and the docs"
                );
            } else {
                assert!(missing.is_empty(), "{name}");
            }
            // The names in braces are all known: a connection with every value gets
            // a base URL.
            let values: BTreeMap<String, String> = c
                .parameters
                .iter()
                .map(|p| p.name.clone())
                .chain(c.oauth2.iter().flat_map(|o| o.token_fields.iter().chain(&o.callback_fields).cloned()))
                .chain(c.fields.iter().map(|f| f.name.clone()))
                .map(|n| {
                    // A value that starts the URL is a provider's address; any other, a word.
                    let leading = c.api_base_url.starts_with(&format!("{{{n}}}"));
                    let value = if leading { "https://v.example" } else { "v" };
                    (n, value.to_owned())
                })
                .collect();
            assert_eq!(c.api_base_url_for(&values).is_some(), !c.api_base_url.is_empty(), "{name}");
            for p in &c.parameters {
                assert!(!p.example.is_empty(), "{name}: {} has an example", p.name);
                assert_eq!(check_parameters(&c, &given(&[(&p.name, &p.example)])).map(drop), Ok(()), "{name}");
            }
        }
        assert!(oauth2 >= 30, "{oauth2}");
        assert_eq!(catalogue::definition("nope"), None);
    }

    #[test]
    fn the_catalogue_connectors_named_are_loaded_beside_the_folders() {
        let dir = std::env::temp_dir().join(format!("hub-catalogue-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(
            dir.join("stripe.yaml"),
            "name: stripe\ndisplay_name: Our Stripe\nauth: api_key\nfields: [{ name: k, label: K }]\n",
        )
        .expect("write");
        let env = |k: &str| (k == "SHOPIFY_CLIENT_ID").then(|| "id".to_owned());
        let names = ["shopify".to_owned(), "stripe".to_owned()];
        let registry = load(&dir, &names, env).expect("loaded");
        let shopify = &registry.connectors["shopify"];
        assert_eq!(
            (shopify.source.clone(), shopify.missing_vars.clone()),
            (Source::Catalogue, vec!["SHOPIFY_CLIENT_SECRET".to_owned()])
        );
        assert_eq!(registry.connectors["stripe"].connector.display_name, "Our Stripe", "the folder's file wins");
        assert!(matches!(registry.connectors["stripe"].source, Source::File(_)));
        let e = load(&dir, &["nope".to_owned()], |_| None).expect_err("unknown");
        assert_eq!(e.to_string(), "HUB_CATALOGUE: the catalogue has no connector named nope");
        std::fs::remove_dir_all(&dir).expect("clean");
    }
}

/// The connectors in use. What was read at start stays; the console's connectors are
/// read from the database again after each change ([`Connectors::reload`]), and the
/// registry is replaced whole, so a request or a run holds one consistent registry.
#[derive(Clone)]
pub struct Connectors {
    start: Arc<Registry>,
    current: Arc<RwLock<Arc<Registry>>>,
    key: Arc<SecretKey>,
    /// Reloads take turns, so the last to finish read the last change.
    reloading: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for Connectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connectors").field("names", &self.current().connectors.keys()).finish_non_exhaustive()
    }
}

impl From<Registry> for Connectors {
    /// Connectors that stay as given until a reload (tests, tools).
    fn from(registry: Registry) -> Self {
        Self::new(registry, Arc::new(SecretKey::generate()))
    }
}

impl Connectors {
    /// `start`: what the folder and `HUB_CATALOGUE` hold; `key` unseals the console's
    /// client secrets.
    pub fn new(start: Registry, key: Arc<SecretKey>) -> Self {
        let start = Arc::new(start);
        Self { current: Arc::new(RwLock::new(start.clone())), start, key, reloading: Arc::default() }
    }

    /// Seals and unseals the console's client secrets.
    pub fn key(&self) -> &SecretKey {
        &self.key
    }

    /// The definition of `name` in use now, client secret included.
    pub fn definition(&self, name: &str) -> Option<Connector> {
        self.current().connectors.get(name).map(|l| l.connector.clone())
    }

    /// The registry as it is now.
    pub fn current(&self) -> Arc<Registry> {
        self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Reads the console's connectors, mirrors every loaded definition into the
    /// database, and makes the result current. A console connector takes the place
    /// of a `HUB_CATALOGUE` one of its name, never of a file's. One that cannot be
    /// used (a secret sealed under another key) is left out and logged; the console
    /// shows why ([`console_definition`]).
    pub async fn reload(&self, db: &Db, now: DateTime<Utc>) -> Result<(), DbError> {
        self.reload_forgetting(db, now, None).await
    }

    /// Reloads as [`Connectors::reload`] does, then forgets the mirror row of
    /// `removed` when nothing loads or names it. Under the reloads' turn, so a reload
    /// that read the console's rows before the removal cannot write the row back after.
    pub async fn reload_forgetting(&self, db: &Db, now: DateTime<Utc>, removed: Option<&str>) -> Result<(), DbError> {
        let _turn = self.reloading.lock().await;
        let rows = console_connectors::all(db.pool()).await?;
        let mut next = Registry::clone(&self.start);
        for row in rows {
            if matches!(next.connectors.get(&row.name), Some(Loaded { source: Source::File(_), .. })) {
                tracing::warn!(connector = %row.name, "the connectors folder's definition is used, not the console's");
                continue;
            }
            match console_definition(&row, &self.key) {
                Ok(connector) => {
                    let source = Source::Console { custom: row.origin == ORIGIN_CUSTOM };
                    next.connectors.insert(row.name.clone(), Loaded { connector, source, missing_vars: Vec::new() });
                }
                Err(message) => tracing::error!(connector = %row.name, "cannot use the console's connector: {message}"),
            }
        }
        next.store(db, now).await?;
        if let Some(name) = removed.filter(|n| !next.connectors.contains_key(*n)) {
            table::delete_unused(db.pool(), name).await?;
        }
        *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(next);
        Ok(())
    }
}

/// A console connector's `origin`: the catalogue's definition of its name.
pub const ORIGIN_CATALOGUE: &str = "catalogue";
/// A console connector's `origin`: the admin's own YAML.
pub const ORIGIN_CUSTOM: &str = "custom";

/// Parses a definition written in the console. It cannot name the hub's environment
/// (`${VAR}`), which is the operator's, nor hold the client id or secret, which the
/// console asks for in fields of their own (the secret to seal it).
pub fn parse_custom(text: &str) -> Result<Connector, ConnectorError> {
    let (connector, missing) = parse(text, |_| None)?;
    if let Some(name) = missing.first() {
        return Err(ConnectorError::Invalid(format!(
            "${{{name}}}: a definition written in the console cannot read the hub's environment; \
             give the client id and secret in their fields"
        )));
    }
    if let Some(o) = &connector.oauth2 {
        for (key, value) in [("client_id", &o.client_id), ("client_secret", &o.client_secret)] {
            if !value.is_empty() {
                return Err(ConnectorError::Invalid(format!(
                    "oauth2.{key}: leave it out; the form has a field for it (a secret is sealed there)"
                )));
            }
        }
    }
    Ok(connector)
}

/// The definition a console row stands for, with its client id and unsealed secret.
pub fn console_definition(row: &ConsoleConnectorRow, key: &SecretKey) -> Result<Connector, String> {
    let mut connector = if row.origin == ORIGIN_CUSTOM {
        parse_custom(&row.definition).map_err(|e| e.to_string())?
    } else {
        catalogue::connector(&row.name).ok_or("the catalogue no longer has this connector")?
    };
    if let Some(o) = connector.oauth2.as_mut().filter(|_| connector.auth == AuthKind::Oauth2) {
        o.client_id.clone_from(&row.client_id);
        o.client_secret = match &row.client_secret {
            Some(sealed) => {
                let clear = key.decrypt(sealed).map_err(|_| "its client secret was sealed under another hub key")?;
                String::from_utf8(clear).map_err(|_| "its client secret is not text")?
            }
            None => String::new(),
        };
    }
    Ok(connector)
}
