//! Run logs (the `run_log_chunks` table): the pieces of a run's log, numbered in the
//! order the run wrote them.

use chrono::{DateTime, Utc};
use sqlx::SqliteExecutor;

/// Appends a piece of the log.
pub async fn append_log(
    db: &mut sqlx::SqliteConnection,
    id: i64,
    seq: i64,
    text: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let mut tx = sqlx::Connection::begin(db).await?;
    sqlx::query("INSERT INTO run_log_chunks (run_id, seq, at, text) VALUES (?, ?, ?, ?)")
        .bind(id)
        .bind(seq)
        .bind(now)
        .bind(text)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE runs SET log_bytes = log_bytes + ? WHERE id = ?")
        .bind(i64::try_from(text.len()).unwrap_or(i64::MAX))
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// The log of a run from piece `from_seq` on, and the next piece's number.
pub async fn log(db: impl SqliteExecutor<'_>, id: i64, from_seq: i64) -> sqlx::Result<(String, i64)> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT seq, text FROM run_log_chunks WHERE run_id = ? AND seq >= ? ORDER BY seq")
            .bind(id)
            .bind(from_seq)
            .fetch_all(db)
            .await?;
    let next = rows.last().map_or(from_seq, |(s, _)| s + 1);
    Ok((rows.into_iter().map(|(_, t)| t).collect(), next))
}

/// How many pieces a window reads at a time.
const BATCH: i64 = 8;

/// Where a window of a log lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogAt {
    /// Its end.
    End,
    /// Just before piece `n`.
    Before(i64),
    /// From piece `n` on.
    From(i64),
}

impl LogAt {
    /// The place a page or an API call asks for: before a piece, from a piece, or the end.
    pub fn of(before: Option<i64>, from: Option<i64>) -> Self {
        match (before, from) {
            (Some(n), _) => Self::Before(n),
            (None, Some(n)) => Self::From(n),
            (None, None) => Self::End,
        }
    }
}

/// A stretch of whole pieces of a log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogWindow {
    pub text: String,
    /// The first and last pieces shown (none when the window is empty).
    pub pieces: Option<(i64, i64)>,
    /// Pieces come before, or after, the window.
    pub earlier: bool,
    pub later: bool,
}

/// A window of whole pieces holding at least `max` bytes (when the log has them) and
/// at most one piece more, read a batch at a time: a 10 MB log is not read to show a
/// megabyte of it.
pub async fn window(db: &sqlx::SqlitePool, id: i64, at: LogAt, max: usize) -> sqlx::Result<LogWindow> {
    let backwards = !matches!(at, LogAt::From(_));
    let mut bound = match at {
        LogAt::End => i64::MAX,
        LogAt::Before(n) | LogAt::From(n) => n,
    };
    let sql = if backwards {
        "SELECT seq, text FROM run_log_chunks WHERE run_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?"
    } else {
        "SELECT seq, text FROM run_log_chunks WHERE run_id = ? AND seq >= ? ORDER BY seq LIMIT ?"
    };
    let mut pieces: Vec<(i64, String)> = Vec::new();
    let mut have = 0;
    'read: while have < max {
        let rows: Vec<(i64, String)> = sqlx::query_as(sql).bind(id).bind(bound).bind(BATCH).fetch_all(db).await?;
        let Some((last, _)) = rows.last() else { break };
        bound = if backwards { *last } else { last + 1 };
        for row in rows {
            have += row.1.len();
            pieces.push(row);
            if have >= max {
                break 'read;
            }
        }
    }
    if backwards {
        pieces.reverse();
    }
    let span = pieces.first().zip(pieces.last()).map(|((a, _), (b, _))| (*a, *b));
    // Pieces before `first` and from `next` on.
    let (first, next) = match (span, at) {
        (Some((a, b)), _) => (a, b + 1),
        (None, LogAt::Before(n) | LogAt::From(n)) => (n, n),
        (None, LogAt::End) => (i64::MIN, i64::MAX),
    };
    let (earlier, later): (bool, bool) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM run_log_chunks WHERE run_id = ?1 AND seq < ?2),
                EXISTS (SELECT 1 FROM run_log_chunks WHERE run_id = ?1 AND seq >= ?3)",
    )
    .bind(id)
    .bind(first)
    .bind(next)
    .fetch_one(db)
    .await?;
    Ok(LogWindow { text: pieces.into_iter().map(|(_, t)| t).collect(), pieces: span, earlier, later })
}

/// The last `max` bytes (or a little less, to end on a character) of a run's log.
pub async fn tail(db: &sqlx::SqlitePool, id: i64, max: usize) -> sqlx::Result<String> {
    let log = window(db, id, LogAt::End, max).await?.text;
    let cut = log.len().saturating_sub(max);
    let start = (cut..log.len()).find(|i| log.is_char_boundary(*i)).unwrap_or(log.len());
    Ok(log[start..].to_owned())
}
