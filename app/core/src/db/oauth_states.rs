//! OAuth2 authorizations in flight (the `oauth_states` table): started for a connection,
//! claimed once by the provider's callback.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, SqliteExecutor};

/// A started authorization.
pub struct NewState<'a> {
    pub state_hash: &'a str,
    pub connection_id: i64,
    /// The hash of the magic link it was started through.
    pub link_hash: &'a str,
    /// The PKCE verifier, sealed.
    pub sealed_verifier: &'a [u8],
    /// The connection parameters given (JSON).
    pub parameters: &'a str,
}

/// Records a started authorization until `expires_at`.
pub async fn insert_oauth_state(
    db: impl SqliteExecutor<'_>,
    state: &NewState<'_>,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO oauth_states (state_hash, connection_id, link_hash, verifier, parameters, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(state.state_hash)
    .bind(state.connection_id)
    .bind(state.link_hash)
    .bind(state.sealed_verifier)
    .bind(state.parameters)
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
    /// The connection parameters given at the start (JSON).
    pub parameters: String,
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
         RETURNING connection_id, link_hash, verifier, parameters",
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
