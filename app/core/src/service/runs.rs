//! Runs: asking for one (from the console, the marketplace, the REST API or an inbound
//! webhook: the trigger and its audit entry in one transaction), and the reads of runs
//! each front door shows.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{invalid, limited, Actor, Db, Scope, ServiceError};
use crate::db::run_triggers::{self, Asked, TriggerRow, TriggerStatusRow};
use crate::db::runs::{self, FailingRow};
pub use crate::db::runs::{RunFilter, RunListRow, RunRow};
use crate::db::{audit, integrations, run_logs, tenants};
use crate::domain::audit::AuditAction;
use crate::domain::fair_use::{FairUse, Limit};
use crate::domain::run::{Mode, TriggerKind};
use crate::engine::runs::Engine;

/// The mode a person or a machine may ask for: `normal` or `init` (webhook runs come
/// only from webhooks).
pub fn requested_mode(text: &str) -> Result<Mode, ServiceError> {
    match Mode::parse(text) {
        Some(m @ (Mode::Init | Mode::Normal)) => Ok(m),
        _ => Err(invalid("mode", "Choose a normal or an init sync.")),
    }
}

/// Who asked, as a trigger records it.
fn asked_by(actor: &Actor, kind: TriggerKind) -> String {
    match (actor, kind) {
        (_, TriggerKind::Webhook) => "webhook".to_owned(),
        (Actor::User { email, .. }, _) => email.clone(),
        (Actor::ApiKey { name, .. }, _) => format!("api key {name}"),
        (Actor::Marketplace { sub }, _) => format!("marketplace {sub}"),
        (Actor::System, _) => "the hub".to_owned(),
    }
}

/// Asks for a run of the tenant: a trigger waits until the tenant's current run (if
/// any) ends, bundled with other waiting triggers. The trigger and the audit entry are
/// written together, then the engine is woken. Returns the trigger's id.
#[allow(clippy::too_many_arguments)]
pub async fn request(
    db: &Db,
    engine: &Engine,
    actor: &Actor,
    tenant_id: i64,
    kind: TriggerKind,
    mode: Mode,
    payload: Option<&Value>,
    now: DateTime<Utc>,
) -> Result<i64, ServiceError> {
    write_trigger(db, engine, actor, tenant_id, (kind, mode), payload, true, now).await
}

/// The init sync that finishing a marketplace setup step starts: not counted against
/// the user's syncs (their installs are counted instead), so a setup that was saved
/// never lacks its sync.
pub async fn request_setup_sync(
    db: &Db,
    engine: &Engine,
    actor: &Actor,
    tenant_id: i64,
    now: DateTime<Utc>,
) -> Result<i64, ServiceError> {
    write_trigger(db, engine, actor, tenant_id, (TriggerKind::Manual, Mode::Init), None, false, now).await
}

#[allow(clippy::too_many_arguments)]
async fn write_trigger(
    db: &Db,
    engine: &Engine,
    actor: &Actor,
    tenant_id: i64,
    (kind, mode): (TriggerKind, Mode),
    payload: Option<&Value>,
    metered: bool,
    now: DateTime<Utc>,
) -> Result<i64, ServiceError> {
    let by = asked_by(actor, kind);
    let payload_text = payload.map(Value::to_string);
    // Counted and written in one IMMEDIATE transaction: parallel requests see each
    // other, so a limit lets exactly its number through.
    let mut tx = db.begin_write().await?;
    if metered {
        check_fair_use(&mut tx, engine.fair_use(), actor, tenant_id, kind, &by, now).await?;
    }
    let id =
        run_triggers::insert_trigger(&mut *tx, tenant_id, kind, mode, payload_text.as_deref(), Some(&by), now).await?;
    let entry = audit::Entry {
        actor,
        action: AuditAction::RunRequested,
        object_type: "tenant",
        object_id: Some(tenant_id.to_string()),
        detail: json!({ "mode": mode.as_str(), "trigger": kind.as_str() }),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    engine.wake();
    Ok(id)
}

/// Refuses a request over its fair-use limit: webhook calls per tenant, a marketplace
/// user's syncs, an organization's people's and keys' syncs. The hub's own (the
/// scheduler, retries) are not counted.
async fn check_fair_use(
    tx: &mut sqlx::SqliteConnection,
    limits: FairUse,
    actor: &Actor,
    tenant_id: i64,
    kind: TriggerKind,
    by: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let (limit, asked, what): (Limit, Asked<'_>, fn(u32) -> String) = match (actor, kind) {
        (_, TriggerKind::Webhook) => (limits.webhooks_per_tenant, Asked::Webhooks { tenant_id }, |n| {
            format!("This tenant took {n} webhook calls in the last minute")
        }),
        (Actor::Marketplace { .. }, _) => (limits.runs_per_user, Asked::By { created_by: by }, |n| {
            format!("You asked for {n} syncs in the last hour")
        }),
        (Actor::User { .. } | Actor::ApiKey { .. }, _) => {
            let Some(tenant) = tenants::get(&mut *tx, tenant_id).await? else { return Ok(()) };
            (limits.runs_per_organization, Asked::Organization { organization_id: tenant.organization_id }, |n| {
                format!("Your organization asked for {n} syncs in the last hour")
            })
        }
        (Actor::System, _) => return Ok(()),
    };
    let times = run_triggers::asked_since(&mut *tx, asked, limit.since(now)).await?;
    match limit.wait(&times, now) {
        Some(wait) => Err(limited(what(limit.max), wait)),
        None => Ok(()),
    }
}

/// An inbound webhook for the tenant its token names: the body is kept for the next
/// run and a `webhook` trigger made. Not found when no live tenant has the token.
pub async fn webhook(
    db: &Db,
    engine: &Engine,
    token: &str,
    body: &[u8],
    content_type: Option<&str>,
    now: DateTime<Utc>,
) -> Result<i64, ServiceError> {
    let tenant_id = super::tenants::by_webhook_token(db, token).await?.ok_or(ServiceError::NotFound)?;
    let payload = engine.keep_webhook_body(body, content_type).await.map_err(crate::db::DbError::Io)?;
    let made = request(db, engine, &Actor::System, tenant_id, TriggerKind::Webhook, Mode::Webhook, Some(&payload), now);
    match made.await {
        Ok(id) => Ok(id),
        Err(e) => {
            engine.forget_webhook_body(&payload).await;
            Err(e)
        }
    }
}

/// The Activity page: runs newest first (one more than `limit`, to tell whether there is
/// an older page), tenants whose last run failed, and the names the filters show.
pub struct Activity {
    pub runs: Vec<RunListRow>,
    pub failing: Vec<FailingRow>,
    pub integrations: Vec<(i64, String)>,
    /// The tenant filtered on, when the scope may see it.
    pub tenant_name: Option<String>,
}

pub async fn activity(db: &Db, scope: Scope, mut filter: RunFilter, limit: i64) -> Result<Activity, ServiceError> {
    filter.organization = scope.organization();
    let tenant_name = match filter.tenant_id {
        Some(t) => tenants::get(db.pool(), t).await?.filter(|t| scope.allows(t.organization_id)).map(|t| t.name),
        None => None,
    };
    Ok(Activity {
        runs: runs::list(db.pool(), &filter, limit + 1).await?,
        failing: runs::failing_tenants(db.pool(), scope.organization(), 20).await?,
        integrations: integrations::names(db.pool(), scope.organization()).await?,
        tenant_name,
    })
}

/// One run, when the scope may see it.
pub async fn get(db: &Db, scope: Scope, id: i64) -> Result<RunRow, ServiceError> {
    match runs::get(db.pool(), id).await? {
        Some(r) if scope.allows(r.organization_id) => Ok(r),
        _ => Err(ServiceError::NotFound),
    }
}

/// About how much of a run's log a page shows: a window of whole pieces of at least
/// this much (when the log has it), the end unless another place is asked for.
pub const LOG_SHOWN: usize = 1024 * 1024;

pub use crate::db::run_logs::{LogAt, LogWindow};

/// One run in full: its triggers and a window of its log (the run's `log_bytes` says
/// how long the whole log is).
pub struct Detail {
    pub run: RunRow,
    pub triggers: Vec<TriggerRow>,
    pub log: LogWindow,
}

pub async fn detail(db: &Db, scope: Scope, id: i64, at: LogAt) -> Result<Detail, ServiceError> {
    let run = get(db, scope, id).await?;
    let triggers = run_triggers::triggers_of(db.pool(), id).await?;
    let log = run_logs::window(db.pool(), id, at, LOG_SHOWN).await?;
    Ok(Detail { run, triggers, log })
}

/// A run with a window of its log.
pub async fn with_log(db: &Db, scope: Scope, id: i64, at: LogAt) -> Result<(RunRow, LogWindow), ServiceError> {
    let run = get(db, scope, id).await?;
    let log = run_logs::window(db.pool(), id, at, LOG_SHOWN).await?;
    Ok((run, log))
}

/// A trigger and, once it was made into one, its run.
pub async fn trigger_status(db: &Db, id: i64) -> Result<TriggerStatusRow, ServiceError> {
    run_triggers::trigger_status(db.pool(), id).await?.ok_or(ServiceError::NotFound)
}

/// A page of one live tenant's runs (sorted by a column the caller checked against its
/// allow-list), and how many there are.
pub async fn page(
    db: &Db,
    tenant_id: i64,
    sort: (&'static str, bool),
    limit: i64,
    skip: i64,
) -> Result<(Vec<RunRow>, i64), ServiceError> {
    super::tenants::visible(db, Scope::All, tenant_id).await?;
    Ok(runs::page(db.pool(), tenant_id, sort, limit, skip).await?)
}
