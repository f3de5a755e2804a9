//! The embedded marketplace: its settings and signing secret, the check of the
//! company's tokens, and what an end user may do. Installing goes through the same
//! `service::tenants` steps as the console; this module only decides who may.
//!
//! It is one file because the token check and the rules it feeds (which tenants an
//! end user sees, how many installs they may make) change together.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{invalid, ServiceError};
use crate::auth::SessionUser;
use crate::db::audit::{self, Actor};
pub use crate::db::integrations::ListingRow;
use crate::db::tenants::{self, TenantRow};
use crate::db::webhooks::{set_setting, setting};
use crate::db::{integrations, Db};
use crate::domain::audit::AuditAction;
use crate::domain::fair_use::Limit;
use crate::domain::magic_link::Replaced;
use crate::domain::marketplace::{
    check_grace_hours, tenant_name, Claims, EndUser, MarketplaceInput, CLOCK_LEEWAY_SECONDS, DEFAULT_ACCENT,
};
use crate::domain::tenant::{NewTenantInput, Source};
use crate::secrets::{random_token, SecretKey};

const SETTING: &str = "marketplace";

/// The marketplace settings as stored.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub name: String,
    pub accent: String,
    pub logo_url: String,
    pub origins: Vec<String>,
    /// The signing secret, sealed with the hub key, in base64.
    pub secret: Option<String>,
    pub secret_made_at: Option<DateTime<Utc>>,
    /// The secret it replaced, still accepted until `previous_until`.
    pub previous: Option<String>,
    pub previous_until: Option<DateTime<Utc>>,
}

impl Settings {
    pub fn title(&self) -> &str {
        if self.name.is_empty() {
            "Marketplace"
        } else {
            &self.name
        }
    }

    pub fn accent(&self) -> &str {
        if self.accent.is_empty() {
            DEFAULT_ACCENT
        } else {
            &self.accent
        }
    }

    /// Whether the replaced secret is still accepted at `now`.
    pub fn in_grace(&self, now: DateTime<Utc>) -> bool {
        self.previous.is_some() && self.previous_until.is_some_and(|u| u > now)
    }

    /// The secrets a token may be signed with at `now`: the current one, then the
    /// replaced one during its grace period.
    fn keys(&self, key: &SecretKey, now: DateTime<Utc>) -> Vec<Vec<u8>> {
        let open = |sealed: &String| key.decrypt(&STANDARD.decode(sealed).ok()?).ok();
        let mut out: Vec<Vec<u8>> = self.secret.iter().filter_map(open).collect();
        if self.in_grace(now) {
            out.extend(self.previous.iter().filter_map(open));
        }
        out
    }
}

pub async fn settings(db: impl sqlx::SqliteExecutor<'_>) -> Result<Settings, ServiceError> {
    Ok(setting(db, SETTING).await?.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default())
}

async fn store(tx: &mut sqlx::SqliteConnection, s: &Settings, now: DateTime<Utc>) -> Result<(), ServiceError> {
    set_setting(&mut *tx, SETTING, &serde_json::to_string(s).unwrap_or_default(), now).await?;
    Ok(())
}

/// Saves the name, colour, logo and allowed origins.
pub async fn save_settings(
    db: &Db,
    actor: &Actor,
    input: &MarketplaceInput,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let look = input.validate().map_err(ServiceError::Invalid)?;
    let mut tx = db.begin_write().await?;
    let mut current = settings(&mut *tx).await?;
    current.name = look.name;
    current.accent = look.accent;
    current.logo_url = look.logo_url;
    current.origins = look.origins;
    store(&mut tx, &current, now).await?;
    let entry = audit::Entry {
        actor,
        action: AuditAction::MarketplaceSaved,
        object_type: "settings",
        object_id: None,
        detail: json!({ "name": current.name, "origins": current.origins }),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Makes a new signing secret and returns it, to be shown once. The one it replaces
/// is still accepted for `grace_hours` (as typed; 0 ends it at once).
pub async fn rotate_secret(
    db: &Db,
    key: &SecretKey,
    actor: &Actor,
    grace_hours: &str,
    now: DateTime<Utc>,
) -> Result<String, ServiceError> {
    let hours = check_grace_hours(grace_hours).map_err(ServiceError::Invalid)?;
    let secret = format!("mpsec_{}", random_token());
    let mut tx = db.begin_write().await?;
    let mut current = settings(&mut *tx).await?;
    let replaced = current.secret.take();
    (current.previous, current.previous_until) = match replaced {
        Some(old) if hours > 0 => (Some(old), Some(now + Duration::hours(hours))),
        _ => (None, None),
    };
    current.secret = Some(STANDARD.encode(key.encrypt(secret.as_bytes())));
    current.secret_made_at = Some(now);
    store(&mut tx, &current, now).await?;
    let entry = audit::Entry {
        actor,
        action: AuditAction::MarketplaceSecretMade,
        object_type: "settings",
        object_id: None,
        detail: json!({ "grace_hours": hours, "replaced": current.previous_until.is_some() }),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    Ok(secret)
}

/// Ends the replaced secret's grace period at once.
pub async fn end_grace(db: &Db, actor: &Actor, now: DateTime<Utc>) -> Result<(), ServiceError> {
    let mut tx = db.begin_write().await?;
    let mut current = settings(&mut *tx).await?;
    current.previous = None;
    current.previous_until = None;
    store(&mut tx, &current, now).await?;
    let entry = audit::Entry {
        actor,
        action: AuditAction::MarketplaceOldSecretEnded,
        object_type: "settings",
        object_id: None,
        detail: json!({}),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    Ok(())
}

/// A token for trying the marketplace as `sub` (an hour long), signed with the current
/// secret as the company's backend would sign one; `None` before there is a secret.
/// Settings → Marketplace as an admin sees it.
pub struct Admin {
    pub settings: Settings,
    /// The integrations end users are offered.
    pub published: Vec<ListingRow>,
    /// A token signed for the admin, for the preview (none before a secret exists).
    pub preview: Option<String>,
}

/// Settings → Marketplace for `user` (a company admin, checked by the caller).
pub async fn admin(db: &Db, key: &SecretKey, user: &SessionUser, now: DateTime<Utc>) -> Result<Admin, ServiceError> {
    let sub = format!("preview-{}", user.id);
    let preview = preview_token(db, key, &sub, &user.name, &user.email, now).await?;
    Ok(Admin { settings: settings(db.pool()).await?, published: integrations::published(db.pool()).await?, preview })
}

pub async fn preview_token(
    db: &Db,
    key: &SecretKey,
    sub: &str,
    name: &str,
    email: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, ServiceError> {
    let current = settings(db.pool()).await?;
    let Some(secret) = current.keys(key, now).into_iter().next() else { return Ok(None) };
    let claims =
        json!({ "sub": sub, "name": name, "email": email, "iat": now.timestamp(), "exp": now.timestamp() + 3600 });
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&secret),
    )
    .ok();
    Ok(token)
}

/// Why a token was refused (shown inside the frame), or a failure of the hub's own.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// The end user a marketplace token names, when it is valid now.
pub async fn verify(db: &Db, key: &SecretKey, token: &str, now: DateTime<Utc>) -> Result<EndUser, TokenError> {
    let current = settings(db.pool()).await?;
    let keys = current.keys(key, now);
    if keys.is_empty() {
        return Err(TokenError::Refused(
            "The marketplace is not set up yet: it has no signing secret. An admin makes one under Settings → Marketplace."
                .to_owned(),
        ));
    }
    check_token(token, &keys, now).map_err(TokenError::Refused)
}

/// The algorithm a token's header names, read without trusting it.
fn header_alg(token: &str) -> Option<String> {
    let head = token.split('.').next()?;
    let bytes = URL_SAFE_NO_PAD.decode(head.trim_end_matches('=')).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("alg")?.as_str().map(str::to_owned)
}

/// Checks a token against `keys` (any one may have signed it): HS256 only, `sub` and
/// `exp` required, `exp` and `nbf` against `now` with a minute of leeway, and `exp`
/// at most a day ahead.
pub fn check_token(token: &str, keys: &[Vec<u8>], now: DateTime<Utc>) -> Result<EndUser, String> {
    let token = token.trim();
    if token.is_empty() {
        return Err("This page needs a token: open it with ?token= and a JWT your backend signed.".to_owned());
    }
    match header_alg(token) {
        None => return Err("This is not a JWT: it must be three base64url parts separated by dots.".to_owned()),
        Some(alg) if alg.eq_ignore_ascii_case("none") => {
            return Err("Unsigned tokens (alg: none) are refused; sign it with HS256.".to_owned())
        }
        Some(alg) if alg != "HS256" => {
            let alg: String = alg.chars().take(20).collect();
            return Err(format!("The token is signed with {alg}; only HS256 is accepted."));
        }
        Some(_) => {}
    }
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["exp", "sub"]);
    // The times are checked below against `now`, not the machine's clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    let mut found = None;
    for k in keys {
        match jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(k), &validation) {
            Ok(data) => {
                found = Some(data.claims);
                break;
            }
            Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature) => continue,
            Err(e) => {
                return Err(match e.kind() {
                    ErrorKind::MissingRequiredClaim(c) => format!("The token has no {c} claim, which is required."),
                    ErrorKind::Json(_) => {
                        "The token's claims are not readable: exp must be a number of seconds and sub a string."
                            .to_owned()
                    }
                    _ => "This is not a valid token.".to_owned(),
                })
            }
        }
    }
    let claims =
        found.ok_or_else(|| "The token's signature does not match the marketplace's signing secret.".to_owned())?;
    let now_unix = now.timestamp();
    let leeway = CLOCK_LEEWAY_SECONDS as i64;
    if claims.exp.is_some_and(|exp| exp.saturating_add(leeway) < now_unix) {
        return Err("The token has expired. Reload the page to get a new one.".to_owned());
    }
    if claims.nbf.is_some_and(|nbf| nbf.saturating_sub(leeway) > now_unix) {
        return Err("The token is not valid yet (its nbf is in the future).".to_owned());
    }
    EndUser::from_claims(claims, now_unix)
}

/// The actor of an end user's changes, for the audit log.
pub fn actor(user: &EndUser) -> Actor {
    Actor::Marketplace { sub: user.sub.clone() }
}

/// The published integrations this user may see.
pub async fn offered(db: &Db, user: &EndUser) -> Result<Vec<integrations::ListingRow>, ServiceError> {
    Ok(integrations::published(db.pool()).await?.into_iter().filter(|l| !user.hides(l.id, &l.name)).collect())
}

/// One integration this user may see, or 404.
pub async fn offered_one(db: &Db, user: &EndUser, id: i64) -> Result<integrations::ListingRow, ServiceError> {
    match integrations::listing(db.pool(), id).await? {
        Some(l) if l.published && !user.hides(l.id, &l.name) => Ok(l),
        _ => Err(ServiceError::NotFound),
    }
}

/// The user's live tenants.
pub async fn apps(db: &Db, user: &EndUser) -> Result<Vec<TenantRow>, ServiceError> {
    Ok(tenants::of_external(db.pool(), &user.sub).await?)
}

/// One of the user's own live tenants, or 404: another user's tenant is never
/// told apart from one that does not exist.
pub async fn app(db: &Db, user: &EndUser, tenant_id: i64) -> Result<TenantRow, ServiceError> {
    match tenants::get(db.pool(), tenant_id).await? {
        Some(t) if !t.archived && t.external_user.as_deref() == Some(user.sub.as_str()) => Ok(t),
        _ => Err(ServiceError::NotFound),
    }
}

/// Installs an integration for the user: a tenant on the integration's default
/// release, named after the integration and the user, owned by the user's `sub`.
pub async fn install(
    db: &Db,
    key: &SecretKey,
    user: &EndUser,
    limit: Limit,
    integration_id: i64,
    now: DateTime<Utc>,
) -> Result<i64, ServiceError> {
    // One install at a time per user in this process (the hub is one process): the
    // cap's count and the free name stay true until the insert, so a double submit
    // cannot pass `allowed_installs` or race for a name; other users do not wait.
    let turn = user_turn(&user.sub);
    let _turn = turn.lock().await;
    let recent = tenants::installed_since(db.pool(), &user.sub, limit.since(now)).await?;
    if let Some(wait) = limit.wait(&recent, now) {
        return Err(super::limited(format!("You installed {} integrations in the last hour", limit.max), wait));
    }
    let listing = offered_one(db, user, integration_id).await?;
    let installed = i64::try_from(apps(db, user).await?.len()).unwrap_or(i64::MAX);
    if !user.may_install(installed) {
        let cap = user.rules.allowed_installs.unwrap_or_default();
        return Err(ServiceError::Conflict(format!(
            "Your account may install {cap} integration{} and has reached that limit. Uninstall one to install another.",
            if cap == 1 { "" } else { "s" }
        )));
    }
    if listing.default_release_id.is_none() {
        return Err(ServiceError::Conflict(format!(
            "{} cannot be installed yet: it has no release to run. Try again later.",
            listing.name
        )));
    }
    let integration = integrations::get(db.pool(), integration_id).await?.ok_or(ServiceError::NotFound)?;
    // The first free of the user's thousand possible names, in one query.
    let candidates: Vec<String> = (1..=1000).map(|n| tenant_name(&integration.name, &user.sub, n)).collect();
    let taken = tenants::names_taken(db.pool(), integration_id, &candidates).await?;
    let Some(name) = candidates.into_iter().find(|c| !taken.contains(c)) else {
        return Err(invalid("name", "No free tenant name is left for this user."));
    };
    let input =
        NewTenantInput { name, release_mode: "channel".into(), channel: "default".into(), ..Default::default() };
    super::tenants::create_owned(db, key, &actor(user), &integration, &input, Source::Marketplace, Some(user), now)
        .await
}

/// The lock one user's installs take turns on; a user with none in flight holds no entry.
fn user_turn(sub: &str) -> UserTurn {
    static TURNS: std::sync::Mutex<BTreeMap<String, Arc<tokio::sync::Mutex<()>>>> =
        std::sync::Mutex::new(BTreeMap::new());
    let mut turns = TURNS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    turns.retain(|_, t| Arc::strong_count(t) > 1);
    let lock = turns.entry(sub.to_owned()).or_default().clone();
    UserTurn(lock)
}

struct UserTurn(Arc<tokio::sync::Mutex<()>>);

impl UserTurn {
    async fn lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.0.lock().await
    }
}

/// Links a tenant to a marketplace user, or with an empty `sub` unlinks it (an
/// admin's change: hub tenants become a user's only this way). When the owner changes,
/// the tenant's magic links are replaced: whoever held one before may no longer change
/// the tenant's credentials.
#[allow(clippy::too_many_arguments)]
pub async fn link(
    db: &Db,
    key: &SecretKey,
    actor: &Actor,
    tenant: &TenantRow,
    sub: &str,
    name: &str,
    email: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let sub = sub.trim();
    if sub.chars().count() > 200 {
        return Err(invalid("sub", "At most 200 characters."));
    }
    let opt = |s: &str| Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned);
    let (name, email) = (opt(name), opt(email));
    let owner = (!sub.is_empty()).then_some((sub, name.as_deref(), email.as_deref()));
    let mut tx = db.pool().begin().await?;
    if !tenants::set_external(&mut *tx, tenant.id, owner, now).await? {
        return Err(ServiceError::NotFound);
    }
    let before = tenant.external_user.as_deref().unwrap_or_default();
    if before != sub {
        super::connections::replace_links_of(&mut tx, key, tenant.id, Replaced::Relinked, now).await?;
    }
    let entry = audit::Entry {
        actor,
        action: if sub.is_empty() { AuditAction::MarketplaceUserUnlinked } else { AuditAction::MarketplaceUserLinked },
        object_type: "tenant",
        object_id: Some(tenant.id.to_string()),
        detail: json!({ "sub": sub }),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};

    const KEY: &[u8] = b"mpsec_test-secret";

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).expect("time")
    }

    fn sign(alg: Algorithm, claims: &serde_json::Value, key: &[u8]) -> String {
        encode(&Header::new(alg), claims, &EncodingKey::from_secret(key)).expect("sign")
    }

    fn check(token: &str) -> Result<EndUser, String> {
        check_token(token, &[KEY.to_vec()], now())
    }

    #[test]
    fn a_good_token_names_its_user() {
        let t = now().timestamp();
        let claims = json!({ "sub": "u-1", "name": "Ann", "email": "ann@example.com", "exp": t + 600, "iat": t,
                             "xti": { "hidden_integrations": [2], "allowed_installs": 3 } });
        let u = check(&sign(Algorithm::HS256, &claims, KEY)).expect("valid");
        assert_eq!((u.sub.as_str(), u.name.as_deref(), u.rules.allowed_installs), ("u-1", Some("Ann"), Some(3)));
        assert!(u.hides(2, ""));
    }

    #[test]
    fn bad_tokens_are_refused_with_a_reason() {
        let t = now().timestamp();
        let good = json!({ "sub": "u-1", "exp": t + 600 });
        let refused = |token: &str, words: &str| {
            let e = check(token).expect_err(words);
            assert!(e.contains(words), "{e:?} lacks {words:?}");
        };
        refused(&sign(Algorithm::HS256, &good, b"another secret"), "signature does not match");
        refused(&sign(Algorithm::HS512, &good, KEY), "only HS256");
        let unsigned = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(good.to_string())
        );
        refused(&unsigned, "alg: none");
        refused(&sign(Algorithm::HS256, &json!({ "sub": "u-1", "exp": t - 3600 }), KEY), "expired");
        refused(
            &sign(Algorithm::HS256, &json!({ "sub": "u-1", "exp": t + 600, "nbf": t + 3600 }), KEY),
            "not valid yet",
        );
        refused(&sign(Algorithm::HS256, &json!({ "exp": t + 600 }), KEY), "no sub claim");
        refused(&sign(Algorithm::HS256, &json!({ "sub": "u-1" }), KEY), "no exp claim");
        refused(
            &sign(Algorithm::HS256, &json!({ "sub": "u-1", "exp": t + 600, "iat": t - 2 * 86_400 }), KEY),
            "24 hours",
        );
        refused(&sign(Algorithm::HS256, &json!({ "sub": "u-1", "exp": t - 61 }), KEY), "expired");
        assert!(
            check(&sign(Algorithm::HS256, &json!({ "sub": "u-1", "exp": t - 59 }), KEY)).is_ok(),
            "a minute's leeway"
        );
        assert!(check(&sign(Algorithm::HS256, &json!({ "sub": "u-1", "exp": i64::MIN }), KEY)).is_err(), "no overflow");
        refused(&sign(Algorithm::HS256, &json!({ "sub": "u-1", "exp": t + 2 * 86_400 }), KEY), "24 hours");
        refused("not-a-token", "not a JWT");
        refused("", "needs a token");
    }

    #[test]
    fn any_of_the_keys_may_have_signed() {
        let t = now().timestamp();
        let token = sign(Algorithm::HS256, &json!({ "sub": "u-1", "exp": t + 60 }), b"old");
        assert!(check_token(&token, &[KEY.to_vec(), b"old".to_vec()], now()).is_ok());
        assert!(check_token(&token, &[KEY.to_vec()], now()).is_err());
    }
}
