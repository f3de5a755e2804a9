//! Connector definitions: how credentials for one outside system are collected.

use std::collections::BTreeMap;

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

/// How the hub presents its client id and secret to the token endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// HTTP Basic authentication (RFC 6749 2.3.1's default).
    #[default]
    Header,
    /// `client_id` and `client_secret` in the request body, which some providers require.
    Body,
}

/// How the token request's values are sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenBody {
    /// `application/x-www-form-urlencoded`, as the standard says.
    #[default]
    Form,
    /// A JSON object, for providers that take nothing else (Square, Notion).
    Json,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2Settings {
    /// May name connection parameters: `https://{shop}.myshopify.com/admin/oauth/authorize`.
    pub authorize_url: String,
    pub token_url: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// What joins the scopes in the authorization request: a space, as the standard
    /// says, unless the provider wants a comma.
    #[serde(default = "space")]
    pub scope_separator: String,
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub client_secret: String,
    #[serde(default)]
    pub client_auth: ClientAuth,
    #[serde(default)]
    pub token_body: TokenBody,
    #[serde(default = "yes")]
    pub pkce: bool,
    /// Added to the authorization URL, e.g. `access_type: offline`, `prompt: consent`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub authorization_params: BTreeMap<String, String>,
    /// Values of the token endpoint's answer kept with the connection and given to
    /// runs (Salesforce's `instance_url`); they may be named in `api_base_url`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub token_fields: Vec<String>,
    /// Values the provider adds to the redirect back to the hub, kept the same way
    /// (QuickBooks' `realmId`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub callback_fields: Vec<String>,
    /// How long an access token lives when the answer does not say (`expires_in`):
    /// without it such a token is taken to live until refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_expires_in: Option<u32>,
}

fn yes() -> bool {
    true
}

fn space() -> String {
    " ".to_owned()
}

/// A value of each connection, asked for before the provider's consent screen (a
/// Shopify shop, a Zendesk subdomain, a region) and substituted where the URLs name
/// it in braces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    pub name: String,
    pub label: String,
    /// A regular expression the whole value must match; the value is also always
    /// limited to letters, digits, `.`, `-` and `_`, so it cannot leave its place in
    /// a URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(default)]
    pub help: String,
    #[serde(default)]
    pub example: String,
}

/// The longest connection parameter value.
pub const PARAMETER_MAX: usize = 100;

/// A value that stays in its part of a URL: letters, digits, `.`, `-` and `_`, no
/// leading dot or `..`, at most [`PARAMETER_MAX`] characters.
pub fn url_part(value: &str) -> Result<(), &'static str> {
    if value.is_empty() {
        return Err("enter a value");
    }
    if value.len() > PARAMETER_MAX {
        return Err("at most 100 characters");
    }
    if !value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')) {
        return Err("only letters, digits, '.', '-' and '_'");
    }
    if value.starts_with('.') || value.contains("..") {
        return Err("a dot must come between letters or digits");
    }
    Ok(())
}

impl Parameter {
    /// Checks a value's characters and length (the pattern is the backend's to check).
    pub fn check_shape(&self, value: &str) -> Result<(), String> {
        url_part(value).map_err(|m| format!("{}: {m}", self.label))
    }
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
    /// What the catalogue files it under (CRM, E-commerce, …).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub category: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<OAuth2Settings>,
    /// Per-connection values of an OAuth2 connector.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<Parameter>,
    #[serde(default)]
    pub fields: Vec<Field>,
    /// The API's base URL, given to runs as `PAN_SEC_<CONNECTOR>_API_BASE_URL`; may
    /// name parameters, kept token fields or (for `api_key`/`basic`) fields that are
    /// not secret.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_base_url: String,
    /// Where an administrator registers the hub as an OAuth2 app, or makes a key.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub register_url: String,
    /// The provider's documentation of its authorization.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub docs_url: String,
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

/// Names the hub sets on an authorization URL itself.
const RESERVED_AUTHORIZATION_PARAMS: &[&str] =
    &["response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"];
/// Names a connection's values cannot take: the run's variables and the link page's
/// own query.
const RESERVED_NAMES: &[&str] = &["oauth_access_token", "api_base_url", "failed", "connected"];

/// A name as a run's variable sees it: `Api-Base-URL` and `api_base_url` are one.
fn variable_name(name: &str) -> String {
    name.to_ascii_lowercase().replace('-', "_")
}

fn reserved(name: &str) -> bool {
    RESERVED_NAMES.contains(&variable_name(name).as_str())
}
/// What a token answer always carries, which the hub keeps anyway.
const STANDARD_TOKEN_FIELDS: &[&str] = &["access_token", "refresh_token", "expires_in", "token_type", "scope"];

impl Connector {
    /// Parses a definition, replacing `${VAR}` with what `env` gives for VAR. Variables
    /// that `env` does not know are returned, so the console can say what is missing.
    pub fn parse(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<(Self, Vec<String>), ConnectorError> {
        let mut def: Self = yaml::from_str(text).map_err(ConnectorError::Syntax)?;
        let invalid = |m: String| ConnectorError::Invalid(m);
        check_name(&def.name).map_err(|m| invalid(format!("name: {m}")))?;
        if def.display_name.trim().is_empty() {
            return Err(invalid("display_name: must not be empty".to_owned()));
        }
        let mut parameter_names: Vec<String> = Vec::new();
        for (i, p) in def.parameters.iter().enumerate() {
            check_name(&p.name).map_err(|m| invalid(format!("parameters[{i}].name: {m}")))?;
            if p.label.trim().is_empty() {
                return Err(invalid(format!("parameters[{i}].label: must not be empty")));
            }
            if parameter_names.contains(&p.name) {
                return Err(invalid(format!("parameters[{i}].name: {} is named twice", p.name)));
            }
            if reserved(&p.name) {
                return Err(invalid(format!("parameters[{i}].name: {} is the hub's own", p.name)));
            }
            parameter_names.push(p.name.clone());
        }
        let mut missing = Vec::new();
        let parameters: Vec<&str> = parameter_names.iter().map(String::as_str).collect();
        match def.auth {
            AuthKind::Oauth2 => {
                let o = def
                    .oauth2
                    .as_mut()
                    .ok_or_else(|| invalid("oauth2: an oauth2 connector needs an oauth2 section".to_owned()))?;
                for value in [&mut o.authorize_url, &mut o.token_url, &mut o.client_id, &mut o.client_secret] {
                    *value = substitute(value, &env, &mut missing);
                }
                for (key, url) in [("authorize_url", &o.authorize_url), ("token_url", &o.token_url)] {
                    check_url(url, &parameters).map_err(|m| invalid(format!("oauth2.{key}: {m}")))?;
                }
                if o.scope_separator.is_empty() || o.scope_separator.len() > 3 {
                    return Err(invalid("oauth2.scope_separator: one to three characters".to_owned()));
                }
                if let Some(k) =
                    o.authorization_params.keys().find(|k| RESERVED_AUTHORIZATION_PARAMS.contains(&k.as_str()))
                {
                    return Err(invalid(format!("oauth2.authorization_params: the hub sets {k} itself")));
                }
                let mut kept: Vec<String> = parameters.iter().map(|p| variable_name(p)).collect();
                for (key, list) in [("token_fields", &o.token_fields), ("callback_fields", &o.callback_fields)] {
                    for (i, f) in list.iter().enumerate() {
                        let at = |m: String| invalid(format!("oauth2.{key}[{i}]: {m}"));
                        check_provider_name(f).map_err(at)?;
                        if STANDARD_TOKEN_FIELDS.contains(&f.as_str()) || f == "state" || f == "code" {
                            return Err(at(format!("{f} is always kept or never")));
                        }
                        if kept.contains(&variable_name(f)) {
                            return Err(at(format!("{f} is already a parameter or a kept value")));
                        }
                        kept.push(variable_name(f));
                    }
                }
                if o.default_expires_in == Some(0) {
                    return Err(invalid("oauth2.default_expires_in: seconds, more than 0".to_owned()));
                }
            }
            AuthKind::ApiKey | AuthKind::Basic => {
                if def.fields.is_empty() {
                    return Err(invalid(format!(
                        "fields: an {} connector needs at least one field",
                        def.auth.as_str()
                    )));
                }
            }
            AuthKind::None => {}
        }
        if def.auth != AuthKind::Oauth2 && def.oauth2.is_some() {
            return Err(invalid("oauth2: only oauth2 connectors take this section".to_owned()));
        }
        if def.auth != AuthKind::Oauth2 && !def.parameters.is_empty() {
            return Err(invalid(
                "parameters: only oauth2 connectors take parameters; other connectors ask for such values as fields"
                    .to_owned(),
            ));
        }
        for (i, f) in def.fields.iter().enumerate() {
            check_name(&f.name).map_err(|m| invalid(format!("fields[{i}].name: {m}")))?;
            if reserved(&f.name) {
                return Err(invalid(format!("fields[{i}].name: {} is the hub's own", f.name)));
            }
        }
        if !def.api_base_url.is_empty() {
            let known = def.value_names();
            let known: Vec<&str> = known.iter().map(String::as_str).collect();
            // A base URL may start with a value the provider gives (Salesforce's
            // `instance_url`); otherwise its scheme is written out.
            let fixed = !def.api_base_url.starts_with('{');
            let checked = if fixed {
                check_url(&def.api_base_url, &known)
            } else {
                fill(&def.api_base_url, |n| known.contains(&n).then(String::new)).map(drop)
            };
            checked.map_err(|m| invalid(format!("api_base_url: {m}")))?;
        }
        for (key, url) in [("register_url", &def.register_url), ("docs_url", &def.docs_url)] {
            if !url.is_empty() && !url.starts_with("https://") {
                return Err(invalid(format!("{key}: {url:?} is not an https URL")));
            }
        }
        Ok((def, missing))
    }

    /// The names `api_base_url` may use: the parameters, the kept token fields, and
    /// the fields that are not secret.
    fn value_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.parameters.iter().map(|p| p.name.clone()).collect();
        names.extend(self.oauth2.iter().flat_map(|o| o.token_fields.iter().chain(&o.callback_fields).cloned()));
        names.extend(self.fields.iter().filter(|f| !f.secret).map(|f| f.name.clone()));
        names
    }

    /// The API base URL of one connection, from its values (see [`Self::value_names`]);
    /// `None` when the definition has none or a value is missing.
    ///
    /// A value that starts the URL (a provider's `instance_url`) must be an http(s)
    /// address with no user, query or fragment; any other must pass [`url_part`], so
    /// a field typed on a link's page cannot change where the URL leads.
    pub fn api_base_url_for(&self, values: &BTreeMap<String, String>) -> Option<String> {
        if self.api_base_url.is_empty() {
            return None;
        }
        let leading = self.api_base_url.starts_with('{').then(|| self.api_base_url[1..].split('}').next()).flatten();
        fill(&self.api_base_url, |name| {
            let value = values.get(name)?;
            let fits = if Some(name) == leading {
                let rest = value.strip_prefix("https://").or_else(|| value.strip_prefix("http://"));
                rest.is_some_and(|r| {
                    !r.is_empty() && !r.contains(['@', '?', '#', ' ', '\\']) && !r.contains(char::is_control)
                })
            } else {
                url_part(value).is_ok()
            };
            fits.then(|| value.clone())
        })
        .ok()
    }
}

/// The text values of one connection's stored credentials that a connector's
/// `api_base_url` may name: its fields, or an OAuth2 connection's parameters and kept
/// token values.
pub fn connection_values(credentials: &serde_json::Value) -> BTreeMap<String, String> {
    let text = |(k, v): (&String, &serde_json::Value)| Some((k.clone(), v.as_str()?.to_owned()));
    let mut all: BTreeMap<String, String> = credentials.as_object().into_iter().flatten().filter_map(text).collect();
    for group in ["fields", "parameters"] {
        all.extend(
            credentials.get(group).and_then(serde_json::Value::as_object).into_iter().flatten().filter_map(text),
        );
    }
    all
}

/// Replaces each `{name}` of `template` with `value(name)`; fails on an unknown name or
/// an unclosed brace.
pub fn fill(template: &str, value: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let len = rest[start..].find('}').ok_or_else(|| "a '{' is not closed".to_owned())?;
        out.push_str(&rest[..start]);
        let name = &rest[start + 1..start + len];
        out.push_str(&value(name).ok_or_else(|| format!("{{{name}}} names no parameter or value"))?);
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A name a provider chose for a value it gives (`instance_url`, `realmId`): letters,
/// digits and `_`, not one of the hub's own.
fn check_provider_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty() && name.len() <= 63 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !ok {
        return Err(format!("{name:?} must be letters, digits and '_'"));
    }
    if reserved(name) {
        return Err(format!("{name} is the hub's own"));
    }
    Ok(())
}

/// An http(s) URL whose braces name only `known` values, none in the scheme.
fn check_url(url: &str, known: &[&str]) -> Result<(), String> {
    let sample = fill(url, |name| known.contains(&name).then(|| "x".to_owned()))?;
    let scheme_fixed = url.starts_with("http://") || url.starts_with("https://");
    if !scheme_fixed || !(sample.starts_with("http://") || sample.starts_with("https://")) {
        return Err(format!("{url:?} is not an http(s) URL"));
    }
    Ok(())
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

    const SHOP: &str = "name: shop\ndisplay_name: Shop\nauth: oauth2\nparameters:\n  - { name: shop, label: Shop, pattern: '[a-z]+' }\noauth2:\n  authorize_url: https://{shop}.shop.example/authorize\n  token_url: https://{shop}.shop.example/token\n  client_auth: body\n  scope_separator: ','\n  token_fields: [instance_url]\n  authorization_params: { access_type: offline }\napi_base_url: '{instance_url}/api/{shop}'\n";

    #[test]
    fn parameters_and_token_options_are_read_and_checked() {
        let (c, missing) = Connector::parse(SHOP, |_| None).expect("valid");
        assert!(missing.is_empty());
        let o = c.oauth2.as_ref().expect("oauth2");
        assert_eq!((o.client_auth, o.token_body, o.scope_separator.as_str()), (ClientAuth::Body, TokenBody::Form, ","));
        assert_eq!(o.authorization_params.get("access_type").map(String::as_str), Some("offline"));
        let values = BTreeMap::from([
            ("shop".to_owned(), "acme".to_owned()),
            ("instance_url".to_owned(), "https://i".to_owned()),
        ]);
        assert_eq!(c.api_base_url_for(&values).as_deref(), Some("https://i/api/acme"));
        assert_eq!(c.api_base_url_for(&BTreeMap::new()), None, "a missing value gives no URL");
        for (shop, instance) in [
            ("evil.example/x", "https://i"),
            ("acme", "https://evil.example#"),
            ("acme", "javascript:x"),
            ("acme", "https://a@b"),
        ] {
            let values = BTreeMap::from([
                ("shop".to_owned(), shop.to_owned()),
                ("instance_url".to_owned(), instance.to_owned()),
            ]);
            assert_eq!(c.api_base_url_for(&values), None, "{shop} {instance}");
        }
        assert_eq!(fill("https://{a}.x/{b}", |n| Some(n.to_uppercase())), Ok("https://A.x/B".to_owned()));
        assert!(fill("https://{a.x", |_| Some(String::new())).is_err());

        for (from, to, needle) in [
            ("https://{shop}.shop.example/token", "https://{shoop}.shop.example/token", "{shoop} names no parameter"),
            ("https://{shop}.shop.example/authorize", "ftp://{shop}/authorize", "not an http(s) URL"),
            ("access_type: offline", "state: x", "the hub sets state itself"),
            ("token_fields: [instance_url]", "token_fields: [refresh_token]", "is always kept"),
            ("scope_separator: ','", "scope_separator: ''", "one to three characters"),
            ("/api/{shop}", "/api/{region}", "api_base_url: {region}"),
            ("auth: oauth2", "auth: oauth2\nregister_url: http://x", "not an https URL"),
        ] {
            let text = SHOP.replace(from, to);
            let e = Connector::parse(&text, |_| None).expect_err(to).to_string();
            assert!(e.contains(needle), "{to}: {e}");
        }
        // Names of the hub's own, or given twice, are refused; a provider's may be mixed case.
        for (from, to, needle) in [
            ("name: shop, label", "name: api_base_url, label", "the hub's own"),
            ("token_fields: [instance_url]", "token_fields: [instance_url, shop]", "already a parameter"),
            (
                "token_fields: [instance_url]",
                "token_fields: [instance_url]\n  callback_fields: [instance_url]",
                "already",
            ),
            (
                "token_fields: [instance_url]",
                "token_fields: [instance_url]\n  callback_fields: [failed]",
                "the hub's own",
            ),
        ] {
            let e = Connector::parse(&SHOP.replace(from, to), |_| None).expect_err(to).to_string();
            assert!(e.contains(needle), "{to}: {e}");
        }
        let realm =
            SHOP.replace("token_fields: [instance_url]", "token_fields: [instance_url]\n  callback_fields: [realmId]");
        assert!(Connector::parse(&realm, |_| None).is_ok());
        let two = SHOP.replace("pattern: '[a-z]+' }", "pattern: '[a-z]+' }\n  - { name: shop, label: Again }");
        assert!(Connector::parse(&two, |_| None).expect_err("twice").to_string().contains("named twice"));
        let api_key = "name: k\ndisplay_name: K\nauth: api_key\nparameters: [{ name: a, label: A }]\nfields: [{ name: key, label: Key, secret: true }]\n";
        assert!(Connector::parse(api_key, |_| None).expect_err("api key").to_string().contains("only oauth2"));
        // An API key connector's base URL may name its fields that are not secret only.
        let twilio = "name: t\ndisplay_name: T\nauth: basic\nfields: [{ name: sid, label: SID }, { name: token, label: Token, secret: true }]\napi_base_url: https://api.example/{sid}\n";
        assert!(Connector::parse(twilio, |_| None).is_ok());
        let leak = twilio.replace("{sid}", "{token}");
        assert!(Connector::parse(&leak, |_| None).is_err(), "a secret never goes into a URL");
    }

    #[test]
    fn a_parameter_value_cannot_leave_its_place_in_a_url() {
        let p = Parameter {
            name: "shop".into(),
            label: "Shop".into(),
            pattern: None,
            help: String::new(),
            example: String::new(),
        };
        for ok in ["acme", "acme-store", "eu", "com.au", "A_1"] {
            assert_eq!(p.check_shape(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "evil.example/x",
            "a#",
            "a@b",
            "a?b",
            "a b",
            "..",
            ".a",
            "a..b",
            "a:1",
            "%2e",
            "x".repeat(101).as_str(),
        ] {
            assert!(p.check_shape(bad).is_err(), "{bad:?}");
        }
    }
}
