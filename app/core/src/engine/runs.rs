//! The run engine: the scheduler turns due schedules into triggers, the dispatcher
//! turns each tenant's waiting triggers into at most one run at a time, and the
//! executor runs it as a real process and records everything it does.
//!
//! Every step is a method that takes `now` where time matters, so tests drive the
//! engine without sleeping; [`Engine::run`] is the background loop that calls them.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use tokio::sync::{Notify, Semaphore};

use super::builder::{Builder, CHECKOUT};
use super::files::{self, ReadError};
use super::output::{self, Log, Tail};
use super::process::{self, Stream, SHELL};
use super::sandbox::{Job, Mount, Sandbox};
use crate::connectors::Registry;
use crate::db::{releases, runs, tenants, Db, DbError};
use crate::domain::connector::AuthKind;
use crate::domain::run::{self, Mode, Phase, TriggerKind, Waiting};
use crate::domain::tenant::Schedule;
use crate::oauth::ready_credentials;
use crate::outbox;
use crate::secrets::SecretKey;

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
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_concurrent: 8,
            default_timeout: Duration::from_secs(600),
            log_cap: super::output::LOG_CAP,
            env_name: "production".to_owned(),
        }
    }
}

/// How many due tenants the scheduler fires in one transaction.
const FIRE_BATCH: i64 = 500;

/// How often a running program's log is written to the database.
const FLUSH_EVERY: Duration = Duration::from_millis(250);

/// How much log is held before it is written, however soon.
const FLUSH_SIZE: usize = 256 * 1024;

/// How long the output of a program that has exited may keep coming (from children it
/// left behind) before its process group is killed.
const DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// Where a run sees its own files (the metadata file, large context values, webhook
/// bodies).
pub const RUN_FILES: &str = "/hub";

/// The largest context or configuration value passed inline in the environment
/// (Linux refuses any one variable over 128 KiB). A larger one is only in the file
/// named by `<NAME>_FILE`.
pub const INLINE_MAX: usize = 32 * 1024;

/// The largest metadata file the hub reads back.
pub const METADATA_MAX: u64 = 1024 * 1024;

/// The longest the loop sleeps without looking at the schedule again.
const MAX_SLEEP: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    key: Arc<SecretKey>,
    registry: Arc<Registry>,
    public_url: String,
    releases_dir: PathBuf,
    work_dir: PathBuf,
    settings: Settings,
    sandbox: Arc<Sandbox>,
    slots: Arc<Semaphore>,
    wake: Notify,
    /// The engine's writes take turns here rather than in SQLite's busy handler,
    /// which sleeps whole milliseconds between tries.
    writes: tokio::sync::Mutex<()>,
    /// Set by `wake`: the schedule may have changed, so the scheduler must look even
    /// before its next known fire time. A run ending only frees a slot.
    schedule_changed: std::sync::atomic::AtomicBool,
    /// Finished releases never change (see the builder), so what a run needs of one
    /// is read once.
    releases: std::sync::Mutex<HashMap<i64, Arc<ReleaseInfo>>>,
}

/// A run to make for one tenant: what its waiting triggers and its release say.
struct Plan {
    tenant_id: i64,
    integration_id: i64,
    release_id: Option<i64>,
    mode: Mode,
    scheduled: bool,
    triggers: Vec<i64>,
    archived: bool,
}

/// What a run needs of its release.
struct ReleaseInfo {
    id: i64,
    name: String,
    run_command: Option<String>,
    manifest: Option<String>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("settings", &self.inner.settings).finish_non_exhaustive()
    }
}

/// A run's process environment: names and values, and the secret values among them.
struct Environment {
    vars: Vec<(String, String)>,
    secrets: Vec<String>,
}

impl Engine {
    /// Runs what `builder` built (its checkouts, in its sandbox); runs keep their own
    /// files (the metadata file, large values, webhook bodies) under `data_dir/runs`.
    pub fn new(
        db: Db,
        key: Arc<SecretKey>,
        registry: Arc<Registry>,
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
                wake: Notify::new(),
                writes: tokio::sync::Mutex::new(()),
                schedule_changed: std::sync::atomic::AtomicBool::new(true),
                releases: std::sync::Mutex::new(HashMap::new()),
            }),
        }
    }

    fn pool(&self) -> &sqlx::SqlitePool {
        self.inner.db.pool()
    }

    /// Tells the loop to look again: a trigger arrived or a schedule changed.
    pub fn wake(&self) {
        self.inner.schedule_changed.store(true, std::sync::atomic::Ordering::Release);
        self.inner.wake.notify_one();
    }

    /// Tells the loop that a slot is free: only the dispatcher needs to look again.
    fn slot_freed(&self) {
        self.inner.wake.notify_one();
    }

    /// Adds a trigger for a tenant's next run (the Run buttons, the API, webhooks);
    /// it is bundled with others that wait. Returns the trigger's id.
    pub async fn trigger(
        &self,
        tenant_id: i64,
        kind: TriggerKind,
        mode: Mode,
        payload: Option<&Value>,
        created_by: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<i64, DbError> {
        let payload = payload.map(Value::to_string);
        let id = runs::insert_trigger(self.pool(), tenant_id, kind, mode, payload.as_deref(), created_by, now).await?;
        self.wake();
        Ok(id)
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

    /// An inbound webhook without an audit entry: the body kept and a `webhook`
    /// trigger made. Returns the trigger's id. (The hub's front door is
    /// `service::runs::webhook`.)
    pub async fn webhook(
        &self,
        tenant_id: i64,
        body: &[u8],
        content_type: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<i64, DbError> {
        let payload = self.keep_webhook_body(body, content_type).await.map_err(DbError::Io)?;
        let made = self.trigger(tenant_id, TriggerKind::Webhook, Mode::Webhook, Some(&payload), Some("webhook"), now);
        match made.await {
            Ok(id) => Ok(id),
            Err(e) => {
                self.forget_webhook_body(&payload).await;
                Err(e)
            }
        }
    }

    /// Where inbound webhook bodies are kept, beside the runs' own files.
    fn webhooks_dir(&self) -> PathBuf {
        self.inner.work_dir.with_file_name("webhooks")
    }

    /// Fires every tenant whose next fire time has come by `now`: one scheduled
    /// trigger each, however many slots were missed, and the next fire time after
    /// `now`. A tenant with a run going gets its trigger bundled into the next run,
    /// and a `skipped` entry in its history. Returns the earliest next fire time.
    pub async fn fire_due(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, DbError> {
        loop {
            let due = runs::due(self.pool(), now, FIRE_BATCH).await?;
            if due.is_empty() {
                break;
            }
            let _turn = self.inner.writes.lock().await;
            let mut tx = self.pool().begin().await?;
            for d in &due {
                let schedule = Schedule::from_parts(&d.schedule_kind, &d.schedule, &d.timezone);
                let next = schedule.as_ref().and_then(|s| s.next_after(now, d.id));
                if !runs::advance(&mut *tx, d.id, d.next_fire_at, next).await? {
                    continue;
                }
                if runs::has_active(&mut *tx, d.id).await? {
                    let reason = format!(
                        "The slot of {} came while the previous run was still going; it runs with the next run.",
                        d.next_fire_at.format("%Y-%m-%d %H:%M UTC")
                    );
                    runs::insert_skipped(&mut *tx, d.id, d.integration_id, &reason, now).await?;
                }
                let payload = json!({ "slot": d.next_fire_at }).to_string();
                runs::insert_trigger(&mut *tx, d.id, TriggerKind::Schedule, Mode::Normal, Some(&payload), None, now)
                    .await?;
            }
            tx.commit().await?;
            if (due.len() as i64) < FIRE_BATCH {
                break;
            }
        }
        runs::next_wake(self.pool()).await
    }

    /// Makes runs for tenants with waiting triggers and no active run, as many as
    /// there are free slots, and starts them. Returns the started runs' tasks.
    pub async fn dispatch(&self, now: DateTime<Utc>) -> Result<Vec<tokio::task::JoinHandle<()>>, DbError> {
        let mut started = Vec::new();
        loop {
            let free = self.inner.slots.available_permits();
            if free == 0 {
                break;
            }
            let ready = runs::ready_tenants(self.pool(), free as i64).await?;
            if ready.is_empty() {
                break;
            }
            let mut permits = Vec::with_capacity(ready.len());
            while permits.len() < ready.len() {
                match self.inner.slots.clone().try_acquire_owned() {
                    Ok(p) => permits.push(p),
                    Err(_) => break,
                }
            }
            let made = self.make_runs(&ready[..permits.len()], now).await?;
            if made.is_empty() {
                break;
            }
            for (run_id, permit) in made.into_iter().zip(permits) {
                started.push(self.spawn_run(run_id, permit));
            }
        }
        Ok(started)
    }

    /// Executes a run in the background, holding one of the slots until it ends, then
    /// wakes the loop (triggers may be waiting for this tenant).
    fn spawn_run(&self, run_id: i64, permit: tokio::sync::OwnedSemaphorePermit) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        tokio::spawn(async move {
            engine.execute(run_id).await;
            drop(permit);
            engine.slot_freed();
        })
    }

    /// Makes the next run of each tenant from its waiting triggers, all in one
    /// transaction (each in a savepoint of its own, so one tenant that lost a race
    /// leaves the others' runs made). Returns the runs to start, in order.
    async fn make_runs(&self, tenant_ids: &[i64], now: DateTime<Utc>) -> Result<Vec<i64>, DbError> {
        // Reads first, outside the turn for writes. Tenants on the same release choice
        // share one resolution.
        let mut plans = Vec::with_capacity(tenant_ids.len());
        let mut resolved: HashMap<(i64, String, Option<i64>), Option<i64>> = HashMap::new();
        for &tenant_id in tenant_ids {
            let waiting: Vec<Waiting> = runs::waiting(self.pool(), tenant_id)
                .await?
                .into_iter()
                .filter_map(|w| {
                    Some(Waiting { id: w.id, kind: TriggerKind::parse(&w.kind)?, mode: Mode::parse(&w.mode)? })
                })
                .collect();
            let triggers = run::bundle(&waiting);
            let Some(first) = waiting.first() else { continue };
            let Some(tenant) = tenants::get(self.pool(), tenant_id).await? else { continue };
            let release_id = match tenant.choice() {
                Some(choice) => {
                    let key = (tenant.integration_id, tenant.release_choice.clone(), tenant.release_id);
                    match resolved.get(&key) {
                        Some(r) => *r,
                        None => {
                            let r = releases::resolve(self.pool(), tenant.integration_id, choice).await?.map(|r| r.id);
                            resolved.insert(key, r);
                            r
                        }
                    }
                }
                None => None,
            };
            plans.push(Plan {
                tenant_id,
                integration_id: tenant.integration_id,
                release_id,
                mode: first.mode,
                scheduled: first.kind == TriggerKind::Schedule,
                triggers,
                archived: tenant.archived,
            });
        }
        if plans.is_empty() {
            return Ok(Vec::new());
        }
        let _turn = self.inner.writes.lock().await;
        let mut tx = self.pool().begin().await?;
        // One tenant (the usual case, as runs end one by one) needs no savepoint: the
        // transaction itself rolls back.
        if let [p] = plans.as_slice() {
            return match make_one(&mut tx, p, now).await? {
                None => {
                    tx.rollback().await?;
                    Ok(Vec::new())
                }
                Some(run) => {
                    tx.commit().await?;
                    Ok(run.into_iter().collect())
                }
            };
        }
        let mut made = Vec::with_capacity(plans.len());
        for p in &plans {
            let mut one = sqlx::Connection::begin(&mut *tx).await?;
            match make_one(&mut one, p, now).await? {
                None => one.rollback().await?,
                Some(run) => {
                    one.commit().await?;
                    made.extend(run);
                }
            }
        }
        tx.commit().await?;
        Ok(made)
    }

    /// What a run needs of release `id`, read once per release.
    async fn release(&self, id: i64) -> Result<Option<Arc<ReleaseInfo>>, DbError> {
        if let Some(r) = self.inner.releases.lock().ok().and_then(|c| c.get(&id).cloned()) {
            return Ok(Some(r));
        }
        let Some(r) = releases::get(self.pool(), id).await? else { return Ok(None) };
        let info = Arc::new(ReleaseInfo { id: r.id, name: r.name, run_command: r.run_command, manifest: r.manifest });
        // Only a finished release is final.
        if r.finished_at.is_some() {
            if let Ok(mut cache) = self.inner.releases.lock() {
                cache.insert(id, info.clone());
            }
        }
        Ok(Some(info))
    }

    /// Dispatches and runs until no trigger waits (for tests and benchmarks).
    pub async fn run_pending(&self) -> Result<(), DbError> {
        loop {
            let started = self.dispatch(Utc::now()).await?;
            if started.is_empty() {
                return Ok(());
            }
            for task in started {
                let _ = task.await;
            }
        }
    }

    /// At start: runs a stopped hub left `running` become `Failed (Platform Issue)`
    /// and their processes, if still alive, are killed. Returns the queued runs that
    /// never started, for the caller to start.
    pub async fn recover(&self, now: DateTime<Utc>) -> Result<Vec<i64>, DbError> {
        for (id, pid) in runs::running(self.pool()).await? {
            if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()).filter(|p| *p > 1) {
                if process::group_alive(pid) {
                    process::kill_group(pid);
                }
            }
            let mut tx = self.pool().begin().await?;
            let outcome = runs::Outcome {
                phase: Phase::FailedPlatform,
                exit_code: None,
                stdout_context: None,
                error: Some("The hub stopped while this run was going; its process was stopped."),
                log_truncated: false,
                kept: None,
            };
            close(&mut tx, id, &outcome, now).await?;
            tx.commit().await?;
            let _ = std::fs::remove_dir_all(self.inner.work_dir.join(id.to_string()));
            tracing::warn!(run = id, "a run was cut short by a stop of the hub");
        }
        runs::queued(self.pool()).await
    }

    /// The background loop: recover, then fire schedules and dispatch runs, sleeping
    /// until the earliest next fire time or a wake-up, until `stop` resolves.
    pub async fn run(self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        match self.recover(Utc::now()).await {
            Ok(queued) => {
                for id in queued {
                    if let Ok(permit) = self.inner.slots.clone().acquire_owned().await {
                        drop(self.spawn_run(id, permit));
                    }
                }
            }
            Err(e) => tracing::error!("cannot recover interrupted runs: {e}"),
        }
        let mut next: Option<DateTime<Utc>> = None;
        // Set when the loop wakes on its timer: the schedule is read then too.
        let mut timer = true;
        loop {
            let now = Utc::now();
            // The schedule is read again when it may have changed, when a fire time has
            // come, or on the timer; a wake-up from a finished run goes straight to the
            // dispatcher.
            let changed = self.inner.schedule_changed.swap(false, std::sync::atomic::Ordering::AcqRel);
            if changed || timer || next.is_some_and(|at| at <= now) {
                next = match self.fire_due(now).await {
                    Ok(next) => next,
                    Err(e) => {
                        tracing::error!("the scheduler cannot read the schedule: {e}");
                        Some(now + chrono::Duration::seconds(5))
                    }
                };
            }
            if let Err(e) = self.dispatch(Utc::now()).await {
                tracing::error!("the dispatcher cannot start runs: {e}");
            }
            let sleep = next
                .and_then(|at| (at - Utc::now()).to_std().ok())
                .map_or(MAX_SLEEP, |d| d.min(MAX_SLEEP))
                // Fire times are whole seconds; wake just after, not just before.
                + Duration::from_millis(5);
            timer = false;
            tokio::select! {
                () = &mut stop => break,
                () = self.inner.wake.notified() => {}
                () = tokio::time::sleep(sleep) => timer = true,
            }
        }
    }

    /// Runs one queued run to its end and records it; never fails (a failure of the
    /// hub itself becomes the run's `Failed (Platform Issue)`).
    pub async fn execute(&self, run_id: i64) -> Phase {
        match self.try_execute(run_id).await {
            Ok(phase) => phase,
            Err(e) => {
                tracing::error!(run = run_id, "run failed inside the hub: {e}");
                let _ = self
                    .finish(run_id, Phase::FailedPlatform, None, None, Some("The hub could not run this."), false)
                    .await;
                Phase::FailedPlatform
            }
        }
    }

    async fn finish(
        &self,
        run_id: i64,
        phase: Phase,
        exit_code: Option<i32>,
        context: Option<&str>,
        error: Option<&str>,
        log_truncated: bool,
    ) -> Result<(), DbError> {
        let _turn = self.inner.writes.lock().await;
        let mut tx = self.pool().begin().await?;
        let outcome = runs::Outcome { phase, exit_code, stdout_context: context, error, log_truncated, kept: None };
        close(&mut tx, run_id, &outcome, Utc::now()).await?;
        tx.commit().await
    }

    async fn try_execute(&self, run_id: i64) -> Result<Phase, DbError> {
        let Some(launch) = runs::launch(self.pool(), run_id).await? else {
            return Ok(Phase::FailedPlatform);
        };
        let fail = |phase: Phase, message: String| async move {
            self.finish(run_id, phase, None, None, Some(&message), false).await.map(|()| phase)
        };
        let release = match launch.release_id {
            Some(id) => self.release(id).await?,
            None => None,
        };
        let Some((release, command)) = release.and_then(|r| r.run_command.clone().map(|c| (r, c))) else {
            return fail(
                Phase::FailedPlatform,
                "There is no successful release to run: build one, or choose another release.".to_owned(),
            )
            .await;
        };
        let dir = self.inner.releases_dir.join(release.id.to_string());
        if !dir.is_dir() {
            return fail(Phase::FailedPlatform, format!("The checkout of release {} is missing.", release.name)).await;
        }
        let sandbox = &self.inner.sandbox;
        if let Some(why) = sandbox.unavailable() {
            return fail(Phase::FailedPlatform, format!("sandbox unavailable: {why}")).await;
        }
        let lease = sandbox.lease();
        // Removed however the run ends (after its process, declared later, is gone).
        let run_dir = RunDir(self.inner.work_dir.join(run_id.to_string()));
        let run_dir_path = run_dir.0.as_path();
        let files = Mount::read_only(run_dir_path, RUN_FILES);
        let metadata = Mount::writable(run_dir_path.join("metadata.json"), Path::new(RUN_FILES).join("metadata.json"));
        prepare_run_dir(run_dir_path, &launch.metadata, lease.uid()).map_err(DbError::Io)?;
        let files_inside = sandbox.path(&files).to_path_buf();
        let env = match self.environment(&launch, run_dir_path, &files_inside).await? {
            Ok(env) => env,
            Err(reason) => return fail(Phase::FailedRefresh, format!("Credentials not ready: {reason}")).await,
        };
        let mut vars = env.vars;
        vars.push(("PAN_CTX_TENANT_METADATA_FILE".to_owned(), sandbox.path(&metadata).to_string_lossy().into_owned()));
        vars.sort();
        let names: Vec<&str> = vars.iter().map(|(k, _)| k.as_str()).collect();
        let names = serde_json::to_string(&names).unwrap_or_default();

        let mounts = [Mount::read_only(&dir, CHECKOUT), files, metadata];
        let job = Job { argv: &[SHELL, "-c", &command], mounts: &mounts, env: &vars, uid: lease.uid(), tmpfs: None };
        let started = sandbox.command(&job).and_then(|cmd| process::spawn(cmd).map_err(|e| e.to_string()));
        let mut started = match started {
            Ok(s) => s,
            Err(e) => return fail(Phase::FailedPlatform, format!("The run command could not be started: {e}")).await,
        };
        {
            let _turn = self.inner.writes.lock().await;
            runs::start(self.pool(), run_id, started.pid, &names, &sandbox.attestation(lease.uid()), Utc::now())
                .await?;
        }
        let limit = launch
            .run_timeout_secs
            .and_then(|s| u64::try_from(s).ok())
            .map_or(self.inner.settings.default_timeout, Duration::from_secs);

        let mut log = Log::new(env.secrets.clone(), self.inner.settings.log_cap);
        let mut tail = Tail::default();
        let mut seq = 0i64;
        let deadline = tokio::time::sleep(limit);
        tokio::pin!(deadline);
        let mut flush = tokio::time::interval(FLUSH_EVERY);
        let mut status: Option<std::io::Result<std::process::ExitStatus>> = None;
        let mut output_open = true;
        let mut timed_out = false;
        let drain = tokio::time::sleep(Duration::from_secs(86_400 * 365));
        tokio::pin!(drain);
        loop {
            tokio::select! {
                () = &mut deadline => { timed_out = true; break; }
                () = &mut drain, if status.is_some() => break,
                piece = started.output.recv(), if output_open => match piece {
                    Some((Stream::Stdout, bytes)) => tail.push(&bytes),
                    Some((Stream::Stderr, bytes)) => {
                        log.push(&bytes);
                        if log.pending() >= FLUSH_SIZE {
                            if let Some(text) = log.take() {
                                self.append_log(run_id, seq, &text).await?;
                                seq += 1;
                            }
                        }
                    }
                    None => output_open = false,
                },
                _ = flush.tick() => {
                    if let Some(text) = log.take() {
                        self.append_log(run_id, seq, &text).await?;
                        seq += 1;
                    }
                }
                s = started.child.wait(), if status.is_none() => {
                    status = Some(s);
                    drain.as_mut().reset(tokio::time::Instant::now() + DRAIN_LIMIT);
                }
            }
            if status.is_some() && !output_open {
                break;
            }
        }
        // Whatever is left of the group (a timed-out program, or children still
        // writing after the program exited) is killed.
        if let Some(pid) = started.pid {
            process::kill_group(pid);
        }
        if status.is_none() {
            status = tokio::time::timeout(Duration::from_secs(5), started.child.wait()).await.ok();
        }
        while let Ok(piece) = started.output.try_recv() {
            match piece {
                (Stream::Stdout, bytes) if !timed_out => tail.push(&bytes),
                (Stream::Stderr, bytes) => log.push(&bytes),
                _ => {}
            }
        }
        if let Some(text) = log.finish() {
            self.append_log(run_id, seq, &text).await?;
        }
        let truncated = log.dropped() > 0;
        let context = run::context_of(tail.finish().as_deref());
        let code = status.as_ref().and_then(|s| s.as_ref().ok()).and_then(std::process::ExitStatus::code);
        let written = match files::read_capped(&run_dir_path.join("metadata.json"), METADATA_MAX) {
            Ok(text) => Ok(Some(text)),
            Err(ReadError::Missing) => Ok(None),
            Err(e) => Err(format!("The tenant metadata file {e}; the metadata was not changed.")),
        };
        drop(run_dir);
        drop(lease);

        // Only a program that exited cleanly has its metadata checked and kept.
        let metadata = (!timed_out && code == Some(0))
            .then(|| written.and_then(|w| check_metadata(&release.manifest, w.as_deref(), &launch.metadata)));
        let (phase, error) = if timed_out {
            (Phase::FailedTimeout, Some(format!("The run passed its time limit of {} and was stopped.", human(limit))))
        } else {
            match code {
                Some(0) => match &metadata {
                    Some(Err(e)) => (Phase::FailedMetadata, Some(e.clone())),
                    _ => (Phase::Succeeded, None),
                },
                Some(c) => (Phase::FailedIntegration, Some(format!("The program exited with code {c}."))),
                None => (Phase::FailedIntegration, Some("The program was ended by a signal.".to_owned())),
            }
        };
        let _turn = self.inner.writes.lock().await;
        let mut tx = self.pool().begin().await?;
        // A success leaves its context (and, from an init run, the options; and any
        // checked metadata) on the tenant, in the same statement as the phase.
        let options = (phase == Phase::Succeeded && launch.mode == Mode::Init.as_str())
            .then(|| run::init_options(context.as_deref()).map(|v| v.to_string()))
            .flatten();
        let metadata = metadata.and_then(Result::ok).flatten();
        let kept = (phase == Phase::Succeeded).then_some(runs::Kept {
            context: context.as_deref(),
            dynamic_options: options.as_deref(),
            metadata: metadata.as_deref(),
        });
        // The run's record shows the context masked; the tenant keeps it as printed,
        // for the next run.
        let shown = context.as_deref().map(|c| output::mask(c, env.secrets));
        let outcome = runs::Outcome {
            phase,
            exit_code: code,
            stdout_context: shown.as_deref(),
            error: error.as_deref(),
            log_truncated: truncated,
            kept,
        };
        close(&mut tx, run_id, &outcome, Utc::now()).await?;
        tx.commit().await?;
        Ok(phase)
    }

    async fn append_log(&self, run_id: i64, seq: i64, text: &str) -> Result<(), DbError> {
        let _turn = self.inner.writes.lock().await;
        runs::append_log(self.pool(), run_id, seq, text, Utc::now()).await
    }

    /// `PAN_CFG_*`, `PAN_SEC_*` (credentials made ready first) and `PAN_CTX_*`, with
    /// the secret values to mask. The inner error is why credentials are not ready.
    ///
    /// Webhook bodies are linked into the run's files (`run_dir`, seen by the program
    /// at `inside`), and `payload_file` names them there. `PAN_CTX_RUN_TRIGGERS` and
    /// `PAN_CTX_LAST_SUCCESSFUL_RUN_STD_OUT` are also files (`…_FILE`), and any
    /// context or configuration value over [`INLINE_MAX`] is only a file.
    async fn environment(
        &self,
        launch: &runs::LaunchRow,
        run_dir: &Path,
        inside: &Path,
    ) -> Result<Result<Environment, String>, DbError> {
        let configs: Value = serde_json::from_str(&launch.configs).unwrap_or(Value::Null);
        let mut vars = run::config_env(&configs);
        let mut secrets = Vec::new();
        let connections =
            if launch.connected > 0 { tenants::connections(self.pool(), launch.tenant_id).await? } else { Vec::new() };
        for c in connections {
            if c.status != "connected" || c.auth == "none" {
                continue;
            }
            let i = &self.inner;
            let creds = match ready_credentials(
                &i.db,
                &i.key,
                &i.registry,
                &i.public_url,
                launch.tenant_id,
                &c.connector_name,
                Utc::now(),
            )
            .await
            {
                Ok(v) => v,
                Err(e) => return Ok(Err(format!("{}: {e}", c.display_name))),
            };
            collect_strings(&creds, &mut secrets);
            let oauth2 = c.auth == AuthKind::Oauth2.as_str();
            vars.extend(run::secret_env(&c.connector_name, oauth2, &creds));
        }
        let webhooks = self.webhooks_dir();
        let triggers: Vec<Value> = runs::triggers_of(self.pool(), launch.id)
            .await?
            .into_iter()
            .enumerate()
            .map(|(n, t)| {
                let mut payload = t.payload.as_deref().and_then(|p| serde_json::from_str::<Value>(p).ok());
                // Only the hub's own webhook triggers name a body to link, and only a
                // file in its webhooks folder: a payload sent through the API is the
                // caller's text, never a path the hub follows.
                if t.kind == TriggerKind::Webhook.as_str() {
                    if let Some(file) = payload.as_mut().and_then(|p| p.get_mut("payload_file")) {
                        *file = link_payload(file.as_str(), &webhooks, run_dir, n).map_or(Value::Null, |name| {
                            Value::String(inside.join(name).to_string_lossy().into_owned())
                        });
                    }
                }
                json!({ "type": t.kind, "mode": t.mode, "payload": payload, "created_at": t.created_at, "created_by": t.created_by })
            })
            .collect();
        let time = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
        let mut ctx: HashMap<&str, String> = HashMap::new();
        ctx.insert("INTEGRATION_ID", launch.integration_id.to_string());
        ctx.insert("INTEGRATION_NAME", launch.integration_name.clone());
        ctx.insert("TENANT_ID", launch.tenant_id.to_string());
        ctx.insert("TENANT_NAME", launch.tenant_name.clone());
        ctx.insert("RUN_MODE", launch.mode.clone());
        ctx.insert("RUN_TRIGGERS", Value::Array(triggers).to_string());
        ctx.insert("ENV", self.inner.settings.env_name.clone());
        if let Some(phase) = &launch.last_phase {
            ctx.insert("LAST_RUN_START_TIME", time(launch.last_started_at));
            ctx.insert("LAST_RUN_COMPLETION_TIME", time(launch.last_finished_at));
            ctx.insert("LAST_RUN_PHASE", run::phase_label(phase).to_owned());
        }
        if launch.had_success {
            ctx.insert("LAST_SUCCESSFUL_RUN_START_TIME", time(launch.ok_started_at));
            ctx.insert("LAST_SUCCESSFUL_RUN_COMPLETION_TIME", time(launch.ok_finished_at));
            // The tenant keeps the context as printed; the run's record shows it masked.
            if let Some(out) = &launch.context {
                ctx.insert("LAST_SUCCESSFUL_RUN_STD_OUT", out.clone());
            }
        }
        vars.extend(ctx.into_iter().map(|(k, v)| (format!("PAN_CTX_{k}"), v)));
        let vars = as_files(vars, run_dir, inside).map_err(DbError::Io)?;
        Ok(Ok(Environment { vars, secrets }))
    }
}

/// A run's own directory, removed when dropped.
struct RunDir(PathBuf);

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Variables always passed as files too: they grow with the tenant's data.
const ALSO_FILES: &[&str] = &["PAN_CTX_RUN_TRIGGERS", "PAN_CTX_LAST_SUCCESSFUL_RUN_STD_OUT"];

/// Writes large values (and those of [`ALSO_FILES`]) into the run's files and names
/// them in `<NAME>_FILE`; a value over [`INLINE_MAX`] is left out of the environment.
/// Credentials (`PAN_SEC_*`) never go to disk.
fn as_files(vars: Vec<(String, String)>, run_dir: &Path, inside: &Path) -> std::io::Result<Vec<(String, String)>> {
    let mut out = Vec::with_capacity(vars.len() + ALSO_FILES.len());
    for (name, value) in vars {
        let fileable = name.starts_with("PAN_CTX_") || name.starts_with("PAN_CFG_");
        if !fileable || (value.len() <= INLINE_MAX && !ALSO_FILES.contains(&name.as_str())) {
            out.push((name, value));
            continue;
        }
        let file = format!("{}.txt", name.to_ascii_lowercase());
        write_readable(&run_dir.join(&file), value.as_bytes())?;
        out.push((format!("{name}_FILE"), inside.join(&file).to_string_lossy().into_owned()));
        if value.len() <= INLINE_MAX {
            out.push((name, value));
        }
    }
    Ok(out)
}

/// Links a webhook body (a regular file directly in `webhooks`, not a link) into the
/// run's files as `payload-<n>.body`; `None` when it is gone or is anything else.
fn link_payload(file: Option<&str>, webhooks: &Path, run_dir: &Path, n: usize) -> Option<String> {
    let source = Path::new(file?);
    let name = source.file_name()?;
    if source.parent() != Some(webhooks) || !std::fs::symlink_metadata(source).ok()?.file_type().is_file() {
        return None;
    }
    let linked = format!("payload-{n}.body");
    std::fs::hard_link(webhooks.join(name), run_dir.join(&linked)).ok()?;
    std::fs::set_permissions(run_dir.join(&linked), std::fs::Permissions::from_mode(0o644)).ok()?;
    Some(linked)
}

/// A fresh directory of the run's own files, with the metadata file the program may
/// rewrite (owned by the run's uid).
fn prepare_run_dir(dir: &Path, metadata: &str, uid: Option<u32>) -> std::io::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
    let file = dir.join("metadata.json");
    write_readable(&file, metadata.as_bytes())?;
    if let Some(uid) = uid {
        let (u, g) = (Some(nix::unistd::Uid::from_raw(uid)), Some(nix::unistd::Gid::from_raw(uid)));
        nix::unistd::chown(&file, u, g).map_err(std::io::Error::from)?;
    }
    Ok(())
}

/// Writes a file the run's uid may read, whatever the hub's umask.
fn write_readable(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
}

fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

/// The metadata a run left, checked against the release's metadata schema: `Ok(None)`
/// when unchanged or absent, `Ok(Some(json))` to store, `Err` why it is refused.
fn check_metadata(manifest: &Option<String>, written: Option<&str>, before: &str) -> Result<Option<String>, String> {
    let Some(text) = written.filter(|w| w.trim() != before.trim()) else {
        return Ok(None);
    };
    let value: Value = serde_json::from_str(text)
        .map_err(|e| format!("The tenant metadata file is not JSON ({e}); the metadata was not changed."))?;
    let schema = manifest
        .as_deref()
        .and_then(|m| serde_json::from_str::<Value>(m).ok())
        .and_then(|m| m.get("metadata_schema").cloned())
        .filter(|s| !s.is_null());
    if let Some(schema) = schema {
        run::check_metadata(&schema, &value)
            .map_err(|e| format!("The tenant metadata does not match its schema: {e}."))?;
    } else if !value.is_object() {
        return Err("The tenant metadata must be a JSON object.".to_owned());
    }
    Ok(Some(value.to_string()))
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 && s.is_multiple_of(60) {
        format!("{} min", s / 60)
    } else if s == 0 {
        format!("{} ms", d.as_millis())
    } else {
        format!("{s} s")
    }
}

/// Makes one planned run in `tx`. `None`: the tenant lost a race (a run of it is
/// active, or a trigger was taken), and the caller rolls back; `Some(None)`: made and
/// at once skipped (the tenant is archived); `Some(Some(id))`: a run to start.
async fn make_one(
    tx: &mut sqlx::SqliteConnection,
    p: &Plan,
    now: DateTime<Utc>,
) -> Result<Option<Option<i64>>, DbError> {
    let new = runs::NewRun {
        tenant_id: p.tenant_id,
        integration_id: p.integration_id,
        release_id: p.release_id,
        mode: p.mode,
        scheduled: p.scheduled,
        triggers: &p.triggers,
    };
    let Some(run_id) = runs::create(&mut *tx, &new, now).await? else {
        return Ok(None);
    };
    if !p.archived {
        return Ok(Some(Some(run_id)));
    }
    let outcome = runs::Outcome {
        phase: Phase::Skipped,
        exit_code: None,
        stdout_context: None,
        error: Some("The tenant is archived; archived tenants never run."),
        log_truncated: false,
        kept: None,
    };
    close(tx, run_id, &outcome, now).await?;
    Ok(Some(None))
}

/// Finishes a run (see `runs::finish`) and, when it failed, emits `run_failed` in the
/// same transaction.
async fn close(
    tx: &mut sqlx::SqliteConnection,
    run_id: i64,
    outcome: &runs::Outcome<'_>,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let done = runs::finish(&mut *tx, run_id, outcome, now).await?;
    if done && outcome.phase.is_failure() {
        let names: Option<(i64, String, i64, String, String)> = sqlx::query_as(
            "SELECT t.id, t.name, i.id, i.name, r.mode FROM runs r
             JOIN tenants t ON t.id = r.tenant_id JOIN integrations i ON i.id = r.integration_id WHERE r.id = ?",
        )
        .bind(run_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((tenant_id, tenant, integration_id, integration, mode)) = names {
            let event = json!({
                "run": { "id": run_id, "mode": mode, "phase": outcome.phase.as_str(), "phase_label": outcome.phase.label(), "error": outcome.error },
                "tenant": { "id": tenant_id, "name": tenant },
                "integration": { "id": integration_id, "name": integration },
            });
            outbox::emit(tx, "run_failed", event, now).await?;
        }
    }
    Ok(done)
}
