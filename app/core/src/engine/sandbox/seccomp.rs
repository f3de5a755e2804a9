//! The seccomp filter every sandboxed program runs under: the system calls that reach
//! other processes or the kernel's own configuration answer `EPERM`; everything else
//! is allowed, so ordinary programs (shells, Python, Node, compilers) run unchanged.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule, TargetArch,
};

/// What is refused outright: tracing and reading other processes, mounts and new
/// namespaces, kernel keyrings, BPF and perf, module and kernel loading, and the
/// asynchronous interfaces that bypass the other checks (io_uring, userfaultfd).
const DENIED: &[i64] = &[
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_kcmp,
    libc::SYS_pidfd_getfd,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_open_tree,
    libc::SYS_move_mount,
    libc::SYS_fsopen,
    libc::SYS_fsconfig,
    libc::SYS_fsmount,
    libc::SYS_fspick,
    libc::SYS_mount_setattr,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_userfaultfd,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_reboot,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_syslog,
    libc::SYS_acct,
    libc::SYS_quotactl,
    libc::SYS_open_by_handle_at,
    libc::SYS_name_to_handle_at,
    libc::SYS_personality,
];

/// `ioctl` requests refused: pushing input into the terminal (`TIOCSTI`) or the
/// console (`TIOCLINUX`) would type commands into whatever reads it outside.
const DENIED_IOCTLS: &[u64] = &[libc::TIOCSTI, libc::TIOCLINUX];

const X32_SYSCALL_BIT: i64 = 0x4000_0000;

fn arch() -> Option<TargetArch> {
    TargetArch::try_from(std::env::consts::ARCH).ok()
}

/// The compiled filter; `None` on an architecture seccompiler does not know.
pub fn program() -> Result<Option<BpfProgram>, String> {
    let Some(arch) = arch() else { return Ok(None) };
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = DENIED.iter().map(|n| (*n, Vec::new())).collect();
    // On x86-64 the same calls through the x32 ABI carry the same architecture and
    // their number with bit 30 set: refused too.
    if matches!(arch, TargetArch::x86_64) {
        rules.extend(DENIED.iter().map(|n| (*n | X32_SYSCALL_BIT, Vec::new())));
    }
    let ioctls = DENIED_IOCTLS
        .iter()
        .map(|request| {
            let c = SeccompCondition::new(1, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, *request)?;
            SeccompRule::new(vec![c])
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    rules.insert(libc::SYS_ioctl, ioctls);
    let filter = SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Errno(libc::EPERM as u32), arch)
        .map_err(|e| e.to_string())?;
    BpfProgram::try_from(filter).map(Some).map_err(|e| e.to_string())
}

/// Loads the filter into this process (inherited by everything it starts). Returns
/// whether one was loaded.
pub fn apply() -> Result<bool, String> {
    match program()? {
        Some(p) => seccompiler::apply_filter(&p).map(|()| true).map_err(|e| e.to_string()),
        None => Ok(false),
    }
}
