//! The few git operations a release build needs, as real `git` processes.

use std::path::Path;
use std::time::Duration;

use tokio::process::Command;

/// How long one git command may take (a clone of a large repository included).
const GIT_LIMIT: Duration = Duration::from_secs(300);

/// Runs git with `args` in `dir`, never prompting for credentials. Returns stdout, or
/// the last line git wrote to stderr.
pub async fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let mut cmd = Command::new("git");
    cmd.args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "true")
        .env("LC_ALL", "C")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let out = match tokio::time::timeout(GIT_LIMIT, cmd.output()).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => return Err(format!("git could not be started: {e}")),
        Err(_) => {
            return Err(format!("git {} took longer than {} s", args.first().unwrap_or(&""), GIT_LIMIT.as_secs()))
        }
    };
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("git failed");
        Err(last.trim().to_owned())
    }
}

/// Clones `repository` (a URL or a local path) into `dest`, without checking out.
pub async fn clone(repository: &str, dest: &Path) -> Result<(), String> {
    // git runs in the parent directory, so a relative `dest` would be resolved twice.
    let dest = std::path::absolute(dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    let parent = dest.parent().unwrap_or(Path::new("/"));
    let dest = dest.to_string_lossy();
    git(parent, &["clone", "--quiet", "--no-checkout", "--", repository, &dest]).await.map(drop)
}

/// The commit a branch, tag or commit id names in a fresh clone, trying them in that
/// order; `None` when it names nothing.
pub async fn resolve(dir: &Path, name: &str) -> Option<String> {
    for candidate in [format!("refs/remotes/origin/{name}"), format!("refs/tags/{name}"), name.to_owned()] {
        let spec = format!("{candidate}^{{commit}}");
        if let Ok(sha) = git(dir, &["rev-parse", "--verify", "--quiet", "--end-of-options", &spec]).await {
            return Some(sha);
        }
    }
    None
}

pub async fn checkout(dir: &Path, sha: &str) -> Result<(), String> {
    git(dir, &["checkout", "--quiet", "--detach", sha]).await.map(drop)
}
