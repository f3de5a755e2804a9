//! Recovery: runs whose lease lapsed (their hub stopped or hung) are failed as a
//! platform issue and their programs stopped, at start and whenever a lease ends.

use chrono::{DateTime, Utc};

use super::executor::EXIT_MARK;
use super::files;
use super::process::Identity;
use super::runs::Engine;
use crate::db::{run_leases, runs, DbError};
use crate::domain::run::Phase;

impl Engine {
    /// At start: fails the runs whose lease has lapsed by `now` (see [`Engine::sweep`])
    /// and returns the queued runs that never started, for the caller to start.
    pub async fn recover(&self, now: DateTime<Utc>) -> Result<Vec<i64>, DbError> {
        self.sweep(now).await?;
        runs::queued(&mut *self.reader().await?).await
    }

    /// Ends every running run whose lease ended before `now`: kills its program's
    /// process group when that program, by its recorded identity, is still alive (a pid
    /// since reused is left alone); then records the exit code its program left in the
    /// run's exit mark, if it had exited, or else fails it as `Failed (Platform Issue)`
    /// with its next attempt queued (see `fail_platform`). Returns the runs it ended.
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<Vec<i64>, DbError> {
        let mut failed = Vec::new();
        let lapsed = run_leases::lapsed(&mut *self.reader().await?, now).await?;
        for (id, process) in lapsed {
            let killed = process.as_deref().and_then(Identity::parse).is_some_and(|p| p.kill_group());
            let dir = self.inner.work_dir.join(id.to_string());
            // Read after the kill: a program that exited first has left its code. A code
            // over 128 is a program ended by a signal, as the hub's stop ends it: that
            // run was cut short, not finished.
            let exited = files::read_capped(&dir.join(EXIT_MARK), 32)
                .ok()
                .and_then(|t| t.trim().parse::<i32>().ok())
                .filter(|code| (0..=128).contains(code));
            let closed = match exited {
                Some(code) => {
                    let (phase, result) = match code {
                        0 => (Phase::Succeeded, "It had finished".to_owned()),
                        c => (Phase::FailedIntegration, format!("Its program had exited with code {c}")),
                    };
                    let why = format!(
                        "{result}, but the hub stopped before it recorded the run: its stdout context and \
                         metadata were not kept, and it is not run again."
                    );
                    self.finish(id, phase, Some(code), None, Some(&why), false).await?
                }
                None => {
                    let why = "The hub stopped renewing this run's lease (it stopped or hung); the run was ended.";
                    self.fail_platform(id, why, now).await?
                }
            };
            if closed {
                failed.push(id);
            }
            let _ = std::fs::remove_dir_all(dir);
            tracing::warn!(run = id, killed, exited, "a run's lease lapsed");
        }
        Ok(failed)
    }
}
