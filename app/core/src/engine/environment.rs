//! A run's environment: `PAN_CFG_*`, `PAN_SEC_*` and `PAN_CTX_*`, and the run's own
//! files (the metadata file, large values, webhook bodies).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::runs::{Engine, INLINE_MAX};
use crate::db::{connections, run_triggers, runs, DbError};
use crate::domain::connector::{connection_values, AuthKind, ConnectionStatus};
use crate::domain::run::{self, Mode, TriggerKind};
use crate::oauth::ready_credentials;

/// A run's process environment: names and values, and the secret values among them.
pub(super) struct Environment {
    pub vars: Vec<(String, String)>,
    pub secrets: Vec<String>,
    /// The kept webhook bodies the run's triggers name, to remove once it is over.
    pub bodies: Vec<PathBuf>,
}

impl Engine {
    /// `PAN_CFG_*`, `PAN_SEC_*` (credentials made ready first) and `PAN_CTX_*`, with
    /// the secret values to mask. The inner error is why credentials are not ready.
    ///
    /// Webhook bodies are linked into the run's files (`run_dir`, seen by the program
    /// at `inside`), and `payload_file` names them there. `PAN_CTX_RUN_TRIGGERS` and
    /// `PAN_CTX_LAST_SUCCESSFUL_RUN_STD_OUT` are also files (`…_FILE`), and any
    /// context or configuration value over [`INLINE_MAX`] is only a file.
    pub(super) async fn environment(
        &self,
        launch: &runs::LaunchRow,
        run_dir: &Path,
        inside: &Path,
    ) -> Result<Result<Environment, String>, DbError> {
        let configs: Value = serde_json::from_str(&launch.configs).unwrap_or(Value::Null);
        let mut vars = run::config_env(&configs);
        let mut secrets = Vec::new();
        let connections = if launch.connected > 0 {
            connections::connections(&mut *self.reader().await?, launch.tenant_id).await?
        } else {
            Vec::new()
        };
        let registry = self.inner.registry.current();
        for c in connections {
            if c.status != ConnectionStatus::Connected || c.auth == AuthKind::None {
                continue;
            }
            let i = &self.inner;
            let creds = match ready_credentials(
                &i.db,
                &i.key,
                &registry,
                &i.settings.egress,
                &i.public_url,
                launch.tenant_id,
                &c.connector_name,
                self.now(),
            )
            .await
            {
                Ok(v) => v,
                Err(e) => return Ok(Err(format!("{}: {e}", c.display_name))),
            };
            let oauth2 = c.auth == AuthKind::Oauth2;
            // A connection's parameters (a shop's name) are not secret, and masking
            // them would hide every mention of a short word in the log.
            let mut masked = creds.clone();
            if let Some(o) = masked.as_object_mut().filter(|_| oauth2) {
                o.remove("parameters");
            }
            collect_strings(&masked, &mut secrets);
            vars.extend(run::secret_env(&c.connector_name, oauth2, &creds));
            let base = registry.connectors.get(&c.connector_name).map(|l| &l.connector);
            if let Some(url) = base.and_then(|k| k.api_base_url_for(&connection_values(&creds))) {
                vars.push((run::env_name("PAN_SEC", &[&c.connector_name, "api_base_url"]), url));
            }
        }
        let webhooks = self.webhooks_dir();
        let mut bodies = Vec::new();
        let triggers: Vec<Value> = run_triggers::triggers_of(&mut *self.reader().await?, launch.id)
            .await?
            .into_iter()
            .enumerate()
            .map(|(n, t)| {
                let mut payload = t.payload.as_deref().and_then(|p| serde_json::from_str::<Value>(p).ok());
                // Only the hub's own webhook triggers name a body to link, and only a
                // file in its webhooks folder: a payload sent through the API is the
                // caller's text, never a path the hub follows.
                if t.kind == TriggerKind::Webhook {
                    if let Some(file) = payload.as_mut().and_then(|p| p.get_mut("payload_file")) {
                        let kept = file.as_str().map(Path::new).filter(|f| f.parent() == Some(&webhooks));
                        bodies.extend(kept.map(Path::to_path_buf));
                        *file = link_payload(file.as_str(), &webhooks, run_dir, n).map_or(Value::Null, |name| {
                            Value::String(inside.join(name).to_string_lossy().into_owned())
                        });
                    }
                }
                json!({ "type": t.kind, "mode": t.mode, "payload": payload, "created_at": t.created_at, "created_by": t.created_by })
            })
            .collect();
        let facts = RunFacts {
            integration_id: launch.integration_id,
            integration_name: &launch.integration_name,
            tenant_id: launch.tenant_id,
            tenant_name: &launch.tenant_name,
            mode: launch.mode,
            triggers: Value::Array(triggers),
            env_name: &self.inner.settings.env_name,
            last: launch.last_phase.map(|p| (p.label(), (launch.last_started_at, launch.last_finished_at))),
            success: launch
                .had_success
                .then_some(((launch.ok_started_at, launch.ok_finished_at), launch.context.as_deref())),
        };
        vars.extend(context_vars(&facts));
        let (dir, inside) = (run_dir.to_path_buf(), inside.to_path_buf());
        let vars = super::executor::blocking(move || as_files(vars, &dir, &inside)).await?;
        Ok(Ok(Environment { vars, secrets, bodies }))
    }
}

/// What a run's `PAN_CTX_*` variables say: who it runs for, why, and how the
/// tenant's earlier runs went.
pub(super) struct RunFacts<'a> {
    pub integration_id: i64,
    pub integration_name: &'a str,
    pub tenant_id: i64,
    pub tenant_name: &'a str,
    pub mode: Mode,
    /// `PAN_CTX_RUN_TRIGGERS`: the triggers the run takes, as JSON.
    pub triggers: Value,
    pub env_name: &'a str,
    /// The last run's phase label, start and end.
    pub last: Option<(&'a str, Span)>,
    /// The last successful run's start and end, and the context it left (as printed).
    pub success: Option<(Span, Option<&'a str>)>,
}

/// When a run started and ended.
pub(super) type Span = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// The `PAN_CTX_*` variables of a run.
pub(super) fn context_vars(f: &RunFacts<'_>) -> Vec<(String, String)> {
    let time = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    let mut ctx: Vec<(&str, String)> = vec![
        ("INTEGRATION_ID", f.integration_id.to_string()),
        ("INTEGRATION_NAME", f.integration_name.to_owned()),
        ("TENANT_ID", f.tenant_id.to_string()),
        ("TENANT_NAME", f.tenant_name.to_owned()),
        ("RUN_MODE", f.mode.as_str().to_owned()),
        ("RUN_TRIGGERS", f.triggers.to_string()),
        ("ENV", f.env_name.to_owned()),
    ];
    if let Some((phase, (started, finished))) = f.last {
        ctx.push(("LAST_RUN_START_TIME", time(started)));
        ctx.push(("LAST_RUN_COMPLETION_TIME", time(finished)));
        ctx.push(("LAST_RUN_PHASE", phase.to_owned()));
    }
    if let Some(((started, finished), context)) = f.success {
        ctx.push(("LAST_SUCCESSFUL_RUN_START_TIME", time(started)));
        ctx.push(("LAST_SUCCESSFUL_RUN_COMPLETION_TIME", time(finished)));
        // The tenant keeps the context as printed; the run's record shows it masked.
        if let Some(out) = context {
            ctx.push(("LAST_SUCCESSFUL_RUN_STD_OUT", out.to_owned()));
        }
    }
    ctx.into_iter().map(|(k, v)| (format!("PAN_CTX_{k}"), v)).collect()
}

/// Variables always passed as files too: they grow with the tenant's data.
const ALSO_FILES: &[&str] = &["PAN_CTX_RUN_TRIGGERS", "PAN_CTX_LAST_SUCCESSFUL_RUN_STD_OUT"];

/// Writes large values (and those of [`ALSO_FILES`]) into the run's files and names
/// them in `<NAME>_FILE`; a value over [`INLINE_MAX`] is left out of the environment.
/// Credentials (`PAN_SEC_*`) never go to disk.
pub(super) fn as_files(
    vars: Vec<(String, String)>,
    run_dir: &Path,
    inside: &Path,
) -> std::io::Result<Vec<(String, String)>> {
    let mut out = Vec::with_capacity(vars.len() + ALSO_FILES.len());
    for (name, value) in vars {
        let fileable = name.starts_with("PAN_CTX_") || name.starts_with("PAN_CFG_");
        if !fileable || (value.len() <= INLINE_MAX && !ALSO_FILES.contains(&name.as_str())) {
            out.push((name, value));
            continue;
        }
        let file = format!("{}.txt", name.to_ascii_lowercase());
        write_readable(&run_dir.join(&file), value.as_bytes())?;
        out.push((format!("{name}_FILE"), inside.join(&file).to_string_lossy().into_owned()));
        if value.len() <= INLINE_MAX {
            out.push((name, value));
        }
    }
    Ok(out)
}

/// Links a webhook body (a regular file directly in `webhooks`, not a link) into the
/// run's files as `payload-<n>.body`; `None` when it is gone or is anything else.
fn link_payload(file: Option<&str>, webhooks: &Path, run_dir: &Path, n: usize) -> Option<String> {
    let source = Path::new(file?);
    let name = source.file_name()?;
    if source.parent() != Some(webhooks) || !std::fs::symlink_metadata(source).ok()?.file_type().is_file() {
        return None;
    }
    let linked = format!("payload-{n}.body");
    std::fs::hard_link(webhooks.join(name), run_dir.join(&linked)).ok()?;
    std::fs::set_permissions(run_dir.join(&linked), std::fs::Permissions::from_mode(0o644)).ok()?;
    Some(linked)
}

/// A fresh directory of the run's own files, with the metadata file the program may
/// rewrite (owned by the run's uid).
pub(super) fn prepare_run_dir(dir: &Path, metadata: &str, uid: Option<u32>) -> std::io::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))?;
    let file = dir.join("metadata.json");
    write_readable(&file, metadata.as_bytes())?;
    let mark = dir.join(super::executor::EXIT_MARK);
    write_readable(&mark, b"")?;
    if let Some(uid) = uid {
        let (u, g) = (Some(nix::unistd::Uid::from_raw(uid)), Some(nix::unistd::Gid::from_raw(uid)));
        nix::unistd::chown(&file, u, g).map_err(std::io::Error::from)?;
        nix::unistd::chown(&mark, u, g).map_err(std::io::Error::from)?;
    }
    Ok(())
}

/// Writes a file the run's uid may read, whatever the hub's umask.
fn write_readable(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))
}

pub(super) fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}
