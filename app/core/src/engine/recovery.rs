//! Recovery at start: what a stop of the hub left running.

use chrono::{DateTime, Utc};

use super::executor::close;
use super::process;
use super::runs::Engine;
use crate::db::{runs, DbError};
use crate::domain::run::Phase;

impl Engine {
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
            self.inner.db.outbox_written();
            let _ = std::fs::remove_dir_all(self.inner.work_dir.join(id.to_string()));
            tracing::warn!(run = id, "a run was cut short by a stop of the hub");
        }
        runs::queued(self.pool()).await
    }
}
