//! Landlock, the sandbox's second filesystem fence: inside bubblewrap's mounts, the
//! program may still only read the system and its checkout, and write only its
//! scratch directory and its own files. It also stops signals to processes outside
//! the sandbox and connections to abstract sockets made outside it, where the kernel
//! can (Landlock ABI 6).

use std::path::PathBuf;

use landlock::{
    path_beneath_rules, Access, AccessFs, CompatLevel, Compatible, Ruleset, RulesetAttr, RulesetCreatedAttr,
    RulesetStatus, Scope, ABI,
};

/// The newest ABI whose rights the fence asks for; an older kernel enforces what it
/// knows (best effort), and the status says so.
const ABI_ASKED: ABI = ABI::V6;

/// Restricts this process and its future children: `read_only` paths readable and
/// executable, `writable` ones fully usable, nothing else. Returns how much the kernel
/// enforced: `full`, `partial` or `none`.
pub fn restrict(read_only: &[PathBuf], writable: &[PathBuf]) -> Result<&'static str, String> {
    let status = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(AccessFs::from_all(ABI_ASKED))
        .and_then(|r| r.scope(Scope::from_all(ABI_ASKED)))
        .and_then(|r| r.create())
        .and_then(|r| r.add_rules(path_beneath_rules(read_only, AccessFs::from_read(ABI_ASKED))))
        .and_then(|r| r.add_rules(path_beneath_rules(writable, AccessFs::from_all(ABI_ASKED))))
        .and_then(|r| r.restrict_self())
        .map_err(|e| e.to_string())?;
    Ok(match status.ruleset {
        RulesetStatus::FullyEnforced => "full",
        RulesetStatus::PartiallyEnforced => "partial",
        RulesetStatus::NotEnforced => "none",
    })
}
