//! The writes of a run's life (its start, its program, its end), taken together: each
//! executor leaves its write here and asks for the engine's turn to write; whoever
//! gets the turn writes everything left so far in one transaction. A burst of runs
//! then costs one turn, and one commit, for many writes, rather than a turn each,
//! where every turn waits for the one before it to be handed over.
//!
//! A batch whose transaction fails is written again one write at a time, so one bad
//! write fails only its own executor.

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use super::executor::close;
use super::runs::{Engine, Held};
use crate::db::{run_leases, runs, DbError};
use crate::domain::run::Phase;

/// One write of a run's life.
pub(super) enum Write {
    /// `run_leases::start`: the run is running, leased, before its program starts.
    Start { run_id: i64, env_names: String, sandbox: String, now: DateTime<Utc>, lease_until: DateTime<Utc> },
    /// `run_leases::set_process`: the started program.
    Process { run_id: i64, pid: Option<i32>, identity: Option<String> },
    /// `executor::close`: the run's end.
    Close { run_id: i64, outcome: Outcome, now: DateTime<Utc> },
}

/// An owned `runs::Outcome`.
pub(super) struct Outcome {
    pub phase: Phase,
    pub exit_code: Option<i32>,
    pub stdout_context: Option<String>,
    pub error: Option<String>,
    pub log_truncated: bool,
    /// What a success keeps on its tenant: context, dynamic options, metadata.
    pub kept: Option<(Option<String>, Option<String>, Option<String>)>,
}

impl Outcome {
    /// The outcome as `runs::finish` takes it.
    pub fn borrowed(&self) -> runs::Outcome<'_> {
        let kept = self.kept.as_ref().map(|(context, options, metadata)| runs::Kept {
            context: context.as_deref(),
            dynamic_options: options.as_deref(),
            metadata: metadata.as_deref(),
        });
        runs::Outcome {
            phase: self.phase,
            exit_code: self.exit_code,
            stdout_context: self.stdout_context.as_deref(),
            error: self.error.as_deref(),
            log_truncated: self.log_truncated,
            kept,
        }
    }
}

/// A write waiting for a turn, and where its result goes.
pub(super) struct Pending {
    write: Write,
    done: oneshot::Sender<Result<bool, String>>,
}

impl Engine {
    /// Writes `write` (in a batch with any others waiting) and returns its result:
    /// for `Start` and `Close`, whether the run was in the phase the write expects.
    pub(super) async fn write(&self, write: Write) -> Result<bool, DbError> {
        let (done, result) = oneshot::channel();
        if let Ok(mut pending) = self.inner.pending.lock() {
            pending.push(Pending { write, done });
        }
        tokio::pin!(result);
        loop {
            tokio::select! {
                biased;
                r = &mut result => {
                    return match r {
                        Ok(r) => r.map_err(DbError::Protocol),
                        Err(_) => Err(DbError::Protocol("the engine's write was dropped".to_owned())),
                    };
                }
                turn = self.writer() => {
                    let batch = self.inner.pending.lock().map(|mut p| std::mem::take(&mut *p)).unwrap_or_default();
                    write_batch(turn?, batch).await;
                }
            }
        }
    }
}

/// Writes a batch in one transaction; if that fails, each write in its own.
async fn write_batch(mut turn: Held<'_>, batch: Vec<Pending>) {
    if batch.is_empty() {
        return;
    }
    let together = async {
        let mut tx = sqlx::Connection::begin(&mut *turn).await?;
        let mut results = Vec::with_capacity(batch.len());
        for p in &batch {
            results.push(apply(&mut tx, &p.write).await?);
        }
        tx.commit().await?;
        Ok::<_, DbError>(results)
    }
    .await;
    match together {
        Ok(results) => {
            for (p, r) in batch.into_iter().zip(results) {
                let _ = p.done.send(Ok(r));
            }
        }
        Err(_) if batch.len() > 1 => {
            for p in batch {
                let one = async {
                    let mut tx = sqlx::Connection::begin(&mut *turn).await?;
                    let r = apply(&mut tx, &p.write).await?;
                    tx.commit().await?;
                    Ok::<_, DbError>(r)
                }
                .await;
                let _ = p.done.send(one.map_err(|e| e.to_string()));
            }
        }
        Err(e) => {
            for p in batch {
                let _ = p.done.send(Err(e.to_string()));
            }
        }
    }
}

async fn apply(tx: &mut sqlx::SqliteConnection, write: &Write) -> Result<bool, DbError> {
    match write {
        Write::Start { run_id, env_names, sandbox, now, lease_until } => {
            run_leases::start(&mut *tx, *run_id, env_names, sandbox, *now, *lease_until).await
        }
        Write::Process { run_id, pid, identity } => {
            run_leases::set_process(&mut *tx, *run_id, *pid, identity.as_deref()).await.map(|()| true)
        }
        Write::Close { run_id, outcome, now } => close(tx, *run_id, &outcome.borrowed(), *now).await,
    }
}
