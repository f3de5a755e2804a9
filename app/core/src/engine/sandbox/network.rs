//! The network fence: outbound traffic stays open (syncs call SaaS APIs), but the
//! sandbox's uids may not reach this machine's own addresses (the hub's port, its
//! database server, anything on loopback) or link-local ones (cloud metadata at
//! 169.254.169.254). Done with an nftables table matching the socket owner's uid,
//! so it costs a run nothing; it needs root, like the uids it matches.

use std::io::Write;
use std::process::{Command, Stdio};

/// The table's name: one per uid range, so two hubs on one machine keep their own.
pub fn table(base: u32) -> String {
    format!("integration_hub_sandbox_{base}")
}

/// The ruleset for uids `base..=last`. DNS to a resolver on this machine (a stub
/// resolver on 127.0.0.53, say) stays allowed, or name lookups would fail.
pub fn ruleset(base: u32, last: u32) -> String {
    let t = table(base);
    let who = format!("meta skuid {base}-{last}");
    format!(
        "table inet {t}\ndelete table inet {t}\ntable inet {t} {{\n  chain output {{\n    type filter hook output priority 0; policy accept;\n    {who} fib daddr type local udp dport 53 accept\n    {who} fib daddr type local tcp dport 53 accept\n    {who} fib daddr type local reject\n    {who} ip daddr 169.254.0.0/16 reject\n    {who} ip6 daddr fe80::/10 reject\n  }}\n}}\n"
    )
}

/// Installs (or replaces) the table. Returns why not, when it cannot.
pub fn install(base: u32, last: u32) -> Result<(), String> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("nft cannot be started ({e}); install nftables"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(ruleset(base, last).as_bytes()).map_err(|e| e.to_string())?;
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(format!("nft refused the rules: {}", err.lines().next().unwrap_or("no reason given")))
    }
}
