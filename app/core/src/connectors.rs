//! Loading connector definitions from their folder at start, and the registry of
//! what was loaded (client secrets stay here, in memory, never in the database).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::db::{connectors as table, Db, DbError};
use crate::domain::connector::{Connector, ConnectorError};

/// A definition file that cannot be used: its path, and the line and column when the
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
}

/// The loaded connectors by name.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    pub connectors: BTreeMap<String, Loaded>,
}

#[derive(Clone, Debug)]
pub struct Loaded {
    pub connector: Connector,
    pub path: PathBuf,
    /// `${VAR}`s the environment did not set.
    pub missing_vars: Vec<String>,
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
        let (connector, missing_vars) = Connector::parse(&text, &env).map_err(|e| match e {
            ConnectorError::Syntax(y) => match (y.line, y.column) {
                (Some(line), Some(column)) => LoadError::At { path: show(&path), line, column, message: y.message },
                _ => LoadError::Invalid { path: show(&path), message: y.message },
            },
            ConnectorError::Invalid(message) => LoadError::Invalid { path: show(&path), message },
        })?;
        if let Some(other) = registry.connectors.get(&connector.name) {
            return Err(LoadError::Duplicate { path: show(&path), name: connector.name, other: show(&other.path) });
        }
        registry.connectors.insert(connector.name.clone(), Loaded { connector, path, missing_vars });
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
