//! What a tenant's page shows, worked out once for either audience: the console (an
//! admin's or a partner's user) or the end user in the embedded marketplace. What the
//! tenant still lacks, which draft to show, whether a sync is on its way.

use chrono::{DateTime, Utc};

use super::tenants::{configs, draft_for, dynamic_options, parse_definition, release_of, webhook_of};
use super::{Db, Scope, ServiceError};
use crate::db::connections::{self, ConnectionRow};
use crate::db::runs::{self, RunFilter, RunListRow};
use crate::db::tenants::TenantRow;
use crate::db::{integrations, releases, run_logs, run_triggers, tenant_list};
use crate::domain::connector::AuthKind;
use crate::domain::form::{Audience, FieldKind, Form, Raw, Values};
use crate::domain::magic_link::LinkSettings;
use crate::domain::marketplace::EndUser;
use crate::domain::release::{ReleaseChoice, ReleaseStatus};
use crate::domain::tenant::{Schedule, ScheduleInput, SetupStep};
use crate::secrets::SecretKey;

/// Who looks at the tenant.
#[derive(Clone, Copy, Debug)]
pub enum Viewer<'a> {
    /// A console user, within the scope of their organization.
    Console(Scope),
    /// An end user of the embedded marketplace: only their own tenants.
    EndUser(&'a EndUser),
}

/// How much of a run's log the marketplace shows.
const END_USER_LOG: usize = 4096;

/// One connection as a page shows it: never its credentials.
#[derive(Debug)]
pub struct Connection {
    pub row: ConnectionRow,
    pub auth: AuthKind,
    /// (name, label, secret) of each field an `api_key`/`basic` connector asks for.
    pub fields: Vec<(String, String, bool)>,
    pub connected: bool,
    /// The hub can collect its credentials: an OAuth2 connector has its client id.
    pub configured: bool,
    /// The magic link's token, for its URL.
    pub link: Option<String>,
    /// When the magic link stops working, if it ever does.
    pub link_expires_at: Option<DateTime<Utc>>,
}

/// A successful release a tenant may choose.
#[derive(Debug)]
pub struct ReleaseOption {
    pub id: i64,
    pub name: String,
    pub is_default: bool,
}

#[derive(Debug)]
pub struct Overview {
    pub tenant: TenantRow,
    pub step: SetupStep,
    /// "Pinned: v2 (main)", "Default channel (now v2 (main))".
    pub release_text: String,
    /// `None` when the release choice points at no successful release.
    pub form: Option<Form>,
    pub dynamic: Values,
    /// What the configuration form shows: an unsaved draft, or the stored values (for
    /// an end user, only the fields the end user may see).
    pub raw: Raw,
    /// The form has dynamic choices and the init sync has not brought them yet.
    pub waiting_for_choices: bool,
    pub schedule: Option<Schedule>,
    pub schedule_text: String,
    /// What the schedule step shows: an unsaved draft, or the stored schedule.
    pub schedule_input: ScheduleInput,
    pub paused: bool,
    pub connections: Vec<Connection>,
    /// What an unfinished tenant still lacks, in words.
    pub lacks: Vec<String>,
    /// The latest runs, newest first; for an end user with the end of each log.
    pub runs: Vec<(RunListRow, Option<String>)>,
    /// Sync requests not yet made into a run.
    pub waiting: usize,
    /// A sync is waiting, queued or running: the page refreshes until it ends.
    pub busy: bool,
    /// Successful releases to choose from, newest first (console only).
    pub releases: Vec<ReleaseOption>,
    /// The inbound webhook URL, once one was made (console only).
    pub webhook_url: Option<String>,
}

/// The tenant as `viewer` sees it, or not found when it is not theirs to see.
pub async fn overview(
    db: &Db,
    key: &SecretKey,
    public_url: &str,
    viewer: Viewer<'_>,
    tenant_id: i64,
) -> Result<Overview, ServiceError> {
    let (t, audience, run_count) = match viewer {
        Viewer::Console(scope) => (super::tenants::visible(db, scope, tenant_id).await?, Audience::Hub, 20),
        Viewer::EndUser(user) => (super::marketplace::app(db, user, tenant_id).await?, Audience::EndUser, 5),
    };
    // What follows the tenant's row reads it concurrently: the page waits for the
    // slowest read instead of for each in turn.
    let runs = async {
        // Waiting triggers before runs: a trigger the dispatcher turns into a run between
        // the two reads is then seen as one or the other, never as neither.
        let waiting = run_triggers::waiting(db.pool(), t.id).await?.len();
        let filter = RunFilter { tenant_id: Some(t.id), ..Default::default() };
        let mut shown = Vec::new();
        for r in runs::list(db.pool(), &filter, run_count).await? {
            let tail = match audience {
                Audience::EndUser => Some(run_logs::tail(db.pool(), r.id, END_USER_LOG).await?),
                Audience::Hub => None,
            };
            shown.push((r, tail));
        }
        Ok::<_, ServiceError>((waiting, shown))
    };
    let hub_only = async {
        Ok::<_, ServiceError>(match audience {
            Audience::Hub => {
                (succeeded_releases(db, t.integration_id).await?, webhook_of(db, key, public_url, t.id).await?)
            }
            Audience::EndUser => (Vec::new(), None),
        })
    };
    let connections = async {
        let links = super::connections::link_settings(db).await?;
        let rows = connections::connections(db.pool(), t.id).await?;
        Ok::<_, ServiceError>(rows.into_iter().map(|r| connection(r, key, links)).collect::<Vec<Connection>>())
    };
    let (release, connections, (waiting, shown), (releases, webhook_url)) =
        tokio::try_join!(release_of(db, &t), connections, runs, hub_only)?;
    let form = release.as_ref().map(|(_, m)| Form::build(&m.configs, audience));
    let dynamic = dynamic_options(&t);
    let stored = configs(&t);
    let mut raw: Raw = draft_for(&t, SetupStep::Configuration)
        .and_then(|d| serde_json::from_value(d).ok())
        .or_else(|| form.as_ref().map(|f| f.to_raw(&stored)))
        .unwrap_or_default();
    if audience == Audience::EndUser {
        // A draft may be an admin's, with admin-only values: only the end user's fields go out.
        let shown: Vec<String> =
            form.as_ref().map(|f| f.fields().iter().map(|x| x.name.clone()).collect()).unwrap_or_default();
        raw.retain(|name, _| shown.contains(name));
    }
    let has_dynamic =
        form.as_ref().is_some_and(|f| f.fields().iter().any(|f| matches!(f.kind, FieldKind::Dynamic { .. })));
    let schedule = Schedule::from_parts(&t.schedule_kind, &t.schedule, &t.timezone);
    let (schedule_input, paused) = match draft_for(&t, SetupStep::Schedule) {
        Some(d) => {
            (serde_json::from_value(d["input"].clone()).unwrap_or_default(), d["paused"].as_bool().unwrap_or(t.paused))
        }
        None => (schedule.as_ref().map(Schedule::to_input).unwrap_or_default(), t.paused),
    };
    let step = t.step();
    let lacks = lacks(&connections, form.as_ref(), &stored, &dynamic, step);
    // Asked-for syncs wait as triggers until the dispatcher makes a run of them; the page
    // keeps refreshing while there are any, or the new run would never show up.
    let busy = waiting > 0 || shown.iter().any(|(r, _)| r.phase.is_active());
    Ok(Overview {
        release_text: ReleaseChoice::describe(t.choice(), release.as_ref().map(|(r, _)| r.name.as_str())),
        schedule_text: schedule.as_ref().map_or_else(|| t.schedule.clone(), Schedule::describe),
        waiting_for_choices: has_dynamic && dynamic.is_empty(),
        tenant: t,
        step,
        form,
        dynamic,
        raw,
        schedule,
        schedule_input,
        paused,
        connections,
        lacks,
        runs: shown,
        waiting,
        busy,
        releases,
        webhook_url,
    })
}

fn connection(row: ConnectionRow, key: &SecretKey, links: LinkSettings) -> Connection {
    let def = parse_definition(&row.definition);
    Connection {
        link: super::connections::link_token(key, row.magic_sealed.as_deref()),
        link_expires_at: row.magic_issued_at.and_then(|at| links.expires_at(at)),
        auth: row.auth,
        configured: def.as_ref().is_some_and(|d| d.oauth2.as_ref().is_none_or(|o| !o.client_id.is_empty())),
        fields: def.map(|d| d.fields.into_iter().map(|f| (f.name, f.label, f.secret)).collect()).unwrap_or_default(),
        connected: row.settled(),
        row,
    }
}

/// What keeps the tenant from running as it should, in words.
fn lacks(
    connections: &[Connection],
    form: Option<&Form>,
    stored: &Values,
    dynamic: &Values,
    step: SetupStep,
) -> Vec<String> {
    let mut lacks: Vec<String> = connections
        .iter()
        .filter(|c| !c.connected)
        .map(|c| format!("{} is not connected", c.row.display_name))
        .collect();
    match form {
        None => lacks.push("The release choice points at no successful release".to_owned()),
        Some(f) => {
            let missing = f.missing(stored, dynamic);
            if matches!(step, SetupStep::Credentials | SetupStep::Configuration) {
                lacks.push("The configuration has not been saved".to_owned());
            } else if !missing.is_empty() {
                lacks.push(format!("Required settings are empty: {}", missing.join(", ")));
            }
        }
    }
    if step != SetupStep::Done {
        lacks.push("The sync schedule has not been saved".to_owned());
    }
    lacks
}

/// The last `max` bytes of a log, cut at a character boundary.
/// An integration's successful releases, newest first, the default marked.
pub async fn succeeded_releases(db: &Db, integration_id: i64) -> Result<Vec<ReleaseOption>, ServiceError> {
    let default = integrations::get(db.pool(), integration_id).await?.and_then(|i| i.default_release_id);
    let mut rows: Vec<_> = releases::list_for(db.pool(), integration_id)
        .await?
        .into_iter()
        .filter(|r| r.status == ReleaseStatus::Succeeded && !r.files_removed)
        .collect();
    rows.sort_by(|a, b| b.finished_at.cmp(&a.finished_at).then(b.id.cmp(&a.id)));
    Ok(rows.into_iter().map(|r| ReleaseOption { is_default: Some(r.id) == default, id: r.id, name: r.name }).collect())
}

/// Step 1's choices for one integration: its successful releases and what its two
/// channels point at now (by name).
pub struct NewTenantChoices {
    pub integration: crate::db::IntegrationRow,
    pub releases: Vec<ReleaseOption>,
    pub default_release: Option<String>,
    pub latest_release: Option<String>,
}

pub async fn new_tenant_choices(db: &Db, scope: Scope, integration_id: i64) -> Result<NewTenantChoices, ServiceError> {
    let integration = super::integrations::visible(db, scope, integration_id).await?;
    let latest = releases::latest_succeeded(db.pool(), integration_id).await?;
    let releases = succeeded_releases(db, integration_id).await?;
    let name_of = |id: Option<i64>| releases.iter().find(|r| Some(r.id) == id).map(|r| r.name.clone());
    Ok(NewTenantChoices {
        default_release: name_of(integration.default_release_id),
        latest_release: name_of(latest),
        releases,
        integration,
    })
}

/// One page of the tenants list the scope may see, how many match, the page shown,
/// and the integrations to filter by.
pub struct TenantList {
    pub rows: Vec<tenant_list::TenantListRow>,
    pub total: i64,
    pub page: i64,
    pub integrations: Vec<(i64, String)>,
}

pub async fn list(db: &Db, scope: Scope, query: &crate::domain::tenant::ListQuery) -> Result<TenantList, ServiceError> {
    let (rows, total, page) = tenant_list::list(db.pool(), query, scope.organization()).await?;
    let integrations = integrations::names(db.pool(), scope.organization()).await?;
    Ok(TenantList { rows, total, page, integrations })
}
