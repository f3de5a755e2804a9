//! The executor: one queued run as a real process in the sandbox, its log written as
//! it comes, and its end recorded once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::batch::{self, Write};
use super::builder::CHECKOUT;
use super::environment::prepare_run_dir;
use super::files::{self, ReadError};
use super::output::{self, Log, Tail};
use super::process::{self, GroupGuard, Identity, Stream, SHELL};
use super::runs::{Engine, METADATA_MAX, RUN_FILES};
use super::sandbox::{Job, Mount};
use crate::db::{run_leases, run_logs, run_retries, run_triggers, runs, DbError};
use crate::domain::run::{self, Mode, Phase, TriggerKind};
use crate::outbox;

/// The file in a run's directory where its program's exit code is written the moment
/// the program exits, so that a hub which stopped before recording the run finds that
/// the program had finished and does not run it again (see `Engine::sweep`).
pub(super) const EXIT_MARK: &str = "exit";

/// Runs the command (`$1`) and writes its exit code to the mark (`$2`). A program ended
/// by signal N exits this shell with 128 + N, as shells report it.
const MARK_EXIT: &str = r#"/bin/sh -c "$1"; s=$?; echo "$s" > "$2"; exit "$s""#;

/// The exit code with which a program asks to be tried again (sysexits' EX_TEMPFAIL):
/// its run fails as the integration's, and is retried as a platform failure is.
pub const TRY_AGAIN: i32 = 75;

/// How often a running program's log is written to the database.
const FLUSH_EVERY: Duration = Duration::from_millis(250);

/// How much log is held before it is written, however soon.
const FLUSH_SIZE: usize = 256 * 1024;

/// How long the output of a program that has exited may keep coming (from children it
/// left behind) before its process group is killed.
const DRAIN_LIMIT: Duration = Duration::from_secs(2);

impl Engine {
    /// Runs one queued run to its end and records it; never fails (a failure of the
    /// hub itself becomes the run's `Failed (Platform Issue)`).
    pub async fn execute(&self, run_id: i64) -> Phase {
        match self.try_execute(run_id).await {
            Ok(phase) => phase,
            Err(e) => {
                tracing::error!(run = run_id, "run failed inside the hub: {e}");
                let _ = self.fail_platform(run_id, "The hub could not run this.", self.now()).await;
                Phase::FailedPlatform
            }
        }
    }

    /// Fails a run as a platform issue and queues its next attempt, if the settings
    /// allow one more: the hub stopped or hung, the sandbox or the start of the program
    /// failed. A retry waits `retry_after`, doubled at each attempt. Returns false when
    /// the run had ended already.
    pub(super) async fn fail_platform(&self, run_id: i64, message: &str, now: DateTime<Utc>) -> Result<bool, DbError> {
        let outcome = runs::Outcome {
            phase: Phase::FailedPlatform,
            exit_code: None,
            stdout_context: None,
            error: Some(message),
            log_truncated: false,
            kept: None,
        };
        self.fail_and_retry(run_id, &outcome, now).await
    }

    /// Records a failed run and queues its next attempt, if the settings allow one
    /// more (a platform failure, or a program that asked to be tried again). Returns
    /// false when the run had ended already.
    async fn fail_and_retry(
        &self,
        run_id: i64,
        outcome: &runs::Outcome<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, DbError> {
        let settings = &self.inner.settings;
        let mut turn = self.writer().await?;
        let mut tx = sqlx::Connection::begin(&mut *turn).await?;
        let mut retried = false;
        let closed = close(&mut tx, run_id, outcome, now).await?;
        if closed {
            let attempt = run_retries::attempt(&mut *tx, run_id).await?.unwrap_or(1);
            let wait = settings.retry_after.saturating_mul(1 << attempt.clamp(1, 16).saturating_sub(1));
            let not_before = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1));
            let max_attempts = 1 + i64::from(settings.retries);
            if let Some(next) = run_retries::retry(&mut tx, run_id, max_attempts, not_before, now).await? {
                tracing::info!(run = run_id, retry = next, attempt = attempt + 1, "a failed run is tried again");
                retried = true;
            }
        }
        tx.commit().await?;
        drop(turn);
        self.inner.db.outbox_written();
        // A retry still needs the webhook bodies its triggers name.
        if !retried {
            self.release_bodies(run_id).await?;
        }
        // The retry's time is a wake-up the loop must know of.
        self.slot_freed();
        Ok(closed)
    }

    /// Records a run's end without its output; false when it had ended already.
    pub(super) async fn finish(
        &self,
        run_id: i64,
        phase: Phase,
        exit_code: Option<i32>,
        context: Option<&str>,
        error: Option<&str>,
        log_truncated: bool,
    ) -> Result<bool, DbError> {
        let closed = {
            let mut turn = self.writer().await?;
            let mut tx = sqlx::Connection::begin(&mut *turn).await?;
            let outcome = runs::Outcome { phase, exit_code, stdout_context: context, error, log_truncated, kept: None };
            let closed = close(&mut tx, run_id, &outcome, self.now()).await?;
            tx.commit().await?;
            closed
        };
        self.inner.db.outbox_written();
        self.release_bodies(run_id).await?;
        Ok(closed)
    }

    /// Removes the inbound webhook bodies a finished run's triggers named (only files
    /// in the hub's webhooks folder), once no later attempt needs them.
    pub(super) async fn release_bodies(&self, run_id: i64) -> Result<(), DbError> {
        let webhooks = self.webhooks_dir();
        let triggers = run_triggers::triggers_of(&mut *self.reader().await?, run_id).await?;
        for t in triggers {
            let payload = t.payload.as_deref().and_then(|p| serde_json::from_str::<Value>(p).ok());
            let file = payload.as_ref().and_then(|p| p["payload_file"].as_str()).map(Path::new);
            if let Some(file) = file.filter(|f| t.kind == TriggerKind::Webhook && f.parent() == Some(&webhooks)) {
                let _ = tokio::fs::remove_file(file).await;
            }
        }
        Ok(())
    }

    async fn try_execute(&self, run_id: i64) -> Result<Phase, DbError> {
        let Some(launch) = runs::launch(&mut *self.reader().await?, run_id).await? else {
            return Ok(Phase::FailedPlatform);
        };
        let fail = |phase: Phase, message: String| async move {
            self.finish(run_id, phase, None, None, Some(&message), false).await.map(|_| phase)
        };
        // A failure of the hub's own machinery is tried again (see `fail_platform`).
        let fail_platform = |message: String| async move {
            self.fail_platform(run_id, &message, self.now()).await.map(|_| Phase::FailedPlatform)
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
            return fail_platform(format!("sandbox unavailable: {why}")).await;
        }
        let lease = sandbox.lease();
        // Removed however the run ends (after its process, declared later, is gone).
        let run_dir = RunDir(self.inner.work_dir.join(run_id.to_string()));
        let run_dir_path = run_dir.0.as_path();
        let RunMounts { files, metadata, exit_mark } = RunMounts::of(run_dir_path);
        // File system work goes to the blocking pool: on the runtime's threads it would
        // hold up every other task (the engine's turn to write among them).
        let (path, text, uid) = (run_dir.0.clone(), launch.metadata.clone(), lease.uid());
        blocking(move || prepare_run_dir(&path, &text, uid)).await?;
        let files_inside = sandbox.path(&files).to_path_buf();
        let env = match self.environment(&launch, run_dir_path, &files_inside).await? {
            Ok(env) => env,
            Err(reason) => return fail(Phase::FailedRefresh, format!("Credentials not ready: {reason}")).await,
        };
        let mut vars = env.vars;
        let bodies = env.bodies;
        vars.push(("PAN_CTX_TENANT_METADATA_FILE".to_owned(), sandbox.path(&metadata).to_string_lossy().into_owned()));
        vars.sort();
        let names: Vec<&str> = vars.iter().map(|(k, _)| k.as_str()).collect();
        let names = serde_json::to_string(&names).unwrap_or_default();

        let mark_inside = sandbox.path(&exit_mark).to_string_lossy().into_owned();
        let mounts = [Mount::read_only(&dir, CHECKOUT), files, metadata, exit_mark];
        let argv = marked_argv(&command, &mark_inside);
        let job = Job { argv: &argv, mounts: &mounts, env: &vars, uid: lease.uid(), tmpfs: None };
        // Running (and leased) before the program starts: a stop of the hub in between
        // leaves a lease that lapses, never a queued run that would start it twice.
        let now = self.now();
        let start = Write::Start {
            run_id,
            env_names: names,
            sandbox: sandbox.attestation(lease.uid()),
            now,
            lease_until: now + self.lease_span(),
        };
        if !self.write(start).await? {
            return Ok(Phase::FailedPlatform);
        }
        let started = sandbox.command(&job).and_then(|cmd| process::spawn(cmd).map_err(|e| e.to_string()));
        let mut started = match started {
            Ok(s) => s,
            Err(e) => return fail_platform(format!("The run command could not be started: {e}")).await,
        };
        // From here every way out, an error included, kills the program's group.
        let group = GroupGuard(started.pid);
        {
            let identity = started.pid.and_then(Identity::of).map(|i| i.to_text());
            self.write(Write::Process { run_id, pid: started.pid, identity }).await?;
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
        // Three renewals a lease, so two failed writes in a row still leave it held.
        let every = self.inner.settings.lease / 3;
        let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        let mut lease_lost = false;
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
                _ = renew.tick() => {
                    if !self.renew(run_id).await {
                        lease_lost = true;
                        break;
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
        drop(group);
        if lease_lost {
            // The run was failed by whoever found its lease lapsed; nothing to record.
            return Ok(Phase::FailedPlatform);
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
        let written = written_metadata(run_dir_path);
        run_dir.remove().await;
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
                Some(TRY_AGAIN) => (
                    Phase::FailedIntegration,
                    Some(format!("The program asked to be tried again (exit code {TRY_AGAIN}).")),
                ),
                Some(c @ 129..=192) => (
                    Phase::FailedIntegration,
                    Some(format!("The program exited with code {c} (a shell's code for signal {}).", c - 128)),
                ),
                Some(c) => (Phase::FailedIntegration, Some(format!("The program exited with code {c}."))),
                None => (Phase::FailedIntegration, Some("The program was ended by a signal.".to_owned())),
            }
        };
        // A success leaves its context (and, from an init run, the options; and any
        // checked metadata) on the tenant, in the same statement as the phase.
        let options = (phase == Phase::Succeeded && launch.mode == Mode::Init)
            .then(|| run::init_options(context.as_deref()).map(|v| v.to_string()))
            .flatten();
        let metadata = metadata.and_then(Result::ok).flatten();
        // The run's record shows the context masked; the tenant keeps it as printed,
        // for the next run.
        let shown = context.as_deref().map(|c| output::mask(c, env.secrets));
        let outcome = batch::Outcome {
            phase,
            exit_code: code,
            stdout_context: shown,
            error,
            log_truncated: truncated,
            kept: (phase == Phase::Succeeded).then_some((context, options, metadata)),
        };
        if code == Some(TRY_AGAIN) && !timed_out {
            return self.fail_and_retry(run_id, &outcome.borrowed(), self.now()).await.map(|_| phase);
        }
        self.write(Write::Close { run_id, outcome, now: self.now() }).await?;
        self.inner.db.outbox_written();
        // The bodies its triggers named, as found when it started.
        for file in bodies {
            let _ = tokio::fs::remove_file(file).await;
        }
        Ok(phase)
    }

    /// Extends the run's lease; false when the run was failed meanwhile (its lease
    /// lapsed), so its program must stop. A failed write keeps the run going: the
    /// lease has room for the next tries.
    async fn renew(&self, run_id: i64) -> bool {
        let until = self.now() + self.lease_span();
        let renewed = match self.writer().await {
            Ok(mut turn) => run_leases::renew(&mut *turn, run_id, until).await,
            Err(e) => Err(e),
        };
        match renewed {
            Ok(held) => held,
            Err(e) => {
                tracing::warn!(run = run_id, "cannot renew the run's lease: {e}");
                true
            }
        }
    }

    /// The lease as a span of the hub's clock.
    fn lease_span(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.inner.settings.lease).unwrap_or(chrono::Duration::seconds(60))
    }

    async fn append_log(&self, run_id: i64, seq: i64, text: &str) -> Result<(), DbError> {
        run_logs::append_log(&mut *self.writer().await?, run_id, seq, text, self.now()).await
    }
}

/// A run's own directory as its program sees it: the directory read-only, with the
/// metadata file and the exit mark in it writable.
pub(super) struct RunMounts {
    pub files: Mount,
    pub metadata: Mount,
    pub exit_mark: Mount,
}

impl RunMounts {
    pub(super) fn of(run_dir: &Path) -> Self {
        let inside = Path::new(RUN_FILES);
        Self {
            files: Mount::read_only(run_dir, RUN_FILES),
            metadata: Mount::writable(run_dir.join(METADATA_FILE), inside.join(METADATA_FILE)),
            exit_mark: Mount::writable(run_dir.join(EXIT_MARK), inside.join(EXIT_MARK)),
        }
    }
}

/// The metadata file in a run's directory.
const METADATA_FILE: &str = "metadata.json";

/// The program as the hub starts it: `command` through the shell that writes its exit
/// code to the mark (`mark`, as the program sees it).
pub(super) fn marked_argv<'a>(command: &'a str, mark: &'a str) -> [&'a str; 6] {
    [SHELL, "-c", MARK_EXIT, "hub-run", command, mark]
}

/// The metadata file as the program left it in its run directory: `None` when it
/// removed it, why it is refused when it cannot be read within the cap.
pub(super) fn written_metadata(run_dir: &Path) -> Result<Option<String>, String> {
    match files::read_capped(&run_dir.join(METADATA_FILE), METADATA_MAX) {
        Ok(text) => Ok(Some(text)),
        Err(ReadError::Missing) => Ok(None),
        Err(e) => Err(format!("The tenant metadata file {e}; the metadata was not changed.")),
    }
}

/// A run's own directory, removed when dropped.
struct RunDir(PathBuf);

impl RunDir {
    /// Removes the directory on the blocking pool.
    async fn remove(mut self) {
        let path = std::mem::take(&mut self.0);
        let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(path)).await;
    }
}

/// Runs file system work on the blocking pool.
pub(super) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<T, DbError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| DbError::Io(std::io::Error::other(e)))?.map_err(DbError::Io)
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if !self.0.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The metadata a run left, checked against the release's metadata schema: `Ok(None)`
/// when unchanged or absent, `Ok(Some(json))` to store, `Err` why it is refused.
pub(super) fn check_metadata(
    manifest: &Option<String>,
    written: Option<&str>,
    before: &str,
) -> Result<Option<String>, String> {
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

/// Finishes a run (see `runs::finish`) and, when it failed, emits `run_failed` in the
/// same transaction.
pub(super) async fn close(
    tx: &mut sqlx::SqliteConnection,
    run_id: i64,
    outcome: &runs::Outcome<'_>,
    now: DateTime<Utc>,
) -> Result<bool, DbError> {
    let done = runs::finish(&mut *tx, run_id, outcome, now).await?;
    if done && outcome.phase.is_failure() {
        if let Some(n) = runs::names(&mut *tx, run_id).await? {
            let event = json!({
                "run": { "id": run_id, "mode": n.mode, "phase": outcome.phase.as_str(), "phase_label": outcome.phase.label(), "error": outcome.error },
                "tenant": { "id": n.tenant_id, "name": n.tenant_name },
                "integration": { "id": n.integration_id, "name": n.integration_name },
            });
            outbox::emit(tx, "run_failed", event, now).await?;
        }
    }
    Ok(done)
}
