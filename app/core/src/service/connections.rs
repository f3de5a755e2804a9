//! A tenant's connections: the magic link, OAuth2 (authorization code with PKCE; the
//! client and the refresh before each run are in `crate::oauth`), and disconnecting.
//!
//! Credentials are sealed with the hub key before they are stored; nothing here
//! returns or logs a secret. A failed attempt never touches stored credentials.

use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;

use oauth2::{AuthorizationCode, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, Scope};
use serde::Deserialize;
use serde_json::json;

use super::ServiceError;
use crate::connectors::{check_parameters, Connectors};
use crate::db::audit::{self, Actor};
use crate::db::connections::{self, MagicRow, StoredLink};
use crate::db::webhooks as settings_store;
use crate::db::{oauth_states, tenants, Db};
use crate::domain::audit::AuditAction;
use crate::domain::connector::{AuthKind, Connector};
use crate::domain::magic_link::{LinkSettings, Replaced, SETTING as LINK_SETTING};
use crate::egress::Egress;
pub use crate::oauth::{
    callback_url, ready_credentials, ConnectError, OAuthTokens, RefreshError, CALLBACK_PATH, REFRESH_MARGIN,
};
use crate::oauth::{client, describe, Http};
use crate::secrets::{open_stamped, random_token, seal_stamped, token_hash, SecretKey};

/// How long a started authorization may take.
pub const STATE_LIFETIME: Duration = Duration::minutes(10);
/// A new magic link: its token's hash (to find it by) and the token sealed (to show
/// the link again); the token itself is not kept.
pub(crate) struct NewLink {
    hash: String,
    sealed: Vec<u8>,
}

impl NewLink {
    pub(crate) fn new(key: &SecretKey) -> Self {
        let token = random_token();
        Self { hash: token_hash(&token), sealed: key.encrypt(token.as_bytes()) }
    }

    pub(crate) fn stored(&self) -> StoredLink<'_> {
        StoredLink { hash: &self.hash, sealed: &self.sealed }
    }
}

/// The token of a stored link, to build its URL from.
pub fn link_token(key: &SecretKey, sealed: Option<&[u8]>) -> Option<String> {
    sealed.and_then(|s| key.decrypt(s).ok()).and_then(|t| String::from_utf8(t).ok())
}

/// How long links stay valid.
pub async fn link_settings(db: &Db) -> Result<LinkSettings, ServiceError> {
    Ok(LinkSettings::from_stored(settings_store::setting(db.pool(), LINK_SETTING).await?.as_deref()))
}

/// Saves the days a link stays valid (empty: for ever), with its audit entry. It
/// applies at once to every link, counted from the day each was made.
pub async fn save_link_settings(
    db: &Db,
    actor: &Actor,
    days: &str,
    now: DateTime<Utc>,
) -> Result<LinkSettings, ServiceError> {
    let settings = LinkSettings::parse(days).map_err(|m| super::invalid("magic_link_days", m))?;
    let mut tx = db.pool().begin().await?;
    settings_store::set_setting(&mut *tx, LINK_SETTING, &serde_json::to_string(&settings).unwrap_or_default(), now)
        .await?;
    let entry = audit::Entry {
        actor,
        action: AuditAction::MagicLinksSaved,
        object_type: "settings",
        object_id: None,
        detail: json!({ "days": settings.days }),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    Ok(settings)
}

/// The connection behind a magic link, with its connector's full definition (client
/// secret included, from the registry). A replaced or expired link says so.
pub async fn by_magic_token(
    db: &Db,
    registry: &Connectors,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(MagicRow, Connector), ConnectError> {
    let hash = token_hash(token);
    let row = connections::by_magic_hash(db.pool(), &hash).await.map_err(|_| ConnectError::Internal)?;
    let Some(row) = row else {
        let replaced = connections::replaced(db.pool(), &hash).await.map_err(|_| ConnectError::Internal)?;
        return Err(if replaced.is_some() { ConnectError::ReplacedLink } else { ConnectError::UnknownLink });
    };
    if row.archived {
        return Err(ConnectError::UnknownLink);
    }
    if link_settings(db).await.map_err(|_| ConnectError::Internal)?.expired(row.magic_issued_at, now) {
        return Err(ConnectError::ExpiredLink);
    }
    let connector = registry.definition(&row.connector_name).ok_or(ConnectError::UnknownLink)?;
    Ok((row, connector))
}

/// Gives a tenant's connection a new magic link; the old one then says it was
/// replaced, and OAuth2 sign-ins it started fail.
pub async fn replace_link(
    db: &Db,
    key: &SecretKey,
    actor: &Actor,
    scope: super::Scope,
    tenant_id: i64,
    connector: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    super::tenants::visible(db, scope, tenant_id).await?;
    let mut tx = db.pool().begin().await?;
    let id = connections::connection_id(&mut *tx, tenant_id, connector).await?.ok_or(ServiceError::NotFound)?;
    let link = NewLink::new(key);
    connections::replace_link(&mut tx, id, &link.stored(), Replaced::Replaced.as_str(), now).await?;
    let entry = audit::Entry {
        actor,
        action: AuditAction::MagicLinkReplaced,
        object_type: "tenant",
        object_id: Some(tenant_id.to_string()),
        detail: json!({ "connector": connector }),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Replaces every magic link of a tenant, in the caller's transaction.
pub(crate) async fn replace_links_of(
    tx: &mut sqlx::SqliteConnection,
    key: &SecretKey,
    tenant_id: i64,
    reason: Replaced,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let ids: Vec<i64> =
        connections::connections(&mut *tx, tenant_id).await?.into_iter().map(|c| c.connection_id).collect();
    for id in ids {
        connections::replace_link(&mut *tx, id, &NewLink::new(key).stored(), reason.as_str(), now).await?;
    }
    Ok(())
}

/// Makes new links for a tenant's expired ones: the marketplace's user is signed in,
/// and connects through them.
pub async fn renew_expired_links(
    db: &Db,
    key: &SecretKey,
    tenant_id: i64,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let settings = link_settings(db).await?;
    if settings.days.is_none() {
        return Ok(());
    }
    let expired: Vec<i64> = connections::connections(db.pool(), tenant_id)
        .await?
        .into_iter()
        .filter(|c| settings.expired(c.magic_issued_at, now))
        .map(|c| c.connection_id)
        .collect();
    if expired.is_empty() {
        return Ok(());
    }
    let mut tx = db.pool().begin().await?;
    for id in expired {
        connections::replace_link(&mut tx, id, &NewLink::new(key).stored(), Replaced::Expired.as_str(), now).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Seals the tokens of links made before links were sealed, keeping them working.
/// Run at start-up; returns how many there were.
pub async fn seal_clear_links(db: &Db, key: &SecretKey, now: DateTime<Utc>) -> Result<usize, ServiceError> {
    let clear = connections::clear_links(db.pool()).await?;
    for (id, token) in &clear {
        let stored = StoredLink { hash: &token_hash(token), sealed: &key.encrypt(token.as_bytes()) };
        connections::seal_link(db.pool(), *id, &stored, now).await?;
    }
    Ok(clear.len())
}

/// Starts the authorization code flow: a single-use state bound to this connection,
/// and a PKCE (S256) verifier kept sealed. `given` holds the connector's parameters
/// (a shop, a subdomain): checked here, substituted into its URLs, and kept with the
/// state until the provider answers. Returns the provider's consent URL.
pub async fn start_oauth(
    db: &Db,
    key: &SecretKey,
    registry: &Connectors,
    public_url: &str,
    magic_token: &str,
    given: &BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Result<String, ConnectError> {
    let (row, connector) = by_magic_token(db, registry, magic_token, now).await?;
    let Some(o) = connector.oauth2.as_ref().filter(|_| connector.auth == AuthKind::Oauth2) else {
        return Err(ConnectError::UnknownLink);
    };
    let parameters = check_parameters(&connector, given).map_err(|(_, message)| ConnectError::Parameter(message))?;
    let client = client(&connector, &parameters, public_url)?;
    let state = random_token();
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client.authorize_url(|| CsrfToken::new(state.clone()));
    // One scope value joined as the provider wants (most a space, some a comma).
    if !o.scopes.is_empty() {
        request = request.add_scope(Scope::new(o.scopes.join(o.scope_separator.as_str())));
    }
    for (name, value) in &o.authorization_params {
        request = request.add_extra_param(name.as_str(), value.as_str());
    }
    if o.pkce {
        request = request.set_pkce_challenge(challenge);
    }
    let (url, _) = request.url();
    let sealed = key.encrypt(verifier.secret().as_bytes());
    let kept = serde_json::to_string(&parameters).map_err(|_| ConnectError::Internal)?;
    let started = oauth_states::NewState {
        state_hash: &token_hash(&state),
        connection_id: row.connection_id,
        link_hash: &row.link_hash,
        sealed_verifier: &sealed,
        parameters: &kept,
    };
    oauth_states::insert_oauth_state(db.pool(), &started, now, now + STATE_LIFETIME)
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
    /// Whatever else the provider added; a connector's `callback_fields` are kept.
    #[serde(flatten)]
    pub extra: BTreeMap<String, String>,
}

/// The longest value kept from a provider's redirect.
const CALLBACK_VALUE_MAX: usize = 200;

/// Finishes the flow. The state is consumed first (once, unexpired), so a replayed
/// callback fails; only a successful token exchange replaces stored credentials.
/// Returns the magic token of the connection, for the page that shows the outcome,
/// with the outcome.
pub async fn finish_oauth(
    db: &Db,
    key: &SecretKey,
    registry: &Connectors,
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
    let row = match connections::magic_row(db.pool(), claimed.connection_id).await {
        Ok(Some(row)) => row,
        Ok(None) => return (None, Err(ConnectError::UnknownLink)),
        Err(_) => return (None, Err(ConnectError::Internal)),
    };
    // Started through a link that was replaced since: the new link's holder decides,
    // and this browser is not sent to the new link's page.
    if claimed.link_hash.as_deref() != Some(row.link_hash.as_str()) {
        return (None, Err(ConnectError::ReplacedLink));
    }
    let magic = link_token(key, row.magic_sealed.as_deref());
    if let Some(error) = cb.error.as_deref() {
        return (
            magic,
            Err(if error == "access_denied" {
                ConnectError::Denied
            } else {
                ConnectError::Provider(provider_error(error))
            }),
        );
    }
    let Some(code) = cb.code.as_deref().filter(|c| !c.is_empty()) else {
        return (magic, Err(ConnectError::Provider("no authorization code".to_owned())));
    };
    let outcome = async {
        if row.archived {
            return Err(ConnectError::UnknownLink);
        }
        let connector = registry.definition(&row.connector_name).ok_or(ConnectError::UnknownLink)?;
        let parameters: BTreeMap<String, String> =
            serde_json::from_str(&claimed.parameters).map_err(|_| ConnectError::MissingParameters)?;
        let client = client(&connector, &parameters, public_url)?;
        let verifier = key
            .decrypt(&claimed.verifier)
            .ok()
            .and_then(|v| String::from_utf8(v).ok())
            .ok_or(ConnectError::Internal)?;
        let mut exchange = client.exchange_code(AuthorizationCode::new(code.to_owned()));
        if connector.oauth2.as_ref().is_some_and(|o| o.pkce) {
            exchange = exchange.set_pkce_verifier(PkceCodeVerifier::new(verifier));
        }
        let token = exchange
            .request_async(&Http::new(egress, &connector))
            .await
            .map_err(|e| ConnectError::Exchange(describe(&e)))?;
        let mut tokens = OAuthTokens::from_answer(&token, &connector, parameters, now);
        for name in connector.oauth2.iter().flat_map(|o| &o.callback_fields) {
            let value = cb.extra.get(name).filter(|v| v.len() <= CALLBACK_VALUE_MAX && !v.contains(char::is_control));
            tokens.fields.extend(value.map(|v| (name.clone(), v.clone())));
        }
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
    registry: &Connectors,
    magic_token: &str,
    fields: &std::collections::BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let (row, _) = by_magic_token(db, registry, magic_token, now).await.map_err(|_| ServiceError::NotFound)?;
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

/// How long a failure named in a magic link page's address is shown: enough to
/// follow the redirect there.
const FAILURE_LIFETIME: Duration = Duration::minutes(10);

/// The `failed` value of the address of the page of the magic link `magic_token`
/// (`unknown` when there is none): what went wrong, sealed with the hub key, the
/// time and the link, so the customer-facing page shows only what the hub said about
/// that link, never text somebody put in an address or sealed for another link.
pub fn failure_param(key: &SecretKey, magic_token: &str, e: &ConnectError, now: DateTime<Utc>) -> String {
    seal_stamped(key, &failure_purpose(magic_token), &e.to_string(), now)
}

/// What a `failed` value on the page of `magic_token` says, when the hub sealed it for
/// that link in the last ten minutes.
pub fn failure_message(key: &SecretKey, magic_token: &str, sealed: &str, now: DateTime<Utc>) -> Option<String> {
    open_stamped(key, &failure_purpose(magic_token), sealed, now, FAILURE_LIFETIME)
}

fn failure_purpose(magic_token: &str) -> String {
    format!("connect-failure:{}", token_hash(magic_token))
}

/// A provider's `error` as the page repeats it: one of the codes RFC 6749 lists, or
/// a provider's own short code; anything else is not repeated.
fn provider_error(error: &str) -> String {
    let code = !error.is_empty() && error.len() <= 64 && error.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if code {
        error.to_owned()
    } else {
        "an error it did not name".to_owned()
    }
}
