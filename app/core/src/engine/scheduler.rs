//! The scheduler: due schedules become triggers.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::runs::Engine;
use crate::db::{run_triggers, runs, DbError};
use crate::domain::run::{Mode, TriggerKind};
use crate::domain::tenant::Schedule;

/// How many due tenants the scheduler fires in one transaction.
const FIRE_BATCH: i64 = 500;

impl Engine {
    /// Fires every tenant whose next fire time has come by `now`: one scheduled
    /// trigger each, however many slots were missed, and the next fire time after
    /// `now`. A tenant with a run going gets its trigger bundled into the next run,
    /// and a `skipped` entry in its history. Returns the earliest next fire time.
    pub async fn fire_due(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, DbError> {
        loop {
            let due = runs::due(&mut *self.reader().await?, now, FIRE_BATCH).await?;
            if due.is_empty() {
                break;
            }
            let mut turn = self.writer().await?;
            let mut tx = sqlx::Connection::begin(&mut *turn).await?;
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
                run_triggers::insert_trigger(
                    &mut *tx,
                    d.id,
                    TriggerKind::Schedule,
                    Mode::Normal,
                    Some(&payload),
                    None,
                    now,
                )
                .await?;
            }
            tx.commit().await?;
            drop(turn);
            self.forget_ready();
            if (due.len() as i64) < FIRE_BATCH {
                break;
            }
        }
        runs::next_wake(&mut *self.reader().await?).await
    }
}
