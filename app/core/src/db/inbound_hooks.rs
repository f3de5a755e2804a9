//! Tenants' inbound webhook tokens (the `webhook_hash` and `webhook_sealed` columns of
//! `tenants`).

use sqlx::SqliteExecutor;

/// Sets the tenant's inbound webhook token (its hash, and sealed for showing again).
pub async fn set_webhook(db: impl SqliteExecutor<'_>, id: i64, hash: &str, sealed: &[u8]) -> sqlx::Result<bool> {
    let done = sqlx::query("UPDATE tenants SET webhook_hash = ?, webhook_sealed = ? WHERE id = ? AND NOT archived")
        .bind(hash)
        .bind(sealed)
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The sealed webhook token of a tenant, when it has one.
pub async fn webhook_sealed(db: impl SqliteExecutor<'_>, id: i64) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar("SELECT webhook_sealed FROM tenants WHERE id = ?")
        .bind(id)
        .fetch_optional(db)
        .await
        .map(Option::flatten)
}

/// The live tenant whose webhook token has this hash.
pub async fn by_webhook_hash(db: impl SqliteExecutor<'_>, hash: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT id FROM tenants WHERE webhook_hash = ? AND NOT archived")
        .bind(hash)
        .fetch_optional(db)
        .await
}
