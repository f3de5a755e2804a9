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

/// The private ranges an operator may close too (RFC 1918, shared address space,
/// unique local IPv6).
const PRIVATE_V4: &str = "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10";
const PRIVATE_V6: &str = "fc00::/7";

/// The ruleset for uids `base..=last`. DNS to a resolver on this machine (a stub
/// resolver on 127.0.0.53, say) stays allowed, or name lookups would fail.
pub fn ruleset(base: u32, last: u32, private: bool) -> String {
    let t = table(base);
    let who = format!("meta skuid {base}-{last}");
    let mut rules = vec![
        format!("{who} fib daddr type local udp dport 53 accept"),
        format!("{who} fib daddr type local tcp dport 53 accept"),
        format!("{who} fib daddr type local reject"),
        // Link-local, and the cloud metadata services that are elsewhere.
        format!("{who} ip daddr {{ 169.254.0.0/16, 100.100.100.200 }} reject"),
        format!("{who} ip6 daddr {{ fe80::/10, fd00:ec2::254 }} reject"),
    ];
    if private {
        rules.push(format!("{who} ip daddr {{ {PRIVATE_V4} }} reject"));
        rules.push(format!("{who} ip6 daddr {PRIVATE_V6} reject"));
    }
    let rules: String = rules.iter().map(|r| format!("    {r}\n")).collect();
    format!(
        "table inet {t}\ndelete table inet {t}\ntable inet {t} {{\n  chain output {{\n    type filter hook output priority 0; policy accept;\n{rules}  }}\n}}\n"
    )
}

/// Installs (or replaces) the table. Returns why not, when it cannot.
pub fn install(base: u32, last: u32, private: bool) -> Result<(), String> {
    apply(&ruleset(base, last, private))
}

/// Removes the table an earlier start installed, if any: a hub started with the
/// fence turned off must not keep an old one (the kernel keeps it until a reboot).
pub fn remove(base: u32) -> Result<(), String> {
    let t = table(base);
    // Declaring the table first makes the delete succeed whether it existed or not.
    apply(&format!("table inet {t}\ndelete table inet {t}\n"))
}

fn apply(script: &str) -> Result<(), String> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("nft cannot be started ({e}); install nftables"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(script.as_bytes()).map_err(|e| e.to_string())?;
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(format!("nft refused the rules: {}", err.lines().next().unwrap_or("no reason given")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_name_the_uids_and_close_private_ranges_only_when_asked() {
        let local = ruleset(3_000_000, 3_000_256, false);
        assert!(local.contains("meta skuid 3000000-3000256 fib daddr type local reject"), "{local}");
        assert!(local.contains("169.254.0.0/16") && !local.contains("10.0.0.0/8"), "{local}");
        let private = ruleset(3_000_000, 3_000_256, true);
        assert!(private.contains("10.0.0.0/8") && private.contains("fc00::/7"), "{private}");
        // nftables itself accepts both (a check only: nothing is changed).
        if nix::unistd::geteuid().is_root() && Command::new("nft").arg("--version").output().is_ok() {
            for rules in [local, private] {
                let mut nft = Command::new("nft")
                    .args(["-c", "-f", "-"])
                    .stdin(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("nft");
                nft.stdin.take().expect("stdin").write_all(rules.as_bytes()).expect("write");
                let out = nft.wait_with_output().expect("nft ran");
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            }
        }
    }
}
