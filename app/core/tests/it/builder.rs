//! The release builder against real local git repositories.

use std::path::Path;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use hub_core::db::audit::Actor;
use hub_core::db::{connectors, releases, Db};
use hub_core::domain::connector::Connector;
use hub_core::domain::integration::IntegrationInput;
use hub_core::domain::release::{ReleaseChoice, ReleaseStatus};
use hub_core::engine::builder::Builder;
use hub_core::service;
use hub_core::worker::Clock;

use crate::git;

const GOOD: &str = "version: 0.5\nbuild: echo compiling >&2 && echo done > built.txt\nrun: ./sync\nconnectors: [slack]\nconfigs:\n  schema:\n    properties:\n      channel: { type: string }\n";

/// Commits `manifest` as PANDIUM.yaml on `main` and returns the commit.
fn commit(repo: &Path, manifest: &str) -> String {
    std::fs::write(repo.join("PANDIUM.yaml"), manifest).expect("write");
    git(repo, &["add", "--all"]);
    git(repo, &["commit", "--quiet", "--allow-empty", "-m", "change"]);
    git(repo, &["rev-parse", "HEAD"])
}

struct Hub {
    db: Db,
    builder: Builder,
    repo: tempfile::TempDir,
    _data: tempfile::TempDir,
    _db_dir: tempfile::TempDir,
}

async fn hub(limit: Duration) -> Hub {
    let (db, db_dir) = crate::file_db().await;
    let slack = "name: slack\ndisplay_name: Slack\nauth: oauth2\noauth2:\n  authorize_url: https://s.example/a\n  token_url: https://s.example/t\n";
    let (c, missing) = Connector::parse(slack, |_| None).expect("connector");
    connectors::upsert(db.pool(), &c, &missing, Utc::now()).await.expect("stored");
    sqlx::query("INSERT INTO organizations (name, kind, created_at) VALUES ('Acme', 'company', '2026-01-01')")
        .execute(db.pool())
        .await
        .expect("org");
    let data = tempfile::tempdir().expect("tempdir");
    let repo = crate::public_dir();
    git(repo.path(), &["init", "--quiet", "--initial-branch=main"]);
    let builder = Builder::new(db.clone(), data.path(), limit, crate::sandbox());
    Hub { db, builder, repo, _data: data, _db_dir: db_dir }
}

impl Hub {
    async fn integration(&self, repository: &str) -> i64 {
        let input = IntegrationInput {
            name: "Slack sync".into(),
            connectors: vec!["slack".into()],
            repository: repository.into(),
            ..Default::default()
        };
        service::integrations::create(
            &self.db,
            &hub_core::egress::Egress::strict(),
            &Actor::System,
            1,
            input,
            Utc::now(),
        )
        .await
        .expect("created")
    }

    async fn build(&self, integration: i64, git_ref: Option<&str>) -> releases::ReleaseRow {
        crate::build(&self.db, &self.builder, integration, git_ref).await
    }

    fn repo_path(&self) -> String {
        self.repo.path().to_string_lossy().into_owned()
    }
}

#[tokio::test]
async fn a_good_build_records_commit_log_command_and_model() {
    let hub = hub(Duration::from_secs(60)).await;
    let sha = commit(hub.repo.path(), GOOD);
    let integration = hub.integration(&hub.repo_path()).await;
    let r = hub.build(integration, None).await;
    assert_eq!(r.status, ReleaseStatus::Succeeded, "{:?} {}", r.error, r.build_log);
    assert_eq!(r.commit_sha.as_deref(), Some(sha.as_str()));
    assert_eq!(r.git_ref, "main");
    assert_eq!(r.name, "v1 (main)");
    assert_eq!(r.run_command.as_deref(), Some("./sync"));
    assert!(r.build_log.contains("compiling"), "{}", r.build_log);
    assert!(r.manifest.as_deref().is_some_and(|m| m.contains("\"channel\"")));
    assert!(hub.builder.release_dir(r.id).join("built.txt").exists(), "the build ran in the release's directory");

    // Latest follows the newest success; default is unset until chosen.
    let latest = releases::resolve(hub.db.pool(), integration, ReleaseChoice::Latest).await.expect("db");
    assert_eq!(latest.map(|l| l.id), Some(r.id));
    assert!(releases::resolve(hub.db.pool(), integration, ReleaseChoice::Default).await.expect("db").is_none());
    service::integrations::set_default(&hub.db, &Actor::System, service::Scope::All, integration, r.id, Utc::now())
        .await
        .expect("set");
    let default = releases::resolve(hub.db.pool(), integration, ReleaseChoice::Default).await.expect("db");
    assert_eq!(default.map(|d| d.id), Some(r.id));

    // A release never changes once built: the database refuses.
    let changed =
        sqlx::query("UPDATE releases SET run_command = 'evil' WHERE id = ?").bind(r.id).execute(hub.db.pool()).await;
    assert!(changed.is_err());
}

#[tokio::test]
async fn a_failing_build_command_fails_the_release_with_its_log() {
    let hub = hub(Duration::from_secs(60)).await;
    commit(hub.repo.path(), &GOOD.replace("echo compiling >&2 && echo done > built.txt", "echo boom >&2; exit 4"));
    let integration = hub.integration(&hub.repo_path()).await;
    let r = hub.build(integration, None).await;
    assert_eq!(r.status, ReleaseStatus::Failed);
    assert_eq!(r.error.as_deref(), Some("The build command failed with exit code 4; see the log."));
    assert!(r.build_log.contains("boom"));
    // A failed build is not a candidate for latest, and cannot be the default.
    assert!(releases::resolve(hub.db.pool(), integration, ReleaseChoice::Latest).await.expect("db").is_none());
    let refused =
        service::integrations::set_default(&hub.db, &Actor::System, service::Scope::All, integration, r.id, Utc::now())
            .await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn a_build_past_its_time_limit_is_stopped() {
    let hub = hub(Duration::from_secs(1)).await;
    commit(hub.repo.path(), &GOOD.replace("echo compiling >&2 && echo done > built.txt", "sleep 30"));
    let integration = hub.integration(&hub.repo_path()).await;
    let r = hub.build(integration, None).await;
    assert_eq!(r.error.as_deref(), Some("The build command ran longer than 1 s and was stopped."));
}

#[tokio::test]
async fn a_broken_manifest_fails_with_line_and_column() {
    let hub = hub(Duration::from_secs(60)).await;
    commit(hub.repo.path(), "version: 0.5\nrun: ./sync\n  build: make\n");
    let integration = hub.integration(&hub.repo_path()).await;
    let r = hub.build(integration, None).await;
    assert_eq!(r.status, ReleaseStatus::Failed);
    let error = r.error.unwrap_or_default();
    assert!(error.starts_with("PANDIUM.yaml line 3, column 8: mapping values are not allowed"), "{error}");
    assert!(r.commit_sha.is_some(), "the commit is still recorded");
}

#[tokio::test]
async fn an_unknown_connector_fails_the_release() {
    let hub = hub(Duration::from_secs(60)).await;
    commit(hub.repo.path(), &GOOD.replace("[slack]", "[slack, hubspot]"));
    let integration = hub.integration(&hub.repo_path()).await;
    let r = hub.build(integration, None).await;
    assert_eq!(
        r.error.as_deref(),
        Some("PANDIUM.yaml: connectors: the hub has no connector named hubspot (it has: slack).")
    );
}

#[tokio::test]
async fn a_tag_builds_the_tagged_commit() {
    let hub = hub(Duration::from_secs(60)).await;
    let tagged = commit(hub.repo.path(), GOOD);
    git(hub.repo.path(), &["tag", "v1.0"]);
    commit(hub.repo.path(), &GOOD.replace("./sync", "./sync --v2"));
    let integration = hub.integration(&hub.repo_path()).await;
    let r = hub.build(integration, Some("v1.0")).await;
    assert_eq!(r.status, ReleaseStatus::Succeeded, "{:?}", r.error);
    assert_eq!(r.commit_sha.as_deref(), Some(tagged.as_str()));
    assert_eq!(r.run_command.as_deref(), Some("./sync"));
    assert_eq!(r.name, "v1 (v1.0)");
    // The branch head is the newer commit.
    let head = hub.build(integration, None).await;
    assert_eq!(head.run_command.as_deref(), Some("./sync --v2"));
    // Latest is now the newer build, and the older one is untouched.
    let latest = releases::resolve(hub.db.pool(), integration, ReleaseChoice::Latest).await.expect("db");
    assert_eq!(latest.map(|l| l.id), Some(head.id));
    let pinned = releases::resolve(hub.db.pool(), integration, ReleaseChoice::Specific(r.id)).await.expect("db");
    assert_eq!(pinned.and_then(|p| p.commit_sha), Some(tagged));
}

#[tokio::test]
async fn a_commit_id_builds_that_commit() {
    let hub = hub(Duration::from_secs(60)).await;
    let first = commit(hub.repo.path(), GOOD);
    commit(hub.repo.path(), &GOOD.replace("./sync", "./sync --v2"));
    let integration = hub.integration(&hub.repo_path()).await;
    let r = hub.build(integration, Some(&first)).await;
    assert_eq!(r.commit_sha.as_deref(), Some(first.as_str()));
}

#[tokio::test]
async fn a_missing_branch_fails_the_release() {
    let hub = hub(Duration::from_secs(60)).await;
    commit(hub.repo.path(), GOOD);
    let integration = hub.integration(&hub.repo_path()).await;
    let r = hub.build(integration, Some("nope")).await;
    assert_eq!(r.status, ReleaseStatus::Failed);
    let error = r.error.unwrap_or_default();
    assert!(error.starts_with("There is no branch, tag or commit named \"nope\" in "), "{error}");
}

#[tokio::test]
async fn an_unreachable_repository_fails_the_release() {
    let hub = hub(Duration::from_secs(60)).await;
    let integration = hub.integration("/nonexistent/repository").await;
    let r = hub.build(integration, None).await;
    assert_eq!(r.status, ReleaseStatus::Failed);
    let error = r.error.unwrap_or_default();
    assert!(error.starts_with("Cannot fetch the repository /nonexistent/repository: "), "{error}");
}

#[tokio::test]
async fn a_repository_inside_the_hubs_network_is_not_fetched() {
    let hub = hub(Duration::from_secs(60)).await;
    for (repository, said) in [
        ("http://169.254.169.254/latest/meta-data.git", "169.254.169.254, a link-local address"),
        ("ssh://git@10.0.0.1/team/app.git", "10.0.0.1, a private address"),
        ("git@localhost:team/app.git", "localhost is "),
    ] {
        let input = IntegrationInput { name: repository.into(), repository: repository.into(), ..Default::default() };
        // Refused when saved under the same guard...
        let strict = hub_core::egress::Egress::strict();
        let refused = service::integrations::create(&hub.db, &strict, &Actor::System, 1, input.clone(), Utc::now());
        match refused.await {
            Err(service::ServiceError::Invalid(f)) => {
                assert!(f.field == "repository" && f.message.contains(said), "{f:?}")
            }
            other => panic!("{repository}: {other:?}"),
        }
        // ... and, saved while the operator allowed it (or a name pointed elsewhere
        // then), refused again before the clone by the builder's guard.
        let everything = hub_core::egress::Egress::allowing("0.0.0.0/0, ::/0").expect("ranges");
        let integration = service::integrations::create(&hub.db, &everything, &Actor::System, 1, input, Utc::now())
            .await
            .expect("created");
        let r = hub.build(integration, None).await;
        assert_eq!(r.status, ReleaseStatus::Failed);
        let error = r.error.unwrap_or_default();
        assert!(error.starts_with("Cannot fetch the repository: ") && error.contains(said), "{error}");
        assert!(!r.build_log.contains("git clone"), "git never ran: {}", r.build_log);
    }
}

#[tokio::test]
async fn a_build_cut_short_by_a_stop_is_failed_on_the_next_start() {
    let hub = hub(Duration::from_secs(60)).await;
    commit(hub.repo.path(), GOOD);
    let integration = hub.integration(&hub.repo_path()).await;
    let id = service::integrations::build_release(
        &hub.db,
        &hub.builder,
        &Actor::System,
        service::Scope::All,
        integration,
        None,
        Utc::now(),
    )
    .await
    .expect("queued");
    assert!(releases::claim(hub.db.pool(), id, Utc::now()).await.expect("claimed"));
    assert_eq!(releases::fail_interrupted(hub.db.pool(), Utc::now()).await.expect("db"), 1);
    let r = releases::get(hub.db.pool(), id).await.expect("db").expect("row");
    assert_eq!(r.status, ReleaseStatus::Failed);
}

/// Regression: with a relative data directory (the default `./data`), git resolved the
/// clone's destination against its own working directory and every build failed.
#[tokio::test]
async fn a_relative_data_directory_still_builds() {
    let hub = hub(Duration::from_secs(60)).await;
    commit(hub.repo.path(), GOOD);
    // A directory under the test's working directory, named relatively.
    let data = tempfile::Builder::new().prefix("relative-data-").tempdir_in(".").expect("tempdir");
    let relative = std::path::PathBuf::from(data.path().file_name().expect("name"));
    assert!(relative.is_relative());
    let builder = Builder::new(hub.db.clone(), &relative, Duration::from_secs(60), crate::sandbox());
    let integration = hub.integration(&hub.repo_path()).await;
    let r = crate::build(&hub.db, &builder, integration, None).await;
    let id = r.id;
    assert_eq!(r.status, ReleaseStatus::Succeeded, "{:?}", r.error);
    assert!(data.path().join("releases").join(id.to_string()).join("built.txt").exists());
}

#[tokio::test]
async fn a_build_is_stamped_with_the_builder_clock() {
    let hub = hub(Duration::from_secs(60)).await;
    commit(hub.repo.path(), GOOD);
    let integration = hub.integration(&hub.repo_path()).await;
    let t = Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).single().expect("time");
    let builder = hub.builder.clone().with_clock(Clock::from_fn(move || t));
    let r = crate::build(&hub.db, &builder, integration, None).await;
    assert_eq!((r.status, r.finished_at), (ReleaseStatus::Succeeded, Some(t)), "{:?}", r.error);
}
