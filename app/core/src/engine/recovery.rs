//! Recovery: runs whose lease lapsed (their hub stopped or hung) are failed as a
//! platform issue and their programs stopped, at start and whenever a lease ends.

use chrono::{DateTime, Utc};

use super::process::Identity;
use super::runs::Engine;
use crate::db::{run_leases, runs, DbError};

impl Engine {
    /// At start: fails the runs whose lease has lapsed by `now` (see [`Engine::sweep`])
    /// and returns the queued runs that never started, for the caller to start.
    pub async fn recover(&self, now: DateTime<Utc>) -> Result<Vec<i64>, DbError> {
        self.sweep(now).await?;
        runs::queued(self.pool(), now).await
    }

    /// Fails every running run whose lease ended before `now` as `Failed (Platform
    /// Issue)` (with its next attempt queued, see `fail_platform`), and kills its
    /// program's process group when that program, by its recorded identity, is still
    /// alive (a pid since reused is left alone). Returns the failed runs.
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<Vec<i64>, DbError> {
        let mut failed = Vec::new();
        for (id, process) in run_leases::lapsed(self.pool(), now).await? {
            let killed = process.as_deref().and_then(Identity::parse).is_some_and(|p| p.kill_group());
            let why = "The hub stopped renewing this run's lease (it stopped or hung); the run was ended.";
            if self.fail_platform(id, why, now).await? {
                failed.push(id);
            }
            let _ = std::fs::remove_dir_all(self.inner.work_dir.join(id.to_string()));
            tracing::warn!(run = id, killed, "a run's lease lapsed; it is failed as a platform issue");
        }
        Ok(failed)
    }
}
