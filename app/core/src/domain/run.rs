//! Runs: their phases, modes and triggers, which waiting triggers go into one run, the
//! environment a run is given, and what its output means.

use serde_json::Value;

/// Where a run is in its life. Stored by [`Phase::as_str`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "backend", derive(sqlx::Type), sqlx(type_name = "TEXT", rename_all = "snake_case"))]
pub enum Phase {
    Queued,
    Running,
    Succeeded,
    /// The program exited with a non-zero code.
    FailedIntegration,
    /// It ran past its time limit and was killed.
    FailedTimeout,
    /// An OAuth2 token could not be refreshed before the run.
    FailedRefresh,
    /// The hub could not start it, or stopped while it ran.
    FailedPlatform,
    /// The tenant metadata it wrote does not match the release's metadata schema.
    FailedMetadata,
    /// A scheduled slot that came while the previous run was still going.
    Skipped,
}

impl Phase {
    pub const ALL: [Phase; 9] = [
        Phase::Queued,
        Phase::Running,
        Phase::Succeeded,
        Phase::FailedIntegration,
        Phase::FailedTimeout,
        Phase::FailedRefresh,
        Phase::FailedPlatform,
        Phase::FailedMetadata,
        Phase::Skipped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Queued => "queued",
            Phase::Running => "running",
            Phase::Succeeded => "succeeded",
            Phase::FailedIntegration => "failed_integration",
            Phase::FailedTimeout => "failed_timeout",
            Phase::FailedRefresh => "failed_refresh",
            Phase::FailedPlatform => "failed_platform",
            Phase::FailedMetadata => "failed_metadata",
            Phase::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The name users see.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Queued => "Queued",
            Phase::Running => "Running",
            Phase::Succeeded => "Succeeded",
            Phase::FailedIntegration => "Failed (Integration Issue)",
            Phase::FailedTimeout => "Failed (Timeout)",
            Phase::FailedRefresh => "Failed (Refresh)",
            Phase::FailedPlatform => "Failed (Platform Issue)",
            Phase::FailedMetadata => "Failed (Metadata Validation)",
            Phase::Skipped => "Skipped",
        }
    }

    pub fn is_active(self) -> bool {
        matches!(self, Phase::Queued | Phase::Running)
    }

    pub fn is_failure(self) -> bool {
        self.as_str().starts_with("failed")
    }
}

/// What kind of run the program is asked to do (`PAN_CTX_RUN_MODE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "backend", derive(sqlx::Type), sqlx(type_name = "TEXT", rename_all = "snake_case"))]
pub enum Mode {
    /// Discover the tenant's dynamic configuration options.
    Init,
    Normal,
    Webhook,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Init => "init",
            Mode::Normal => "normal",
            Mode::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Mode::Init, Mode::Normal, Mode::Webhook].into_iter().find(|m| m.as_str() == s)
    }
}

/// Why a run happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "backend", derive(sqlx::Type), sqlx(type_name = "TEXT", rename_all = "snake_case"))]
pub enum TriggerKind {
    Schedule,
    Manual,
    Api,
    Webhook,
}

impl TriggerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerKind::Schedule => "schedule",
            TriggerKind::Manual => "manual",
            TriggerKind::Api => "api",
            TriggerKind::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [TriggerKind::Schedule, TriggerKind::Manual, TriggerKind::Api, TriggerKind::Webhook]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A trigger waiting for its run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiting {
    pub id: i64,
    pub kind: TriggerKind,
    pub mode: Mode,
}

/// Which of a tenant's waiting triggers (oldest first) go into its next run: the
/// oldest, and every later one of the same mode on the same side of the line between
/// scheduled and other triggers (scheduled ones are bundled only with each other).
/// Returns their ids, oldest first; empty when nothing waits.
pub fn bundle(waiting: &[Waiting]) -> Vec<i64> {
    bundle_at_most(waiting, BUNDLE_MAX)
}

/// The most triggers one run takes; the rest wait, in order, for the next run.
pub const BUNDLE_MAX: usize = 500;

fn bundle_at_most(waiting: &[Waiting], most: usize) -> Vec<i64> {
    let Some(first) = waiting.first() else {
        return Vec::new();
    };
    let scheduled = first.kind == TriggerKind::Schedule;
    waiting
        .iter()
        .filter(|w| (w.kind == TriggerKind::Schedule) == scheduled && w.mode == first.mode)
        .map(|w| w.id)
        .take(most)
        .collect()
}

/// The environment variable name for `parts` joined by `_`: upper case, and every
/// character that is not an ASCII letter or digit becomes `_`.
pub fn env_name(prefix: &str, parts: &[&str]) -> String {
    let mut name = prefix.to_owned();
    for part in parts {
        name.push('_');
        name.extend(part.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }));
    }
    name
}

/// A configuration or credential value as the program sees it: strings as they are,
/// `true`/`false` and numbers as text, arrays and objects as JSON; `None` for null.
pub fn env_value(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

/// `PAN_CFG_<NAME>` for each configured value.
pub fn config_env(configs: &Value) -> Vec<(String, String)> {
    let Some(map) = configs.as_object() else {
        return Vec::new();
    };
    map.iter().filter_map(|(k, v)| Some((env_name("PAN_CFG", &[k]), env_value(v)?))).collect()
}

/// `PAN_SEC_<CONNECTOR>_<FIELD>` for one connection's credentials. For OAuth2 the
/// access token is given as `PAN_SEC_<CONNECTOR>_OAUTH_ACCESS_TOKEN` (the refresh
/// token never), with the connection's parameters and the token answer's kept
/// values as `PAN_SEC_<CONNECTOR>_<NAME>`.
pub fn secret_env(connector: &str, oauth2: bool, credentials: &Value) -> Vec<(String, String)> {
    if oauth2 {
        let token = credentials.get("access_token").and_then(Value::as_str);
        let mut vars: Vec<(String, String)> = token
            .map(|t| (env_name("PAN_SEC", &[connector, "oauth_access_token"]), t.to_owned()))
            .into_iter()
            .collect();
        // The connection's parameters and the token answer's kept values, by name.
        for group in ["parameters", "fields"] {
            let values = credentials.get(group).and_then(Value::as_object).into_iter().flatten();
            vars.extend(values.filter_map(|(k, v)| Some((env_name("PAN_SEC", &[connector, k]), env_value(v)?))));
        }
        return vars;
    }
    let Some(map) = credentials.as_object() else {
        return Vec::new();
    };
    map.iter().filter_map(|(k, v)| Some((env_name("PAN_SEC", &[connector, k]), env_value(v)?))).collect()
}

/// The context a run's stdout leaves for the next run: its last non-empty line, when
/// that line is JSON. Returns the line as printed (trimmed).
pub fn context_of(last_line: Option<&str>) -> Option<String> {
    let line = last_line?.trim();
    if line.is_empty() {
        return None;
    }
    serde_json::from_str::<Value>(line).ok().map(|_| line.to_owned())
}

/// The dynamic configuration options an init run printed: a JSON object keyed by
/// definition name.
pub fn init_options(context: Option<&str>) -> Option<Value> {
    serde_json::from_str::<Value>(context?).ok().filter(Value::is_object)
}

/// Checks tenant metadata against a release's `metadata_schema` (the mapping with a
/// `schema` key, or a schema itself). Supports the JSON Schema subset releases use:
/// `type`, `properties`, `required`, `items`, `enum`. Returns the first problem found.
pub fn check_metadata(metadata_schema: &Value, metadata: &Value) -> Result<(), String> {
    let schema = metadata_schema.get("schema").unwrap_or(metadata_schema);
    check_value(schema, metadata, "metadata")
}

fn check_value(schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(ty) = schema.get("type").and_then(Value::as_str) {
        let fits = match ty {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "boolean" => value.is_boolean(),
            "integer" => value.as_i64().is_some() || value.as_u64().is_some(),
            "number" => value.is_number(),
            "null" => value.is_null(),
            _ => true,
        };
        if !fits {
            return Err(format!("{at} must be of type {ty}"));
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(value) {
            return Err(format!("{at} must be one of {}", Value::Array(options.clone())));
        }
    }
    if let (Some(props), Some(obj)) = (schema.get("properties").and_then(Value::as_object), value.as_object()) {
        for (name, sub) in props {
            if let Some(v) = obj.get(name) {
                check_value(sub, v, &format!("{at}.{name}"))?;
            }
        }
    }
    if let (Some(required), Some(obj)) = (schema.get("required").and_then(Value::as_array), value.as_object()) {
        if let Some(missing) = required.iter().filter_map(Value::as_str).find(|r| !obj.contains_key(*r)) {
            return Err(format!("{at}.{missing} is required"));
        }
    }
    if let (Some(items), Some(list)) = (schema.get("items"), value.as_array()) {
        for (i, v) in list.iter().enumerate() {
            check_value(items, v, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn w(id: i64, kind: TriggerKind, mode: Mode) -> Waiting {
        Waiting { id, kind, mode }
    }

    #[test]
    fn scheduled_triggers_bundle_only_with_each_other() {
        use Mode::*;
        use TriggerKind::*;
        let waiting = [w(1, Manual, Normal), w(2, Schedule, Normal), w(3, Api, Normal), w(4, Manual, Init)];
        assert_eq!(bundle(&waiting), vec![1, 3]);
        assert_eq!(bundle(&waiting[1..]), vec![2]);
        assert_eq!(bundle(&[w(5, Schedule, Normal), w(6, Schedule, Normal)]), vec![5, 6]);
        assert!(bundle(&[]).is_empty());
        let many: Vec<Waiting> =
            (0..BUNDLE_MAX as i64 + 20).map(|i| w(i, TriggerKind::Webhook, Mode::Webhook)).collect();
        assert_eq!(bundle(&many), (0..BUNDLE_MAX as i64).collect::<Vec<_>>(), "a bundle is capped, oldest first");
    }

    #[test]
    fn environment_names_and_values() {
        assert_eq!(env_name("PAN_CFG", &["batch-size"]), "PAN_CFG_BATCH_SIZE");
        let env = config_env(&json!({"on": true, "n": 5, "tags": ["a"], "none": null, "s": "x"}));
        assert!(env.contains(&("PAN_CFG_ON".into(), "true".into())));
        assert!(env.contains(&("PAN_CFG_N".into(), "5".into())));
        assert!(env.contains(&("PAN_CFG_TAGS".into(), r#"["a"]"#.into())));
        assert!(!env.iter().any(|(k, _)| k == "PAN_CFG_NONE"));
        let sec = secret_env(
            "shopify",
            true,
            &json!({"access_token": "t", "parameters": {"shop": "acme"}, "fields": {"instance_url": "https://x"}}),
        );
        assert_eq!(
            sec,
            vec![
                ("PAN_SEC_SHOPIFY_OAUTH_ACCESS_TOKEN".to_owned(), "t".to_owned()),
                ("PAN_SEC_SHOPIFY_SHOP".to_owned(), "acme".to_owned()),
                ("PAN_SEC_SHOPIFY_INSTANCE_URL".to_owned(), "https://x".to_owned()),
            ]
        );
        let sec = secret_env("slack", true, &json!({"access_token": "t", "refresh_token": "r"}));
        assert_eq!(sec, vec![("PAN_SEC_SLACK_OAUTH_ACCESS_TOKEN".to_owned(), "t".to_owned())]);
        let sec = secret_env("stripe", false, &json!({"api_key": "k"}));
        assert_eq!(sec, vec![("PAN_SEC_STRIPE_API_KEY".to_owned(), "k".to_owned())]);
    }

    #[test]
    fn only_a_json_last_line_is_context() {
        assert_eq!(context_of(Some(" {\"a\":1} ")).as_deref(), Some("{\"a\":1}"));
        assert_eq!(context_of(Some("done")), None);
        assert_eq!(context_of(None), None);
        assert!(init_options(Some("[1]")).is_none());
        assert!(init_options(Some("{\"x\":[]}")).is_some());
    }

    #[test]
    fn metadata_is_checked_against_its_schema() {
        let schema =
            json!({"schema": {"type": "object", "required": ["cursor"], "properties": {"cursor": {"type": "string"}}}});
        assert!(check_metadata(&schema, &json!({"cursor": "abc"})).is_ok());
        assert_eq!(
            check_metadata(&schema, &json!({"cursor": 5})).expect_err("wrong type"),
            "metadata.cursor must be of type string"
        );
        assert_eq!(check_metadata(&schema, &json!({})).expect_err("missing"), "metadata.cursor is required");
    }

    #[test]
    fn phases_round_trip() {
        for p in Phase::ALL {
            assert_eq!(Phase::parse(p.as_str()), Some(p));
        }
        // The text serde and the database use (the derives' snake_case) is `as_str`.
        for p in Phase::ALL {
            assert_eq!(serde_json::to_value(p).expect("json"), p.as_str());
        }
        for m in [Mode::Init, Mode::Normal, Mode::Webhook] {
            assert_eq!(serde_json::to_value(m).expect("json"), m.as_str());
        }
        for k in [TriggerKind::Schedule, TriggerKind::Manual, TriggerKind::Api, TriggerKind::Webhook] {
            assert_eq!(serde_json::to_value(k).expect("json"), k.as_str());
        }
        assert!(Phase::FailedRefresh.is_failure() && !Phase::Skipped.is_failure());
    }
}
