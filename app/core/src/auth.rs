//! Sign-in: the first admin, password checks with throttling, and sessions.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Duration, Utc};

use crate::db::audit::{self, Actor};
use crate::db::{orgs, sessions, users, Db, DbError};
use crate::domain::audit::AuditAction;
use crate::domain::email::Email;
use crate::domain::throttle;
use crate::domain::user::OrgKind;
use crate::secrets::{random_token, token_hash};

/// How long a session lives without use.
pub const SESSION_IDLE: Duration = Duration::days(14);
/// Sessions are extended at most this often, to spare a write on every request.
const SESSION_TOUCH: Duration = Duration::hours(1);

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("The email or password is not correct.")]
    InvalidCredentials,
    #[error("Too many failed sign-ins for this email or from your address. Try again in {}.", throttle::describe_wait(*.0))]
    Throttled(Duration),
    #[error("database: {0}")]
    Db(#[from] DbError),
    #[error("password hashing: {0}")]
    Hash(String),
}

/// What start-up reports when it created the first admin.
#[derive(Debug)]
pub struct Bootstrapped {
    pub email: String,
    /// Set only when the password was generated, so it can be printed once.
    pub generated_password: Option<String>,
}

/// The user behind a session, as the rest of the backend sees them.
#[derive(Clone, Debug)]
pub struct SessionUser {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub is_admin: bool,
    pub is_primary: bool,
    pub organization_id: i64,
    pub organization_name: String,
    pub organization_kind: OrgKind,
}

impl SessionUser {
    pub fn actor(&self) -> Actor {
        Actor::User { id: self.id, email: self.email.clone() }
    }
}

pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

/// How many password checks run at once: each takes argon2's 19 MiB and a core for a
/// moment, so a flood of sign-ins waits its turn instead of exhausting the machine.
pub const HASHING: usize = 2;

/// Argon2 is deliberately slow: keep it off the async worker threads, [`HASHING`] at
/// a time.
async fn verify_blocking(hash: String, password: String) -> bool {
    static TURNS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(HASHING);
    let Ok(_turn) = TURNS.acquire().await else { return false };
    tokio::task::spawn_blocking(move || verify_password(&hash, &password)).await.unwrap_or(false)
}

/// A hash of a random password, verified against when the email is unknown so that
/// the answer takes as long as for a known one.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&random_token()).unwrap_or_default())
}

/// On an empty database, creates the company organization and its primary admin.
/// Does nothing (returns `None`) once any user exists.
pub async fn bootstrap(
    db: &Db,
    company_name: &str,
    admin_email: &Email,
    admin_password: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<Bootstrapped>, AuthError> {
    // Reads, then writes: two hubs started on one database must not both make an admin.
    let mut tx = db.begin_write().await?;
    if users::count(&mut *tx).await? > 0 {
        return Ok(None);
    }
    let generated = admin_password.is_none().then(|| random_token()[..20].to_owned());
    let password = admin_password.or(generated.as_deref()).unwrap_or_default();
    let hash = hash_password(password)?;
    let org = orgs::insert(&mut *tx, company_name, OrgKind::Company, now).await?;
    let user = users::insert(
        &mut *tx,
        &users::NewUser {
            organization_id: org,
            name: "Administrator",
            email: admin_email.as_str(),
            password_hash: Some(&hash),
            is_admin: true,
            is_primary: true,
            status: "active",
        },
        now,
    )
    .await?;
    for (object_type, id) in [("organization", org), ("user", user)] {
        let entry = audit::Entry {
            actor: &Actor::System,
            action: AuditAction::Created,
            object_type,
            object_id: Some(id.to_string()),
            detail: serde_json::json!({ "reason": "first start" }),
        };
        audit::record(&mut *tx, entry, now).await?;
    }
    tx.commit().await?;
    Ok(Some(Bootstrapped { email: admin_email.to_string(), generated_password: generated }))
}

/// Checks an email and password from a client `address` and opens a session, returning
/// its token (to be put in a cookie; the database keeps only its hash).
///
/// Failures count per email at one address, per address and per email (see
/// `domain::throttle`). The attempt is written as a failure, in the transaction that
/// counted the earlier ones, before the password is checked, so parallel guesses get
/// exactly the allowed number of tries; a success takes it back. Too long an email or
/// password is refused before any work, and at most [`HASHING`] checks run at once.
pub async fn sign_in(
    db: &Db,
    email: &str,
    password: &str,
    address: &str,
    now: DateTime<Utc>,
) -> Result<String, AuthError> {
    if email.len() > throttle::MAX_EMAIL || password.len() > throttle::MAX_PASSWORD {
        return Err(AuthError::InvalidCredentials);
    }
    // Unparseable emails are throttled and answered like unknown ones.
    let key = Email::parse(email).map(|e| e.to_string()).unwrap_or_else(|_| email.trim().to_lowercase());
    let attempt = {
        let mut tx = db.begin_write().await?;
        let f = users::recent_failures(&mut tx, &key, address, now - throttle::WINDOW).await?;
        let waits = [
            throttle::retry_after(&f.pair, throttle::MAX_FAILURES, now),
            throttle::retry_after(&f.address, throttle::MAX_FROM_ADDRESS, now),
            throttle::retry_after(&f.email, throttle::MAX_FOR_EMAIL, now),
        ];
        if let Some(wait) = waits.into_iter().flatten().max() {
            return Err(AuthError::Throttled(wait));
        }
        let row = users::record_failure(&mut *tx, &key, address, now).await?;
        tx.commit().await?;
        row
    };
    let user = users::find_by_email(db.pool(), &key).await?;
    let (hash, active) = match &user {
        Some(u) => (u.password_hash.clone(), u.status == "active"),
        None => (None, false),
    };
    let ok = verify_blocking(hash.unwrap_or_else(|| dummy_hash().to_owned()), password.to_owned()).await;
    let user = match user {
        Some(u) if ok && active => u,
        // The failure written above stays.
        _ => return Err(AuthError::InvalidCredentials),
    };
    let token = random_token();
    let mut tx = db.pool().begin().await?;
    users::clear_failures(&mut tx, attempt, &key, address).await?;
    users::touch_sign_in(&mut *tx, user.id, now).await?;
    sessions::insert(&mut *tx, &token_hash(&token), user.id, now, now + SESSION_IDLE).await?;
    tx.commit().await?;
    Ok(token)
}

/// The active user behind a session token, extending the session as it is used.
pub async fn session_user(db: &Db, token: &str, now: DateTime<Utc>) -> Result<Option<SessionUser>, DbError> {
    let hash = token_hash(token);
    let Some(row) = sessions::find_user(db.pool(), &hash, now).await? else {
        return Ok(None);
    };
    if now - row.last_seen_at > SESSION_TOUCH {
        sessions::extend(db.pool(), &hash, now, now + SESSION_IDLE).await?;
    }
    Ok(Some(SessionUser {
        id: row.user_id,
        name: row.name,
        email: row.email,
        is_admin: row.is_admin,
        is_primary: row.is_primary,
        organization_id: row.organization_id,
        organization_name: row.organization_name,
        organization_kind: OrgKind::parse(&row.organization_kind).unwrap_or(OrgKind::Partner),
    }))
}

pub async fn sign_out(db: &Db, token: &str) -> Result<(), DbError> {
    sessions::delete(db.pool(), &token_hash(token)).await
}
