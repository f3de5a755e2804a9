//! The only place with SQL: the pool, migrations, and one module per table group.
//! Row types derive `FromRow` only; what leaves the backend is mapped by the caller.

pub mod api_keys;
pub mod audit;
pub mod connections;
pub mod connectors;
pub mod console_connectors;
pub mod inbound_hooks;
pub mod integrations;
pub mod invitations;
pub mod mail;
pub mod oauth_states;
pub mod orgs;
pub mod push_deliveries;
pub mod releases;
pub mod retention;
pub mod run_leases;
pub mod run_logs;
pub mod run_retries;
pub mod run_triggers;
pub mod runs;
pub mod sessions;
pub mod tenant_list;
pub mod tenants;
pub mod users;
pub mod webhooks;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

pub use integrations::IntegrationRow;
pub use releases::ReleaseRow;
pub use sqlx::Error as DbError;

/// The file name of the database inside the data directory.
pub const DB_FILE: &str = "hub.sqlite3";

/// The one pool every request shares.
#[derive(Clone, Debug)]
pub struct Db {
    pool: SqlitePool,
    /// How the pool's connections were opened, for a connection of one's own
    /// (shared: a request clones the `Db`, and the options hold maps).
    options: std::sync::Arc<SqliteConnectOptions>,
    /// Raised when a committed transaction left webhook events to deliver.
    outbox: crate::worker::Signal,
}

impl Db {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self, DbError> {
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // Reads go through memory-mapped pages instead of a read() call per page,
            // and each connection keeps 16 MB of pages: a scan of the tenants index is
            // then memory-speed.
            .pragma("mmap_size", "268435456")
            .pragma("cache_size", "-16000");
        Self::connect(options, 8).await
    }

    async fn connect(options: SqliteConnectOptions, max: u32) -> Result<Self, DbError> {
        // No ping when a connection is taken from the pool: a SQLite connection is a
        // thread in this process, not a socket that can hang up, and the ping is a
        // round trip to that thread before every query. (The pool still pings on
        // return, which flushes what a cancelled query left.)
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .min_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool, options: options.into(), outbox: crate::worker::Signal::default() })
    }

    /// A transaction that holds the write lock from its start. One that reads and then
    /// writes needs it: a plain (deferred) one that read before another writer
    /// committed fails at its first write with SQLITE_BUSY_SNAPSHOT, without waiting.
    pub async fn begin_write(&self) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// A connection of the caller's own, outside the pool, for one who writes often
    /// and in turn (the run engine): a statement on it is one round trip to its
    /// thread, where the pool adds a check of the connection on every return.
    /// Not for the in-memory database, which a second connection would not see.
    pub async fn connection(&self) -> Result<sqlx::SqliteConnection, DbError> {
        sqlx::ConnectOptions::connect(&*self.options).await
    }

    /// Tells the webhook deliverer that a committed transaction may have emitted
    /// events (see `outbox::emit`).
    pub fn outbox_written(&self) {
        self.outbox.raise();
    }

    /// What the webhook deliverer waits on.
    pub fn outbox_signal(&self) -> &crate::worker::Signal {
        &self.outbox
    }

    /// True when a trivial query succeeds; used by the health check.
    pub async fn is_reachable(&self) -> bool {
        sqlx::query_scalar::<_, i64>("SELECT 1").fetch_one(&self.pool).await.is_ok()
    }
}
