//! Connector definitions: how credentials for one outside system are collected.

use serde::{Deserialize, Serialize};

use super::yaml;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "backend", derive(sqlx::Type), sqlx(type_name = "TEXT", rename_all = "snake_case"))]
pub enum AuthKind {
    Oauth2,
    ApiKey,
    Basic,
    None,
}

impl AuthKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Oauth2 => "oauth2",
            Self::ApiKey => "api_key",
            Self::Basic => "basic",
            Self::None => "none",
        }
    }

    /// How the console names the kind.
    pub fn label(self) -> &'static str {
        match self {
            Self::Oauth2 => "OAuth 2.0",
            Self::ApiKey => "API key",
            Self::Basic => "Username and password",
            Self::None => "No credentials",
        }
    }
}

/// Where a tenant's connection to a connector stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "backend", derive(sqlx::Type), sqlx(type_name = "TEXT", rename_all = "snake_case"))]
pub enum ConnectionStatus {
    /// Credentials are stored and were last known to work.
    Connected,
    /// No credentials yet, or they were removed.
    Disconnected,
    /// Credentials are stored but stopped working (a refresh failed).
    Error,
}

impl ConnectionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connected => "connected",
            Self::Disconnected => "disconnected",
            Self::Error => "error",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2Settings {
    pub authorize_url: String,
    pub token_url: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub client_secret: String,
    #[serde(default = "yes")]
    pub pkce: bool,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub name: String,
    pub label: String,
    #[serde(default)]
    pub secret: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connector {
    pub name: String,
    pub display_name: String,
    pub auth: AuthKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<OAuth2Settings>,
    #[serde(default)]
    pub fields: Vec<Field>,
    #[serde(default)]
    pub info: String,
}

/// A connector definition that could not be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorError {
    #[error("{0}")]
    Syntax(yaml::YamlError),
    #[error("{0}")]
    Invalid(String),
}

/// Connector and field names: lowercase letters, digits and `-`, starting with a
/// letter or digit.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && !name.starts_with(['-', '_']);
    if ok {
        Ok(())
    } else {
        Err(format!("{name:?} must be lowercase letters, digits and '-'"))
    }
}

impl Connector {
    /// Parses a definition, replacing `${VAR}` with what `env` gives for VAR. Variables
    /// that `env` does not know are returned, so the console can say what is missing.
    pub fn parse(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<(Self, Vec<String>), ConnectorError> {
        let mut def: Self = yaml::from_str(text).map_err(ConnectorError::Syntax)?;
        check_name(&def.name).map_err(|m| ConnectorError::Invalid(format!("name: {m}")))?;
        if def.display_name.trim().is_empty() {
            return Err(ConnectorError::Invalid("display_name: must not be empty".to_owned()));
        }
        let mut missing = Vec::new();
        match def.auth {
            AuthKind::Oauth2 => {
                let o = def.oauth2.as_mut().ok_or_else(|| {
                    ConnectorError::Invalid("oauth2: an oauth2 connector needs an oauth2 section".to_owned())
                })?;
                for value in [&mut o.authorize_url, &mut o.token_url, &mut o.client_id, &mut o.client_secret] {
                    *value = substitute(value, &env, &mut missing);
                }
                for (key, url) in [("authorize_url", &o.authorize_url), ("token_url", &o.token_url)] {
                    if !(url.starts_with("http://") || url.starts_with("https://")) {
                        return Err(ConnectorError::Invalid(format!("oauth2.{key}: {url:?} is not an http(s) URL")));
                    }
                }
            }
            AuthKind::ApiKey | AuthKind::Basic => {
                if def.fields.is_empty() {
                    return Err(ConnectorError::Invalid(format!(
                        "fields: an {} connector needs at least one field",
                        def.auth.as_str()
                    )));
                }
            }
            AuthKind::None => {}
        }
        if def.auth != AuthKind::Oauth2 && def.oauth2.is_some() {
            return Err(ConnectorError::Invalid("oauth2: only oauth2 connectors take this section".to_owned()));
        }
        for (i, f) in def.fields.iter().enumerate() {
            check_name(&f.name).map_err(|m| ConnectorError::Invalid(format!("fields[{i}].name: {m}")))?;
        }
        Ok((def, missing))
    }
}

/// Replaces each `${NAME}` in `value`; unknown names become empty and are listed.
fn substitute(value: &str, env: &impl Fn(&str) -> Option<String>, missing: &mut Vec<String>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start..].find('}') else { break };
        out.push_str(&rest[..start]);
        let name = &rest[start + 2..start + len];
        match env(name) {
            Some(v) => out.push_str(&v),
            None => missing.push(name.to_owned()),
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLACK: &str = "name: slack\ndisplay_name: Slack\nauth: oauth2\noauth2:\n  authorize_url: https://slack.example/authorize\n  token_url: https://slack.example/token\n  scopes: [chat:write]\n  client_id: ${SLACK_CLIENT_ID}\n  client_secret: ${SLACK_CLIENT_SECRET}\ninfo: Connect Slack.\n";

    #[test]
    fn substitutes_environment_values_and_lists_missing_ones() {
        let env = |k: &str| (k == "SLACK_CLIENT_ID").then(|| "abc".to_owned());
        let (c, missing) = Connector::parse(SLACK, env).expect("valid");
        let o = c.oauth2.expect("oauth2");
        assert_eq!(o.client_id, "abc");
        assert_eq!(o.client_secret, "");
        assert!(o.pkce);
        assert_eq!(missing, vec!["SLACK_CLIENT_SECRET".to_owned()]);
    }

    #[test]
    fn refuses_what_cannot_work() {
        let none = |_: &str| None;
        for (text, needle) in [
            ("name: Bad Name\ndisplay_name: x\nauth: none\n", "name:"),
            ("name: k\ndisplay_name: K\nauth: api_key\n", "fields:"),
            ("name: k\ndisplay_name: K\nauth: oauth2\n", "oauth2:"),
            ("name: k\ndisplay_name: K\nauth: magic\n", "unknown variant"),
            ("name: k\ndisplay_name: K\nauth: none\nextra: 1\n", "unknown field"),
        ] {
            let e = Connector::parse(text, none).expect_err(text).to_string();
            assert!(e.contains(needle), "{text:?} gave {e}");
        }
    }

    #[test]
    fn shape_errors_have_positions() {
        let e = Connector::parse("name: k\ndisplay_name: K\nauth: magic\n", |_| None).expect_err("bad");
        match e {
            ConnectorError::Syntax(y) => assert_eq!((y.line, y.column), (Some(3), Some(7))),
            other => panic!("{other:?}"),
        }
    }
}
