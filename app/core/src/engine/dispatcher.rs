//! The dispatcher: each tenant's waiting triggers become at most one run at a time,
//! as many as there are free slots.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::executor::close;
use super::runs::{Ahead, Engine};
use crate::db::{releases, run_retries, run_triggers, runs, tenants, DbError};
use crate::domain::run::{self, Mode, Phase, TriggerKind, Waiting};

/// How many ready tenants the dispatcher reads at once, at least.
const READY_AHEAD: usize = 256;

/// How long ready tenants read ahead are used: the owners' runs in flight, which
/// order them, change as runs end.
const READY_KEPT: std::time::Duration = std::time::Duration::from_secs(1);

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
        let due = run_retries::due_retries(&mut *self.reader().await?, now, free).await?;
        for id in due {
            let Ok(permit) = self.inner.slots.clone().try_acquire_owned() else { break };
            let claimed = run_retries::claim_retry(&mut *self.writer().await?, id).await?;
            if claimed {
                started.push(self.spawn_run(id, permit));
            }
        }
        loop {
            let free = self.inner.slots.available_permits();
            if free == 0 {
                break;
            }
            let ready = self.next_ready(free).await?;
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
            // Fewer than asked for: that was every ready tenant (a trigger that comes
            // later raises the signal).
            if ready.len() < free {
                break;
            }
        }
        Ok(started)
    }

    /// Up to `n` tenants with waiting triggers and no active run, in their fair order
    /// (see `run_triggers::ready_tenants`). Fewer than `n` are every one there is.
    ///
    /// That order costs a look at every waiting tenant, and a burst of due tenants
    /// fills the slots one at a time as runs end; so it is read for more than the
    /// free slots, and the rest is kept for the next calls: for [`READY_KEPT`] at
    /// most, and until a trigger arrives (`wake`) or the scheduler fires. Meanwhile
    /// a tenant whose run ends with a trigger waiting (asked for before the read)
    /// waits for the next read, a second at most; one that was taken meanwhile
    /// loses its race in `make_runs`.
    async fn next_ready(&self, n: usize) -> Result<Vec<i64>, DbError> {
        let now = self.now();
        if let Ok(mut ahead) = self.inner.ready.lock() {
            let fresh = ahead.at.is_some_and(|at| (now - at).to_std().is_ok_and(|d| d < READY_KEPT));
            if fresh && ahead.tenants.len() >= n {
                return Ok(ahead.tenants.drain(..n).collect());
            }
        }
        let mut ready = run_triggers::ready_tenants(&mut *self.reader().await?, n.max(READY_AHEAD) as i64).await?;
        let rest = ready.split_off(n.min(ready.len()));
        if let Ok(mut ahead) = self.inner.ready.lock() {
            *ahead = Ahead { at: Some(now), tenants: rest.into() };
        }
        Ok(ready)
    }

    /// Forgets the ready tenants read ahead: new triggers may change the order.
    pub(super) fn forget_ready(&self) {
        if let Ok(mut ahead) = self.inner.ready.lock() {
            *ahead = Ahead::default();
        }
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
    /// transaction (a tenant that lost a race is left out; see `runs::create`).
    /// Returns the runs to start, in order.
    async fn make_runs(&self, tenant_ids: &[i64], now: DateTime<Utc>) -> Result<Vec<i64>, DbError> {
        // Reads first, outside the turn for writes: the tenants and their waiting
        // triggers in one query each. Tenants on the same release choice share one
        // resolution.
        let mut waiting: HashMap<i64, Vec<Waiting>> = HashMap::new();
        for (tenant_id, w) in run_triggers::waiting_of(&mut *self.reader().await?, tenant_ids).await? {
            waiting.entry(tenant_id).or_default().push(Waiting { id: w.id, kind: w.kind, mode: w.mode });
        }
        let found: HashMap<i64, tenants::TenantRow> =
            tenants::get_many(&mut *self.reader().await?, tenant_ids).await?.into_iter().map(|t| (t.id, t)).collect();
        let mut plans = Vec::with_capacity(tenant_ids.len());
        let mut resolved: HashMap<(i64, String, Option<i64>), Option<i64>> = HashMap::new();
        for tenant_id in tenant_ids {
            let (Some(waiting), Some(tenant)) = (waiting.get(tenant_id), found.get(tenant_id)) else { continue };
            let Some(first) = waiting.first() else { continue };
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
                tenant_id: *tenant_id,
                integration_id: tenant.integration_id,
                release_id,
                mode: first.mode,
                scheduled: first.kind == TriggerKind::Schedule,
                triggers: run::bundle(waiting),
                archived: tenant.archived,
            });
        }
        if plans.is_empty() {
            return Ok(Vec::new());
        }
        let mut turn = self.writer().await?;
        let mut tx = sqlx::Connection::begin(&mut *turn).await?;
        let mut made = Vec::with_capacity(plans.len());
        for p in &plans {
            if let Some(run) = make_one(&mut tx, p, now).await? {
                made.extend(run);
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
        let Some(r) = releases::get(&mut *self.reader().await?, id).await? else { return Ok(None) };
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
/// active, or a trigger was taken), and nothing was written; `Some(None)`: made and
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
