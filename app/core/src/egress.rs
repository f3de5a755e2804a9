//! The egress guard: the hub calls URLs on a user's say-so (webhook receivers, OAuth2
//! token endpoints, repositories), and none of them may turn the hub into a way into
//! its own network. Loopback, link-local (cloud metadata), private, shared,
//! multicast and reserved addresses are refused, after name resolution and on every
//! connection, unless the operator lists the range (`HUB_ALLOW_PRIVATE_TARGETS`).
//!
//! Names are resolved by [`Egress::client`]'s resolver, so the address checked is the
//! address connected to (no second lookup to rebind); an address literal in a URL
//! never reaches a resolver, so [`Egress::check_literal`] runs before each request.
//! Answers are read up to a cap ([`read_capped`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;

/// Which addresses the hub may call on a user's say-so.
#[derive(Clone, Debug, Default)]
pub struct Egress {
    /// Ranges the operator allowed although they are internal.
    allowed: Arc<[IpNet]>,
}

/// Why a URL is refused, in words for the field it came from.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error(
        "{host} is {address}, {kind} address: the hub does not send requests into its own network. \
         An operator can allow the range with HUB_ALLOW_PRIVATE_TARGETS."
    )]
    Internal { host: String, address: IpAddr, kind: &'static str },
    #[error("This is not an address the hub can call.")]
    NoHost,
}

impl Egress {
    /// Refuses every internal address (the hub's default).
    pub fn strict() -> Self {
        Self::default()
    }

    /// Allows the internal ranges in `list`: CIDR ranges or single addresses,
    /// separated by commas or spaces (`127.0.0.0/8, ::1`). Returns which entry is
    /// not a range.
    pub fn allowing(list: &str) -> Result<Self, String> {
        let mut allowed = Vec::new();
        for entry in list.split([',', ' ']).map(str::trim).filter(|e| !e.is_empty()) {
            let net = entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{entry:?} is not an address range such as 10.0.0.0/8 or ::1"))?;
            allowed.push(net);
        }
        Ok(Self { allowed: allowed.into() })
    }

    /// The ranges the operator allowed.
    pub fn allowed(&self) -> &[IpNet] {
        &self.allowed
    }

    /// `None` when the hub may call `address`; else what kind of address it is.
    pub fn refuses(&self, address: IpAddr) -> Option<&'static str> {
        let kind = internal(address)?;
        (!self.allowed.iter().any(|n| n.contains(&address))).then_some(kind)
    }

    fn refuse(&self, host: &str, address: IpAddr) -> Result<(), Refused> {
        match self.refuses(address) {
            Some(kind) => Err(Refused::Internal { host: host.to_owned(), address, kind }),
            None => Ok(()),
        }
    }

    /// Checks a URL whose host is an address literal; a name is left to the resolver.
    pub fn check_literal(&self, url: &reqwest::Url) -> Result<(), Refused> {
        match url.host() {
            Some(url::Host::Ipv4(a)) => self.refuse(&a.to_string(), IpAddr::V4(a)),
            Some(url::Host::Ipv6(a)) => self.refuse(&format!("[{a}]"), IpAddr::V6(a)),
            Some(url::Host::Domain(_)) => Ok(()),
            None => Err(Refused::NoHost),
        }
    }

    /// Checks a host as a person typed it, resolving a name now: refused when it is,
    /// or any of its addresses is, internal. A name that does not resolve passes
    /// (it may later; every connection is checked again).
    pub async fn check_host(&self, host: &str, port: u16) -> Result<(), Refused> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(address) = bare.parse::<IpAddr>() {
            return self.refuse(host, address);
        }
        if let Ok(found) = tokio::net::lookup_host((bare, port)).await {
            for a in found {
                self.refuse(host, a.ip())?;
            }
        }
        Ok(())
    }

    /// Checks an http(s) URL as [`Egress::check_host`] does.
    pub async fn check_url(&self, url: &str) -> Result<(), Refused> {
        let url = reqwest::Url::parse(url.trim()).map_err(|_| Refused::NoHost)?;
        let host = url.host_str().ok_or(Refused::NoHost)?;
        self.check_host(host, url.port_or_known_default().unwrap_or(443)).await
    }

    /// An HTTP client that resolves names through this guard, follows no redirect and
    /// gives up after `timeout`. It ignores proxy settings in the environment: a proxy
    /// would resolve the name itself, past the guard.
    pub fn client(&self, timeout: Duration) -> reqwest::Client {
        reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(Arc::new(Resolver(self.clone())))
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .build()
            .unwrap_or_default()
    }
}

/// Resolves names with the system's resolver and passes on only the addresses the
/// guard allows; a name with none left fails to resolve, with the reason.
struct Resolver(Egress);

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let egress = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let kept: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| match egress.refuse(&host, a.ip()) {
                    Ok(()) => true,
                    Err(e) => {
                        refused.get_or_insert(e);
                        false
                    }
                })
                .collect();
            match (kept.is_empty(), refused) {
                (true, Some(e)) => Err(Box::new(e) as Box<dyn std::error::Error + Send + Sync>),
                _ => Ok(Box::new(kept.into_iter()) as reqwest::dns::Addrs),
            }
        })
    }
}

/// The guard's refusal somewhere in a request's error chain, if that is why it failed.
pub fn refusal<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a Refused> {
    let mut at: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(error) = at {
        if let Some(r) = error.downcast_ref::<Refused>() {
            return Some(r);
        }
        at = error.source();
    }
    None
}

/// Reads at most `cap` bytes of an answer; the rest is never read (the connection is
/// dropped). Returns the bytes and whether the answer was longer.
pub async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = cap - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

/// What kind of internal address `address` is, or `None` for a public one.
pub fn internal(address: IpAddr) -> Option<&'static str> {
    match address {
        IpAddr::V4(a) => internal_v4(a),
        IpAddr::V6(a) => internal_v6(a),
    }
}

fn internal_v4(a: Ipv4Addr) -> Option<&'static str> {
    let [first, second, third, _] = a.octets();
    Some(if a.is_loopback() {
        "a loopback"
    } else if a.is_link_local() {
        "a link-local"
    } else if a.is_private() {
        "a private"
    } else if first == 100 && (64..128).contains(&second) {
        "a shared (carrier-grade NAT)"
    } else if a.is_multicast() {
        "a multicast"
    } else if a.is_unspecified() || first == 0 {
        "an unspecified"
    } else if a.is_broadcast()
        || first >= 240
        || (first == 192 && second == 0 && third == 0)
        || (first == 198 && (18..20).contains(&second))
    {
        "a reserved"
    } else if a.is_documentation() {
        "a documentation"
    } else {
        return None;
    })
}

fn internal_v6(a: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = a.to_ipv4_mapped() {
        return internal_v4(v4);
    }
    let segments = a.segments();
    let low_v4 = || Ipv4Addr::from((u128::from(a) & 0xffff_ffff) as u32);
    // NAT64 (64:ff9b::/96), the deprecated IPv4-compatible form (::a.b.c.d) and 6to4
    // (2002::/16) carry an IPv4 address inside.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return internal_v4(low_v4());
    }
    if segments[..6] == [0, 0, 0, 0, 0, 0] && u128::from(a) > 1 {
        return internal_v4(low_v4()).or(Some("an IPv4-compatible"));
    }
    if segments[0] == 0x2002 {
        let [hi, lo] = [segments[1], segments[2]];
        return internal_v4(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
    }
    Some(if a.is_loopback() {
        "a loopback"
    } else if a.is_unspecified() {
        "an unspecified"
    } else if a.is_unicast_link_local() {
        "a link-local"
    } else if a.is_unique_local() || segments[0] & 0xffc0 == 0xfec0 || segments[..3] == [0x64, 0xff9b, 1] {
        // Unique local, the old site-local, and NAT64's local-use prefix.
        "a private"
    } else if segments[..2] == [0x2001, 0] {
        // Teredo: a tunnel whose far end is an IPv4 address.
        "a tunnelled"
    } else if a.is_multicast() {
        "a multicast"
    } else if segments[0] == 0x2001 && segments[1] == 0xdb8 {
        "a documentation"
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    #[test]
    fn internal_addresses_are_named_and_public_ones_pass() {
        for (address, kind) in [
            ("127.0.0.1", "a loopback"),
            ("169.254.169.254", "a link-local"),
            ("10.0.0.1", "a private"),
            ("172.31.255.255", "a private"),
            ("192.168.1.1", "a private"),
            ("100.100.100.200", "a shared (carrier-grade NAT)"),
            ("0.0.0.0", "an unspecified"),
            ("224.0.0.1", "a multicast"),
            ("255.255.255.255", "a reserved"),
            ("::1", "a loopback"),
            ("::", "an unspecified"),
            ("fe80::1", "a link-local"),
            ("fd00:ec2::254", "a private"),
            ("ff02::1", "a multicast"),
            ("::ffff:127.0.0.1", "a loopback"),
            ("::ffff:169.254.169.254", "a link-local"),
            ("64:ff9b::a00:1", "a private"),
            ("2002:7f00:1::", "a loopback"),
            ("::7f00:1", "a loopback"),
            ("::808:808", "an IPv4-compatible"),
            ("fec0::1", "a private"),
            ("64:ff9b:1::a00:1", "a private"),
            ("2001:0:4136:e378::1", "a tunnelled"),
        ] {
            assert_eq!(internal(ip(address)), Some(kind), "{address}");
        }
        for address in ["93.184.215.14", "8.8.8.8", "172.32.0.1", "2606:4700::1111", "64:ff9b::808:808"] {
            assert_eq!(internal(ip(address)), None, "{address}");
        }
    }

    #[test]
    fn the_operator_allows_ranges_and_bad_entries_are_named() {
        let e = Egress::allowing("127.0.0.0/8, ::1 10.1.0.0/16").expect("ranges");
        assert_eq!(e.refuses(ip("127.0.0.1")), None);
        assert_eq!(e.refuses(ip("::1")), None);
        assert_eq!(e.refuses(ip("10.1.2.3")), None);
        assert_eq!(e.refuses(ip("10.2.0.1")), Some("a private"));
        assert_eq!(e.refuses(ip("169.254.169.254")), Some("a link-local"));
        assert!(Egress::allowing("").expect("empty").allowed().is_empty());
        let err = Egress::allowing("10.0.0.0/8, intranet").expect_err("a name is not a range");
        assert!(err.contains("\"intranet\""), "{err}");
    }

    #[tokio::test]
    async fn literals_and_names_are_checked_before_a_request() {
        let strict = Egress::strict();
        for url in ["http://127.0.0.1:9/x", "http://169.254.169.254/latest", "https://10.0.0.1/", "http://[::1]:80/"] {
            let parsed = reqwest::Url::parse(url).expect("url");
            assert!(matches!(strict.check_literal(&parsed), Err(Refused::Internal { .. })), "{url}");
            assert!(strict.check_url(url).await.is_err(), "{url}");
        }
        let err = strict.check_url("http://localhost:8080/hooks").await.expect_err("localhost is loopback");
        let said = err.to_string();
        assert!(said.starts_with("localhost is ") && said.contains(", a loopback address: "), "{said}");
        // A name that does not resolve now passes the save; the connection checks again.
        assert!(strict.check_url("https://nothing.invalid/hooks").await.is_ok());
        let allowed = Egress::allowing("127.0.0.0/8").expect("range");
        assert!(allowed.check_url("http://localhost:8080/hooks").await.is_ok());
    }
}
