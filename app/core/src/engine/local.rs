//! One run of an integration's folder outside any hub, for its developer (`server
//! run-local`): the same variables, run directory, sandbox, log masking and reading
//! of the output as a tenant's run, with the values given on the command line in
//! place of a tenant's stored ones. Nothing is written to a database.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::builder::CHECKOUT;
use super::environment::{as_files, collect_strings, context_vars, prepare_run_dir, RunFacts};
use super::executor::{check_metadata, marked_argv, written_metadata, RunMounts};
use super::output::{Log, Tail};
use super::process::{self, GroupGuard, Stream};
use super::sandbox::{Job, Mount, Sandbox};
use crate::domain::manifest::Manifest;
use crate::domain::run::{self, Mode};

/// What a local run is given in place of a tenant.
pub struct LocalRun<'a> {
    /// The integration's folder: mounted read-only where a release's checkout is.
    pub dir: &'a Path,
    pub manifest: &'a Manifest,
    /// The configuration values, already read against the manifest's form.
    pub configs: Value,
    /// Each connector's credentials: its name, whether it is OAuth2, and the fields.
    pub credentials: Vec<(String, bool, Value)>,
    pub mode: Mode,
    pub tenant_name: &'a str,
    pub integration_name: &'a str,
    /// `PAN_CTX_ENV`.
    pub env_name: &'a str,
    /// The last successful run's output, as a tenant keeps it.
    pub context: Option<&'a str>,
    /// The tenant metadata the run starts with (a JSON object).
    pub metadata: &'a str,
    pub timeout: Duration,
    /// When the run is asked for (its trigger's time).
    pub now: DateTime<Utc>,
}

/// How a local run ended, and what a hub would have kept of it.
#[derive(Debug)]
pub struct LocalOutcome {
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    /// The context a success leaves for the next run (as printed).
    pub context: Option<String>,
    /// An init run's dynamic options.
    pub options: Option<Value>,
    /// The metadata the run left, checked: `Ok(None)` when unchanged.
    pub metadata: Result<Option<String>, String>,
    /// Bytes of log left out past the cap.
    pub log_dropped: u64,
}

/// Runs `run` in `sandbox`, with its run directory under `work`; each masked piece of
/// its log goes to `log` as it comes.
pub async fn run_local(
    sandbox: &Arc<Sandbox>,
    work: &Path,
    run: &LocalRun<'_>,
    log_cap: usize,
    mut log: impl FnMut(&str),
) -> std::io::Result<LocalOutcome> {
    if let Some(why) = sandbox.unavailable() {
        return Err(std::io::Error::other(format!("sandbox unavailable: {why}")));
    }
    let lease = sandbox.lease();
    let run_dir = work.join("run");
    prepare_run_dir(&run_dir, run.metadata, lease.uid())?;
    let RunMounts { files, metadata, exit_mark } = RunMounts::of(&run_dir);

    let mut vars = run::config_env(&run.configs);
    let mut secrets = Vec::new();
    for (connector, oauth2, credentials) in &run.credentials {
        collect_strings(credentials, &mut secrets);
        vars.extend(run::secret_env(connector, *oauth2, credentials));
    }
    let trigger = json!({ "type": "manual", "mode": run.mode, "payload": null, "created_at": run.now,
                          "created_by": "run-local" });
    let facts = RunFacts {
        integration_id: 0,
        integration_name: run.integration_name,
        tenant_id: 0,
        tenant_name: run.tenant_name,
        mode: run.mode,
        triggers: json!([trigger]),
        env_name: run.env_name,
        last: None,
        success: run.context.map(|c| ((None, None), Some(c))),
    };
    vars.extend(context_vars(&facts));
    let inside = sandbox.path(&files).to_path_buf();
    let mut vars = as_files(vars, &run_dir, &inside)?;
    vars.push(("PAN_CTX_TENANT_METADATA_FILE".to_owned(), sandbox.path(&metadata).to_string_lossy().into_owned()));
    vars.sort();

    let mark_inside = sandbox.path(&exit_mark).to_string_lossy().into_owned();
    let mounts = [Mount::read_only(run.dir, CHECKOUT), files, metadata, exit_mark];
    let argv = marked_argv(&run.manifest.run, &mark_inside);
    let job = Job { argv: &argv, mounts: &mounts, env: &vars, uid: lease.uid(), tmpfs: None };
    let cmd = sandbox.command(&job).map_err(std::io::Error::other)?;
    let mut started = process::spawn(cmd)?;
    let group = GroupGuard(started.pid);

    let mut masked = Log::new(secrets, log_cap);
    let mut tail = Tail::default();
    let deadline = tokio::time::sleep(run.timeout);
    tokio::pin!(deadline);
    let mut timed_out = false;
    while let Some(piece) = tokio::select! {
        piece = started.output.recv() => piece,
        () = &mut deadline => { timed_out = true; None }
    } {
        match piece {
            (Stream::Stdout, bytes) => tail.push(&bytes),
            (Stream::Stderr, bytes) => {
                masked.push(&bytes);
                if let Some(text) = masked.take() {
                    log(&text);
                }
            }
        }
    }
    drop(group);
    let status = tokio::time::timeout(Duration::from_secs(5), started.child.wait()).await.ok().and_then(Result::ok);
    if let Some(text) = masked.finish() {
        log(&text);
    }
    let exit_code = status.and_then(|s| s.code());
    let context = run::context_of(tail.finish().as_deref());
    let written = written_metadata(&run_dir);
    let manifest_json = serde_json::to_string(run.manifest).ok();
    let succeeded = !timed_out && exit_code == Some(0);
    // As in the hub: only a program that exited cleanly has its metadata checked.
    let metadata = if succeeded {
        written.and_then(|w| check_metadata(&manifest_json, w.as_deref(), run.metadata))
    } else {
        Ok(None)
    };
    let options = (succeeded && run.mode == Mode::Init).then(|| run::init_options(context.as_deref())).flatten();
    let _ = std::fs::remove_dir_all(&run_dir);
    drop(lease);
    Ok(LocalOutcome {
        exit_code,
        timed_out,
        context: context.filter(|_| succeeded),
        options,
        metadata,
        log_dropped: masked.dropped(),
    })
}
