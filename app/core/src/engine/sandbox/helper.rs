//! The sandbox helper: two small steps that run in a fresh single-threaded process
//! (the hub's own executable, started with a marker argument), where changing
//! credentials and limits is safe, and that end by `exec`ing the next program.
//!
//! - **Outside** (`OUTER`): close every inherited file descriptor above 2, open the
//!   directories to bind (while the hub's own rights still reach them), set the
//!   resource limits, drop to the sandbox's uid and gid when started as root, then
//!   exec bubblewrap.
//! - **Inside** (`INNER`, started by bubblewrap once the namespaces and mounts are
//!   made): restrict the filesystem with Landlock, load the seccomp filter, then exec
//!   the integration's program.
//!
//! Arguments, not the environment, carry the helper's instructions: the environment
//! is the program's, passed through untouched.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use nix::fcntl::{open, OFlag};
use nix::sys::resource::{setrlimit, Resource};
use nix::sys::stat::Mode;
use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};

/// The first argument that makes the hub's executable the outside step.
pub const OUTER: &str = "__hub-sandbox-outer";
/// The first argument that makes it the inside step.
pub const INNER: &str = "__hub-sandbox-inner";

/// The exit code of a helper that could not set the sandbox up (bubblewrap uses 1).
pub const SETUP_FAILED: i32 = 125;

/// If this process was started as one of the helper's steps, does it and never
/// returns. Call it first in `main`, before any thread is started.
pub fn dispatch() {
    let mut args = std::env::args_os().skip(1);
    let step = args.next();
    let rest: Vec<OsString> = args.collect();
    let failure = match step.as_ref().and_then(|s| s.to_str()) {
        Some(OUTER) => outer(rest),
        Some(INNER) => inner(rest),
        _ => return,
    };
    eprintln!("sandbox: {failure}");
    std::process::exit(SETUP_FAILED)
}

/// `[--uid N] [--limit NAME=VALUE]… -- <bubblewrap> <its arguments>…`; the group is
/// the uid's number too.
/// Returns only on failure, with why.
fn outer(args: Vec<OsString>) -> String {
    close_inherited();
    // The hub's own umask (a service's 077, say) would make what the sandbox creates
    // unreadable to the next process.
    nix::sys::stat::umask(Mode::from_bits_truncate(0o022));
    let mut id: Option<u32> = None;
    let mut it = args.into_iter();
    let mut limits = Vec::new();
    while let Some(a) = it.next() {
        match a.to_str() {
            Some("--uid") => match it.next().and_then(|v| v.to_str()?.parse().ok()) {
                Some(u) => id = Some(u),
                None => return "--uid N expected".to_owned(),
            },
            Some("--limit") => match it.next().as_deref().and_then(|s| s.to_str()).and_then(parse_limit) {
                Some(l) => limits.push(l),
                None => return "--limit NAME=VALUE expected".to_owned(),
            },
            Some("--") => break,
            _ => return format!("unexpected argument {a:?}"),
        }
    }
    let Some(bwrap) = it.next() else { return "no program after --".to_owned() };
    let mut bwrap_args: Vec<OsString> = it.collect();
    // Bubblewrap, already without the hub's rights, must walk the paths it binds:
    // the hub's own directories (a data directory of mode 700, say) are first bound
    // into a private staging area it can reach.
    if id.is_some() {
        if let Err(e) = stage(&mut bwrap_args) {
            return format!("cannot stage the sandbox's directories: {e}");
        }
    }
    for (resource, value) in limits {
        if let Err(e) = setrlimit(resource, value, value) {
            return format!("cannot set the limit {resource:?}: {e}");
        }
    }
    if let Some(id) = id {
        let (uid, gid) = (Uid::from_raw(id), Gid::from_raw(id));
        if let Err(e) = setgroups(&[]).and_then(|()| setresgid(gid, gid, gid)).and_then(|()| setresuid(uid, uid, uid)) {
            return format!("cannot change to uid {uid}: {e}");
        }
    }
    let e = std::process::Command::new(&bwrap).args(bwrap_args).exec();
    format!("cannot start {}: {e}", PathBuf::from(bwrap).display())
}

/// Where staged binds are seen, in the helper's own mount namespace only: an empty
/// directory of the hub's, so that the staging tmpfs hides no path a bind names.
const STAGE: &str = "/run/integration-hub-sandbox";

/// Binds every `--bind`/`--ro-bind` source outside the system directories onto a
/// fresh tmpfs at [`STAGE`] in a mount namespace of this process's own (so nothing
/// changes for the hub), and points bubblewrap at the staged paths.
fn stage(args: &mut [OsString]) -> Result<(), String> {
    use nix::mount::{mount, MsFlags};
    use nix::sched::{unshare, CloneFlags};
    let system = |p: &std::path::Path| p.starts_with("/usr") || p.starts_with("/etc");
    // Only bubblewrap's own options, before its `--`: never the program's arguments.
    let end = args.iter().position(|a| a == "--").unwrap_or(args.len());
    let binds: Vec<usize> = (0..end.saturating_sub(2))
        .filter(|&i| matches!(args[i].to_str(), Some("--bind" | "--ro-bind")) && !system(&PathBuf::from(&args[i + 1])))
        .map(|i| i + 1)
        .collect();
    if binds.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(STAGE).map_err(|e| format!("{STAGE}: {e}"))?;
    unshare(CloneFlags::CLONE_NEWNS).map_err(|e| format!("unshare: {e}"))?;
    let none: Option<&str> = None;
    mount(none, "/", none, MsFlags::MS_REC | MsFlags::MS_PRIVATE, none).map_err(|e| format!("private /: {e}"))?;
    // Opened in the new namespace (a bind takes its source from there), before the
    // staging tmpfs may hide the paths.
    let mut staged = Vec::with_capacity(binds.len());
    for at in binds {
        let src = PathBuf::from(&args[at]);
        let fd = open(&src, OFlag::O_PATH | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|e| format!("{}: {e}", src.display()))?;
        let is_dir = nix::sys::stat::fstat(&fd).is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR);
        staged.push((at, fd, is_dir));
    }
    mount(Some("tmpfs"), STAGE, Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV, Some("mode=0755,size=64k"))
        .map_err(|e| format!("tmpfs on {STAGE}: {e}"))?;
    for (n, (at, fd, is_dir)) in staged.into_iter().enumerate() {
        let target = PathBuf::from(format!("{STAGE}/{n}"));
        let made = if is_dir { std::fs::create_dir(&target) } else { std::fs::write(&target, b"") };
        made.map_err(|e| format!("{}: {e}", target.display()))?;
        let source = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&fd));
        mount(Some(source.as_str()), &target, none, MsFlags::MS_BIND | MsFlags::MS_REC, none)
            .map_err(|e| format!("bind {}: {e}", PathBuf::from(&args[at]).display()))?;
        args[at] = target.into_os_string();
    }
    Ok(())
}

fn parse_limit(s: &str) -> Option<(Resource, u64)> {
    let (name, value) = s.split_once('=')?;
    let resource = match name {
        "nofile" => Resource::RLIMIT_NOFILE,
        "nproc" => Resource::RLIMIT_NPROC,
        "fsize" => Resource::RLIMIT_FSIZE,
        "cpu" => Resource::RLIMIT_CPU,
        "data" => Resource::RLIMIT_DATA,
        "core" => Resource::RLIMIT_CORE,
        _ => return None,
    };
    Some((resource, value.parse().ok()?))
}

/// Closes every descriptor above stderr: one the hub's parent left open without
/// close-on-exec would otherwise pass through bubblewrap and Landlock untouched.
fn close_inherited() {
    let fds: Vec<i32> = match std::fs::read_dir("/proc/self/fd") {
        Ok(dir) => dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).filter(|fd| *fd > 2).collect(),
        Err(_) => (3..1024).collect(),
    };
    for fd in fds {
        // The directory's own descriptor is already closed: EBADF is expected.
        let _ = nix::unistd::close(fd);
    }
}

/// `[--ro PATH]… [--rw PATH]… [--report] -- <program> <its arguments>…`.
fn inner(args: Vec<OsString>) -> String {
    let mut read_only = Vec::new();
    let mut writable = Vec::new();
    let mut report = false;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.to_str() {
            Some("--ro") => read_only.extend(it.next().map(PathBuf::from)),
            Some("--rw") => writable.extend(it.next().map(PathBuf::from)),
            Some("--report") => report = true,
            Some("--") => break,
            _ => return format!("unexpected argument {a:?}"),
        }
    }
    let Some(program) = it.next() else { return "no program after --".to_owned() };
    let landlock = match super::fence::restrict(&read_only, &writable) {
        Ok(status) => status,
        Err(e) => return format!("Landlock: {e}"),
    };
    let seccomp = match super::seccomp::apply() {
        Ok(applied) => applied,
        Err(e) => return format!("seccomp: {e}"),
    };
    if report {
        eprintln!("hub-sandbox: landlock={landlock} seccomp={}", if seccomp { "on" } else { "off" });
    }
    let e = std::process::Command::new(&program).args(it).exec();
    format!("cannot start {}: {e}", String::from_utf8_lossy(program.as_bytes()))
}
