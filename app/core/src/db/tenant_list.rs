//! The console's tenants list: one page of the `tenants` table with its filters and
//! sort order, and how many tenants match.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, QueryBuilder, Sqlite};

use crate::domain::release::ReleaseChoice;
use crate::domain::run::Phase;
use crate::domain::tenant::{ListQuery, SetupStep, SortOrder, Source, StateFilter, PAGE_SIZE};

/// One row of the tenants list.
#[derive(Debug, FromRow)]
pub struct TenantListRow {
    pub id: i64,
    pub name: String,
    pub integration_id: i64,
    pub integration_name: String,
    pub release_choice: String,
    pub release_id: Option<i64>,
    pub release_name: Option<String>,
    pub schedule_kind: String,
    pub schedule: String,
    pub timezone: String,
    pub paused: bool,
    pub setup_step: SetupStep,
    pub source: Source,
    pub last_run_phase: Option<Phase>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub next_fire_at: Option<DateTime<Utc>>,
    pub disconnected: i64,
}

impl TenantListRow {
    /// The release choice, when the stored columns make one.
    pub fn choice(&self) -> Option<ReleaseChoice> {
        ReleaseChoice::from_parts(&self.release_choice, self.release_id)
    }
}

/// The phases that count as a failed run.
const FAILED: &str = "t.last_run_phase LIKE 'failed%'";

fn filters<'a>(b: &mut QueryBuilder<'a, Sqlite>, q: &'a ListQuery, organization: Option<i64>) {
    b.push(" WHERE t.archived = 0");
    if let Some(org) = organization {
        b.push(" AND t.integration_id IN (SELECT id FROM integrations WHERE organization_id = ")
            .push_bind(org)
            .push(")");
    }
    if let Some(i) = q.integration {
        b.push(" AND t.integration_id = ").push_bind(i);
    }
    if !q.q.is_empty() {
        // `instr` is a plain substring test: no LIKE wildcards to escape.
        b.push(" AND instr(t.name, ").push_bind(q.q.to_lowercase()).push(") > 0");
    }
    match q.state {
        Some(StateFilter::Paused) => b.push(" AND t.paused = 1"),
        Some(StateFilter::Running) => b.push(" AND t.paused = 0"),
        Some(StateFilter::NotConnected) => b.push(" AND t.disconnected > 0"),
        Some(StateFilter::LastRunFailed) => b.push(" AND ").push(FAILED),
        Some(StateFilter::Unfinished) => b.push(" AND t.setup_step <> 'done'"),
        None => b,
    };
}

/// One page of the tenants list (only `organization`'s when given), how many tenants
/// match in all, and the page shown (the query's, kept within the pages there are).
pub async fn list(
    db: &sqlx::SqlitePool,
    q: &ListQuery,
    organization: Option<i64>,
) -> sqlx::Result<(Vec<TenantListRow>, i64, i64)> {
    let mut count = QueryBuilder::new("SELECT count(*) FROM tenants t");
    filters(&mut count, q, organization);
    let total: i64 = count.build_query_scalar().fetch_one(db).await?;
    // A page past the end shows the last one.
    let last_page = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let page = q.page.clamp(1, last_page);

    let mut b = QueryBuilder::new(
        "SELECT t.id, t.name, t.integration_id, i.name AS integration_name, t.release_choice, t.release_id,
                r.name AS release_name, t.schedule_kind, t.schedule, t.timezone, t.paused, t.setup_step, t.source,
                t.last_run_phase, t.last_run_at, t.next_fire_at, t.disconnected
         FROM tenants t
         JOIN integrations i ON i.id = t.integration_id
         LEFT JOIN releases r ON r.id = t.release_id",
    );
    filters(&mut b, q, organization);
    b.push(match q.sort {
        SortOrder::Name => " ORDER BY t.name, t.id",
        SortOrder::NameDesc => " ORDER BY t.name DESC, t.id DESC",
        SortOrder::Integration => " ORDER BY t.integration_id, t.name",
        SortOrder::Newest => " ORDER BY t.id DESC",
        // NULLs (never run) sort last in descending order, and the index serves it.
        SortOrder::LastRun => " ORDER BY t.last_run_at DESC, t.id DESC",
    });
    b.push(" LIMIT ").push_bind(PAGE_SIZE).push(" OFFSET ").push_bind((page - 1) * PAGE_SIZE);
    let rows = b.build_query_as().fetch_all(db).await?;
    Ok((rows, total, page))
}
