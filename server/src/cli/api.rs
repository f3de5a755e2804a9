//! The REST API from a terminal: what `integrations`, `tenants`, `build`, `sync` and
//! `metadata` send, and how their answers are printed.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

/// Where the hub is and the key to use, shared by every API command.
#[derive(Debug, clap::Args)]
pub struct Remote {
    /// The hub's address.
    #[arg(long, env = "HUB_URL", default_value = "http://127.0.0.1:3000")]
    url: String,
    /// An API key (Settings → API Access, or `server api-key create`).
    #[arg(long, env = "HUB_API_KEY", hide_env_values = true)]
    key: String,
    /// Prints the API's JSON answers as they came, for scripts.
    #[arg(long)]
    json: bool,
}

/// How often `--wait` asks how a build or run is getting on.
const POLL: Duration = Duration::from_millis(500);

impl Remote {
    /// Sends one request; an error answer becomes its message, in one line.
    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let client = reqwest::Client::new();
        let url = format!("{}/api/v2{path}", self.url.trim_end_matches('/'));
        let mut req = client.request(method, &url).header("X-API-Key", &self.key);
        if let Some(b) = body {
            req = req.header(reqwest::header::CONTENT_TYPE, "application/json").body(b.to_string());
        }
        let answer = req.send().await.map_err(|e| format!("cannot reach the hub at {}: {e}", self.url))?;
        let status = answer.status();
        let text = answer.text().await.map_err(|e| format!("the hub's answer broke off: {e}"))?;
        let value: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .map_err(|_| format!("the hub answered {status} with something that is not JSON"))?
        };
        if status.is_success() {
            return Ok(value);
        }
        let message = value["message"].as_str().unwrap_or("no message");
        Err(match value["field"].as_str() {
            Some(field) => format!("{} ({field}): {message}", status.as_u16()),
            None => format!("{}: {message}", status.as_u16()),
        })
    }

    async fn get(&self, path: &str) -> Result<Value, String> {
        self.send(Method::GET, path, None).await
    }

    /// Prints an answer as JSON.
    fn print_json(&self, value: &Value) {
        println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
    }
}

/// Rows as aligned columns, the first row the heading.
fn table(rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..rows.first().map_or(0, Vec::len))
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", cells.join("  ").trim_end());
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub async fn integrations(remote: &Remote) -> Result<ExitCode, String> {
    let page = remote.get("/integrations?limit=500").await?;
    if remote.json {
        remote.print_json(&page);
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = vec![["ID", "NAME", "DEFAULT RELEASE", "CONNECTORS"].map(str::to_owned).to_vec()];
    for i in page["items"].as_array().into_iter().flatten() {
        let connectors: Vec<String> = i["connectors"].as_array().into_iter().flatten().map(text).collect();
        rows.push(vec![text(&i["id"]), text(&i["name"]), text(&i["default_release_id"]), connectors.join(", ")]);
    }
    table(&rows);
    Ok(ExitCode::SUCCESS)
}

pub async fn tenants(remote: &Remote, integration: Option<i64>) -> Result<ExitCode, String> {
    let filter = integration.map(|i| format!("&integration_id={i}")).unwrap_or_default();
    let page = remote.get(&format!("/tenants?limit=500{filter}")).await?;
    if remote.json {
        remote.print_json(&page);
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = vec![["ID", "NAME", "INTEGRATION", "STATE", "LAST RUN", "NEXT RUN"].map(str::to_owned).to_vec()];
    for t in page["items"].as_array().into_iter().flatten() {
        let state = if t["paused"] == true { "paused" } else { "active" };
        rows.push(vec![
            text(&t["id"]),
            text(&t["name"]),
            text(&t["integration_name"]),
            state.to_owned(),
            text(&t["last_run_phase"]),
            text(&t["next_run_at"]),
        ]);
    }
    table(&rows);
    Ok(ExitCode::SUCCESS)
}

pub async fn build(remote: &Remote, integration: i64, git_ref: Option<&str>, wait: bool) -> Result<ExitCode, String> {
    let body = json!({ "git_ref": git_ref });
    let queued = remote.send(Method::POST, &format!("/integrations/{integration}/releases"), Some(&body)).await?;
    let release = queued["release_id"].as_i64().ok_or("the hub did not say which release it queued")?;
    if !wait {
        if remote.json {
            remote.print_json(&queued);
        } else {
            println!("release {release} is queued to build");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let path = format!("/integrations/{integration}/releases/{release}/log");
    let mut shown = 0;
    loop {
        let log = remote.get(&path).await?;
        let text = log["log"].as_str().unwrap_or_default();
        // The log only grows while the build goes on.
        if let Some(new) = text.get(shown..) {
            progress(remote, new);
            shown = text.len();
        }
        if log["finished"] == true {
            let done = remote.get(&format!("/integrations/{integration}/releases/{release}")).await?;
            if remote.json {
                remote.print_json(&done);
            }
            return Ok(if log["status"] == "succeeded" {
                if !remote.json {
                    println!("release {release} ({}) succeeded", text_of(&done["name"]));
                }
                ExitCode::SUCCESS
            } else {
                eprintln!("error: release {release} failed: {}", text_of(&log["error"]));
                ExitCode::from(1)
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

fn text_of(v: &Value) -> String {
    v.as_str().map_or_else(|| text(v), str::to_owned)
}

/// A followed log: to stdout, or to stderr when stdout is for the JSON answer.
fn progress(remote: &Remote, new: &str) {
    if new.is_empty() {
        return;
    }
    if remote.json {
        eprint!("{new}");
    } else {
        print!("{new}");
        let _ = std::io::stdout().flush();
    }
}

pub async fn sync(
    remote: &Remote,
    tenant: i64,
    mode: &str,
    payload: Option<&str>,
    wait: bool,
) -> Result<ExitCode, String> {
    let payload = payload
        .map(|p| serde_json::from_str::<Value>(p).map_err(|e| format!("--payload is not JSON: {e}")))
        .transpose()?;
    let path = format!("/tenants/{tenant}/sync?mode={}", urlencoding(mode));
    let asked = remote.send(Method::POST, &path, payload.as_ref()).await?;
    let trigger = asked["trigger_id"].as_i64().ok_or("the hub did not say which trigger it made")?;
    if !wait {
        if remote.json {
            remote.print_json(&asked);
        } else {
            println!("sync asked for (trigger {trigger}); it starts as soon as the tenant is free");
        }
        return Ok(ExitCode::SUCCESS);
    }
    // The trigger waits until a run takes it.
    let run = loop {
        let status = remote.get(&format!("/runs/triggers/{trigger}/status")).await?;
        if let Some(run) = status["run_id"].as_i64() {
            break run;
        }
        tokio::time::sleep(POLL).await;
    };
    if !remote.json {
        println!("run {run} started");
    }
    let mut from = 0;
    loop {
        let log = remote.get(&format!("/runs/{run}/log?from={from}")).await?;
        progress(remote, log["log"].as_str().unwrap_or_default());
        if let Some(last) = log["last_piece"].as_i64() {
            from = last + 1;
        }
        if log["finished"] == true && log["later"] != true {
            break;
        }
        if log["later"] != true {
            tokio::time::sleep(POLL).await;
        }
    }
    let done = remote.get(&format!("/runs/{run}")).await?;
    if remote.json {
        remote.print_json(&done);
    }
    if done["phase"] == "succeeded" {
        if !remote.json {
            println!("run {run}: {}", text_of(&done["phase_label"]));
        }
        Ok(ExitCode::SUCCESS)
    } else {
        let why = done["error"].as_str().map(|e| format!(": {e}")).unwrap_or_default();
        eprintln!("error: run {run}: {}{why}", text_of(&done["phase_label"]));
        Ok(ExitCode::from(1))
    }
}

/// A query value with the characters a URL cannot carry escaped.
fn urlencoding(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

pub async fn metadata(remote: &Remote, tenant: i64, set: Option<&str>) -> Result<ExitCode, String> {
    let path = format!("/tenants/{tenant}/metadata");
    let answer = match set {
        None => remote.get(&path).await?,
        Some(text) => {
            let body: Value = serde_json::from_str(text).map_err(|e| format!("the metadata is not JSON: {e}"))?;
            remote.send(Method::PATCH, &path, Some(&body)).await?
        }
    };
    remote.print_json(&answer);
    Ok(ExitCode::SUCCESS)
}
