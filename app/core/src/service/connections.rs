//! A tenant's connections: the magic link, OAuth2 (authorization code with PKCE; the
//! client and the refresh before each run are in `crate::oauth`), and disconnecting.
//!
//! Credentials are sealed with the hub key before they are stored; nothing here
//! returns or logs a secret. A failed attempt never touches stored credentials.

use chrono::{DateTime, Duration, Utc};
use oauth2::{AuthorizationCode, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, Scope, TokenResponse};
use serde::Deserialize;
use serde_json::json;

use super::ServiceError;
use crate::connectors::Registry;
use crate::db::audit::{self, Actor};
use crate::db::connections::{self, MagicRow};
use crate::db::{oauth_states, tenants, Db};
use crate::domain::audit::AuditAction;
use crate::domain::connector::{AuthKind, Connector};
use crate::egress::Egress;
pub use crate::oauth::{
    callback_url, ready_credentials, ConnectError, OAuthTokens, RefreshError, CALLBACK_PATH, REFRESH_MARGIN,
};
use crate::oauth::{client, describe, Http};
use crate::secrets::{random_token, token_hash, SecretKey};

/// How long a started authorization may take.
pub const STATE_LIFETIME: Duration = Duration::minutes(10);
/// The connection behind a magic link, with its connector's full definition (client
/// secret included, from the registry).
pub async fn by_magic_token(db: &Db, registry: &Registry, token: &str) -> Result<(MagicRow, Connector), ConnectError> {
    let row = connections::by_magic_token(db.pool(), token).await.map_err(|_| ConnectError::Internal)?;
    let row = row.filter(|r| !r.archived).ok_or(ConnectError::UnknownLink)?;
    let connector =
        registry.connectors.get(&row.connector_name).map(|l| l.connector.clone()).ok_or(ConnectError::UnknownLink)?;
    Ok((row, connector))
}

/// Starts the authorization code flow: a single-use state bound to this connection,
/// and a PKCE (S256) verifier kept sealed. Returns the provider's consent URL.
pub async fn start_oauth(
    db: &Db,
    key: &SecretKey,
    registry: &Registry,
    public_url: &str,
    magic_token: &str,
    now: DateTime<Utc>,
) -> Result<String, ConnectError> {
    let (row, connector) = by_magic_token(db, registry, magic_token).await?;
    if connector.auth != AuthKind::Oauth2 {
        return Err(ConnectError::UnknownLink);
    }
    let client = client(&connector, public_url)?;
    let state = random_token();
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let scopes = connector.oauth2.as_ref().map(|o| o.scopes.clone()).unwrap_or_default();
    let mut request = client.authorize_url(|| CsrfToken::new(state.clone()));
    for s in scopes {
        request = request.add_scope(Scope::new(s));
    }
    if connector.oauth2.as_ref().is_none_or(|o| o.pkce) {
        request = request.set_pkce_challenge(challenge);
    }
    let (url, _) = request.url();
    let sealed = key.encrypt(verifier.secret().as_bytes());
    oauth_states::insert_oauth_state(
        db.pool(),
        &token_hash(&state),
        row.connection_id,
        &sealed,
        now,
        now + STATE_LIFETIME,
    )
    .await
    .map_err(|_| ConnectError::Internal)?;
    Ok(url.to_string())
}

/// What the provider sent back to the callback.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Callback {
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Finishes the flow. The state is consumed first (once, unexpired), so a replayed
/// callback fails; only a successful token exchange replaces stored credentials.
/// Returns the magic token of the connection, for the page that shows the outcome,
/// with the outcome.
pub async fn finish_oauth(
    db: &Db,
    key: &SecretKey,
    registry: &Registry,
    egress: &Egress,
    public_url: &str,
    cb: &Callback,
    now: DateTime<Utc>,
) -> (Option<String>, Result<(), ConnectError>) {
    let Some(state) = cb.state.as_deref().filter(|s| !s.is_empty()) else {
        return (None, Err(ConnectError::StaleState));
    };
    let claimed = match oauth_states::claim_oauth_state(db.pool(), &token_hash(state), now).await {
        Ok(Some(c)) => c,
        Ok(None) => return (None, Err(ConnectError::StaleState)),
        Err(_) => return (None, Err(ConnectError::Internal)),
    };
    let magic = Some(claimed.magic_token.clone());
    if let Some(error) = cb.error.as_deref() {
        return (
            magic,
            Err(if error == "access_denied" { ConnectError::Denied } else { ConnectError::Provider(error.to_owned()) }),
        );
    }
    let Some(code) = cb.code.as_deref().filter(|c| !c.is_empty()) else {
        return (magic, Err(ConnectError::Provider("no authorization code".to_owned())));
    };
    let outcome = async {
        let (row, connector) = by_magic_token(db, registry, &claimed.magic_token).await?;
        let client = client(&connector, public_url)?;
        let verifier = key
            .decrypt(&claimed.verifier)
            .ok()
            .and_then(|v| String::from_utf8(v).ok())
            .ok_or(ConnectError::Internal)?;
        let mut exchange = client.exchange_code(AuthorizationCode::new(code.to_owned()));
        if connector.oauth2.as_ref().is_none_or(|o| o.pkce) {
            exchange = exchange.set_pkce_verifier(PkceCodeVerifier::new(verifier));
        }
        let token =
            exchange.request_async(&Http::new(egress)).await.map_err(|e| ConnectError::Exchange(describe(&e)))?;
        let tokens = OAuthTokens {
            access_token: token.access_token().secret().clone(),
            refresh_token: token.refresh_token().map(|r| r.secret().clone()),
            expires_at: token.expires_in().and_then(|d| Duration::from_std(d).ok()).map(|d| now + d),
            scope: token.scopes().map(|s| s.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(" ")),
        };
        let sealed = key.encrypt(serde_json::to_string(&tokens).map_err(|_| ConnectError::Internal)?.as_bytes());
        let mut tx = db.pool().begin().await.map_err(|_| ConnectError::Internal)?;
        connections::connect(&mut *tx, row.tenant_id, &row.connector_name, &sealed, now)
            .await
            .map_err(|_| ConnectError::Internal)?;
        let entry = audit::Entry {
            actor: &Actor::System,
            action: AuditAction::ConnectedThroughMagicLink,
            object_type: "tenant",
            object_id: Some(row.tenant_id.to_string()),
            detail: json!({ "connector": row.connector_name }),
        };
        audit::record(&mut *tx, entry, now).await.map_err(|_| ConnectError::Internal)?;
        tx.commit().await.map_err(|_| ConnectError::Internal)
    }
    .await;
    (magic, outcome)
}

/// Saves an `api_key`/`basic` connection's fields through its magic link (no hub
/// account: the link is the credential).
pub async fn save_by_magic_link(
    db: &Db,
    key: &SecretKey,
    registry: &Registry,
    magic_token: &str,
    fields: &std::collections::BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let (row, _) = by_magic_token(db, registry, magic_token).await.map_err(|_| ServiceError::NotFound)?;
    let tenant = tenants::get(db.pool(), row.tenant_id).await?.ok_or(ServiceError::NotFound)?;
    super::tenants::save_credentials(db, key, &Actor::System, &tenant, &row.connector_name, fields, now).await
}

/// Removes a connection's stored credentials; its magic link stays the same.
pub async fn disconnect(
    db: &Db,
    actor: &Actor,
    tenant_id: i64,
    connector: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let mut tx = db.pool().begin().await?;
    if !connections::disconnect(&mut *tx, tenant_id, connector, now).await? {
        return Err(ServiceError::NotFound);
    }
    let entry = audit::Entry {
        actor,
        action: AuditAction::Disconnected,
        object_type: "tenant",
        object_id: Some(tenant_id.to_string()),
        detail: json!({ "connector": connector }),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    Ok(())
}
