//! The dispatcher: each tenant's waiting triggers become at most one run at a time,
//! as many as there are free slots.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::executor::close;
use super::runs::Engine;
use crate::db::{releases, run_retries, run_triggers, runs, tenants, DbError};
use crate::domain::run::{self, Mode, Phase, TriggerKind, Waiting};

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
pub(super) struct ReleaseInfo {
    pub id: i64,
    pub name: String,
    pub run_command: Option<String>,
    pub manifest: Option<String>,
}

impl Engine {
    /// Makes runs for tenants with waiting triggers and no active run, as many as
    /// there are free slots, and starts them. Returns the started runs' tasks.
    pub async fn dispatch(&self, now: DateTime<Utc>) -> Result<Vec<tokio::task::JoinHandle<()>>, DbError> {
        let mut started = Vec::new();
        // Retries whose wait is over go first; their tenants' new triggers wait behind
        // them. Each is claimed, so two dispatchers never start one twice.
        let free = self.inner.slots.available_permits() as i64;
        for id in run_retries::due_retries(self.pool(), now, free).await? {
            let Ok(permit) = self.inner.slots.clone().try_acquire_owned() else { break };
            let claimed = {
                let _turn = self.inner.writes.lock().await;
                run_retries::claim_retry(self.pool(), id).await?
            };
            if claimed {
                started.push(self.spawn_run(id, permit));
            }
        }
        loop {
            let free = self.inner.slots.available_permits();
            if free == 0 {
                break;
            }
            let ready = run_triggers::ready_tenants(self.pool(), free as i64).await?;
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
    pub(super) fn spawn_run(
        &self,
        run_id: i64,
        permit: tokio::sync::OwnedSemaphorePermit,
    ) -> tokio::task::JoinHandle<()> {
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
            let waiting: Vec<Waiting> = run_triggers::waiting(self.pool(), tenant_id)
                .await?
                .into_iter()
                .map(|w| Waiting { id: w.id, kind: w.kind, mode: w.mode })
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
    pub(super) async fn release(&self, id: i64) -> Result<Option<Arc<ReleaseInfo>>, DbError> {
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
