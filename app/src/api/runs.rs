//! Runs: asking for one now, one run in full (with its log), and the Activity page's
//! list of runs across tenants.

use hub_core::domain::run::{Mode, Phase, TriggerKind};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// One run in a list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunItem {
    pub id: i64,
    pub tenant_id: i64,
    pub tenant: String,
    pub integration: String,
    pub mode: Mode,
    /// "Schedule", "Manual, Api": what caused it.
    pub triggers: String,
    pub phase: String,
    /// The stored phase, for styling (`succeeded`, `failed_timeout`, …).
    pub phase_code: Phase,
    pub started: String,
    pub duration: Option<String>,
}

/// One run in full.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunView {
    pub item: RunItem,
    pub integration_id: i64,
    pub release: Option<String>,
    pub active: bool,
    /// (kind, when, by whom, payload) of each trigger.
    pub trigger_list: Vec<(TriggerKind, String, String, Option<String>)>,
    pub queued: String,
    pub finished: Option<String>,
    pub exit_code: Option<i32>,
    pub context: Option<String>,
    pub error: Option<String>,
    /// The names of the environment variables the program was given (never values).
    pub env_names: Vec<String>,
    /// What sandbox the run had (its layers), or that it ran unsandboxed.
    pub sandbox: Option<String>,
    /// A window of the log: its end unless the page asked for another place.
    pub log: String,
    /// Set when the log was deleted, or only a part of a long log is shown.
    pub log_note: Option<String>,
    /// The pieces before and after the window, as the page's query asks for them.
    pub log_earlier: Option<String>,
    pub log_later: Option<String>,
    pub log_truncated: bool,
}

/// A tenant whose last run failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailingTenant {
    pub id: i64,
    pub name: String,
    pub integration: String,
    pub phase: String,
    pub at: String,
}

/// The Activity page's filters, as URL parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunQuery {
    /// A stored phase, or `failed` for any failure.
    pub phase: String,
    pub integration: Option<i64>,
    pub tenant: Option<i64>,
    pub before: Option<i64>,
}

impl RunQuery {
    pub fn from_params(get: impl Fn(&str) -> Option<String>) -> Self {
        let num = |k: &str| get(k).and_then(|v| v.trim().parse::<i64>().ok());
        Self {
            phase: get("phase").unwrap_or_default(),
            integration: num("integration"),
            tenant: num("tenant"),
            before: num("before"),
        }
    }

    pub fn url(&self, before: Option<i64>) -> String {
        let mut parts = Vec::new();
        if !self.phase.is_empty() {
            parts.push(format!("phase={}", self.phase));
        }
        if let Some(i) = self.integration {
            parts.push(format!("integration={i}"));
        }
        if let Some(t) = self.tenant {
            parts.push(format!("tenant={t}"));
        }
        if let Some(b) = before {
            parts.push(format!("before={b}"));
        }
        if parts.is_empty() {
            "/activity".to_owned()
        } else {
            format!("/activity?{}", parts.join("&"))
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityRuns {
    pub failing: Vec<FailingTenant>,
    pub runs: Vec<RunItem>,
    /// The `before` of the next (older) page.
    pub older: Option<i64>,
    pub integrations: Vec<(i64, String)>,
    /// The tenant filtered on, by name.
    pub tenant_name: Option<String>,
}

/// Runs per Activity page.
pub const RUNS_PAGE: i64 = 50;

#[cfg(feature = "ssr")]
pub(crate) mod server {
    use chrono::{DateTime, Utc};

    use hub_core::service::runs::{Activity, Detail, LogWindow, RunFilter, RunRow};

    use super::*;
    use crate::api::ctx::show_time;

    pub fn duration(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> Option<String> {
        start.zip(end).map(|(a, b)| {
            let ms = (b - a).num_milliseconds().max(0);
            match ms {
                0..1_000 => format!("{ms} ms"),
                1_000..60_000 => format!("{:.1} s", ms as f64 / 1000.0),
                _ => format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1000),
            }
        })
    }

    pub fn triggers_text(kinds: Option<&str>, scheduled: bool) -> String {
        let mut list: Vec<String> = Vec::new();
        for k in kinds.unwrap_or_default().split(',').filter(|k| !k.is_empty()) {
            let mut word = k.to_owned();
            if let Some(first) = word.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            if !list.contains(&word) {
                list.push(word);
            }
        }
        if list.is_empty() && scheduled {
            list.push("Schedule".to_owned());
        }
        if list.is_empty() {
            "—".to_owned()
        } else {
            list.join(", ")
        }
    }

    pub fn item(r: hub_core::service::runs::RunListRow) -> RunItem {
        RunItem {
            id: r.id,
            tenant_id: r.tenant_id,
            tenant: r.tenant_name,
            integration: r.integration_name,
            triggers: attempt_text(triggers_text(r.trigger_kinds.as_deref(), r.scheduled), r.attempt, r.first_run),
            phase: r.phase.label().to_owned(),
            started: show_time(r.started_at.unwrap_or(r.queued_at)),
            duration: duration(r.started_at, r.finished_at),
            mode: r.mode,
            phase_code: r.phase,
        }
    }

    /// The triggers' words, and for a retry which try it is and of which run.
    fn attempt_text(triggers: String, attempt: i64, first: Option<i64>) -> String {
        match first {
            Some(first) => format!("{triggers} · try {attempt}, retrying run #{first}"),
            None => triggers,
        }
    }

    /// A note when the page shows only a part of the log, or none of it.
    fn log_note(r: &RunRow, window: &LogWindow) -> Option<String> {
        if let Some(at) = r.log_removed_at.filter(|_| r.log_bytes > 0) {
            return Some(format!(
                "The log ({} KB) was deleted {} by the retention settings (Company settings).",
                (r.log_bytes + 1023) / 1024,
                show_time(at)
            ));
        }
        (window.earlier || window.later).then(|| {
            let (kb, shown) = (r.log_bytes / 1024, window.text.len() / 1024);
            match (window.earlier, window.later) {
                (true, false) => format!("The log is {kb} KB; its last {shown} KB are shown."),
                (false, _) => format!("The log is {kb} KB; its first {shown} KB are shown."),
                (true, true) => format!("The log is {kb} KB; {shown} KB of it are shown."),
            }
        })
    }

    /// One run in full, with the window of its log and links to the pieces around it.
    pub(super) fn run_view(d: Detail) -> RunView {
        let (r, triggers) = (d.run, d.triggers);
        let log_note = log_note(&r, &d.log);
        let span = d.log.pieces;
        let log_earlier = d.log.earlier.then(|| match span {
            Some((first, _)) => format!("/runs/{}?log_before={first}", r.id),
            None => format!("/runs/{}", r.id),
        });
        let log_later = d.log.later.then(|| match span {
            Some((_, last)) => format!("/runs/{}?log_from={}", r.id, last + 1),
            None => format!("/runs/{}?log_from=0", r.id),
        });
        let log = d.log.text;
        let kinds: Vec<&str> = triggers.iter().map(|t| t.kind.as_str()).collect();
        let active = r.phase.is_active();
        RunView {
            item: RunItem {
                id: r.id,
                tenant_id: r.tenant_id,
                tenant: r.tenant_name,
                integration: r.integration_name,
                mode: r.mode,
                triggers: attempt_text(triggers_text(Some(&kinds.join(",")), r.scheduled), r.attempt, r.first_run),
                phase: r.phase.label().to_owned(),
                phase_code: r.phase,
                started: r.started_at.map(show_time).unwrap_or_else(|| "Not started".to_owned()),
                duration: duration(r.started_at, r.finished_at),
            },
            integration_id: r.integration_id,
            release: r.release_name,
            active,
            trigger_list: triggers
                .into_iter()
                .map(|t| {
                    (t.kind, show_time(t.created_at), t.created_by.unwrap_or_else(|| "the hub".to_owned()), t.payload)
                })
                .collect(),
            queued: show_time(r.queued_at),
            finished: r.finished_at.map(show_time),
            exit_code: r.exit_code,
            context: r.stdout_context,
            error: r.error,
            env_names: r.env_names.and_then(|n| serde_json::from_str(&n).ok()).unwrap_or_default(),
            sandbox: r.sandbox,
            log,
            log_note,
            log_earlier,
            log_later,
            log_truncated: r.log_truncated,
        }
    }

    /// The Activity page's filters as the core reads them.
    pub(super) fn filter(query: &RunQuery) -> RunFilter {
        RunFilter {
            phase: Phase::parse(&query.phase),
            failed: query.phase == "failed",
            integration_id: query.integration,
            tenant_id: query.tenant,
            organization: None,
            before: query.before,
        }
    }

    /// The Activity page: one page of runs (the core reads one more, to tell whether
    /// there is an older page) and the tenants whose last run failed.
    pub(super) fn activity(a: Activity) -> ActivityRuns {
        let mut rows = a.runs;
        let older = (rows.len() as i64 > RUNS_PAGE).then(|| {
            rows.truncate(RUNS_PAGE as usize);
            rows.last().map(|r| r.id)
        });
        let failing = a
            .failing
            .into_iter()
            .map(|f| FailingTenant {
                id: f.id,
                name: f.name,
                integration: f.integration_name,
                phase: f.last_run_phase.label().to_owned(),
                at: f.last_run_at.map(show_time).unwrap_or_default(),
            })
            .collect();
        ActivityRuns {
            failing,
            runs: rows.into_iter().map(item).collect(),
            older: older.flatten(),
            integrations: a.integrations,
            tenant_name: a.tenant_name,
        }
    }
}

/// Asks for a run of the tenant now (`normal` or `init`); it starts as soon as the
/// tenant's current run (if any) ends, bundled with other waiting triggers.
#[server(endpoint = "run_tenant")]
pub async fn run_tenant(tenant_id: i64, mode: String) -> Result<(), AppError> {
    use hub_core::domain::run::TriggerKind;
    use hub_core::service::runs::{request, requested_mode};

    use crate::api::ctx::{require_user, service_error, state};
    let user = require_user().await?;
    let t = crate::api::tenants::server::visible(&user, tenant_id).await?;
    let mode = requested_mode(&mode).map_err(|e| service_error(e, Vec::new()))?;
    let st = state()?;
    request(&st.db, &st.engine, &user.actor(), t.id, TriggerKind::Manual, mode, None, chrono::Utc::now())
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    leptos_axum::redirect(&format!("/tenants/{tenant_id}?done=run-{}", mode.as_str()));
    Ok(())
}

/// One run, with the window of its log just before piece `log_before`, from piece
/// `log_from` on, or (neither) at its end.
#[server(endpoint = "run")]
pub async fn get_run(id: i64, log_before: Option<i64>, log_from: Option<i64>) -> Result<RunView, AppError> {
    use hub_core::service::runs::LogAt;
    use hub_core::service::Scope;

    use crate::api::ctx::{require_user, service_error, state};
    let user = require_user().await?;
    let at = LogAt::of(log_before, log_from);
    let d = hub_core::service::runs::detail(&state()?.db, Scope::of(&user), id, at)
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    Ok(server::run_view(d))
}

/// The Activity page: tenants whose last run failed, then runs newest first.
#[server(endpoint = "activity_runs")]
pub async fn list_runs(query: RunQuery) -> Result<ActivityRuns, AppError> {
    use hub_core::service::Scope;

    use crate::api::ctx::{require_user, service_error, state};
    let user = require_user().await?;
    let a = hub_core::service::runs::activity(&state()?.db, Scope::of(&user), server::filter(&query), RUNS_PAGE)
        .await
        .map_err(|e| service_error(e, Vec::new()))?;
    Ok(server::activity(a))
}
