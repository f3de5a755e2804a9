//! The few git operations a release build needs, as real `git` processes in the
//! sandbox: a repository is as untrusted as the code in it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::process::{run_lines, Exit};
use super::sandbox::{Job, Mount, Sandbox};
use crate::domain::integration::{repository_host, TOKEN_USERNAME};

/// How long one git command may take (a clone of a large repository included).
const GIT_LIMIT: Duration = Duration::from_secs(300);

/// Git on one checkout, in the sandbox: the checkout is the working directory, and a
/// repository on this machine is shown read-only at its own path.
pub struct Git<'a> {
    pub sandbox: &'a Sandbox,
    /// The checkout, writable.
    pub checkout: Mount,
    /// The source repository's `.git` (or bare) directory, when it is a local path.
    pub source: Option<Mount>,
    pub uid: Option<u32>,
}

/// The directory to show for a repository given as a local path or `file://` URL:
/// its `.git` when it has one, else itself (a bare repository), both resolved once
/// (no link is followed later). `None` for a remote, or a path that is not there.
pub fn local_source(repository: &str) -> Option<(PathBuf, PathBuf)> {
    let given = Path::new(repository.strip_prefix("file://").unwrap_or(repository));
    if !given.is_absolute() {
        return None;
    }
    let path = std::fs::canonicalize(given).ok()?;
    let path = path.as_path();
    let dot_git = path.join(".git");
    if dot_git.is_dir() {
        return Some((dot_git.clone(), dot_git));
    }
    // Only a directory git would take for a bare repository is shown; anything else
    // stays out of the sandbox, and git inside says it finds no repository.
    let bare = path.join("HEAD").is_file() && path.join("objects").is_dir() && path.join("refs").is_dir();
    bare.then(|| (path.to_path_buf(), path.to_path_buf()))
}

/// How git authenticates to a repository's host for a fetch.
#[derive(Clone, Debug, Default)]
pub enum Access {
    /// No credentials: a public repository, or a path on the hub's machine.
    #[default]
    None,
    /// An SSH deploy key (its private half, in OpenSSH form) and the host keys pinned
    /// for the host (`known_hosts` lines); with none pinned, the host's key is
    /// accepted and reported back (see [`Fetched::host_keys`]).
    DeployKey { private_key: String, known_hosts: Option<String> },
    /// An HTTPS access token and the user name given with it.
    Token { username: String, token: String },
}

impl Access {
    /// The secret this access carries: masked wherever git's words are kept.
    fn secret(&self) -> Option<&str> {
        match self {
            Self::None => None,
            Self::DeployKey { private_key, .. } => Some(private_key),
            Self::Token { token, .. } => Some(token),
        }
    }
}

/// What a fetch learned beyond the objects.
#[derive(Clone, Debug, Default)]
pub struct Fetched {
    /// The host keys SSH accepted on a first fetch with a deploy key (`known_hosts`
    /// lines), to pin.
    pub host_keys: Option<String>,
}

/// The start of the lines the wrapper writes to report the host keys SSH accepted.
const HOST_KEY_MARK: &str = "hub-known-host: ";

/// Runs git (`"$@"`) with the credentials of the environment, for this one process:
/// a deploy key and its known hosts are written to a private directory in the
/// scratch space (a tmpfs in the sandbox) and removed after; a token is answered by
/// a credential helper from the environment, so it is never in a URL, a file or the
/// checkout's configuration. Other credential helpers (the system's) are not asked.
const GIT_WITH_ACCESS: &str = r#"git config --global safe.directory '*' || exit 125
helper=
if [ -n "${HUB_GIT_TOKEN-}" ]; then
  helper='!f() { test "$1" = get || exit 0; echo "username=$HUB_GIT_USERNAME"; echo "password=$HUB_GIT_TOKEN"; }; f'
fi
set -- git -c protocol.ext.allow=never -c http.followRedirects=false -c credential.helper= -c "credential.helper=$helper" "$@"
if [ -z "${HUB_GIT_KEY-}" ]; then
  # No key: SSH offers none and never asks, so a private host says so at once.
  export GIT_SSH_VARIANT=ssh
  export GIT_SSH_COMMAND="ssh -F /dev/null -o IdentitiesOnly=yes -o IdentityFile=none -o IdentityAgent=none -o BatchMode=yes -o ConnectTimeout=30 -o UserKnownHostsFile=/dev/null -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=accept-new -o LogLevel=ERROR"
  exec "$@"
fi
umask 077
dir=$(mktemp -d) || exit 125
trap 'rm -rf "$dir"' EXIT
printf '%s\n' "$HUB_GIT_KEY" > "$dir/key" || exit 125
unset HUB_GIT_KEY
printf '%s' "${HUB_GIT_KNOWN_HOSTS-}" > "$dir/known_hosts" || exit 125
strict=yes
[ -n "${HUB_GIT_KNOWN_HOSTS-}" ] || strict=accept-new
export GIT_SSH_VARIANT=ssh
export GIT_SSH_COMMAND="ssh -F /dev/null -i '$dir/key' -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes -o ConnectTimeout=30 -o UserKnownHostsFile='$dir/known_hosts' -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=$strict -o HashKnownHosts=no -o UpdateHostKeys=no"
"$@"
status=$?
if [ "$status" -eq 0 ] && [ "$strict" = accept-new ]; then
  sed 's/^/hub-known-host: /' "$dir/known_hosts"
fi
exit "$status"
"#;

/// Why a git command failed: its words (secrets masked), and how.
#[derive(Clone, Debug)]
pub struct GitError {
    /// What git and SSH wrote, in order (at most 100 lines).
    pub lines: Vec<String>,
    /// The last of them, or what went wrong around git.
    pub last: String,
}

impl std::fmt::Display for GitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.last)
    }
}

impl Git<'_> {
    /// Runs git with `args` in the checkout, never prompting for credentials.
    /// Returns stdout, or the last line git wrote to stderr.
    pub async fn run(&self, args: &[&str]) -> Result<String, String> {
        self.run_with(args, &Access::None).await.map(|(out, _)| out).map_err(|e| e.last)
    }

    /// Runs git with `access` for this one process. Returns the answer (the last line
    /// that is not a warning) and every line.
    async fn run_with(&self, args: &[&str], access: &Access) -> Result<(String, Vec<String>), GitError> {
        let mut mounts = vec![self.checkout.clone()];
        mounts.extend(self.source.clone());
        let mut env = vec![
            ("GIT_TERMINAL_PROMPT".to_owned(), "0".to_owned()),
            ("GIT_ASKPASS".to_owned(), "true".to_owned()),
            ("LC_ALL".to_owned(), "C".to_owned()),
        ];
        match access {
            Access::None => {}
            Access::DeployKey { private_key, known_hosts } => {
                env.push(("HUB_GIT_KEY".to_owned(), private_key.trim().to_owned()));
                env.push(("HUB_GIT_KNOWN_HOSTS".to_owned(), known_hosts.clone().unwrap_or_default()));
            }
            Access::Token { username, token } => {
                let username = if username.is_empty() { TOKEN_USERNAME } else { username };
                env.push(("HUB_GIT_USERNAME".to_owned(), username.to_owned()));
                env.push(("HUB_GIT_TOKEN".to_owned(), token.clone()));
            }
        }
        // The checkout and the source belong to other uids than the one git runs as,
        // and git honours `safe.directory` only from the global configuration (in the
        // scratch HOME, gone with the sandbox). A redirect is not followed: it could
        // lead to an address the egress guard refused.
        let mut argv = vec!["/bin/sh", "-c", GIT_WITH_ACCESS, "git"];
        argv.extend_from_slice(args);
        let job = Job { argv: &argv, mounts: &mounts, env: &env, uid: self.uid, tmpfs: None };
        let cmd = self.sandbox.command(&job).map_err(|e| GitError { lines: Vec::new(), last: e })?;
        // stdout and stderr arrive mixed: the answer (a commit id) is the last line
        // that is not a warning, and an error is git's last line.
        let mut lines: Vec<String> = Vec::new();
        let mut host_keys: Vec<String> = Vec::new();
        let secret = access.secret().map(str::trim).filter(|s| !s.is_empty());
        let exit = run_lines(cmd, GIT_LIMIT, |line| {
            if let Some(key) = line.strip_prefix(HOST_KEY_MARK) {
                host_keys.push(key.to_owned());
            } else if !line.trim().is_empty() && lines.len() < 100 {
                lines.push(match secret {
                    Some(s) => line.replace(s, "[secret]"),
                    None => line,
                });
            }
            std::future::ready(())
        })
        .await;
        let last = lines.last().map(|l| l.trim().to_owned());
        let fail = |last: String| GitError { lines: lines.clone(), last };
        match exit {
            Exit::Finished(Some(0)) => {
                let answer = lines
                    .iter()
                    .rev()
                    .find(|l| !l.starts_with("warning:"))
                    .map(|l| l.trim().to_owned())
                    .unwrap_or_default();
                let mut all = lines.clone();
                all.extend(host_keys.into_iter().map(|k| format!("{HOST_KEY_MARK}{k}")));
                Ok((answer, all))
            }
            Exit::Finished(_) => Err(fail(last.clone().unwrap_or_else(|| "git failed".to_owned()))),
            Exit::TimedOut => {
                Err(fail(format!("git {} took longer than {} s", args.first().unwrap_or(&""), GIT_LIMIT.as_secs())))
            }
            Exit::NotStarted(e) => Err(fail(format!("git could not be started: {e}"))),
        }
    }

    /// Clones `repository` (a URL or a local path) into the checkout with `access`,
    /// without checking out. The credentials are given to this command only: later
    /// commands work on the local clone.
    pub async fn clone(&self, repository: &str, access: &Access) -> Result<Fetched, GitError> {
        let args = ["clone", "--quiet", "--no-checkout", "--no-hardlinks", "--", repository, "."];
        let (_, lines) = self.run_with(&args, access).await?;
        let keys: Vec<&str> = lines.iter().filter_map(|l| l.strip_prefix(HOST_KEY_MARK)).collect();
        let host_keys = (!keys.is_empty()).then(|| keys.join("\n"));
        Ok(Fetched { host_keys })
    }

    /// The commit a branch, tag or commit id names in a fresh clone, trying them in
    /// that order; `None` when it names nothing.
    pub async fn resolve(&self, name: &str) -> Option<String> {
        for candidate in [format!("refs/remotes/origin/{name}"), format!("refs/tags/{name}"), name.to_owned()] {
            let spec = format!("{candidate}^{{commit}}");
            if let Ok(sha) = self.run(&["rev-parse", "--verify", "--quiet", "--end-of-options", &spec]).await {
                if !sha.is_empty() {
                    return Some(sha);
                }
            }
        }
        None
    }

    pub async fn checkout(&self, sha: &str) -> Result<(), String> {
        self.run(&["checkout", "--quiet", "--detach", sha]).await.map(drop)
    }
}

/// The SHA-256 fingerprints of the keys in `known_hosts` lines, as SSH shows them.
pub fn fingerprints(known_hosts: &str) -> Vec<String> {
    known_hosts
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut fields = l.split_whitespace();
            let (_hosts, kind, key) = (fields.next()?, fields.next()?, fields.next()?);
            let key = ssh_key::PublicKey::from_openssh(&format!("{kind} {key}")).ok()?;
            Some(key.fingerprint(ssh_key::HashAlg::Sha256).to_string())
        })
        .collect()
}

/// Checks pasted `known_hosts` lines: each names hosts, a key type and a key.
pub fn check_known_hosts(text: &str) -> Result<String, String> {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    if lines.is_empty() {
        return Err("Paste at least one line as `ssh-keyscan` prints it: host, key type and key.".to_owned());
    }
    for (i, line) in lines.iter().enumerate() {
        if fingerprints(line).is_empty() {
            return Err(format!(
                "Line {} is not a known_hosts line (host, key type and key, as `ssh-keyscan` prints them).",
                i + 1
            ));
        }
    }
    Ok(lines.join("\n"))
}

/// A failed fetch of `repository` in words a developer can act on, from what git
/// and SSH said (`pinned`: the host keys the hub had pinned).
pub fn explain_fetch(e: &GitError, repository: &str, access: &Access, pinned: Option<&str>) -> String {
    let text = e.lines.join("\n").to_lowercase();
    let has = |needle: &str| text.contains(needle);
    let said = e
        .lines
        .iter()
        .rev()
        .find(|l| {
            let l = l.to_lowercase();
            l.contains("denied") || l.contains("fatal:") || l.contains("remote:") || l.contains("ssh:")
        })
        .unwrap_or(&e.last)
        .trim()
        .to_owned();
    let host = repository_host(repository).map_or_else(|| repository.to_owned(), |(h, _)| h);
    let pinned = pinned.map(fingerprints).unwrap_or_default().join(", ");
    if has("remote host identification has changed") {
        let shown = e
            .lines
            .iter()
            .skip_while(|l| !l.contains("sent by the remote host is"))
            .nth(1)
            .map(|l| l.trim().trim_end_matches('.').to_owned())
            .unwrap_or_else(|| "another key".to_owned());
        return format!(
            "The SSH host key of {host} changed: the hub pinned {pinned}, and the host now shows {shown}. Nothing was \
             fetched. If the host's key really changed, forget the pinned key under Repository access and build again."
        );
    }
    if has("host key verification failed") || has("host key is known for") {
        return format!(
            "The SSH host {host} did not show the pinned host key ({pinned}). Nothing was fetched. If the host's key \
             really changed, forget the pinned key under Repository access and build again."
        );
    }
    if has("no user exists for uid") {
        return "SSH cannot start in the sandbox: its uid has no user entry (the sandbox's copy of /etc could not be \
                prepared; see the hub's log)."
            .to_owned();
    }
    if has("permission denied (publickey") || has("permission denied, please try again") {
        return match access {
            Access::DeployKey { .. } => format!(
                "{host} refused the deploy key. Add the integration's public key (under Repository access) to the \
                 repository's deploy keys; read access is enough. The host said: {said}"
            ),
            _ => format!(
                "{host} asks for an SSH key. Choose an SSH deploy key under Repository access and add its public key \
                 to the repository's deploy keys. The host said: {said}"
            ),
        };
    }
    let auth_words = ["authentication failed", "could not read username", "could not read password", "access denied"];
    if auth_words.iter().any(|w| has(w)) || has("invalid username or password") || has(" 401") || has(" 403") {
        return match access {
            Access::Token { .. } => format!(
                "{host} refused the access token. Check that it is valid, not expired, and may read this repository \
                 (and the user name, for hosts that need one). The host said: {said}"
            ),
            _ => format!(
                "{host} asks for credentials: the repository is private. Give a deploy key or an access token under \
                 Repository access. The host said: {said}"
            ),
        };
    }
    let missing = has("not found") || has("does not appear to be a git repository") || has("does not exist");
    if missing && repository_host(repository).is_none() {
        return format!(
            "Cannot fetch the repository {repository}: there is no git repository at that path, or the sandbox's \
             user may not read it. git said: {said}"
        );
    }
    if missing {
        return format!(
            "{host} has no repository at {repository}, or does not show it to these credentials. The host said: {said}"
        );
    }
    if has("could not resolve host") || has("could not resolve hostname") || has("name or service not known") {
        return format!("The name {host} could not be resolved. Nothing was fetched.");
    }
    let network = ["connection refused", "couldn't connect", "failed to connect", "timed out", "unreachable"];
    if network.iter().any(|w| has(w)) || has("no route to host") || has("connection reset") {
        return format!("{host} could not be reached: {said}");
    }
    format!("Cannot fetch the repository {repository}: {}", e.last)
}

/// Git on a repository the hub itself made from its own files (the samples), outside
/// the sandbox: nothing in it comes from an integration's author.
pub async fn trusted(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = tokio::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = match tokio::time::timeout(GIT_LIMIT, out).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => return Err(format!("git could not be started: {e}")),
        Err(_) => return Err(format!("git took longer than {} s", GIT_LIMIT.as_secs())),
    };
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("git failed").trim().to_owned())
    }
}
