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

/// A search whose rarest three-character piece is in at most this many names reads
/// only those; a commoner one is found quicker by scanning the names in the list's
/// order, which stops at the page.
const FEW_MATCHES: i64 = 1_000;

/// How the list finds the names that contain the search.
enum Search {
    None,
    /// Through `tenant_trigrams`: the names that have this piece of the search, each
    /// then tested for the whole of it.
    Piece {
        piece: String,
        q: String,
    },
    /// By testing each name.
    Scan(String),
}

impl Search {
    /// A search of three characters or more whose rarest piece few names have is
    /// looked up by that piece; a shorter one cannot be, and a common one is quicker
    /// to scan for.
    async fn plan(db: &sqlx::SqlitePool, q: &str) -> sqlx::Result<Self> {
        let q = q.to_lowercase();
        if q.is_empty() {
            return Ok(Self::None);
        }
        let chars: Vec<char> = q.chars().collect();
        let mut pieces: Vec<String> = chars.windows(3).map(|w| w.iter().collect()).collect();
        pieces.sort_unstable();
        pieces.dedup();
        // Enough to find a rare one, few enough for one short query.
        pieces.truncate(16);
        if pieces.is_empty() {
            return Ok(Self::Scan(q));
        }
        let mut b = QueryBuilder::<Sqlite>::new(
            "SELECT column1, (SELECT count(*) FROM (SELECT 1 FROM tenant_trigrams WHERE trigram = column1 LIMIT ",
        );
        b.push_bind(FEW_MATCHES + 1).push(")) AS n FROM (VALUES ");
        let mut values = b.separated(", ");
        for piece in &pieces {
            values.push("(").push_bind_unseparated(piece.clone()).push_unseparated(")");
        }
        b.push(") ORDER BY n LIMIT 1");
        let (piece, matches): (String, i64) = b.build_query_as().fetch_one(db).await?;
        Ok(if matches <= FEW_MATCHES { Self::Piece { piece, q } } else { Self::Scan(q) })
    }
}

fn filters<'a>(b: &mut QueryBuilder<'a, Sqlite>, q: &'a ListQuery, search: &'a Search, organization: Option<i64>) {
    b.push(" WHERE t.archived = 0");
    if let Some(org) = organization {
        b.push(" AND t.integration_id IN (SELECT id FROM integrations WHERE organization_id = ")
            .push_bind(org)
            .push(")");
    }
    if let Some(i) = q.integration {
        b.push(" AND t.integration_id = ").push_bind(i);
    }
    match search {
        Search::None => {}
        Search::Piece { piece, q } => {
            b.push(" AND t.id IN (SELECT tenant_id FROM tenant_trigrams WHERE trigram = ")
                .push_bind(piece.clone())
                .push(") AND instr(t.name, ")
                .push_bind(q.clone())
                .push(") > 0");
        }
        // `instr` is a plain substring test: no LIKE wildcards to escape.
        Search::Scan(q) => {
            b.push(" AND instr(t.name, ").push_bind(q.clone()).push(") > 0");
        }
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

/// How many live tenants there are (of one organization, or one integration), from
/// the integrations' kept counts, without counting them (migration 0019).
pub async fn live_count(
    db: impl sqlx::SqliteExecutor<'_>,
    organization: Option<i64>,
    integration: Option<i64>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT coalesce(sum(live_tenants), 0) FROM integrations
         WHERE (?1 IS NULL OR organization_id = ?1) AND (?2 IS NULL OR id = ?2)",
    )
    .bind(organization)
    .bind(integration)
    .fetch_one(db)
    .await
}

/// One page of the tenants list (only `organization`'s when given), how many tenants
/// match in all, and the page shown (the query's, kept within the pages there are).
pub async fn list(
    db: &sqlx::SqlitePool,
    q: &ListQuery,
    organization: Option<i64>,
) -> sqlx::Result<(Vec<TenantListRow>, i64, i64)> {
    let search = Search::plan(db, &q.q).await?;
    let total: i64 = if matches!(search, Search::None) && q.state.is_none() {
        live_count(db, organization, q.integration).await?
    } else {
        let mut count = QueryBuilder::new("SELECT count(*) FROM tenants t");
        filters(&mut count, q, &search, organization);
        count.build_query_scalar().fetch_one(db).await?
    };
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
    filters(&mut b, q, &search, organization);
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
