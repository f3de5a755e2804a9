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

/// `[--uid N --gid N] [--limit NAME=VALUE]… -- <bubblewrap> <its arguments>…`.
/// Returns only on failure, with why.
fn outer(args: Vec<OsString>) -> String {
    close_inherited();
    let mut ids: Option<(u32, u32)> = None;
    let mut it = args.into_iter();
    let mut limits = Vec::new();
    while let Some(a) = it.next() {
        match a.to_str() {
            Some("--uid") => {
                let uid = it.next().and_then(|v| v.to_str()?.parse().ok());
                let gid = (it.next().as_deref().and_then(|s| s.to_str()) == Some("--gid"))
                    .then(|| it.next().and_then(|v| v.to_str()?.parse().ok()))
                    .flatten();
                match (uid, gid) {
                    (Some(u), Some(g)) => ids = Some((u, g)),
                    _ => return "--uid N --gid N expected".to_owned(),
                }
            }
            Some("--limit") => match it.next().as_deref().and_then(|s| s.to_str()).and_then(parse_limit) {
                Some(l) => limits.push(l),
                None => return "--limit NAME=VALUE expected".to_owned(),
            },
            Some("--") => break,
            _ => return format!("unexpected argument {a:?}"),
        }
    }
    let Some(bwrap) = it.next() else { return "no program after --".to_owned() };
    let mut bwrap_args = Vec::new();
    let rest: Vec<OsString> = it.collect();
    let mut i = 0;
    while i < rest.len() {
        // A bind of a hub directory goes through a descriptor opened here, so that
        // bubblewrap (already without the hub's rights) never walks the hub's paths.
        let fd_form = match rest[i].to_str() {
            Some("--bind") => Some("--bind-fd"),
            Some("--ro-bind") => Some("--ro-bind-fd"),
            _ => None,
        };
        if let (Some(form), Some(src), Some(dst)) = (fd_form, rest.get(i + 1), rest.get(i + 2)) {
            let fd = match open(src.as_os_str(), OFlag::O_PATH, Mode::empty()) {
                Ok(fd) => std::os::fd::IntoRawFd::into_raw_fd(fd),
                Err(e) => return format!("cannot open {}: {e}", PathBuf::from(src).display()),
            };
            bwrap_args.extend([OsString::from(form), OsString::from(fd.to_string()), dst.clone()]);
            i += 3;
        } else {
            bwrap_args.push(rest[i].clone());
            i += 1;
        }
    }
    for (resource, value) in limits {
        if let Err(e) = setrlimit(resource, value, value) {
            return format!("cannot set the limit {resource:?}: {e}");
        }
    }
    if let Some((uid, gid)) = ids {
        let (uid, gid) = (Uid::from_raw(uid), Gid::from_raw(gid));
        if let Err(e) = setgroups(&[]).and_then(|()| setresgid(gid, gid, gid)).and_then(|()| setresuid(uid, uid, uid)) {
            return format!("cannot change to uid {uid}: {e}");
        }
    }
    let e = std::process::Command::new(&bwrap).args(bwrap_args).exec();
    format!("cannot start {}: {e}", PathBuf::from(bwrap).display())
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
