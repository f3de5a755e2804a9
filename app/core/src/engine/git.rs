//! The few git operations a release build needs, as real `git` processes in the
//! sandbox: a repository is as untrusted as the code in it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::process::{run_lines, Exit};
use super::sandbox::{Job, Mount, Sandbox};

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

impl Git<'_> {
    /// Runs git with `args` in the checkout, never prompting for credentials.
    /// Returns stdout, or the last line git wrote to stderr.
    pub async fn run(&self, args: &[&str]) -> Result<String, String> {
        let mut mounts = vec![self.checkout.clone()];
        mounts.extend(self.source.clone());
        let env = [
            ("GIT_TERMINAL_PROMPT".to_owned(), "0".to_owned()),
            ("GIT_ASKPASS".to_owned(), "true".to_owned()),
            ("LC_ALL".to_owned(), "C".to_owned()),
        ];
        // The checkout and the source belong to other uids than the one git runs as,
        // and git honours `safe.directory` only from the global configuration (in the
        // scratch HOME, gone with the sandbox). A redirect is not followed: it could
        // lead to an address the egress guard refused.
        let mut argv = vec![
            "/bin/sh",
            "-c",
            "git config --global safe.directory '*' && exec git -c protocol.ext.allow=never -c http.followRedirects=false \"$@\"",
            "git",
        ];
        argv.extend_from_slice(args);
        let job = Job { argv: &argv, mounts: &mounts, env: &env, uid: self.uid, tmpfs: None };
        let cmd = self.sandbox.command(&job)?;
        // stdout and stderr arrive mixed: the answer (a commit id) is the last line
        // that is not a warning, and an error is git's last line.
        let mut lines: Vec<String> = Vec::new();
        let exit = run_lines(cmd, GIT_LIMIT, |line| {
            if !line.trim().is_empty() && lines.len() < 100 {
                lines.push(line);
            }
            std::future::ready(())
        })
        .await;
        let last = lines.last().map(|l| l.trim().to_owned());
        match exit {
            Exit::Finished(Some(0)) => Ok(lines
                .iter()
                .rev()
                .find(|l| !l.starts_with("warning:"))
                .map(|l| l.trim().to_owned())
                .unwrap_or_default()),
            Exit::Finished(_) => Err(last.unwrap_or_else(|| "git failed".to_owned())),
            Exit::TimedOut => {
                Err(format!("git {} took longer than {} s", args.first().unwrap_or(&""), GIT_LIMIT.as_secs()))
            }
            Exit::NotStarted(e) => Err(format!("git could not be started: {e}")),
        }
    }

    /// Clones `repository` (a URL or a local path) into the checkout, without
    /// checking out.
    pub async fn clone(&self, repository: &str) -> Result<(), String> {
        self.run(&["clone", "--quiet", "--no-checkout", "--no-hardlinks", "--", repository, "."]).await.map(drop)
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
