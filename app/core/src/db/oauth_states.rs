//! OAuth2 authorizations in flight (the `oauth_states` table): started for a connection,
//! claimed once by the provider's callback.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteExecutor};

/// Records a started authorization: the state's hash and the sealed PKCE verifier.
pub async fn insert_oauth_state(
    db: impl SqliteExecutor<'_>,
    state_hash: &str,
    connection_id: i64,
    link_hash: &str,
    sealed_verifier: &[u8],
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO oauth_states (state_hash, connection_id, link_hash, verifier, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(state_hash)
    .bind(connection_id)
    .bind(link_hash)
    .bind(sealed_verifier)
    .bind(now)
    .bind(expires_at)
    .execute(db)
    .await
    .map(drop)
}

/// A started authorization, claimed by its callback.
#[derive(Debug, FromRow)]
pub struct ClaimedState {
    pub connection_id: i64,
    /// The hash of the link the sign-in was started through.
    pub link_hash: Option<String>,
    pub verifier: Vec<u8>,
}

/// Marks a state used and returns it, when it exists, was not used and has not
/// expired; in one statement, so two callbacks with the same state cannot both win.
pub async fn claim_oauth_state(
    db: &sqlx::SqlitePool,
    state_hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<ClaimedState>> {
    let claimed: Option<ClaimedState> = sqlx::query_as(
        "UPDATE oauth_states SET used_at = ?1
         WHERE state_hash = ?2 AND used_at IS NULL AND expires_at > ?1
         RETURNING connection_id, link_hash, verifier",
    )
    .bind(now)
    .bind(state_hash)
    .fetch_optional(db)
    .await?;
    // Old attempts are of no use to anyone: drop them while here.
    sqlx::query("DELETE FROM oauth_states WHERE expires_at < ?")
        .bind(now - chrono::Duration::days(1))
        .execute(db)
        .await?;
    Ok(claimed)
}
