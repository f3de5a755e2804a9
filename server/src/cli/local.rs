//! `run-local`: an integration's folder run as the hub runs a tenant of it
//! (`hub_core::engine::local`), with the configuration read against the manifest's
//! form as the console reads it, and what a hub would keep printed at the end.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use hub_core::domain::form::{Audience, Form, Raw};
use hub_core::domain::manifest::Manifest;
use hub_core::domain::run::Mode;
use hub_core::engine::local::{run_local, LocalRun};
use hub_core::engine::sandbox::Sandbox;
use serde_json::{Map, Value};

#[derive(Debug, clap::Args)]
pub struct RunLocal {
    /// The integration's folder, with its PANDIUM.yaml (build it first, if its manifest
    /// has a `build` command).
    dir: PathBuf,
    /// A configuration value, as typed in the console's form (repeat a name for each
    /// value of a multi-select). The manifest's defaults fill the rest.
    #[arg(long = "config", value_name = "NAME=VALUE")]
    configs: Vec<String>,
    /// A credential: `connector.field=value` (for an OAuth2 connector,
    /// `connector.access_token=…`). Masked in the log as the hub masks it.
    #[arg(long = "secret", value_name = "CONNECTOR.FIELD=VALUE")]
    secrets: Vec<String>,
    /// `normal` or `init`.
    #[arg(long, default_value = "normal", value_parser = ["normal", "init"])]
    mode: String,
    /// A file holding the last successful run's output (PAN_CTX_LAST_SUCCESSFUL_RUN_STD_OUT).
    #[arg(long)]
    context: Option<PathBuf>,
    /// A file holding the dynamic options an init run printed (`run-local --mode init
    /// --json` shows them), for a form whose selects take their options from it.
    #[arg(long)]
    options: Option<PathBuf>,
    /// A file holding the tenant metadata to start with (a JSON object; `{}` when left out).
    #[arg(long)]
    metadata: Option<PathBuf>,
    /// The tenant's name, as the run sees it (PAN_CTX_TENANT_NAME).
    #[arg(long, default_value = "local")]
    tenant: String,
    /// The run's time limit in seconds.
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,
    /// Prints what a hub would keep as JSON (the log still goes to stderr).
    #[arg(long)]
    json: bool,
}

pub async fn run(args: &RunLocal) -> Result<ExitCode, String> {
    let file = args.dir.join("PANDIUM.yaml");
    let text = std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let manifest =
        Manifest::parse(&text).map_err(|e| hub_core::engine::builder::describe_manifest_error("PANDIUM.yaml", &e))?;
    let read = |p: &Option<PathBuf>| {
        p.as_ref()
            .map(|p| std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display())))
            .transpose()
    };
    let dynamic = match read(&args.options)? {
        None => Map::new(),
        Some(text) => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(options)) => options,
            _ => return Err("--options must hold a JSON object, as an init run prints it".to_owned()),
        },
    };
    let configs = read_configs(&manifest, &args.configs, &dynamic)?;
    let credentials = credentials(&args.secrets)?;
    let context = read(&args.context)?.map(|c| c.trim().to_owned());
    let metadata = read(&args.metadata)?.unwrap_or_else(|| "{}".to_owned());
    if !serde_json::from_str::<Value>(&metadata).is_ok_and(|v| v.is_object()) {
        return Err("--metadata must hold a JSON object".to_owned());
    }
    let config = server_config()?;
    let work = tempfile::tempdir().map_err(|e| format!("cannot make a working folder: {e}"))?;
    let mut policy = config.sandbox.clone();
    policy.etc_copy = Some(work.path().join("etc"));
    let sandbox = Arc::new(Sandbox::probe(policy));
    eprintln!("{}", sandbox.summary());
    let dir = std::fs::canonicalize(&args.dir).map_err(|e| format!("cannot read {}: {e}", args.dir.display()))?;
    let integration_name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mode = if args.mode == "init" { Mode::Init } else { Mode::Normal };
    let run = LocalRun {
        dir: &dir,
        manifest: &manifest,
        configs,
        credentials,
        mode,
        tenant_name: &args.tenant,
        integration_name: &integration_name,
        env_name: &config.runs.env_name,
        context: context.as_deref().filter(|c| !c.is_empty()),
        metadata: &metadata,
        timeout: Duration::from_secs(args.timeout_secs),
        now: chrono::Utc::now(),
    };
    let outcome = run_local(&sandbox, work.path(), &run, config.runs.log_cap, |piece| eprint!("{piece}"))
        .await
        .map_err(|e| format!("the run could not start: {e}"))?;
    let ok = outcome.exit_code == Some(0) && !outcome.timed_out;
    let ended = if outcome.timed_out {
        format!("stopped after its time limit of {} s", args.timeout_secs)
    } else {
        match outcome.exit_code {
            Some(c) => format!("exited with code {c}"),
            None => "ended by a signal".to_owned(),
        }
    };
    let metadata = match &outcome.metadata {
        Ok(m) => m.as_deref().and_then(|m| serde_json::from_str::<Value>(m).ok()),
        Err(_) => None,
    };
    if args.json {
        let kept = serde_json::json!({
            "exit_code": outcome.exit_code,
            "timed_out": outcome.timed_out,
            "succeeded": ok,
            "context": outcome.context,
            "options": outcome.options,
            "metadata": metadata,
            "metadata_error": outcome.metadata.as_ref().err(),
        });
        println!("{}", serde_json::to_string_pretty(&kept).unwrap_or_default());
    } else {
        println!("The program {ended}.");
        match (&outcome.context, ok) {
            (Some(c), _) => println!("Context kept for the next run: {c}"),
            (None, true) => println!("No context kept (the last line of stdout was not JSON)."),
            (None, false) => {}
        }
        if let Some(o) = &outcome.options {
            println!("Dynamic options kept: {o}");
        }
        match &outcome.metadata {
            Ok(Some(m)) => println!("Tenant metadata kept: {m}"),
            Ok(None) => {}
            Err(e) => println!("{e}"),
        }
        if outcome.log_dropped > 0 {
            println!("The log was cut: {} bytes past the cap were left out.", outcome.log_dropped);
        }
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// The hub's own settings (sandbox, `HUB_ENV`), read as the server reads them.
fn server_config() -> Result<crate::config::Config, String> {
    crate::config::Config::from_env().map_err(|e| e.to_string())
}

/// The configuration as the console's form reads it: the manifest's defaults, then
/// each `NAME=VALUE`; every broken rule is listed.
fn read_configs(manifest: &Manifest, given: &[String], dynamic: &Map<String, Value>) -> Result<Value, String> {
    let form = Form::build(&manifest.configs, Audience::Hub);
    let mut raw: Raw = form.to_raw(&form.defaults());
    let mut set: Vec<String> = Vec::new();
    for pair in given {
        let (name, value) = pair.split_once('=').ok_or_else(|| format!("--config {pair}: write it as NAME=VALUE"))?;
        if form.field(name).is_none() {
            let known: Vec<&str> = form.fields().iter().map(|f| f.name.as_str()).collect();
            return Err(format!("--config {name}: the manifest has no such field (it has: {})", known.join(", ")));
        }
        // A name given replaces its default; given again, it adds a value.
        if !set.iter().any(|s| s == name) {
            raw.insert(name.to_owned(), Vec::new());
            set.push(name.to_owned());
        }
        raw.entry(name.to_owned()).or_default().push(value.to_owned());
    }
    match form.read(&raw, dynamic) {
        Ok(values) => Ok(Value::Object(values)),
        Err(errors) => {
            let lines: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
            Err(format!("the configuration does not fit the manifest's form: {}", lines.join("; ")))
        }
    }
}

/// `connector.field=value` pairs as each connector's credentials; a connector whose
/// definition (HUB_CONNECTORS_DIR) says OAuth2 gets its access token as the hub gives it.
fn credentials(given: &[String]) -> Result<Vec<(String, bool, Value)>, String> {
    let dir = PathBuf::from(std::env::var("HUB_CONNECTORS_DIR").unwrap_or_else(|_| "./connectors".to_owned()));
    let registry = hub_core::connectors::load_dir(&dir, |k| std::env::var(k).ok()).ok();
    let mut out: Vec<(String, bool, Value)> = Vec::new();
    for pair in given {
        let (key, value) =
            pair.split_once('=').ok_or_else(|| format!("--secret {pair}: write it as CONNECTOR.FIELD=VALUE"))?;
        let (connector, field) =
            key.split_once('.').ok_or_else(|| format!("--secret {key}: write it as CONNECTOR.FIELD=VALUE"))?;
        let oauth2 = registry
            .as_ref()
            .and_then(|r| r.connectors.get(connector))
            .is_some_and(|c| c.connector.auth == hub_core::domain::connector::AuthKind::Oauth2);
        match out.iter_mut().find(|(c, _, _)| c == connector) {
            Some((_, _, fields)) => fields[field] = Value::String(value.to_owned()),
            None => out.push((connector.to_owned(), oauth2, serde_json::json!({ field: value }))),
        }
    }
    Ok(out)
}
