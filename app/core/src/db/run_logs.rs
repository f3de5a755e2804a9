//! Run logs (the `run_log_chunks` table): the pieces of a run's log, numbered in the
//! order the run wrote them.

use chrono::{DateTime, Utc};
use sqlx::SqliteExecutor;

/// Appends a piece of the log.
pub async fn append_log(db: &sqlx::SqlitePool, id: i64, seq: i64, text: &str, now: DateTime<Utc>) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
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

/// How many pieces [`tail`] reads at a time, newest first.
const TAIL_BATCH: i64 = 8;

/// The last `max` bytes (or a little less, to end on a character) of a run's log,
/// reading pieces newest first until it has enough: a 10 MB log is not read to show
/// its end.
pub async fn tail(db: &sqlx::SqlitePool, id: i64, max: usize) -> sqlx::Result<String> {
    let mut pieces: Vec<String> = Vec::new();
    let mut have = 0;
    let mut before = i64::MAX;
    while have < max {
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT seq, text FROM run_log_chunks WHERE run_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
        )
        .bind(id)
        .bind(before)
        .bind(TAIL_BATCH)
        .fetch_all(db)
        .await?;
        let Some((last, _)) = rows.last() else { break };
        before = *last;
        for (_, text) in rows {
            have += text.len();
            pieces.push(text);
            if have >= max {
                break;
            }
        }
    }
    pieces.reverse();
    let log: String = pieces.concat();
    let cut = log.len().saturating_sub(max);
    let start = (cut..log.len()).find(|i| log.is_char_boundary(*i)).unwrap_or(log.len());
    Ok(log[start..].to_owned())
}
