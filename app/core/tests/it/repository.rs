//! Private repositories: a deploy key against a real `sshd`, a token against git's
//! smart-HTTP server, host key pinning, builds side by side, and builds on push.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::Utc;
use hub_core::db::audit::Actor;
use hub_core::db::{releases, Db};
use hub_core::domain::integration::IntegrationInput;
use hub_core::domain::release::ReleaseStatus;
use hub_core::egress::Egress;
use hub_core::engine::builder::Builder;
use hub_core::engine::git as hub_git;
use hub_core::engine::sandbox::{Policy, Sandbox};
use hub_core::secrets::SecretKey;
use hub_core::service::repository::{self, AccessChoice, PushEvent, PushOutcome};
use hub_core::service::{self, Scope};
use hub_core::worker::{self, Worker};

use crate::git;
use crate::git_servers::{GitHttp, Sshd};

const MANIFEST: &str = "version: 1.0\nbuild: echo building >&2\nrun: ./sync\n";

/// The sandbox as the hub has it, but for the local-network fence: the git servers
/// of these tests are on loopback, which the fence keeps every sandbox uid off
/// (`HUB_SANDBOX_LOCAL_NETWORK=allow` does the same for a hub). Its uids are its own.
fn sandbox() -> Arc<Sandbox> {
    static SANDBOX: OnceLock<Arc<Sandbox>> = OnceLock::new();
    SANDBOX
        .get_or_init(|| {
            let mut policy = Policy::new(crate::helper());
            policy.block_local_network = false;
            policy.uid_base = 3_100_000;
            policy.etc_copy = Some(Path::new(env!("CARGO_TARGET_TMPDIR")).join("sandbox-etc-loopback"));
            let s = Sandbox::probe(policy);
            assert!(s.unavailable().is_none(), "{}", s.summary());
            Arc::new(s)
        })
        .clone()
}

struct Hub {
    db: Db,
    key: Arc<SecretKey>,
    builder: Builder,
    /// A bare repository with `main` (and `other`), as a git host keeps it.
    bare: tempfile::TempDir,
    _data: tempfile::TempDir,
    _db_dir: tempfile::TempDir,
}

fn loopback() -> Egress {
    Egress::allowing("127.0.0.0/8").expect("egress")
}

async fn hub() -> Hub {
    let (db, db_dir) = crate::file_db().await;
    for (org, kind) in [("Acme", "company"), ("Globex", "partner")] {
        sqlx::query("INSERT INTO organizations (name, kind, created_at) VALUES (?, ?, '2026-01-01')")
            .bind(org)
            .bind(kind)
            .execute(db.pool())
            .await
            .expect("org");
    }
    let work = tempfile::tempdir().expect("tempdir");
    git(work.path(), &["init", "--quiet", "--initial-branch=main"]);
    std::fs::write(work.path().join("PANDIUM.yaml"), MANIFEST).expect("write");
    git(work.path(), &["add", "--all"]);
    git(work.path(), &["commit", "--quiet", "-m", "first"]);
    git(work.path(), &["branch", "other"]);
    let bare = tempfile::tempdir().expect("tempdir");
    git(bare.path(), &["clone", "--quiet", "--bare", &work.path().to_string_lossy(), "repo.git"]);
    let data = tempfile::tempdir().expect("tempdir");
    let key = Arc::new(SecretKey::generate());
    let builder = Builder::new(db.clone(), data.path(), Duration::from_secs(60), sandbox())
        .with_egress(loopback())
        .with_key(key.clone());
    Hub { db, key, builder, bare, _data: data, _db_dir: db_dir }
}

impl Hub {
    async fn integration(&self, organization: i64, repository: &str) -> i64 {
        let input = IntegrationInput {
            name: format!("Sync {}", rand_suffix()),
            repository: repository.into(),
            ..Default::default()
        };
        service::integrations::create(&self.db, &loopback(), &Actor::System, organization, input, Utc::now())
            .await
            .expect("created")
    }

    async fn build(&self, integration: i64) -> releases::ReleaseRow {
        crate::build(&self.db, &self.builder, integration, None).await
    }

    async fn set(&self, integration: i64, choice: AccessChoice) {
        repository::set_access(&self.db, &self.key, &Actor::System, Scope::All, integration, choice, Utc::now())
            .await
            .expect("access set");
    }

    async fn view(&self, integration: i64) -> repository::AccessView {
        repository::view(&self.db, &self.key, Scope::All, integration).await.expect("view")
    }

    fn repo(&self) -> String {
        self.bare.path().join("repo.git").to_string_lossy().into_owned()
    }
}

fn rand_suffix() -> String {
    hub_core::secrets::random_token().chars().take(8).collect()
}

/// Every file under `dir` (the release's checkout), read as text where it is.
fn files_contain(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read(&path).is_ok_and(|b| String::from_utf8_lossy(&b).contains(needle)) {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

#[tokio::test]
async fn a_deploy_key_builds_over_ssh_pins_the_host_key_and_refuses_a_changed_one() {
    let hub = hub().await;
    let sshd = Sshd::start("").await;
    let integration = hub.integration(1, &format!("ssh://root@127.0.0.1:{}{}", sshd.port, hub.repo())).await;
    // Without a key, SSH offers none and the build says what to do.
    let r = hub.build(integration).await;
    assert_eq!(r.status, ReleaseStatus::Failed);
    let error = r.error.unwrap_or_default();
    assert!(error.contains("asks for an SSH key"), "{error}\n{}", r.build_log);
    assert!(hub.view(integration).await.host_keys.is_empty(), "nothing is pinned without a deploy key");
    hub.set(integration, AccessChoice::NewDeployKey).await;
    let public = hub.view(integration).await.public_key.expect("a public key is shown");
    assert!(public.starts_with("ssh-ed25519 "), "{public}");
    sshd.authorize(&public);

    let r = hub.build(integration).await;
    assert_eq!(r.status, ReleaseStatus::Succeeded, "{:?}\n{}", r.error, r.build_log);
    let host = hub_git::fingerprints(&sshd.known_hosts_line());
    assert_eq!(hub.view(integration).await.host_keys, host, "the first fetch pinned the host's key");
    assert!(r.build_log.contains(&host[0]), "{}", r.build_log);
    assert!(r.build_log.contains("with the integration's deploy key"), "{}", r.build_log);
    // The private key is nowhere the release keeps.
    let row = hub_core::db::integrations::access(hub.db.pool(), integration).await.expect("db").expect("row");
    let private = String::from_utf8(hub.key.decrypt(&row.repo_secret.expect("sealed")).expect("unseal")).expect("utf8");
    let body = private.lines().nth(1).expect("key body").to_owned();
    assert!(!r.build_log.contains(&body));
    assert!(files_contain(&hub.builder.release_dir(r.id), &body).is_empty());

    // The host's key changes: the build stops and names both fingerprints.
    let sshd = sshd.with_new_host_key(&public).await;
    let changed = hub_git::fingerprints(&sshd.known_hosts_line());
    let r = hub.build(integration).await;
    assert_eq!(r.status, ReleaseStatus::Failed);
    let error = r.error.unwrap_or_default();
    assert!(error.contains("changed") && error.contains(&host[0]) && error.contains(&changed[0]), "{error}");

    // Forgotten, the next fetch pins the new key; a pasted line is pinned as given.
    repository::pin_host_keys(&hub.db, &Actor::System, Scope::All, integration, None, Utc::now())
        .await
        .expect("forgotten");
    let r = hub.build(integration).await;
    assert_eq!(r.status, ReleaseStatus::Succeeded, "{:?}", r.error);
    assert_eq!(hub.view(integration).await.host_keys, changed);
    let wrong = "[127.0.0.1]:1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKm1tUq3DO1FkJ0IbXkbV8nM3dD5w0aO8iYw4JQ8VbWn";
    let refused =
        repository::pin_host_keys(&hub.db, &Actor::System, Scope::All, integration, Some("nonsense"), Utc::now()).await;
    assert!(refused.is_err(), "a line that is no known_hosts line is refused");
    repository::pin_host_keys(&hub.db, &Actor::System, Scope::All, integration, Some(wrong), Utc::now())
        .await
        .expect("pinned");
    let r = hub.build(integration).await;
    assert_eq!(r.status, ReleaseStatus::Failed);
    assert!(r.error.unwrap_or_default().contains("did not show the pinned host key"));

    // A new deploy key (not yet authorized at the host) is refused by it, clearly.
    hub.set(integration, AccessChoice::NewDeployKey).await;
    let r = hub.build(integration).await;
    assert_eq!(r.status, ReleaseStatus::Failed);
    let error = r.error.unwrap_or_default();
    assert!(error.contains("refused the deploy key"), "{error}");
}

#[tokio::test]
async fn a_token_builds_over_https_and_is_kept_nowhere_but_sealed() {
    let hub = hub().await;
    let token = "tok_Secret-123456";
    let server = GitHttp::start(hub.bare.path(), "x-access-token", token).await;
    let url = format!("http://127.0.0.1:{}/repo.git", server.port);
    let integration = hub.integration(1, &url).await;

    // Without credentials the host asks for some: the repository is private.
    let r = hub.build(integration).await;
    assert_eq!(r.status, ReleaseStatus::Failed);
    assert!(r.error.unwrap_or_default().contains("the repository is private"));

    hub.set(integration, AccessChoice::Token { username: String::new(), token: "wrong-token".into() }).await;
    let r = hub.build(integration).await;
    assert_eq!(r.status, ReleaseStatus::Failed);
    let error = r.error.unwrap_or_default();
    assert!(error.contains("refused the access token") && !error.contains("wrong-token"), "{error}");

    hub.set(integration, AccessChoice::Token { username: String::new(), token: token.into() }).await;
    let r = hub.build(integration).await;
    assert_eq!(r.status, ReleaseStatus::Succeeded, "{:?}\n{}", r.error, r.build_log);
    assert!(!r.build_log.contains(token));
    let dir = hub.builder.release_dir(r.id);
    assert!(files_contain(&dir, token).is_empty(), "the checkout keeps no token: {:?}", files_contain(&dir, token));
    let view = hub.view(integration).await;
    assert_eq!((view.access.as_str(), view.public_key), ("token", None));
    let audit: Vec<String> =
        sqlx::query_scalar("SELECT detail FROM audit_log").fetch_all(hub.db.pool()).await.expect("audit");
    assert!(audit.iter().all(|d| !d.contains(token)) && audit.iter().any(|d| d.contains("\"access\":\"token\"")));

    // An empty token keeps the stored one (a user name change only).
    hub.set(integration, AccessChoice::Token { username: "x-access-token".into(), token: String::new() }).await;
    assert_eq!(hub.build(integration).await.status, ReleaseStatus::Succeeded);

    // A token is never sent in clear across a network, nor to a host the address
    // was moved to afterwards.
    let moved = IntegrationInput {
        name: "Moved elsewhere".into(),
        repository: "http://127.0.0.2:9/repo.git".into(),
        ..Default::default()
    };
    service::integrations::update(
        &hub.db,
        &loopback(),
        &Actor::System,
        service::Scope::All,
        integration,
        moved,
        Utc::now(),
    )
    .await
    .expect("updated");
    assert_eq!(hub.view(integration).await.access.as_str(), "none", "the token stayed with the old host");
    let short = AccessChoice::Token { username: String::new(), token: "abc".into() };
    let e =
        repository::set_access(&hub.db, &hub.key, &Actor::System, service::Scope::All, integration, short, Utc::now())
            .await
            .expect_err("too short");
    assert!(format!("{e:?}").contains("too short"), "{e:?}");
}

#[tokio::test]
async fn two_organizations_build_side_by_side_and_a_third_build_waits() {
    let mut hub = hub().await;
    hub.builder = hub.builder.clone().with_max_builds(2);
    // Builds that take a moment, so that the steps below see them going.
    let slow = tempfile::tempdir().expect("tempdir");
    git(slow.path(), &["init", "--quiet", "--initial-branch=main"]);
    std::fs::write(slow.path().join("PANDIUM.yaml"), MANIFEST.replace("echo building >&2", "sleep 2")).expect("write");
    git(slow.path(), &["add", "--all"]);
    git(slow.path(), &["commit", "--quiet", "-m", "slow"]);
    let public = crate::public_dir();
    let repo = public.path().join("slow");
    git(public.path(), &["clone", "--quiet", "--bare", &slow.path().to_string_lossy(), "slow"]);
    let repo = repo.to_string_lossy().into_owned();
    let (a1, a2, b) =
        (hub.integration(1, &repo).await, hub.integration(1, &repo).await, hub.integration(2, &repo).await);
    let mut queued = Vec::new();
    for integration in [a1, a2, b] {
        let id = service::integrations::build_release(
            &hub.db,
            &hub.builder,
            &Actor::System,
            Scope::All,
            integration,
            None,
            Utc::now(),
        )
        .await
        .expect("queued");
        queued.push(id);
    }
    let now = Utc::now();
    assert!(hub.builder.step(now).await.expect("step").more);
    assert!(hub.builder.step(now).await.expect("step").more);
    assert!(!hub.builder.step(now).await.expect("step").more, "both slots are taken");
    let status = |id: i64| {
        let db = hub.db.clone();
        async move { releases::get(db.pool(), id).await.expect("db").expect("release").status }
    };
    // Acme queued two first, but Globex's build runs beside Acme's first.
    assert_eq!(status(queued[0]).await, ReleaseStatus::Building);
    assert_eq!(status(queued[1]).await, ReleaseStatus::Queued);
    assert_eq!(status(queued[2]).await, ReleaseStatus::Building);
    worker::run_until_idle(&hub.builder, now).await.expect("built");
    for id in queued {
        assert_eq!(status(id).await, ReleaseStatus::Succeeded);
    }
}

#[tokio::test]
async fn signed_pushes_build_the_pushed_commit_and_nothing_else_builds() {
    let hub = hub().await;
    let integration = hub.integration(1, &hub.repo()).await;
    let secrets =
        repository::set_push(&hub.db, &hub.key, &Actor::System, Scope::All, integration, Some(true), Utc::now())
            .await
            .expect("on")
            .expect("secrets");
    let head = git(&hub.bare.path().join("repo.git"), &["rev-parse", "main"]);
    let receive = |event: PushEvent<'static>| {
        let (db, builder, key, token) = (hub.db.clone(), hub.builder.clone(), hub.key.clone(), secrets.token.clone());
        async move { repository::receive_push(&db, &builder, &key, &token, &event, Utc::now()).await }
    };
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };

    // GitHub: signed with X-Hub-Signature-256.
    let body = leak(format!(r#"{{"ref":"refs/heads/main","after":"{head}"}}"#));
    let signature = leak(repository::sign(&secrets.secret, body.as_bytes()));
    let github = PushEvent {
        github_event: Some("push"),
        github_signature: Some(signature),
        body: body.as_bytes(),
        ..Default::default()
    };
    let PushOutcome::Built { release_id } = receive(github.clone()).await.expect("received") else {
        panic!("a signed push to the tracking branch builds");
    };
    worker::run_until_idle(&hub.builder, Utc::now()).await.expect("built");
    let r = releases::get(hub.db.pool(), release_id).await.expect("db").expect("release");
    assert_eq!((r.status, r.commit_sha.as_deref()), (ReleaseStatus::Succeeded, Some(head.as_str())));
    let default: Option<i64> = sqlx::query_scalar("SELECT default_release_id FROM integrations WHERE id = ?")
        .bind(integration)
        .fetch_one(hub.db.pool())
        .await
        .expect("db");
    assert_eq!(default, Some(release_id), "a push's success becomes the default when the integration says so");

    // A wrong signature, a wrong GitLab token, and no provider at all: refused.
    let forged =
        PushEvent { github_signature: Some(leak(repository::sign("guess", body.as_bytes()))), ..github.clone() };
    assert!(matches!(receive(forged).await, Ok(PushOutcome::Refused(_))));
    let gitlab_wrong = PushEvent {
        gitlab_event: Some("Push Hook"),
        gitlab_token: Some("guess"),
        body: body.as_bytes(),
        ..Default::default()
    };
    assert!(matches!(receive(gitlab_wrong).await, Ok(PushOutcome::Refused(_))));
    assert!(matches!(
        receive(PushEvent { body: body.as_bytes(), ..Default::default() }).await,
        Ok(PushOutcome::Refused(_))
    ));

    // GitLab with its token; Bitbucket signed, to another branch: ignored.
    let gitlab = PushEvent {
        gitlab_event: Some("Push Hook"),
        gitlab_token: Some(leak(secrets.secret.clone())),
        body: body.as_bytes(),
        ..Default::default()
    };
    assert!(matches!(receive(gitlab).await, Ok(PushOutcome::Built { .. })));
    let other = leak(format!(
        r#"{{"push":{{"changes":[{{"new":{{"type":"branch","name":"other","target":{{"hash":"{head}"}}}}}}]}}}}"#
    ));
    let bitbucket = PushEvent {
        bitbucket_event: Some("repo:push"),
        bitbucket_signature: Some(leak(repository::sign(&secrets.secret, other.as_bytes()))),
        body: other.as_bytes(),
        ..Default::default()
    };
    assert!(matches!(receive(bitbucket).await, Ok(PushOutcome::Ignored(_))));

    // An unknown URL token is not found; nothing was queued by the refusals.
    let unknown = repository::receive_push(&hub.db, &hub.builder, &hub.key, "nope", &github, Utc::now()).await;
    assert!(matches!(unknown, Err(service::ServiceError::NotFound)));
    let releases: i64 = sqlx::query_scalar("SELECT count(*) FROM releases").fetch_one(hub.db.pool()).await.expect("db");
    assert_eq!(releases, 2, "the GitHub and GitLab pushes");
    let outcomes: Vec<String> = hub.view(integration).await.deliveries.iter().map(|d| d.outcome.clone()).collect();
    assert_eq!(outcomes, ["ignored", "built", "refused", "refused", "refused", "built"]);

    // Turned off, the old URL is gone.
    repository::set_push(&hub.db, &hub.key, &Actor::System, Scope::All, integration, None, Utc::now())
        .await
        .expect("off");
    assert!(matches!(receive(github).await, Err(service::ServiceError::NotFound)));
}
