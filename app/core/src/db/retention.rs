//! What the janitor prunes, a batch at a time, and what the settings page measures.
//! Every delete takes at most `limit` rows, so the write lock is held briefly.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteExecutor};

/// Ids as the JSON array `json_each` reads.
fn id_list(ids: &[i64]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned())
}

/// Deletes the logs of up to `limit` runs that finished before `before`, and marks the
/// runs. Returns how many runs it marked.
pub async fn drop_old_logs(
    db: &sqlx::SqlitePool,
    before: DateTime<Utc>,
    limit: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    let mut tx = db.begin().await?;
    // The update comes first so that the transaction takes the write lock before it reads.
    let ids: Vec<i64> = sqlx::query_scalar(
        "UPDATE runs SET log_removed_at = ?
         WHERE id IN (SELECT id FROM runs WHERE log_removed_at IS NULL AND finished_at IS NOT NULL
                      AND finished_at < ? LIMIT ?)
         RETURNING id",
    )
    .bind(now)
    .bind(before)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM run_log_chunks WHERE run_id IN (SELECT value FROM json_each(?))")
        .bind(id_list(&ids))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(ids.len() as u64)
}

/// Tenants with more than `keep` runs.
pub async fn crowded_tenants(db: impl SqliteExecutor<'_>, keep: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("SELECT tenant_id FROM runs GROUP BY tenant_id HAVING count(*) > ?")
        .bind(keep)
        .fetch_all(db)
        .await
}

/// Deletes up to `limit` of a tenant's finished runs beyond its newest `keep`, with
/// their triggers and logs. A run that a kept attempt names as its first stays until
/// that attempt goes. Returns how many it deleted.
pub async fn drop_extra_runs(db: &crate::db::Db, tenant_id: i64, keep: i64, limit: i64) -> sqlx::Result<u64> {
    let mut tx = db.begin_write().await?;
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM (SELECT id, phase FROM runs WHERE tenant_id = ? ORDER BY id DESC LIMIT -1 OFFSET ?) AS old
         WHERE phase NOT IN ('queued', 'running')
           AND NOT EXISTS (SELECT 1 FROM runs AS later WHERE later.first_run = old.id)
         LIMIT ?",
    )
    .bind(tenant_id)
    .bind(keep)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let list = id_list(&ids);
    sqlx::query("DELETE FROM run_triggers WHERE run_id IN (SELECT value FROM json_each(?))")
        .bind(&list)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM runs WHERE id IN (SELECT value FROM json_each(?))").bind(&list).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(ids.len() as u64)
}

/// Deletes up to `limit` webhook deliveries and mails that were delivered or given up
/// before `before`.
pub async fn drop_old_deliveries(db: &sqlx::SqlitePool, before: DateTime<Utc>, limit: i64) -> sqlx::Result<u64> {
    let hooks = sqlx::query(
        "DELETE FROM webhook_deliveries WHERE id IN
             (SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND finished_at < ? LIMIT ?)",
    )
    .bind(before)
    .bind(limit)
    .execute(db)
    .await?
    .rows_affected();
    let mails = sqlx::query(
        "DELETE FROM mail_outbox WHERE id IN
             (SELECT id FROM mail_outbox WHERE status <> 'queued' AND coalesce(sent_at, created_at) < ? LIMIT ?)",
    )
    .bind(before)
    .bind(limit)
    .execute(db)
    .await?
    .rows_affected();
    Ok(hooks + mails)
}

/// Deletes up to `limit` each of sign-in failures, sessions and OAuth2 states that
/// stopped counting before `before`.
pub async fn drop_spent_sign_ins(db: &sqlx::SqlitePool, before: DateTime<Utc>, limit: i64) -> sqlx::Result<u64> {
    let mut n = 0;
    for sql in [
        "DELETE FROM login_failures WHERE rowid IN (SELECT rowid FROM login_failures WHERE failed_at < ? LIMIT ?)",
        "DELETE FROM sessions WHERE rowid IN (SELECT rowid FROM sessions WHERE expires_at < ? LIMIT ?)",
        "DELETE FROM oauth_states WHERE rowid IN (SELECT rowid FROM oauth_states WHERE expires_at < ? LIMIT ?)",
    ] {
        n += sqlx::query(sql).bind(before).bind(limit).execute(db).await?.rows_affected();
    }
    Ok(n)
}

/// The condition under which a release's checkout is unused: finished before the
/// bound, not yet removed, not the default or the latest success of its integration,
/// chosen by no tenant and run by no active run.
const UNUSED: &str = "r.status IN ('succeeded', 'failed') AND r.finished_at < ?
    AND NOT EXISTS (SELECT 1 FROM release_files_removed x WHERE x.release_id = r.id)
    AND NOT EXISTS (SELECT 1 FROM integrations i WHERE i.default_release_id = r.id)
    AND NOT EXISTS (SELECT 1 FROM tenants t WHERE t.release_choice = 'specific' AND t.release_id = r.id)
    AND NOT EXISTS (SELECT 1 FROM runs u WHERE u.release_id = r.id AND u.phase IN ('queued', 'running'))
    AND r.id IS NOT (SELECT l.id FROM releases l WHERE l.integration_id = r.integration_id
                     AND l.status = 'succeeded' ORDER BY l.finished_at DESC, l.id DESC LIMIT 1)";

/// Up to `limit` releases whose checkout is unused and was built before `before`.
pub async fn unused_checkouts(
    db: impl SqliteExecutor<'_>,
    before: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(&format!("SELECT r.id FROM releases r WHERE {UNUSED} ORDER BY r.id LIMIT ?"))
        .bind(before)
        .bind(limit)
        .fetch_all(db)
        .await
}

/// Marks a release's checkout removed if it is still unused; false when something
/// chose or ran it meanwhile. The caller deletes the files after the commit.
pub async fn mark_removed(
    db: &crate::db::Db,
    id: i64,
    before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let mut tx = db.begin_write().await?;
    let marked = sqlx::query(&format!(
        "INSERT INTO release_files_removed (release_id, removed_at)
         SELECT r.id, ? FROM releases r WHERE r.id = ? AND {UNUSED}"
    ))
    .bind(now)
    .bind(id)
    .bind(before)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(marked == 1)
}

/// Releases whose checkout was removed (to clear what a crash left between the mark
/// and the removal).
pub async fn removed_releases(db: impl SqliteExecutor<'_>) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("SELECT release_id FROM release_files_removed").fetch_all(db).await
}

/// The webhook body files that waiting or active work still names.
pub async fn bodies_in_use(db: impl SqliteExecutor<'_>) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT json_extract(t.payload, '$.payload_file') FROM run_triggers t
         WHERE t.kind = 'webhook' AND t.payload IS NOT NULL AND json_valid(t.payload)
           AND json_extract(t.payload, '$.payload_file') IS NOT NULL
           AND (t.run_id IS NULL OR t.run_id IN
                (SELECT coalesce(first_run, id) FROM runs WHERE phase IN ('queued', 'running')))",
    )
    .fetch_all(db)
    .await
}

/// What the database holds, in bytes, by kind (as stored, before SQLite's pages).
#[derive(Clone, Debug, Default, FromRow)]
pub struct StoredBytes {
    pub run_logs: i64,
    pub build_logs: i64,
    pub deliveries: i64,
    pub mail: i64,
    pub runs: i64,
    pub audit: i64,
}

/// Sums of the stored sizes, none of them read: run logs from each run's recorded size,
/// the rest by `octet_length`, which SQLite answers from the record header without
/// loading the text.
pub async fn stored_bytes(db: impl SqliteExecutor<'_>) -> sqlx::Result<StoredBytes> {
    sqlx::query_as(
        "SELECT
            (SELECT coalesce(sum(log_bytes), 0) FROM runs WHERE log_removed_at IS NULL) AS run_logs,
            (SELECT coalesce(sum(octet_length(build_log)), 0) FROM releases) AS build_logs,
            (SELECT coalesce(sum(octet_length(payload) + coalesce(octet_length(last_response), 0)), 0)
               FROM webhook_deliveries) AS deliveries,
            (SELECT coalesce(sum(octet_length(body)), 0) FROM mail_outbox) AS mail,
            (SELECT count(*) FROM runs) AS runs,
            (SELECT count(*) FROM audit_log) AS audit",
    )
    .fetch_one(db)
    .await
}
