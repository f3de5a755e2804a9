//! What an admin types to create or edit an integration, and its rules. The browser
//! and the server check it with this same code.

use serde::{Deserialize, Serialize};

/// The integration form as typed. Missing fields (an unticked connector list) are empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IntegrationInput {
    pub name: String,
    pub description: String,
    /// Connector names, in the order chosen.
    pub connectors: Vec<String>,
    pub repository: String,
    pub branch: String,
    pub manifest_path: String,
    /// The time limit of each run, in whole minutes; empty means 10.
    pub run_timeout_minutes: String,
}

/// The time limit of a run when the form leaves it empty.
pub const DEFAULT_RUN_MINUTES: i64 = 10;

/// A rule one field broke; shown next to that field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

fn field(field: &str, message: impl Into<String>) -> FieldError {
    FieldError { field: field.to_owned(), message: message.into() }
}

/// Git ref names as typed in forms: no spaces, no `..`, nothing git rejects at the ends.
pub fn check_git_ref(name: &str) -> Result<(), String> {
    let bad = name.is_empty()
        || name.chars().count() > 200
        || name.contains("..")
        || name.contains(|c: char| c.is_whitespace() || c.is_control() || "~^:?*[\\\u{feff}".contains(c))
        || name.starts_with(['-', '/'])
        || name.ends_with(['/', '.'])
        || name.ends_with(".lock");
    if bad {
        Err(format!("{name:?} is not a branch, tag or commit name"))
    } else {
        Ok(())
    }
}

/// The host and port a repository is fetched from: `scheme://[user@]host[:port]/…`
/// or git's `[user@]host:path`; `None` for a path on the hub's machine.
pub fn repository_host(repository: &str) -> Option<(String, u16)> {
    let repository = repository.trim();
    if let Some((scheme, rest)) = repository.split_once("://") {
        let default = match scheme {
            "http" => 80,
            "https" => 443,
            "git" => 9418,
            "file" => return None,
            _ => 22,
        };
        // The authority ends where git's URL parser ends it: at a path, query or fragment.
        let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or_default();
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        return split_port(host_port, default);
    }
    // git's scp-like form: `[user@]host:path`, the host in brackets for IPv6.
    let after_user = match repository.split_once('@') {
        Some((user, rest)) if !user.contains(['/', ':', '[']) => rest,
        _ => repository,
    };
    if let Some(inner) = after_user.strip_prefix('[') {
        let (host, tail) = inner.split_once(']')?;
        return tail.starts_with(':').then(|| (format!("[{host}]"), 22));
    }
    let (host, _) = after_user.split_once(':')?;
    (!host.is_empty() && !host.contains('/')).then(|| (host.to_owned(), 22))
}

fn split_port(host_port: &str, default: u16) -> Option<(String, u16)> {
    let (host, port) = match host_port.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && (!h.starts_with('[') || h.ends_with(']')) => match p.parse::<u16>() {
            Ok(port) => (h, port),
            Err(_) => (host_port, default),
        },
        _ => (host_port, default),
    };
    (!host.is_empty()).then(|| (host.to_owned(), port))
}

impl IntegrationInput {
    /// Trims what was typed and checks every rule, returning the first broken one.
    pub fn validate(mut self) -> Result<Self, FieldError> {
        self.name = self.name.trim().to_owned();
        self.description = self.description.trim().to_owned();
        self.repository = self.repository.trim().to_owned();
        self.branch = self.branch.trim().to_owned();
        self.manifest_path = self.manifest_path.trim().trim_start_matches("./").to_owned();
        if self.name.is_empty() {
            return Err(field("name", "Enter a name."));
        }
        if self.name.chars().count() > 100 {
            return Err(field("name", "Use at most 100 characters."));
        }
        if self.description.chars().count() > 2000 {
            return Err(field("description", "Use at most 2000 characters."));
        }
        if self.repository.is_empty() {
            return Err(field("repository", "Enter a git URL or a path on the hub's machine."));
        }
        if self.repository.starts_with('-') || self.repository.contains(char::is_control) {
            return Err(field("repository", "This is not a git URL or path."));
        }
        if has_password(&self.repository) {
            return Err(field(
                "repository",
                "Leave the user name, password or token out of the URL: give them under Repository access, where a token is kept sealed.",
            ));
        }
        if self.branch.is_empty() {
            self.branch = "main".to_owned();
        }
        check_git_ref(&self.branch).map_err(|m| field("branch", m))?;
        if self.manifest_path.is_empty() {
            self.manifest_path = "PANDIUM.yaml".to_owned();
        }
        if self.manifest_path.starts_with('/') || self.manifest_path.split('/').any(|p| p == "..") {
            return Err(field(
                "manifest_path",
                "Give a path inside the repository, like PANDIUM.yaml or app/PANDIUM.yaml.",
            ));
        }
        self.run_timeout_minutes = self.run_timeout_minutes.trim().to_owned();
        if self.run_timeout_minutes.is_empty() {
            self.run_timeout_minutes = DEFAULT_RUN_MINUTES.to_string();
        }
        match self.run_timeout_minutes.parse::<i64>() {
            Ok(1..=1440) => {}
            _ => return Err(field("run_timeout_minutes", "Enter a whole number of minutes from 1 to 1440 (a day).")),
        }
        let mut seen = Vec::new();
        for c in &self.connectors {
            if seen.contains(c) {
                return Err(field("connectors", format!("{c} is chosen twice.")));
            }
            seen.push(c.clone());
        }
        Ok(self)
    }

    /// The run time limit in seconds, once validated.
    pub fn run_timeout_secs(&self) -> i64 {
        self.run_timeout_minutes.parse::<i64>().unwrap_or(DEFAULT_RUN_MINUTES) * 60
    }
}

/// How the builder authenticates to an integration's repository.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepoAccess {
    /// A public repository, or a path on the hub's machine.
    #[default]
    None,
    /// An SSH deploy key the hub made for this integration.
    Ssh,
    /// An HTTPS access token, with an optional user name.
    Token,
}

impl RepoAccess {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Ssh => "ssh",
            Self::Token => "token",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::None, Self::Ssh, Self::Token].into_iter().find(|a| a.as_str() == s)
    }
}

/// The user name git gives with a token when the admin leaves it empty: GitHub's
/// for installation and fine-grained tokens; GitLab takes any name with a token.
pub const TOKEN_USERNAME: &str = "x-access-token";

/// Whether a repository URL carries a password or token in it (`https://user:secret@…`,
/// or any user part of an HTTP(S) address, where a token alone often goes:
/// `https://ghp_…@github.com/…`), which would be stored and shown: the token belongs
/// under Repository access.
pub fn has_password(repository: &str) -> bool {
    let Some((scheme, rest)) = repository.trim().split_once("://") else { return false };
    if scheme == "file" {
        return false;
    }
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or_default();
    let http = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
    authority.rsplit_once('@').is_some_and(|(userinfo, _)| http || userinfo.contains(':'))
}

/// Whether an access token may be sent to `repository`: over HTTPS, or over plain
/// HTTP only to this machine's loopback (where it crosses no network).
pub fn token_may_go_to(repository: &str) -> bool {
    let repository = repository.trim();
    let Some((scheme, _)) = repository.split_once("://") else { return false };
    if scheme.eq_ignore_ascii_case("https") {
        return true;
    }
    scheme.eq_ignore_ascii_case("http")
        && repository_host(repository).is_some_and(|(host, _)| {
            host.eq_ignore_ascii_case("localhost")
                || host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> IntegrationInput {
        IntegrationInput { name: " Slack sync ".into(), repository: "/srv/git/slack".into(), ..Default::default() }
    }

    #[test]
    fn a_token_goes_only_over_https_or_to_loopback() {
        for (repository, may) in [
            ("https://github.com/a/b.git", true),
            ("HTTPS://github.com/a/b.git", true),
            ("http://127.0.0.1:8080/b.git", true),
            ("http://localhost/b.git", true),
            ("http://[::1]:9000/b.git", true),
            ("http://github.com/a/b.git", false),
            ("http://10.0.0.5/b.git", false),
            ("git@github.com:a/b.git", false),
            ("ssh://git@github.com/a/b.git", false),
            ("/srv/git/b", false),
        ] {
            assert_eq!(token_may_go_to(repository), may, "{repository}");
        }
        // An SSH address may name its user; an HTTP(S) one may not name anything.
        assert!(!has_password("ssh://git@github.com/a/b.git") && !has_password("git@github.com:a/b.git"));
        assert!(has_password("https://x-access-token@github.com/a/b.git"));
    }

    #[test]
    fn fills_defaults_and_trims() {
        let v = input().validate().expect("valid");
        assert_eq!(v.name, "Slack sync");
        assert_eq!(v.branch, "main");
        assert_eq!(v.manifest_path, "PANDIUM.yaml");
    }

    #[test]
    fn each_rule_names_its_field() {
        let cases: Vec<(IntegrationInput, &str)> = vec![
            (IntegrationInput { name: "  ".into(), ..input() }, "name"),
            (IntegrationInput { repository: "".into(), ..input() }, "repository"),
            (IntegrationInput { repository: "--upload-pack=x".into(), ..input() }, "repository"),
            (
                IntegrationInput { repository: "https://me:ghp_secret@github.com/a/b.git".into(), ..input() },
                "repository",
            ),
            (IntegrationInput { repository: "https://ghp_secret@github.com/a/b.git".into(), ..input() }, "repository"),
            (IntegrationInput { branch: "a b".into(), ..input() }, "branch"),
            (IntegrationInput { branch: "a..b".into(), ..input() }, "branch"),
            (IntegrationInput { manifest_path: "../x.yaml".into(), ..input() }, "manifest_path"),
            (IntegrationInput { connectors: vec!["a".into(), "a".into()], ..input() }, "connectors"),
            (IntegrationInput { run_timeout_minutes: "0".into(), ..input() }, "run_timeout_minutes"),
            (IntegrationInput { run_timeout_minutes: "ten".into(), ..input() }, "run_timeout_minutes"),
        ];
        for (i, expected) in cases {
            assert_eq!(i.clone().validate().expect_err("invalid").field, expected, "{i:?}");
        }
    }

    #[test]
    fn a_repository_names_its_host_or_is_a_local_path() {
        for (repository, host) in [
            ("https://git.example.com/team/app.git", Some(("git.example.com", 443))),
            ("http://127.0.0.1:8080/app.git", Some(("127.0.0.1", 8080))),
            ("ssh://git@[::1]:2222/srv/app.git", Some(("[::1]", 2222))),
            ("git://10.0.0.1/app", Some(("10.0.0.1", 9418))),
            ("git@github.com:team/app.git", Some(("github.com", 22))),
            ("localhost:app.git", Some(("localhost", 22))),
            ("https://127.0.0.1#@example.com/x", Some(("127.0.0.1", 443))),
            ("https://127.0.0.1?@example.com/x", Some(("127.0.0.1", 443))),
            ("[::1]:repo", Some(("[::1]", 22))),
            ("git@[::ffff:10.0.0.1]:repo", Some(("[::ffff:10.0.0.1]", 22))),
            ("/srv/git/app", None),
            ("file:///srv/git/app", None),
            ("./a:b", None),
        ] {
            assert_eq!(repository_host(repository), host.map(|(h, p)| (h.to_owned(), p)), "{repository}");
        }
    }
}
