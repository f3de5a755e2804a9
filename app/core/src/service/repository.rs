//! How the builder reaches an integration's repository (a deploy key, an access
//! token, or nothing), the host keys pinned for SSH, and builds on push: a push URL
//! that GitHub, GitLab and Bitbucket sign, checked here before anything is built.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::integrations::visible;
use super::{invalid, Actor, Scope, ServiceError};
use crate::db::push_deliveries::{self, DeliveryRow, NewDelivery};
use crate::db::{audit, integrations, releases, Db};
use crate::domain::audit::AuditAction;
use crate::domain::integration::RepoAccess;
use crate::engine::builder::Builder;
use crate::engine::git;
use crate::secrets::{deploy_key, random_token, token_hash, SecretKey};

/// What the Repository access page shows: never a stored secret.
#[derive(Clone, Debug)]
pub struct AccessView {
    pub access: RepoAccess,
    pub username: String,
    /// The deploy key's public half, to paste at the repository's host.
    pub public_key: Option<String>,
    /// The pinned SSH host keys' fingerprints.
    pub host_keys: Vec<String>,
    pub push: Option<PushView>,
    pub push_sets_default: bool,
    /// Newest first.
    pub deliveries: Vec<DeliveryRow>,
}

#[derive(Clone, Debug)]
pub struct PushView {
    /// The push URL's token (the URL is `<hub>/hooks/push/<token>`).
    pub token: String,
}

pub async fn view(db: &Db, key: &SecretKey, scope: Scope, id: i64) -> Result<AccessView, ServiceError> {
    visible(db, scope, id).await?;
    let row = integrations::access(db.pool(), id).await?.ok_or(ServiceError::NotFound)?;
    let token =
        row.push_token_sealed.as_ref().and_then(|s| key.decrypt(s).ok()).and_then(|b| String::from_utf8(b).ok());
    Ok(AccessView {
        access: RepoAccess::parse(&row.repo_access).unwrap_or_default(),
        username: row.repo_username,
        public_key: row.repo_public_key,
        host_keys: row.repo_known_hosts.as_deref().map(git::fingerprints).unwrap_or_default(),
        push: token.map(|token| PushView { token }),
        push_sets_default: row.push_sets_default,
        deliveries: push_deliveries::list_for(db.pool(), id).await?,
    })
}

/// What the admin chose on the Repository access form.
#[derive(Clone, Debug)]
pub enum AccessChoice {
    None,
    /// A new deploy key (the old one, if any, stops working at the host once removed there).
    NewDeployKey,
    /// Keep the deploy key the integration has (no change).
    KeepDeployKey,
    /// A token; an empty one keeps the stored token (only the user name changes).
    Token {
        username: String,
        token: String,
    },
}

/// Sets how the builder reaches the repository. Audited; the secret is sealed and
/// never shown again (a deploy key's public half is).
pub async fn set_access(
    db: &Db,
    key: &SecretKey,
    actor: &Actor,
    scope: Scope,
    id: i64,
    choice: AccessChoice,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let integration = visible(db, scope, id).await?;
    let current = integrations::access(db.pool(), id).await?.ok_or(ServiceError::NotFound)?;
    let sealed: Vec<u8>;
    let public: String;
    let (access, username, secret, public_key) = match choice {
        AccessChoice::None => (RepoAccess::None, String::new(), None, None),
        AccessChoice::KeepDeployKey => {
            if current.repo_access != RepoAccess::Ssh.as_str() {
                return Err(invalid("access", "This integration has no deploy key yet: make one."));
            }
            return Ok(());
        }
        AccessChoice::NewDeployKey => {
            let comment = format!("integration-hub deploy key for {}", integration.name);
            let (private, public_half) = deploy_key(&comment).map_err(ServiceError::Conflict)?;
            sealed = key.encrypt(private.as_bytes());
            public = public_half;
            (RepoAccess::Ssh, String::new(), Some(sealed.as_slice()), Some(public.as_str()))
        }
        AccessChoice::Token { username, token } => {
            if !crate::domain::integration::token_may_go_to(&integration.repository) {
                return Err(invalid(
                    "access",
                    "An access token is sent only over HTTPS: give the repository's https:// address first \
                     (plain http:// only to this machine's loopback).",
                ));
            }
            let username = username.trim().to_owned();
            let token = token.trim().to_owned();
            if username.chars().count() > 200 || username.contains(|c: char| c.is_control() || c == ':') {
                return Err(invalid("username", "A user name has no colon or control characters."));
            }
            if token.is_empty() {
                if current.repo_access != RepoAccess::Token.as_str() || current.repo_secret.is_none() {
                    return Err(invalid("token", "Paste the access token."));
                }
                sealed = current.repo_secret.clone().unwrap_or_default();
            } else {
                if token.len() > 4096 || token.contains(|c: char| c.is_control() || c.is_whitespace()) {
                    return Err(invalid("token", "A token is one line without spaces, at most 4096 characters."));
                }
                if token.chars().count() < 8 {
                    return Err(invalid("token", "This is too short for an access token (at least 8 characters)."));
                }
                sealed = key.encrypt(token.as_bytes());
            }
            (RepoAccess::Token, username, Some(sealed.as_slice()), None)
        }
    };
    let mut tx = db.pool().begin().await?;
    let new = integrations::NewAccess { access: access.as_str(), username: &username, secret, public_key };
    if !integrations::set_access(&mut *tx, id, &new, now).await? {
        return Err(ServiceError::NotFound);
    }
    let entry = audit::Entry {
        actor,
        action: AuditAction::RepositoryAccessSet,
        object_type: "integration",
        object_id: Some(id.to_string()),
        detail: serde_json::json!({ "name": integration.name, "access": access.as_str(), "was": current.repo_access }),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Pins the SSH host keys the admin pasted (`ssh-keyscan`'s lines), or forgets the
/// pinned ones with `None` (the next fetch pins what the host shows).
pub async fn pin_host_keys(
    db: &Db,
    actor: &Actor,
    scope: Scope,
    id: i64,
    lines: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let integration = visible(db, scope, id).await?;
    let checked = match lines {
        Some(text) => Some(git::check_known_hosts(text).map_err(|m| invalid("known_hosts", m))?),
        None => None,
    };
    let mut tx = db.pool().begin().await?;
    integrations::set_known_hosts(&mut *tx, id, checked.as_deref()).await?;
    let entry = audit::Entry {
        actor,
        action: if checked.is_some() { AuditAction::HostKeyPinned } else { AuditAction::HostKeyForgotten },
        object_type: "integration",
        object_id: Some(id.to_string()),
        detail: serde_json::json!({
            "name": integration.name,
            "fingerprints": checked.as_deref().map(git::fingerprints).unwrap_or_default(),
        }),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    Ok(())
}

/// A new push URL and signing secret, shown once.
#[derive(Clone, Debug)]
pub struct PushSecrets {
    pub token: String,
    pub secret: String,
}

/// Turns build on push on with a new URL and secret (the old ones stop working):
/// `Some(sets_default)`, where `sets_default` says whether a push's successful build
/// becomes the default release; or off with `None`.
pub async fn set_push(
    db: &Db,
    key: &SecretKey,
    actor: &Actor,
    scope: Scope,
    id: i64,
    push: Option<bool>,
    now: DateTime<Utc>,
) -> Result<Option<PushSecrets>, ServiceError> {
    let integration = visible(db, scope, id).await?;
    let (on, sets_default) = (push.is_some(), push.unwrap_or(false));
    let secrets = on.then(|| PushSecrets { token: random_token(), secret: random_token() });
    let hash = secrets.as_ref().map(|s| token_hash(&s.token));
    let token_sealed = secrets.as_ref().map(|s| key.encrypt(s.token.as_bytes()));
    let secret_sealed = secrets.as_ref().map(|s| key.encrypt(s.secret.as_bytes()));
    let mut tx = db.pool().begin().await?;
    let push = integrations::Push {
        token_hash: hash.as_deref(),
        token_sealed: token_sealed.as_deref(),
        secret: secret_sealed.as_deref(),
    };
    if !integrations::set_push(&mut *tx, id, &push, now).await? {
        return Err(ServiceError::NotFound);
    }
    integrations::set_push_sets_default(&mut *tx, id, on && sets_default).await?;
    let entry = audit::Entry {
        actor,
        action: AuditAction::PushBuildsSet,
        object_type: "integration",
        object_id: Some(id.to_string()),
        detail: serde_json::json!({ "name": integration.name, "on": on, "sets_default": on && sets_default }),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    Ok(secrets)
}

/// Whether a push's successful build becomes the default release (build on push
/// stays as it is).
pub async fn set_push_default(
    db: &Db,
    actor: &Actor,
    scope: Scope,
    id: i64,
    sets_default: bool,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let integration = visible(db, scope, id).await?;
    let mut tx = db.pool().begin().await?;
    integrations::set_push_sets_default(&mut *tx, id, sets_default).await?;
    let entry = audit::Entry {
        actor,
        action: AuditAction::PushBuildsSet,
        object_type: "integration",
        object_id: Some(id.to_string()),
        detail: serde_json::json!({ "name": integration.name, "sets_default": sets_default }),
    };
    audit::record(&mut *tx, entry, now).await?;
    tx.commit().await?;
    Ok(())
}

/// A push event as it arrived: the headers that say who sent it and how it is
/// signed, and the body.
#[derive(Clone, Debug, Default)]
pub struct PushEvent<'a> {
    /// `X-GitHub-Event`.
    pub github_event: Option<&'a str>,
    /// `X-Hub-Signature-256` (GitHub).
    pub github_signature: Option<&'a str>,
    /// `X-Gitlab-Event`.
    pub gitlab_event: Option<&'a str>,
    /// `X-Gitlab-Token`: GitLab sends the secret itself.
    pub gitlab_token: Option<&'a str>,
    /// `X-Event-Key` (Bitbucket).
    pub bitbucket_event: Option<&'a str>,
    /// `X-Hub-Signature` (Bitbucket's `sha256=…`).
    pub bitbucket_signature: Option<&'a str>,
    pub body: &'a [u8],
}

/// What came of a push event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushOutcome {
    /// A release of this commit was queued.
    Built { release_id: i64 },
    /// Nothing to build (another branch, a deletion, a ping), and why.
    Ignored(String),
    /// The signature or token was missing or wrong: nothing was built.
    Refused(String),
}

/// Receives a push at the push URL with `token`. Not found when no integration has
/// that URL. Every delivery is recorded with its outcome.
pub async fn receive_push(
    db: &Db,
    builder: &Builder,
    key: &SecretKey,
    token: &str,
    event: &PushEvent<'_>,
    now: DateTime<Utc>,
) -> Result<PushOutcome, ServiceError> {
    if token.is_empty() || token.len() > 200 {
        return Err(ServiceError::NotFound);
    }
    let Some((id, row)) = integrations::by_push_token(db.pool(), &token_hash(token)).await? else {
        return Err(ServiceError::NotFound);
    };
    let secret = row.push_secret.as_ref().and_then(|s| key.decrypt(s).ok()).ok_or(ServiceError::NotFound)?;
    let (provider, name) = if let Some(e) = event.github_event {
        ("github", e)
    } else if let Some(e) = event.gitlab_event {
        ("gitlab", e)
    } else if let Some(e) = event.bitbucket_event {
        ("bitbucket", e)
    } else {
        ("unknown", "")
    };
    let event_name: String = name.chars().filter(|c| !c.is_control()).take(100).collect();
    let verified = match provider {
        "github" => signed(&secret, event.body, event.github_signature),
        "gitlab" => event.gitlab_token.is_some_and(|t| same(t.as_bytes(), &secret)),
        "bitbucket" => signed(&secret, event.body, event.bitbucket_signature),
        _ => false,
    };
    let mut delivery =
        Delivery { provider, event: &event_name, git_ref: None, commit: None, release_id: None, detail: String::new() };
    let decision = if !verified {
        let why = match provider {
            "unknown" => "No GitHub, GitLab or Bitbucket event headers came with it.",
            "gitlab" => "The X-Gitlab-Token header is missing or is not the secret.",
            _ => "The signature is missing or was not made with the secret.",
        };
        Decision::Refuse(why.to_owned())
    } else {
        match pushed(provider, &event_name, event.body) {
            Err(why) => Decision::Ignore(why),
            Ok(Pushed { git_ref, commit }) => {
                delivery.git_ref = Some(git_ref.clone());
                delivery.commit = commit.clone();
                match (commit, git_ref.strip_prefix("refs/heads/"), git_ref.strip_prefix("refs/tags/")) {
                    (None, _, _) => Decision::Ignore(format!("{git_ref} was deleted.")),
                    (Some(_), Some(branch), _) if branch != row.branch => Decision::Ignore(format!(
                        "A push to {branch}: the integration builds its tracking branch, {}.",
                        row.branch
                    )),
                    (Some(commit), _, _) if !is_commit_id(&commit) => {
                        Decision::Ignore("The pushed commit is not a commit id.".to_owned())
                    }
                    (Some(commit), Some(_), _) | (Some(commit), _, Some(_)) => Decision::Build(commit),
                    (Some(_), None, None) => Decision::Ignore(format!("{git_ref} is neither a branch nor a tag.")),
                }
            }
        }
    };
    let mut tx = db.pool().begin().await?;
    let outcome = match decision {
        Decision::Ignore(why) => PushOutcome::Ignored(why),
        Decision::Refuse(why) => PushOutcome::Refused(why),
        Decision::Build(commit) => {
            let pushed_as = delivery.git_ref.as_deref().unwrap_or_default();
            let short = pushed_as.strip_prefix("refs/heads/").or_else(|| pushed_as.strip_prefix("refs/tags/"));
            let label = format!("{} @ {}", short.unwrap_or(pushed_as), &commit[..7]);
            let release_id = releases::insert_queued_as(&mut *tx, id, &commit, &label, None, now).await?;
            if row.push_sets_default {
                releases::make_default_on_success(&mut *tx, release_id).await?;
            }
            let entry = audit::Entry {
                actor: &Actor::System,
                action: AuditAction::BuildQueued,
                object_type: "release",
                object_id: Some(release_id.to_string()),
                detail: serde_json::json!({
                    "integration": id, "ref": commit, "pushed": delivery.git_ref, "provider": provider,
                }),
            };
            audit::record(&mut *tx, entry, now).await?;
            delivery.release_id = Some(release_id);
            PushOutcome::Built { release_id }
        }
    };
    let (kind, detail) = match &outcome {
        PushOutcome::Built { .. } => ("built", String::new()),
        PushOutcome::Ignored(why) => ("ignored", why.clone()),
        PushOutcome::Refused(why) => ("refused", why.clone()),
    };
    delivery.detail = detail;
    let new = NewDelivery {
        integration_id: id,
        provider: delivery.provider,
        event: delivery.event,
        git_ref: delivery.git_ref.as_deref(),
        commit_sha: delivery.commit.as_deref(),
        outcome: kind,
        detail: &delivery.detail,
        release_id: delivery.release_id,
    };
    push_deliveries::insert(&mut tx, &new, now).await?;
    tx.commit().await?;
    if matches!(outcome, PushOutcome::Built { .. }) {
        builder.wake();
    }
    Ok(outcome)
}

struct Delivery<'a> {
    provider: &'static str,
    event: &'a str,
    git_ref: Option<String>,
    commit: Option<String>,
    release_id: Option<i64>,
    detail: String,
}

/// What to do with a verified (or refused) push.
enum Decision {
    Build(String),
    Ignore(String),
    Refuse(String),
}

/// A commit id as git writes it: SHA-1 or SHA-256, in hex.
fn is_commit_id(commit: &str) -> bool {
    matches!(commit.len(), 40 | 64) && commit.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What a push moved: the full ref name, and the commit it points to now (`None`
/// when it was deleted).
struct Pushed {
    git_ref: String,
    commit: Option<String>,
}

const ZERO: &str = "0000000000000000000000000000000000000000";

/// Reads the ref and commit of a push event; an error says why there is nothing to
/// build (another event, a body that is not a push).
fn pushed(provider: &str, event: &str, body: &[u8]) -> Result<Pushed, String> {
    let is_push = match provider {
        "github" => event == "push",
        "gitlab" => event == "Push Hook" || event == "Tag Push Hook",
        "bitbucket" => event == "repo:push",
        _ => false,
    };
    if !is_push {
        return Err(format!("A {event:?} event, not a push: nothing to build."));
    }
    let json: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| "The body is not the JSON of a push event.".to_owned())?;
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    if provider == "bitbucket" {
        let change = json.pointer("/push/changes/0").ok_or("The push names no change.")?;
        let new = change.get("new").filter(|n| !n.is_null());
        let old = change.get("old").filter(|n| !n.is_null());
        let named = new.or(old).ok_or("The push names no branch or tag.")?;
        let name = named.get("name").and_then(text).ok_or("The push names no branch or tag.")?;
        let kind = if named.get("type").and_then(|t| t.as_str()) == Some("tag") { "tags" } else { "heads" };
        let commit = new.and_then(|n| n.pointer("/target/hash")).and_then(text);
        return Ok(Pushed { git_ref: format!("refs/{kind}/{name}"), commit });
    }
    let git_ref = json.get("ref").and_then(text).ok_or("The push names no ref.")?;
    let after = json.get("after").and_then(text).filter(|a| a != ZERO && !a.is_empty());
    let deleted = json.get("deleted").and_then(serde_json::Value::as_bool).unwrap_or(false);
    Ok(Pushed { git_ref, commit: if deleted { None } else { after } })
}

/// Whether `header` is `sha256=<hex HMAC-SHA256 of body with secret>`, compared in
/// constant time (by the `hmac` crate).
fn signed(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(hex) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else { return false };
    let Some(given) = from_hex(hex) else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else { return false };
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// Compares two secrets without leaking where they differ: their SHA-256 digests.
fn same(a: &[u8], b: &[u8]) -> bool {
    let (x, y) = (Sha256::digest(a), Sha256::digest(b));
    x.iter().zip(y.iter()).fold(0u8, |acc, (p, q)| acc | (p ^ q)) == 0
}

fn from_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

/// The `sha256=…` signature GitHub and Bitbucket send for `body` (for tests and the
/// command line).
pub fn sign(secret: &str, body: &[u8]) -> String {
    crate::outbox::signature(secret.as_bytes(), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_checked_against_the_body_and_secret() {
        let body = br#"{"ref":"refs/heads/main"}"#;
        let good = sign("s3cret", body);
        assert!(signed(b"s3cret", body, Some(&good)));
        assert!(!signed(b"other", body, Some(&good)));
        assert!(!signed(b"s3cret", b"{}", Some(&good)));
        assert!(!signed(b"s3cret", body, Some("sha1=abcd")));
        assert!(!signed(b"s3cret", body, None));
        assert!(same(b"abc", b"abc") && !same(b"abc", b"abd"));
    }

    #[test]
    fn pushes_of_each_provider_name_their_ref_and_commit() {
        let sha = "a".repeat(40);
        let gh = format!(r#"{{"ref":"refs/heads/main","after":"{sha}","deleted":false}}"#);
        let p = pushed("github", "push", gh.as_bytes()).expect("push");
        assert_eq!((p.git_ref.as_str(), p.commit.as_deref()), ("refs/heads/main", Some(sha.as_str())));
        let gone = format!(r#"{{"ref":"refs/heads/main","after":"{ZERO}"}}"#);
        assert_eq!(pushed("gitlab", "Push Hook", gone.as_bytes()).expect("push").commit, None);
        let bb =
            format!(r#"{{"push":{{"changes":[{{"new":{{"type":"tag","name":"v1","target":{{"hash":"{sha}"}}}}}}]}}}}"#);
        let p = pushed("bitbucket", "repo:push", bb.as_bytes()).expect("push");
        assert_eq!((p.git_ref.as_str(), p.commit.as_deref()), ("refs/tags/v1", Some(sha.as_str())));
        assert!(pushed("github", "ping", b"{}").is_err());
        assert!(pushed("github", "push", b"not json").is_err());
    }
}
