//! The release builder: fetch the repository, check out the ref, read PANDIUM.yaml, run
//! the build command, and record the release exactly once as succeeded or failed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::files::{self, ReadError};
use super::git::{self, Access, Git};
use super::process::{run_lines, Exit, SHELL};
use super::sandbox::{Job, Mount, Sandbox};
use crate::db::{connectors, integrations, releases, Db, DbError};
use crate::domain::integration::{repository_host, RepoAccess};
use crate::domain::manifest::{Manifest, ManifestError};
use crate::egress::Egress;
use crate::secrets::SecretKey;
use crate::worker::{Clock, Signal, Step, Worker};

/// Builds queued releases, up to a number at a time, fairly between organizations.
#[derive(Clone, Debug)]
pub struct Builder {
    db: Db,
    releases_dir: PathBuf,
    build_limit: Duration,
    signal: Signal,
    clock: Clock,
    sandbox: Arc<Sandbox>,
    egress: Egress,
    /// Unseals repository credentials; without it, a build that needs some fails.
    key: Option<Arc<SecretKey>>,
    /// How many builds may run at once (`HUB_MAX_BUILDS`).
    slots: Arc<tokio::sync::Semaphore>,
    /// The builds steps started, for `settle`.
    running: Arc<tokio::sync::Mutex<tokio::task::JoinSet<()>>>,
}

/// How many builds run at once unless the operator says otherwise.
pub const DEFAULT_MAX_BUILDS: usize = 2;

/// Where a build sees its checkout.
pub const CHECKOUT: &str = "/app";

/// Where a sandboxed build sees the checkout it copies from and back to.
const BUILD_OUTPUT: &str = "/out";

/// Copies the checkout into the build's tmpfs, runs the build (`"$@"`, confined away
/// from the checkout), stops whatever it left running, and copies the result back.
const BUILD_IN_TMPFS: &str = r#"cp -a /out/. /app/ || exit 125
"$@"
status=$?
kill -9 -1 2>/dev/null
[ "$status" -eq 0 ] || exit "$status"
chmod -R a+rX /app
find /out -mindepth 1 -delete && cp -a /app/. /out/ || { echo "The build's output could not be kept (see above)." >&2; exit 125; }
"#;

/// The largest PANDIUM.yaml the hub reads.
pub const MANIFEST_MAX: u64 = 256 * 1024;

/// Why a build failed, in words a developer can act on.
struct Failure {
    commit: Option<String>,
    message: String,
}

fn failure(commit: Option<&str>, message: impl Into<String>) -> Failure {
    Failure { commit: commit.map(str::to_owned), message: message.into() }
}

impl Builder {
    pub fn new(db: Db, data_dir: &Path, build_limit: Duration, sandbox: Arc<Sandbox>) -> Self {
        // Absolute, because git and the build command run in other directories: a
        // relative data directory would point somewhere else for them.
        let data_dir = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
        let releases_dir = data_dir.join("releases");
        Self {
            db,
            releases_dir,
            build_limit,
            signal: Signal::default(),
            clock: Clock::system(),
            sandbox,
            egress: Egress::strict(),
            key: None,
            slots: Arc::new(tokio::sync::Semaphore::new(DEFAULT_MAX_BUILDS)),
            running: Arc::default(),
        }
    }

    /// The same builder unsealing repository credentials with `key`.
    pub fn with_key(self, key: Arc<SecretKey>) -> Self {
        Self { key: Some(key), ..self }
    }

    /// The same builder running up to `max` builds at once (at least one).
    pub fn with_max_builds(self, max: usize) -> Self {
        Self { slots: Arc::new(tokio::sync::Semaphore::new(max.max(1))), ..self }
    }

    /// The same builder fetching repositories only from hosts `egress` allows (the
    /// default refuses every internal address).
    pub fn with_egress(self, egress: Egress) -> Self {
        Self { egress, ..self }
    }

    /// The same builder reading the time from `clock` (the hub's is the system clock).
    pub fn with_clock(self, clock: Clock) -> Self {
        Self { clock, ..self }
    }

    /// The sandbox builds and runs go through.
    pub fn sandbox(&self) -> &Arc<Sandbox> {
        &self.sandbox
    }

    /// The directory every release's checkout is in.
    pub fn releases_dir(&self) -> &Path {
        &self.releases_dir
    }

    /// The directory a release is checked out into.
    pub fn release_dir(&self, release_id: i64) -> PathBuf {
        self.releases_dir.join(release_id.to_string())
    }

    /// Tells the background loop that a release was queued.
    pub fn wake(&self) {
        self.signal.raise();
    }

    /// Builds the oldest queued release, if any, claimed at `now`; returns its id. The
    /// build's end is stamped with the builder's clock.
    pub async fn build_next(&self, now: DateTime<Utc>) -> Result<Option<i64>, DbError> {
        let Some(id) = releases::next_queued(self.db.pool()).await? else {
            return Ok(None);
        };
        if !releases::claim(self.db.pool(), id, now).await? {
            return Ok(Some(id));
        }
        self.finish(id).await?;
        Ok(Some(id))
    }

    /// Claims the next queued release (fairly between organizations) if a build slot
    /// is free, and builds it in a task of its own; returns its id. `None` when no
    /// slot is free or nothing waits. A finished build frees its slot and raises the
    /// signal.
    pub async fn start_next(&self, now: DateTime<Utc>) -> Result<Option<i64>, DbError> {
        let Ok(slot) = self.slots.clone().try_acquire_owned() else {
            return Ok(None);
        };
        let Some(id) = releases::next_queued(self.db.pool()).await? else {
            return Ok(None);
        };
        if !releases::claim(self.db.pool(), id, now).await? {
            return Ok(Some(id));
        }
        let this = self.clone();
        self.running.lock().await.spawn(async move {
            if let Err(e) = this.finish(id).await {
                tracing::error!("release {id}: {e}");
            }
            drop(slot);
            this.signal.raise();
        });
        Ok(Some(id))
    }

    /// Builds claimed release `id` and records how it ended.
    async fn finish(&self, id: i64) -> Result<(), DbError> {
        match self.build(id).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(f)) => {
                self.log(id, &format!("\nBuild failed: {}\n", f.message)).await;
                releases::fail(self.db.pool(), id, f.commit.as_deref(), &f.message, self.clock.now()).await?;
                Ok(())
            }
            Err(e) => {
                releases::fail(self.db.pool(), id, None, "The hub could not record this build.", self.clock.now())
                    .await?;
                Err(e)
            }
        }
    }

    async fn log(&self, id: i64, text: &str) {
        if let Err(e) = releases::append_log(self.db.pool(), id, text).await {
            tracing::error!("release {id}: cannot write the build log: {e}");
        }
    }

    async fn build(&self, id: i64) -> Result<Result<(), Failure>, DbError> {
        let pool = self.db.pool();
        let Some(release) = releases::get(pool, id).await? else {
            return Ok(Ok(()));
        };
        let Some(integration) = integrations::get(pool, release.integration_id).await? else {
            return Ok(Err(failure(None, "The integration no longer exists.")));
        };
        let lease = self.sandbox.lease();
        releases::set_sandbox(pool, id, &self.sandbox.attestation(lease.uid())).await?;
        if let Some(why) = self.sandbox.unavailable() {
            return Ok(Err(failure(None, format!("sandbox unavailable: {why}"))));
        }
        let dir = self.release_dir(id);
        if let Err(e) = prepare_dir(&dir, lease.uid()) {
            return Ok(Err(failure(None, format!("Cannot prepare {}: {e}", dir.display()))));
        }
        let source = git::local_source(&integration.repository);
        // A local repository is cloned from the path it resolved to, where it is shown.
        let clone_from = match &source {
            Some((host, _)) if host.ends_with(".git") => host.parent().unwrap_or(host).to_string_lossy().into_owned(),
            Some((host, _)) => host.to_string_lossy().into_owned(),
            None => integration.repository.clone(),
        };
        if let Some((host, _)) = &source {
            if self.holds(host) {
                return Ok(Err(failure(None, "The repository may not be inside the hub's data directory.")));
            }
        }
        let git = Git {
            sandbox: &self.sandbox,
            checkout: Mount::writable(&dir, CHECKOUT),
            // A sample the hub seeded itself is reached with its rights; any other
            // local repository only if the sandbox's uid may read it.
            source: source.map(|(host, inside)| {
                if self.seeded(&host) {
                    Mount::read_only(host, inside)
                } else {
                    Mount::foreign(host, inside)
                }
            }),
            uid: lease.uid(),
        };

        if let Some((host, port)) = repository_host(&integration.repository) {
            if let Err(e) = self.egress.check_host(&host, port).await {
                return Ok(Err(failure(None, format!("Cannot fetch the repository: {e}"))));
            }
        }
        let (access, pinned) = match self.access(release.integration_id).await? {
            Ok(a) => a,
            Err(message) => return Ok(Err(failure(None, message))),
        };
        let with = match &access {
            Access::None => "",
            Access::DeployKey { .. } => " (with the integration's deploy key)",
            Access::Token { .. } => " (with the integration's access token)",
        };
        self.log(id, &format!("$ git clone {}{with}\n", integration.repository)).await;
        match git.clone(&clone_from, &access).await {
            Ok(fetched) => {
                if let (Some(keys), None) = (fetched.host_keys, &pinned) {
                    if integrations::pin_known_hosts(pool, release.integration_id, &keys).await? {
                        let shown = git::fingerprints(&keys).join(", ");
                        self.log(id, &format!("Pinned the SSH host key of the repository's host: {shown}\n")).await;
                    }
                }
            }
            Err(e) => {
                let message = git::explain_fetch(&e, &integration.repository, &access, pinned.as_deref());
                return Ok(Err(failure(None, message)));
            }
        }
        let Some(commit) = git.resolve(&release.git_ref).await else {
            return Ok(Err(failure(
                None,
                format!("There is no branch, tag or commit named {:?} in {}.", release.git_ref, integration.repository),
            )));
        };
        let short: String = commit.chars().take(12).collect();
        self.log(id, &format!("$ git checkout {} ({short})\n", release.git_ref)).await;
        if let Err(e) = git.checkout(&commit).await {
            return Ok(Err(failure(Some(&commit), format!("Cannot check out {}: {e}", release.git_ref))));
        }
        let at = Some(commit.as_str());

        let path = &integration.manifest_path;
        let text = match files::read_beneath(&dir, path, MANIFEST_MAX) {
            Ok(t) => t,
            Err(ReadError::Missing) => {
                return Ok(Err(failure(at, format!("{path} was not found in the repository at {}.", release.git_ref))))
            }
            Err(e) => return Ok(Err(failure(at, format!("{path} {e}")))),
        };
        let manifest = match Manifest::parse(&text) {
            Ok(m) => m,
            Err(e) => return Ok(Err(failure(at, describe_manifest_error(&integration.manifest_path, &e)))),
        };
        let known = connectors::names(pool).await?;
        let unknown = manifest.unknown_connectors(&known);
        if !unknown.is_empty() {
            return Ok(Err(failure(
                at,
                format!(
                    "{}: connectors: the hub has no connector named {} (it has: {}).",
                    integration.manifest_path,
                    unknown.join(", "),
                    known.join(", ")
                ),
            )));
        }
        self.log(id, &format!("Read {} (version {}).\n", integration.manifest_path, manifest.version)).await;

        if let Some(build) = &manifest.build {
            self.log(id, &format!("$ {build}\n")).await;
            let env = [("PAN_CTX_RELEASE_ID".to_owned(), id.to_string())];
            // In the sandbox the build works on a copy in a size-capped tmpfs, confined
            // once more so that it cannot write the checkout itself; what it leaves is
            // copied back when it succeeds. So a build can write no more than the
            // tmpfs holds.
            let nested;
            let (argv, mounts, tmpfs) = if self.sandbox.is_off() {
                (vec![SHELL, "-c", build.as_str()], [Mount::writable(&dir, CHECKOUT)], None)
            } else {
                nested = self.sandbox.nested(&[CHECKOUT], &[SHELL, "-c", build]);
                let mut argv = vec![SHELL, "-c", BUILD_IN_TMPFS, "build"];
                argv.extend(nested.iter().map(String::as_str));
                (argv, [Mount::writable(&dir, BUILD_OUTPUT)], Some((CHECKOUT, self.sandbox.build_mb())))
            };
            let job = Job { argv: &argv, mounts: &mounts, env: &env, uid: lease.uid(), tmpfs };
            let cmd = match self.sandbox.command(&job) {
                Ok(cmd) => cmd,
                Err(e) => return Ok(Err(failure(at, e))),
            };
            let exit = run_lines(cmd, self.build_limit, |line| {
                let this = self.clone();
                async move { this.log(id, &format!("{line}\n")).await }
            })
            .await;
            match exit {
                Exit::Finished(Some(0)) => {}
                Exit::Finished(Some(code)) => {
                    return Ok(Err(failure(
                        at,
                        format!("The build command failed with exit code {code}; see the log."),
                    )))
                }
                Exit::Finished(None) => {
                    return Ok(Err(failure(at, "The build command was killed by a signal; see the log.")))
                }
                Exit::TimedOut => {
                    return Ok(Err(failure(
                        at,
                        format!("The build command ran longer than {} s and was stopped.", self.build_limit.as_secs()),
                    )))
                }
                Exit::NotStarted(e) => return Ok(Err(failure(at, format!("The build command could not start: {e}")))),
            }
        }

        let manifest_json = serde_json::to_string(&manifest).unwrap_or_default();
        self.log(id, "Build succeeded.\n").await;
        let success =
            releases::Success { commit_sha: &commit, run_command: &manifest.run, manifest_json: &manifest_json };
        releases::succeed(pool, id, &success, self.clock.now()).await?;
        Ok(Ok(()))
    }
}

impl Builder {
    /// How git reaches `integration_id`'s repository, with the host keys pinned for
    /// it; the error is the build's failure.
    async fn access(&self, integration_id: i64) -> Result<Result<(Access, Option<String>), String>, DbError> {
        let Some(row) = integrations::access(self.db.pool(), integration_id).await? else {
            return Ok(Ok((Access::None, None)));
        };
        let kind = RepoAccess::parse(&row.repo_access).unwrap_or_default();
        if kind == RepoAccess::None {
            return Ok(Ok((Access::None, None)));
        }
        let unsealed = match (&self.key, &row.repo_secret) {
            (Some(key), Some(sealed)) => key.decrypt(sealed).ok().and_then(|b| String::from_utf8(b).ok()),
            _ => None,
        };
        let Some(secret) = unsealed else {
            return Ok(Err("The repository's credentials cannot be read with this hub's key: set them again under \
                           Repository access."
                .to_owned()));
        };
        let pinned = row.repo_known_hosts.clone();
        Ok(Ok(match kind {
            RepoAccess::Ssh => (Access::DeployKey { private_key: secret, known_hosts: pinned.clone() }, pinned),
            _ => (Access::Token { username: row.repo_username, token: secret }, None),
        }))
    }
}

impl Worker for Builder {
    const NAME: &'static str = "release builder";

    /// Builds a stop cut short are marked failed.
    async fn start(&self, now: DateTime<Utc>) -> Result<(), DbError> {
        let n = releases::fail_interrupted(self.db.pool(), now).await?;
        if n > 0 {
            tracing::warn!("{n} release build(s) were cut short by a stop and are marked failed");
        }
        Ok(())
    }

    /// Starts one queued build if a slot is free; a build that ends raises the
    /// signal, so the loop looks again.
    async fn step(&self, now: DateTime<Utc>) -> Result<Step, DbError> {
        let mut running = self.running.lock().await;
        // Builds that ended are reaped here, so the set holds only those still going.
        while running.try_join_next().is_some() {}
        drop(running);
        Ok(if self.start_next(now).await?.is_some() { Step::more() } else { Step::idle(None) })
    }

    fn signal(&self) -> &Signal {
        &self.signal
    }

    /// Waits for the builds steps started; false when none was going.
    async fn settle(&self) -> bool {
        let mut running = std::mem::take(&mut *self.running.lock().await);
        let any = !running.is_empty();
        while running.join_next().await.is_some() {}
        any
    }
}

impl Builder {
    /// Whether `path` (canonical) is the hub's data directory or inside it, but for
    /// the sample repositories the hub seeds there itself.
    fn holds(&self, path: &Path) -> bool {
        let data = self.releases_dir.parent().unwrap_or(&self.releases_dir);
        // A data directory that cannot be resolved holds everything: refuse.
        std::fs::canonicalize(data).map_or(true, |d| path.starts_with(&d) && !self.seeded(path))
    }

    /// Whether `path` (canonical) is one of the sample repositories the hub seeded.
    fn seeded(&self, path: &Path) -> bool {
        let data = self.releases_dir.parent().unwrap_or(&self.releases_dir);
        std::fs::canonicalize(data.join("samples")).is_ok_and(|s| path.starts_with(s))
    }
}

/// "PANDIUM.yaml line 4, column 3: …" or "PANDIUM.yaml: configs.uischema…: …". A
/// value quoted from the file is left out: the file may be anything.
pub fn describe_manifest_error(path: &str, e: &ManifestError) -> String {
    let text = match e {
        ManifestError::Syntax(y) => format!("{path} {y}"),
        ManifestError::Invalid { .. } => format!("{path}: {e}"),
    };
    files::without_quoted_values(&text)
}

/// A fresh, empty checkout directory, owned by the build's uid.
fn prepare_dir(dir: &Path, uid: Option<u32>) -> std::io::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    if let Some(uid) = uid {
        let id = Some(nix::unistd::Uid::from_raw(uid));
        nix::unistd::chown(dir, id, Some(nix::unistd::Gid::from_raw(uid))).map_err(std::io::Error::from)?;
    }
    Ok(())
}
