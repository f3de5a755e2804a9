//! Running a shell command as a real process, in its own process group, with its output
//! streamed to a callback and a time limit after which the whole group is killed.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;

/// The longest line [`run_lines`] passes on; a longer one comes in parts.
const LINE_MAX: u64 = 64 * 1024;

/// How a command ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code (or was killed by a signal: `None`).
    Finished(Option<i32>),
    /// It ran past the limit; its process group was killed.
    TimedOut,
    /// It could not be started.
    NotStarted(String),
}

/// Runs `cmd` (made by the sandbox) in its own process group with stdout and stderr
/// piped. Each line of either is passed to `on_line` as it arrives, in arrival order.
pub async fn run_lines<F>(cmd: std::process::Command, limit: Duration, mut on_line: impl FnMut(String) -> F) -> Exit
where
    F: std::future::Future<Output = ()>,
{
    let mut child = match piped(cmd).spawn() {
        Ok(c) => c,
        Err(e) => return Exit::NotStarted(e.to_string()),
    };
    let (tx, mut rx) = mpsc::channel::<String>(256);
    for pipe in [child.stdout.take().map(boxed), child.stderr.take().map(boxed)].into_iter().flatten() {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(pipe);
            let mut line = Vec::new();
            // A line is cut at LINE_MAX, so an endless line cannot hold memory.
            while let Ok(n) = (&mut reader).take(LINE_MAX).read_until(b'\n', &mut line).await {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&line).trim_end_matches(['\n', '\r']).to_owned();
                line.clear();
                if tx.send(text).await.is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    let pid = child.id();
    let work = async {
        while let Some(line) = rx.recv().await {
            on_line(line).await;
        }
        child.wait().await
    };
    match tokio::time::timeout(limit, work).await {
        Ok(Ok(status)) => Exit::Finished(status.code()),
        Ok(Err(e)) => Exit::NotStarted(e.to_string()),
        Err(_) => {
            if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
                kill_group(pid);
            }
            Exit::TimedOut
        }
    }
}

/// `cmd` with stdout and stderr piped, in a process group of its own (killed whole),
/// killed if dropped.
fn piped(cmd: std::process::Command) -> Command {
    let mut cmd = Command::from(cmd);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0).kill_on_drop(true);
    cmd
}

/// Which pipe a piece of output came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// A started process: its process group id, and its output in pieces as it arrives.
pub struct Started {
    pub pid: Option<i32>,
    pub child: tokio::process::Child,
    pub output: mpsc::Receiver<(Stream, Vec<u8>)>,
}

/// The shell that runs a release's `run` command.
pub const SHELL: &str = "/bin/sh";

/// Starts `cmd` (made by the sandbox) in its own process group, with its output in
/// raw pieces.
pub fn spawn(cmd: std::process::Command) -> std::io::Result<Started> {
    // The sandbox starts its helper by absolute path and sets no `pre_exec`, so the
    // standard library can use posix_spawn: fork would copy the hub's page tables
    // and cost milliseconds of CPU per run.
    let mut child = piped(cmd).spawn()?;
    // A small channel: a program that writes faster than the log is stored waits.
    let (tx, output) = mpsc::channel(8);
    let pipes = [
        child.stdout.take().map(|p| (Stream::Stdout, boxed(p))),
        child.stderr.take().map(|p| (Stream::Stderr, boxed(p))),
    ];
    for (stream, mut pipe) in pipes.into_iter().flatten() {
        let tx = tx.clone();
        tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match pipe.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.send((stream, buf[..n].to_vec())).await.is_err() {
                            break;
                        }
                    }
                }
            }
        });
    }
    let pid = child.id().and_then(|p| i32::try_from(p).ok());
    Ok(Started { pid, child, output })
}

type Pipe = Box<dyn tokio::io::AsyncRead + Unpin + Send>;

fn boxed(p: impl tokio::io::AsyncRead + Unpin + Send + 'static) -> Pipe {
    Box::new(p)
}

/// Kills the process group led by `pid`: the command and everything it started.
pub fn kill_group(pid: i32) {
    use nix::sys::signal::{killpg, Signal};
    use nix::unistd::Pid;
    let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
}

/// A process named by more than its pid: the boot it belongs to and its start time
/// (in clock ticks since boot), so a pid the kernel has since given to another process
/// is never taken for it. Stored as `"<boot id> <pid> <start>"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    boot: String,
    pid: i32,
    start: u64,
}

impl Identity {
    /// The identity of the live process `pid`, if it exists.
    pub fn of(pid: i32) -> Option<Self> {
        let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?.trim().to_owned();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name (field 2) is in parentheses and may hold spaces; the start
        // time is field 22, the 20th after the name.
        let start = stat.rsplit_once(')')?.1.split_whitespace().nth(19)?.parse().ok()?;
        Some(Self { boot, pid, start })
    }

    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split(' ');
        let (boot, pid, start) = (parts.next()?, parts.next()?.parse().ok()?, parts.next()?.parse().ok()?);
        Some(Self { boot: boot.to_owned(), pid, start })
    }

    pub fn to_text(&self) -> String {
        format!("{} {} {}", self.boot, self.pid, self.start)
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Whether this very process is still alive (not another one with its pid).
    pub fn is_alive(&self) -> bool {
        Self::of(self.pid).as_ref() == Some(self)
    }

    /// Kills the process group this process leads, if it is still this process.
    /// Returns whether it did.
    pub fn kill_group(&self) -> bool {
        if self.pid <= 1 || !self.is_alive() {
            return false;
        }
        kill_group(self.pid);
        true
    }
}

/// Kills a process group when dropped: held by the executor from the spawn on, so
/// every way out of a run (an error included) stops its program.
pub struct GroupGuard(pub Option<i32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0.filter(|p| *p > 1) {
            kill_group(pid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn collect(cmd: &str, limit: Duration) -> (Exit, Vec<String>) {
        let dir = std::env::temp_dir();
        let sandbox = crate::engine::sandbox::Sandbox::off();
        let mounts = [crate::engine::sandbox::Mount::writable(&dir, &dir)];
        let env = [("GREETING".to_owned(), "hi".to_owned())];
        let job = crate::engine::sandbox::Job {
            argv: &[SHELL, "-c", cmd],
            mounts: &mounts,
            env: &env,
            uid: None,
            tmpfs: None,
        };
        let lines = std::sync::Mutex::new(Vec::new());
        let exit = run_lines(sandbox.command(&job).expect("command"), limit, |l| {
            lines.lock().expect("lock").push(l);
            std::future::ready(())
        })
        .await;
        (exit, lines.into_inner().expect("lock"))
    }

    #[tokio::test]
    async fn passes_output_and_exit_code() {
        let (exit, lines) = collect("echo $GREETING; echo oops >&2; exit 3", Duration::from_secs(10)).await;
        assert_eq!(exit, Exit::Finished(Some(3)));
        assert!(lines.contains(&"hi".to_owned()) && lines.contains(&"oops".to_owned()), "{lines:?}");
    }

    #[tokio::test]
    async fn kills_the_whole_group_after_the_limit() {
        let marker = std::env::temp_dir().join(format!("hub-kill-test-{}", std::process::id()));
        let _ = std::fs::remove_file(&marker);
        // A child in the background would outlive a kill of the shell alone.
        let cmd = format!("(sleep 2; touch {}) & sleep 30", marker.display());
        let (exit, _) = collect(&cmd, Duration::from_millis(300)).await;
        assert_eq!(exit, Exit::TimedOut);
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert!(!marker.exists(), "the background child survived");
    }

    #[test]
    fn an_identity_names_one_process_and_not_a_later_one_with_its_pid() {
        let me = Identity::of(std::process::id() as i32).expect("this process");
        assert!(me.is_alive());
        assert_eq!(Identity::parse(&me.to_text()), Some(me.clone()));
        // The same pid started at another time is another process.
        let reused = Identity { start: me.start + 1, ..me.clone() };
        assert!(!reused.is_alive());
        assert!(!reused.kill_group(), "nothing is killed for a process that is gone");
        assert_eq!(Identity::parse("not an identity"), None);
    }
}
