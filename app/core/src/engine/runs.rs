//! The run engine: the scheduler turns due schedules into triggers, the dispatcher
//! turns each tenant's waiting triggers into at most one run at a time, and the
//! executor runs it as a real process and records everything it does; recovery puts
//! right what a stop of the hub left running.
//!
//! The engine is a [`Worker`]: each step takes `now`, and what happens later in a run
//! reads the engine's [`Clock`], never the system clock.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use super::builder::Builder;
use super::dispatcher::ReleaseInfo;
use super::sandbox::Sandbox;
use crate::connectors::Connectors;
use crate::db::{run_leases, run_retries, Db, DbError};
use crate::domain::fair_use::FairUse;
use crate::egress::Egress;
use crate::secrets::SecretKey;
use crate::worker::{Clock, Signal, Step, Worker, MAX_SLEEP};

/// How the engine behaves; the hub reads these from its configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Runs at the same time across all tenants.
    pub max_concurrent: usize,
    /// The time limit of a run when its integration sets none.
    pub default_timeout: Duration,
    /// The most log a run keeps.
    pub log_cap: usize,
    /// `PAN_CTX_ENV`: the name of this hub's environment.
    pub env_name: String,
    /// How long a running run is owned without a renewal (see [`LEASE`]).
    pub lease: Duration,
    /// How many times a run the platform failed is tried again.
    pub retries: u32,
    /// The wait before the first retry; each later one waits twice as long.
    pub retry_after: Duration,
    /// Which token endpoints a refresh may call.
    pub egress: Egress,
    /// How often users, organizations and webhook senders may ask for work.
    pub fair_use: FairUse,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_concurrent: 8,
            default_timeout: Duration::from_secs(600),
            log_cap: super::output::LOG_CAP,
            env_name: "production".to_owned(),
            lease: LEASE,
            retries: 2,
            retry_after: Duration::from_secs(30),
            egress: Egress::strict(),
            fair_use: FairUse::default(),
        }
    }
}

/// Where a run sees its own files (the metadata file, large context values, webhook
/// bodies).
pub const RUN_FILES: &str = "/hub";

/// The largest context or configuration value passed inline in the environment
/// (Linux refuses any one variable over 128 KiB). A larger one is only in the file
/// named by `<NAME>_FILE`.
pub const INLINE_MAX: usize = 32 * 1024;

/// How long a running run is owned without a renewal, unless the settings say
/// otherwise. Its executor renews it (three times a lease) while the program runs; a
/// run whose lease lapses is failed as a platform issue.
pub const LEASE: Duration = Duration::from_secs(60);

/// The largest metadata file the hub reads back.
pub const METADATA_MAX: u64 = 1024 * 1024;

/// One of the engine's connections, held.
pub(super) type Held<'a> = tokio::sync::MappedMutexGuard<'a, sqlx::SqliteConnection>;

/// How many connections the engine reads on.
const READERS: usize = 4;

/// The connection in `slot`, opened if it was not yet.
async fn opened<'a>(
    db: &Db,
    mut slot: tokio::sync::MutexGuard<'a, Option<sqlx::SqliteConnection>>,
) -> Result<Held<'a>, DbError> {
    if slot.is_none() {
        *slot = Some(db.connection().await?);
    }
    tokio::sync::MutexGuard::try_map(slot, Option::as_mut)
        .map_err(|_| DbError::Protocol("the engine's connection is missing".to_owned()))
}

#[derive(Clone)]
pub struct Engine {
    pub(super) inner: Arc<Inner>,
    /// Where this handle (and the runs it starts) reads the time.
    clock: Clock,
}

pub(super) struct Inner {
    pub db: Db,
    pub key: Arc<SecretKey>,
    pub registry: Connectors,
    pub public_url: String,
    pub releases_dir: PathBuf,
    pub work_dir: PathBuf,
    pub settings: Settings,
    pub sandbox: Arc<Sandbox>,
    pub slots: Arc<Semaphore>,
    pub signal: Signal,
    /// The engine's writes take turns here rather than in SQLite's busy handler,
    /// which sleeps whole milliseconds between tries, on a connection the engine
    /// holds (opened at its first write; see [`Engine::writer`]).
    pub writes: tokio::sync::Mutex<Option<sqlx::SqliteConnection>>,
    /// The engine's connections for reading (see [`Engine::reader`]).
    pub readers: Vec<tokio::sync::Mutex<Option<sqlx::SqliteConnection>>>,
    /// Which reader the next read waits for when none is free.
    pub next_reader: std::sync::atomic::AtomicUsize,
    /// Set by `wake`: the schedule may have changed, so the scheduler must look even
    /// before its next known fire time. A run ending only frees a slot.
    pub schedule_changed: AtomicBool,
    /// When the scheduler last read the schedule, and the next fire time it found.
    pub schedule: std::sync::Mutex<Looked>,
    /// The tasks of runs that were started and may still be going.
    pub going: std::sync::Mutex<Vec<JoinHandle<()>>>,
    /// Writes of runs waiting for the next turn (see `Engine::write`).
    pub pending: std::sync::Mutex<Vec<super::batch::Pending>>,
    /// Ready tenants read ahead, in their fair order (see `Engine::next_ready`).
    pub ready: std::sync::Mutex<Ahead>,
    /// Finished releases never change (see the builder), so what a run needs of one
    /// is read once.
    pub releases: std::sync::Mutex<HashMap<i64, Arc<ReleaseInfo>>>,
}

/// Ready tenants the dispatcher read beyond the free slots, and when.
#[derive(Debug, Default)]
pub(super) struct Ahead {
    pub at: Option<DateTime<Utc>>,
    pub tenants: std::collections::VecDeque<i64>,
}

/// What the scheduler last found.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Looked {
    pub at: Option<DateTime<Utc>>,
    pub next: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("settings", &self.inner.settings).finish_non_exhaustive()
    }
}

impl Engine {
    /// Runs what `builder` built (its checkouts, in its sandbox); runs keep their own
    /// files (the metadata file, large values, webhook bodies) under `data_dir/runs`.
    pub fn new(
        db: Db,
        key: Arc<SecretKey>,
        registry: Connectors,
        public_url: &str,
        data_dir: &Path,
        builder: &Builder,
        settings: Settings,
    ) -> Self {
        let data_dir = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
        let slots = Arc::new(Semaphore::new(settings.max_concurrent.max(1)));
        Self {
            inner: Arc::new(Inner {
                db,
                key,
                registry,
                public_url: public_url.to_owned(),
                releases_dir: builder.releases_dir().to_path_buf(),
                work_dir: data_dir.join("runs"),
                settings,
                sandbox: builder.sandbox().clone(),
                slots,
                signal: Signal::default(),
                writes: tokio::sync::Mutex::new(None),
                readers: (0..READERS).map(|_| tokio::sync::Mutex::new(None)).collect(),
                next_reader: std::sync::atomic::AtomicUsize::new(0),
                schedule_changed: AtomicBool::new(true),
                schedule: std::sync::Mutex::new(Looked::default()),
                going: std::sync::Mutex::new(Vec::new()),
                ready: std::sync::Mutex::new(Ahead::default()),
                pending: std::sync::Mutex::new(Vec::new()),
                releases: std::sync::Mutex::new(HashMap::new()),
            }),
            clock: Clock::system(),
        }
    }

    /// The same engine reading the time from `clock` (the hub's is the system clock);
    /// the runs it starts read it too.
    pub fn with_clock(self, clock: Clock) -> Self {
        Self { clock, ..self }
    }

    pub(super) fn pool(&self) -> &sqlx::SqlitePool {
        self.inner.db.pool()
    }

    /// The engine's turn to write, on its own connection: held until the guard is
    /// dropped. A transaction on it that is dropped unfinished rolls back before the
    /// next statement.
    pub(super) async fn writer(&self) -> Result<Held<'_>, DbError> {
        opened(&self.inner.db, self.inner.writes.lock().await).await
    }

    /// One of the engine's own connections for reading: a free one, else the next in
    /// turn. A read through the pool costs a second round trip to the connection's
    /// thread (the pool's check when the connection comes back).
    pub(super) async fn reader(&self) -> Result<Held<'_>, DbError> {
        let readers = &self.inner.readers;
        let free = readers.iter().find_map(|r| r.try_lock().ok());
        let turn = match free {
            Some(turn) => turn,
            None => {
                let i = self.inner.next_reader.fetch_add(1, Ordering::Relaxed) % readers.len().max(1);
                match readers.get(i) {
                    Some(r) => r.lock().await,
                    None => return Err(DbError::Protocol("the engine has no reader".to_owned())),
                }
            }
        };
        opened(&self.inner.db, turn).await
    }

    /// The time, from the engine's clock.
    pub(super) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The fair-use limits in force.
    pub fn fair_use(&self) -> FairUse {
        self.inner.settings.fair_use
    }

    /// The hub key the engine unseals credentials with.
    pub fn key(&self) -> &SecretKey {
        &self.inner.key
    }

    /// Tells the loop to look again: a trigger arrived or a schedule changed.
    pub fn wake(&self) {
        self.forget_ready();
        self.inner.schedule_changed.store(true, Ordering::Release);
        self.inner.signal.raise();
    }

    /// Tells the loop that a slot is free: only the dispatcher needs to look again.
    pub(super) fn slot_freed(&self) {
        self.inner.signal.raise();
    }

    /// Keeps an inbound webhook's body in a file under `data_dir/webhooks` and returns
    /// the payload of the `webhook` trigger that hands it to the tenant's next run
    /// (`payload_file`, with the content type and size).
    pub async fn keep_webhook_body(&self, body: &[u8], content_type: Option<&str>) -> std::io::Result<Value> {
        let dir = self.webhooks_dir();
        let file = dir.join(format!("{}.body", crate::secrets::random_token()));
        tokio::fs::create_dir_all(&dir).await?;
        tokio::fs::write(&file, body).await?;
        Ok(json!({ "payload_file": file.to_string_lossy(), "content_type": content_type, "size": body.len() }))
    }

    /// Removes a kept body whose trigger could not be stored.
    pub async fn forget_webhook_body(&self, payload: &Value) {
        if let Some(file) = payload["payload_file"].as_str() {
            let _ = tokio::fs::remove_file(file).await;
        }
    }

    /// Where inbound webhook bodies are kept, beside the runs' own files.
    pub fn webhooks_dir(&self) -> PathBuf {
        self.inner.work_dir.with_file_name("webhooks")
    }
}

impl Worker for Engine {
    const NAME: &'static str = "run engine";

    /// Recovers what a stop left running, and starts the runs that were queued.
    async fn start(&self, now: DateTime<Utc>) -> Result<(), DbError> {
        for id in self.recover(now).await? {
            if let Ok(permit) = self.inner.slots.clone().acquire_owned().await {
                let task = self.spawn_run(id, permit);
                self.keep_going(vec![task]);
            }
        }
        Ok(())
    }

    /// Fires due schedules (when the schedule may have changed, a fire time has come,
    /// or it was not read for [`MAX_SLEEP`]), fails runs whose lease lapsed, then starts
    /// what the free slots allow (due retries first). The next step is due at the next
    /// fire time, the first lease end or the first retry, whichever comes first.
    /// A run that ends raises the signal, for the tenant's waiting triggers.
    async fn step(&self, now: DateTime<Utc>) -> Result<Step, DbError> {
        let looked = self.inner.schedule.lock().map(|l| *l).unwrap_or_default();
        let changed = self.inner.schedule_changed.swap(false, Ordering::AcqRel);
        let stale = looked.at.is_none_or(|at| (now - at).to_std().is_ok_and(|d| d >= MAX_SLEEP));
        let mut next = looked.next;
        if changed || stale || next.is_some_and(|at| at <= now) {
            next = match self.fire_due(now).await {
                Ok(next) => next,
                Err(e) => {
                    self.inner.schedule_changed.store(true, Ordering::Release);
                    return Err(e);
                }
            };
            if let Ok(mut l) = self.inner.schedule.lock() {
                *l = Looked { at: Some(now), next };
            }
        }
        // Runs whose lease lapsed (a hub that stopped or hung) are failed before the
        // dispatcher looks, so their tenants can run again.
        self.sweep(now).await?;
        let started = self.dispatch(now).await?;
        self.keep_going(started);
        let lease_end = run_leases::next_lease_end(&mut *self.reader().await?).await?;
        let retry = run_retries::next_retry(&mut *self.reader().await?).await?;
        Ok(Step::idle([next, lease_end, retry].into_iter().flatten().min()))
    }

    fn signal(&self) -> &Signal {
        &self.inner.signal
    }

    /// Waits for the runs started so far to end.
    async fn settle(&self) -> bool {
        let going = self.inner.going.lock().map(|mut g| std::mem::take(&mut *g)).unwrap_or_default();
        let any = !going.is_empty();
        for task in going {
            let _ = task.await;
        }
        any
    }
}

impl Engine {
    /// Keeps the tasks of started runs, for `settle`; those that ended are let go.
    fn keep_going(&self, started: Vec<JoinHandle<()>>) {
        if let Ok(mut going) = self.inner.going.lock() {
            going.retain(|t| !t.is_finished());
            going.extend(started);
        }
    }
}
