//! The sandbox every process the hub starts for an integration runs in: git on a
//! release's repository, the build command, and every run. Integration code is
//! untrusted; the hub holds other companies' credentials.
//!
//! It is one file (beside the helper process and the system-call filter) so the whole
//! confinement of a process can be read, and reviewed, in one place.
//!
//! The layers, outermost first (ARCHITECTURE.md says what each one stops):
//! 1. a cleared environment and no inherited descriptors (the helper's outside step);
//! 2. resource limits (open files, processes, file size, CPU time, memory);
//! 3. a dedicated unprivileged uid per process when the hub runs as root;
//! 4. bubblewrap's namespaces: user, mount (only the system read-only, the checkout,
//!    a size-capped scratch `/tmp`), PID (the hub is invisible), IPC, UTS, cgroup;
//!    no new user namespaces, a new session, killed with its parent;
//! 5. Landlock, a second filesystem fence inside the mounts;
//! 6. a seccomp filter (ptrace, mounts, namespaces, BPF, keyrings, `TIOCSTI`…);
//! 7. a network fence: the sandbox's uids cannot reach this machine's own addresses
//!    nor link-local ones (root only).
//!
//! [`Sandbox::probe`] runs a canary through all of it at start. If it cannot be
//! built, every build and run fails with "sandbox unavailable: <reason>" rather than
//! running bare, unless the operator turned the sandbox off.

pub mod helper;

mod fence;
mod network;
mod seccomp;

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

/// Where the helper executable is mounted inside the sandbox.
const HELPER_INSIDE: &str = "/.sandbox/helper";

/// The scratch directory: `HOME` and `TMPDIR` of every sandboxed program.
pub const SCRATCH: &str = "/tmp";

/// `PATH` inside the sandbox.
pub const PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// How many uids runs take turns on, above the base uid.
const UID_POOL: u32 = 256;

/// What of `/dev` a program may write: the usual devices and the capped `/dev/shm`.
const DEV_WRITABLE: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
    "/dev/ptmx",
    "/dev/pts",
    "/dev/shm",
];

/// System directories shown read-only (or as the symlinks they are on a merged-/usr
/// system).
const SYSTEM_DIRS: &[&str] = &["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

/// What of `/etc` a program needs: name lookups, TLS roots, time zones, the
/// dynamic linker's cache. Nothing else of `/etc` is shown.
const ETC: &[&str] = &[
    "/etc/alternatives",
    "/etc/ca-certificates",
    "/etc/ca-certificates.conf",
    "/etc/ssl",
    "/etc/pki",
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/host.conf",
    "/etc/nsswitch.conf",
    "/etc/gai.conf",
    "/etc/services",
    "/etc/protocols",
    "/etc/passwd",
    "/etc/group",
    "/etc/localtime",
    "/etc/timezone",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/mime.types",
    "/etc/python3",
    "/etc/python3.11",
    "/etc/gitconfig",
];

/// Resource limits of each sandboxed process tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    pub open_files: u64,
    /// Processes of the sandbox's uid (only with a dedicated uid, i.e. as root).
    pub processes: u64,
    pub file_size_mb: u64,
    pub cpu_secs: u64,
    /// Writable private memory per process (`RLIMIT_DATA`): cgroups are not used.
    pub memory_mb: u64,
    /// The scratch `/tmp`, a tmpfs.
    pub scratch_mb: u64,
    /// The tmpfs a build works in: what a build may write in all.
    pub build_mb: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            open_files: 1024,
            processes: 512,
            file_size_mb: 1024,
            cpu_secs: 3600,
            memory_mb: 4096,
            scratch_mb: 512,
            build_mb: 2048,
        }
    }
}

/// How the operator wants the sandbox.
#[derive(Clone, Debug)]
pub struct Policy {
    /// `HUB_SANDBOX=off` turns it off: programs run bare, and every page says so.
    pub enabled: bool,
    /// The executable with the helper's entry point (the hub itself).
    pub helper: PathBuf,
    /// The first of the sandbox's uids when the hub runs as root.
    pub uid_base: u32,
    pub limits: Limits,
    /// Keep programs off this machine's own addresses and link-local ones.
    pub block_local_network: bool,
    /// Keep them off private ranges (10/8, 172.16/12, 192.168/16, …) too.
    pub block_private_network: bool,
    /// Where the sandbox's `/etc` is prepared at start: a copy of the entries it needs,
    /// shown with one bind. Without it each entry is bound on its own, which costs
    /// bubblewrap a few milliseconds per process.
    pub etc_copy: Option<PathBuf>,
}

impl Policy {
    pub fn new(helper: PathBuf) -> Self {
        Self {
            enabled: true,
            helper,
            uid_base: 3_000_000,
            limits: Limits::default(),
            block_local_network: true,
            block_private_network: false,
            etc_copy: None,
        }
    }
}

/// What the probe found.
#[derive(Clone, Debug)]
enum State {
    Ready(Layers),
    Unavailable(String),
    Off,
}

/// The layers a sandboxed process gets on this machine.
#[derive(Clone, Debug)]
struct Layers {
    bwrap: PathBuf,
    /// Whether processes get a uid of their own (the hub runs as root).
    own_uid: bool,
    landlock: &'static str,
    seccomp: bool,
    /// `Ok` when the network fence is installed, else why not.
    network: Result<(), String>,
    /// What every process sees of the system, as bubblewrap arguments, and those
    /// paths again for Landlock: this machine's layout, read once at start.
    system: Vec<OsString>,
    system_read_only: Vec<PathBuf>,
}

/// How Landlock is attested when the kernel enforces all it was asked.
const LANDLOCK_FULL: &str = "fully enforced";

/// A directory or file of the hub's shown inside the sandbox.
#[derive(Clone, Debug)]
pub struct Mount {
    pub host: PathBuf,
    pub inside: PathBuf,
    pub writable: bool,
    /// The hub's own file: reached with the hub's rights. A path an integration
    /// chose (a local repository) is reached only with the sandbox's own.
    pub hubs_own: bool,
}

impl Mount {
    pub fn read_only(host: impl Into<PathBuf>, inside: impl Into<PathBuf>) -> Self {
        Self { host: host.into(), inside: inside.into(), writable: false, hubs_own: true }
    }

    /// A path an integration chose, shown read-only if the sandbox's uid may read it.
    pub fn foreign(host: impl Into<PathBuf>, inside: impl Into<PathBuf>) -> Self {
        Self { host: host.into(), inside: inside.into(), writable: false, hubs_own: false }
    }

    pub fn writable(host: impl Into<PathBuf>, inside: impl Into<PathBuf>) -> Self {
        Self { host: host.into(), inside: inside.into(), writable: true, hubs_own: true }
    }
}

/// One program to start in the sandbox.
#[derive(Debug)]
pub struct Job<'a> {
    /// The program and its arguments, as seen inside.
    pub argv: &'a [&'a str],
    /// What it sees of the hub's files; the first one is its working directory.
    pub mounts: &'a [Mount],
    /// Its whole environment besides `PATH`, `LANG`, `HOME` and `TMPDIR`.
    pub env: &'a [(String, String)],
    /// Its uid (see [`Sandbox::lease`]).
    pub uid: Option<u32>,
    /// A size-capped tmpfs (path, MB), its working directory instead of the first
    /// mount.
    pub tmpfs: Option<(&'a str, u64)>,
}

/// The sandbox, as probed at start.
#[derive(Debug)]
pub struct Sandbox {
    policy: Policy,
    state: State,
    busy: Mutex<BTreeSet<u32>>,
}

/// A uid a process tree owns while it runs; given back when dropped.
#[derive(Debug)]
pub struct Lease {
    uid: Option<u32>,
    sandbox: Option<Arc<Sandbox>>,
}

impl Lease {
    pub fn uid(&self) -> Option<u32> {
        self.uid
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let (Some(uid), Some(s)) = (self.uid, &self.sandbox) {
            if let Ok(mut busy) = s.busy.lock() {
                busy.remove(&uid);
            }
        }
    }
}

impl Sandbox {
    /// Probes each layer by running a canary through all of them. Never fails: a
    /// sandbox that cannot be built is `Unavailable`, and says why.
    pub fn probe(policy: Policy) -> Self {
        let state = if policy.enabled { probe_layers(&policy) } else { State::Off };
        Self { policy, state, busy: Mutex::new(BTreeSet::new()) }
    }

    /// A sandbox turned off (`HUB_SANDBOX=off`): programs run bare.
    pub fn off() -> Self {
        let mut policy = Policy::new(PathBuf::new());
        policy.enabled = false;
        Self::probe(policy)
    }

    /// Whether programs run without the sandbox because the operator said so.
    pub fn is_off(&self) -> bool {
        matches!(self.state, State::Off)
    }

    /// Why the sandbox cannot be used, when it cannot.
    pub fn unavailable(&self) -> Option<&str> {
        match &self.state {
            State::Unavailable(why) => Some(why),
            _ => None,
        }
    }

    /// Whether the sandbox runs with a layer missing that a fuller machine would have
    /// (the network fence, Landlock, seccomp): worth a warning at start.
    pub fn degraded(&self) -> bool {
        match &self.state {
            State::Ready(l) => {
                (l.network.is_err() && self.policy.block_local_network) || l.landlock != LANDLOCK_FULL || !l.seccomp
            }
            _ => true,
        }
    }

    /// One line for the log at start: what is active.
    pub fn summary(&self) -> String {
        match &self.state {
            State::Off => "sandbox OFF (HUB_SANDBOX=off): integration code runs with the hub's rights".to_owned(),
            State::Unavailable(why) => {
                format!("sandbox unavailable: {why}; builds and runs will fail until it is fixed")
            }
            State::Ready(_) => format!("sandbox on: {}", self.attestation(None)),
        }
    }

    /// What a process started with `uid` had: stored on each run and release.
    pub fn attestation(&self, uid: Option<u32>) -> String {
        let l = match &self.state {
            State::Off => return "unsandboxed (HUB_SANDBOX=off)".to_owned(),
            State::Unavailable(why) => return format!("sandbox unavailable: {why}"),
            State::Ready(l) => l,
        };
        let lim = &self.policy.limits;
        let mut parts = vec!["bubblewrap (user, mount, pid, ipc, uts, cgroup namespaces)".to_owned()];
        parts.push(match (l.own_uid, uid) {
            (true, Some(uid)) => format!("uid {uid}"),
            (true, None) => format!("uids from {}", self.policy.uid_base),
            (false, _) => "the hub's uid (not root)".to_owned(),
        });
        let processes = if l.own_uid { format!(", {} processes", lim.processes) } else { String::new() };
        parts.push(format!(
            "limits ({} files{processes}, {} MB per file, {} MB memory, {} s CPU, {} MB scratch)",
            lim.open_files, lim.file_size_mb, lim.memory_mb, lim.cpu_secs, lim.scratch_mb
        ));
        parts.push(if l.seccomp { "seccomp".to_owned() } else { "no seccomp (unknown architecture)".to_owned() });
        parts.push(format!("Landlock ({})", l.landlock));
        parts.push(match &l.network {
            Ok(()) if self.policy.block_private_network => "no local or private network".to_owned(),
            Ok(()) => "no local network".to_owned(),
            Err(why) => format!("local network reachable ({why})"),
        });
        parts.join(", ")
    }

    /// Where a mount is seen by the program: inside the sandbox, or the hub's own
    /// path when the sandbox is off.
    pub fn path<'m>(&self, mount: &'m Mount) -> &'m Path {
        if self.is_off() {
            &mount.host
        } else {
            &mount.inside
        }
    }

    /// The scratch directory as the program sees it.
    pub fn scratch(&self) -> PathBuf {
        if self.is_off() {
            std::env::temp_dir()
        } else {
            PathBuf::from(SCRATCH)
        }
    }

    /// A uid of its own for one process tree (when the hub runs as root).
    pub fn lease(self: &Arc<Self>) -> Lease {
        let own = matches!(&self.state, State::Ready(l) if l.own_uid);
        if !own {
            return Lease { uid: None, sandbox: None };
        }
        let base = self.policy.uid_base + 1;
        let Ok(mut busy) = self.busy.lock() else {
            return Lease { uid: Some(base + UID_POOL - 1), sandbox: None };
        };
        // More trees than uids share the last one.
        let uid = (base..base + UID_POOL).find(|u| !busy.contains(u)).unwrap_or(base + UID_POOL - 1);
        busy.insert(uid);
        Lease { uid: Some(uid), sandbox: Some(self.clone()) }
    }

    /// The command that starts `job`: through the helper and bubblewrap, or bare
    /// when the sandbox is off. Fails when the sandbox is unavailable.
    pub fn command(&self, job: &Job<'_>) -> Result<Command, String> {
        self.command_with(job, false)
    }

    fn command_with(&self, job: &Job<'_>, report: bool) -> Result<Command, String> {
        let (program, args) = job.argv.split_first().ok_or("nothing to run")?;
        let mut cmd = match &self.state {
            State::Unavailable(why) => return Err(format!("sandbox unavailable: {why}")),
            State::Off => {
                let mut cmd = Command::new(program);
                cmd.args(args);
                if let Some(m) = job.mounts.first() {
                    cmd.current_dir(&m.host);
                }
                cmd
            }
            State::Ready(layers) => self.wrapped(layers, job, report),
        };
        let scratch = self.scratch();
        cmd.env_clear()
            .envs(job.env.iter().map(|(k, v)| (k, v)))
            .env("PATH", PATH)
            .env("LANG", "C.UTF-8")
            .env("HOME", &scratch)
            .env("TMPDIR", &scratch)
            .stdin(Stdio::null());
        Ok(cmd)
    }

    fn wrapped(&self, layers: &Layers, job: &Job<'_>, report: bool) -> Command {
        let lim = &self.policy.limits;
        let mut cmd = Command::new(&self.policy.helper);
        cmd.arg(helper::OUTER).current_dir("/");
        if let Some(uid) = job.uid.filter(|_| layers.own_uid) {
            cmd.args(["--uid", &uid.to_string()]);
            cmd.args(["--limit", &format!("nproc={}", lim.processes)]);
        }
        let mb = 1024 * 1024;
        for limit in [
            format!("nofile={}", lim.open_files),
            format!("fsize={}", lim.file_size_mb * mb),
            format!("cpu={}", lim.cpu_secs),
            format!("data={}", lim.memory_mb * mb),
            "core=0".to_owned(),
        ] {
            cmd.args(["--limit", &limit]);
        }
        cmd.arg("--").arg(&layers.bwrap);
        cmd.args([
            "--unshare-all",
            "--unshare-user",
            "--share-net",
            "--disable-userns",
            "--die-with-parent",
            "--new-session",
        ]);
        cmd.args(["--cap-drop", "ALL", "--hostname", "sandbox"]);
        cmd.args(&layers.system);
        let scratch = (lim.scratch_mb * mb).to_string();
        // bubblewrap's /dev/shm would be an uncapped tmpfs: memory outside the limits.
        cmd.args(["--size", &scratch, "--tmpfs", "/dev/shm", "--size", &scratch, "--tmpfs", SCRATCH]);
        cmd.arg("--ro-bind").arg(&self.policy.helper).arg(HELPER_INSIDE);
        let mut read_only = layers.system_read_only.clone();
        // A build confines its command once more with the helper (see `nested`).
        read_only.push(HELPER_INSIDE.into());
        let mut writable: Vec<PathBuf> = DEV_WRITABLE.iter().chain([&SCRATCH]).map(PathBuf::from).collect();
        for m in job.mounts {
            // The helper stages `--bind`/`--ro-bind` sources with the hub's rights;
            // bubblewrap opens a `-try` one itself, with the sandbox's.
            let how = match (m.writable, m.hubs_own) {
                (true, _) => "--bind",
                (false, true) => "--ro-bind",
                (false, false) => "--ro-bind-try",
            };
            cmd.arg(how).arg(&m.host).arg(&m.inside);
            if m.writable { &mut writable } else { &mut read_only }.push(m.inside.clone());
        }
        if let Some((path, size)) = job.tmpfs {
            cmd.args(["--size", &(size * mb).to_string(), "--tmpfs", path, "--chdir", path]);
            writable.push(path.into());
        } else if let Some(m) = job.mounts.first() {
            cmd.arg("--chdir").arg(&m.inside);
        }
        cmd.args(["--", HELPER_INSIDE, helper::INNER]);
        for p in &read_only {
            cmd.arg("--ro").arg(p);
        }
        for p in &writable {
            cmd.arg("--rw").arg(p);
        }
        if report {
            cmd.arg("--report");
        }
        cmd.arg("--").args(job.argv);
        cmd
    }
}

impl Sandbox {
    /// The size of a build's tmpfs, in MB.
    pub fn build_mb(&self) -> u64 {
        self.policy.limits.build_mb
    }

    /// `argv` confined further, from inside the sandbox: the system read-only, and
    /// only `writable` writable (Landlock and seccomp again, stacked on the first).
    pub fn nested<'s>(&self, writable: &[&'s str], argv: &[&'s str]) -> Vec<String> {
        let mut out = vec![HELPER_INSIDE.to_owned(), helper::INNER.to_owned()];
        let system = match &self.state {
            State::Ready(l) => l.system_read_only.as_slice(),
            _ => &[],
        };
        for dir in system {
            out.extend(["--ro".to_owned(), dir.to_string_lossy().into_owned()]);
        }
        for dir in DEV_WRITABLE.iter().chain([&SCRATCH]).chain(writable) {
            out.extend(["--rw".to_owned(), (*dir).to_owned()]);
        }
        out.push("--".to_owned());
        out.extend(argv.iter().map(|a| (*a).to_owned()));
        out
    }
}

/// Finds bubblewrap, installs the network fence, and runs the canary.
fn probe_layers(policy: &Policy) -> State {
    if !policy.helper.is_file() {
        return State::Unavailable(format!("the helper {} is missing", policy.helper.display()));
    }
    let Some(bwrap) = find_program("bwrap") else {
        return State::Unavailable("bubblewrap (bwrap) is not installed".to_owned());
    };
    let own_uid = nix::unistd::geteuid().is_root();
    let network = match (policy.block_local_network, own_uid) {
        (false, own_uid) => {
            if own_uid {
                if let Err(e) = network::remove(policy.uid_base) {
                    tracing::warn!("cannot remove an earlier start's network fence: {e}");
                }
            }
            Err("turned off".to_owned())
        }
        (true, false) => Err("the hub does not run as root".to_owned()),
        (true, true) => network::install(policy.uid_base, policy.uid_base + UID_POOL, policy.block_private_network),
    };
    let seccomp = match seccomp::program() {
        Ok(p) => p.is_some(),
        Err(e) => return State::Unavailable(format!("the seccomp filter does not compile: {e}")),
    };
    // Absolute: the helper binds it from `/`.
    let etc_copy = policy.etc_copy.as_ref().map(|d| std::path::absolute(d).unwrap_or_else(|_| d.clone()));
    let etc = etc_copy.and_then(|dir| match copy_etc(&dir, own_uid.then_some(policy.uid_base)) {
        Ok(()) => Some(dir),
        Err(e) => {
            tracing::warn!(
                "cannot prepare the sandbox's /etc in {} ({e}); binding its entries one by one",
                dir.display()
            );
            None
        }
    });
    let (system, system_read_only) = system_view(etc.as_deref());
    let layers = Layers { bwrap, own_uid, landlock: "unknown", seccomp, network, system, system_read_only };
    let probe =
        Sandbox { policy: policy.clone(), state: State::Ready(layers.clone()), busy: Mutex::new(BTreeSet::new()) };
    let job = Job {
        argv: &["/bin/sh", "-c", "echo canary"],
        mounts: &[],
        env: &[],
        uid: own_uid.then_some(policy.uid_base + UID_POOL),
        tmpfs: None,
    };
    let out = match probe.command_with(&job, true).map(|mut c| c.output()) {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => return State::Unavailable(format!("the helper cannot start: {e}")),
        Err(e) => return State::Unavailable(e),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() || String::from_utf8_lossy(&out.stdout).trim() != "canary" {
        let why = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no reason given");
        return State::Unavailable(format!("the canary failed: {}", why.trim()));
    }
    let landlock = stderr
        .lines()
        .find_map(|l| l.strip_prefix("hub-sandbox: landlock="))
        .and_then(|l| l.split_whitespace().next())
        .map_or("unknown", |s| match s {
            "full" => LANDLOCK_FULL,
            "partial" => "partly enforced: an older kernel",
            _ => "not supported by this kernel",
        });
    State::Ready(Layers { landlock, ..layers })
}

/// The system as every sandboxed process sees it: `/usr`, the library links as they
/// are on this machine, `/etc` (the prepared copy with the live entries over it, or
/// each entry bound), a fresh `/proc` and `/dev`. Returns bubblewrap's arguments and
/// the paths Landlock lets it read.
fn system_view(etc_copy: Option<&Path>) -> (Vec<OsString>, Vec<PathBuf>) {
    let mut args: Vec<OsString> = Vec::new();
    let mut bind = |from: &OsStr, to: &str| args.extend([OsString::from("--ro-bind"), from.into(), to.into()]);
    bind("/usr".as_ref(), "/usr");
    let mut read_only: Vec<PathBuf> = ["/usr", "/etc", "/proc", "/dev"].iter().map(PathBuf::from).collect();
    let mut links = Vec::new();
    for dir in SYSTEM_DIRS {
        let path = Path::new(dir);
        match std::fs::read_link(path) {
            Ok(target) => links.extend([OsString::from("--symlink"), target.into_os_string(), (*dir).into()]),
            Err(_) if path.is_dir() => bind(dir.as_ref(), dir),
            Err(_) => continue,
        }
        read_only.push(path.into());
    }
    let existing = |entries: &'static [&'static str]| entries.iter().filter(|e| Path::new(e).exists());
    match etc_copy {
        Some(copy) => {
            bind(copy.as_os_str(), "/etc");
            // What changes while the hub runs (a new DNS server) stays live.
            existing(LIVE_ETC).for_each(|e| bind(e.as_ref(), e));
        }
        None => existing(ETC).for_each(|e| bind(e.as_ref(), e)),
    }
    args.extend(links);
    args.extend(["--proc", "/proc", "--dev", "/dev"].map(OsString::from));
    (args, read_only)
}

/// Entries of `/etc` bound live over the copy: they change while the hub runs.
const LIVE_ETC: &[&str] = &["/etc/resolv.conf", "/etc/hosts"];

/// Copies the [`ETC`] entries into `dir`, keeping modes and the links inside
/// directories (the certificate links point into `/usr`). A listed entry that is a
/// link is copied as what it names, unless that is under `/usr` (shown anyway).
/// Private keys are never copied. With `uid_base` (the sandbox's uids), the copy of
/// `/etc/passwd` names each of them, as programs that look their user up need (SSH
/// refuses to start for a uid without one).
fn copy_etc(dir: &Path, uid_base: Option<u32>) -> std::io::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    for entry in ETC {
        let Ok(real) = std::fs::canonicalize(entry) else { continue };
        let Some(name) = entry.strip_prefix("/etc/") else { continue };
        let target = dir.join(name);
        if real.starts_with("/usr") {
            std::os::unix::fs::symlink(&real, &target)?;
        } else {
            copy_tree(&real, &target)?;
        }
    }
    if let Some(base) = uid_base {
        let mut passwd = std::fs::read_to_string(dir.join("passwd")).unwrap_or_default();
        if !passwd.is_empty() && !passwd.ends_with('\n') {
            passwd.push('\n');
        }
        for uid in base..=base + UID_POOL {
            passwd.push_str(&format!(
                "sandbox{}:x:{uid}:{uid}:integration sandbox:{SCRATCH}:/usr/sbin/nologin\n",
                uid - base
            ));
        }
        std::fs::write(dir.join("passwd"), passwd)?;
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if from.file_name().is_some_and(|n| n == "private") {
        return Ok(());
    }
    let meta = std::fs::symlink_metadata(from)?;
    if meta.file_type().is_symlink() {
        std::os::unix::fs::symlink(std::fs::read_link(from)?, to)
    } else if meta.is_dir() {
        std::fs::create_dir(to)?;
        for child in std::fs::read_dir(from)? {
            let child = child?;
            // An entry the hub itself cannot read is not shown either.
            match copy_tree(&child.path(), &to.join(child.file_name())) {
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {}
                other => other?,
            }
        }
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(meta.permissions().mode()))
    } else if meta.is_file() {
        std::fs::copy(from, to).map(drop)
    } else {
        Ok(())
    }
}

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]).map(|d| d.join(name)).find(|p| p.is_file())
}
