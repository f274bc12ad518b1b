//! Who the client is, for every per-address limit (streams, posts, sign-in attempts).
//!
//! The socket's peer address is the client, unless the peer is a reverse proxy named by
//! `--trusted-proxy`: then the client is read from the `Forwarded` header (RFC 7239, `for=`)
//! or, when that is absent, from `X-Forwarded-For`. Either header is a chain, the original
//! client first and each proxy appending the address it received from; only the right end of
//! it was written by proxies we trust. So the chain is read **from the right**: trusted hops are
//! skipped and the first untrusted address is the client. Everything left of it could have been
//! written by the client itself and is ignored — a client cannot pick its own identity, behind
//! a proxy or not. An entry that is not an address (`unknown`, an obfuscated `_name`) stops the
//! walk at the last trusted hop, which then stands for the client.
//!
//! Without `--trusted-proxy` both headers are ignored entirely.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;

/// The most chain entries read from the right before giving up (a chain longer than any real
/// proxy path is not worth reading further; the last trusted hop then stands for the client).
const MAX_HOPS: usize = 16;

/// The client's address as this server decided it (see the module docs). The serve loop puts it
/// in every request's extensions; handlers take it as an extractor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    /// From a request's extensions: the decided address, else the socket's, else "unknown"
    /// (`0.0.0.0`, one shared bucket — only calls made without the serve loop, in tests).
    pub fn of(extensions: &axum::http::Extensions) -> ClientAddr {
        extensions.get::<ClientAddr>().copied().unwrap_or_else(|| {
            ClientAddr(
                extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| {
                        c.0.ip().to_canonical()
                    }),
            )
        })
    }

    /// The key per-address limits count under: the address itself for IPv4, its /64 network for
    /// IPv6 (one host usually holds a whole /64, so counting single v6 addresses would let it
    /// pick fresh identities at will).
    pub fn limit_key(self) -> IpAddr {
        match self.0 {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(bits))
            }
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr::of(&parts.extensions))
    }
}

/// One `--trusted-proxy` entry: an address, or a network in CIDR notation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    fn parse(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let net: IpAddr = addr.parse().map_err(|_| {
            format!("--trusted-proxy {s:?}: not an IP address or CIDR range (e.g. 10.0.0.0/8)")
        })?;
        let net = net.to_canonical();
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("--trusted-proxy {s:?}: the prefix must be 0-{max}"))?,
        };
        Ok(Cidr { net, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The proxies whose forwarding headers are believed (`--trusted-proxy`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    /// Parses the flag's entries; an entry that is neither an address nor a CIDR range is an
    /// error naming it (a typo must not silently trust nobody — or everybody).
    pub fn parse(entries: &[String]) -> Result<TrustedProxies, String> {
        entries
            .iter()
            .filter(|e| !e.trim().is_empty())
            .map(|e| Cidr::parse(e))
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }

    /// The client's address for a request with `headers` that arrived from `peer`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if self.0.is_empty() || !self.trusts(peer) {
            return peer;
        }
        let forwarded: Vec<&str> = headers
            .get_all("forwarded")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let chain: Vec<&str> = if !forwarded.is_empty() {
            // Elements are comma-separated; each has `;`-separated pairs, one of them `for=`.
            forwarded
                .iter()
                .flat_map(|v| v.split(','))
                .map(|element| {
                    element
                        .split(';')
                        .find_map(|pair| {
                            let (k, v) = pair.split_once('=')?;
                            k.trim().eq_ignore_ascii_case("for").then_some(v)
                        })
                        .unwrap_or("")
                })
                .collect()
        } else {
            headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .collect()
        };
        let mut client = peer;
        for entry in chain.iter().rev().take(MAX_HOPS) {
            let Some(ip) = parse_node(entry) else {
                return client;
            };
            client = ip;
            if !self.trusts(ip) {
                return ip;
            }
        }
        client
    }
}

/// An address from a chain entry: `192.0.2.1`, `"192.0.2.1:8080"`, `"[2001:db8::1]:4711"`,
/// `2001:db8::1`. `None` for `unknown`, `_hidden` and anything else.
fn parse_node(entry: &str) -> Option<IpAddr> {
    let s = entry.trim().trim_matches('"').trim();
    if let Some(rest) = s.strip_prefix('[') {
        let (v6, _) = rest.split_once(']')?;
        return v6
            .parse::<Ipv6Addr>()
            .ok()
            .map(|ip| IpAddr::V6(ip).to_canonical());
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    // `a.b.c.d:port`
    let (host, port) = s.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn trusted(list: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_headers_are_ignored() {
        let t = TrustedProxies::default();
        let h = headers(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=5.6.7.8")]);
        assert_eq!(t.client(ip("127.0.0.1"), &h), ip("127.0.0.1"));
    }

    #[test]
    fn a_client_cannot_prepend_its_own_identity() {
        let t = trusted(&["10.0.0.0/8"]);
        // The client sent `X-Forwarded-For: 6.6.6.6`; the proxy appended what it saw.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7")]);
        assert_eq!(t.client(ip("10.1.2.3"), &h), ip("203.0.113.7"));
        // Two trusted hops are skipped.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.9.9.9")]);
        assert_eq!(t.client(ip("10.1.2.3"), &h), ip("203.0.113.7"));
        // From an untrusted peer nothing is believed.
        assert_eq!(t.client(ip("198.51.100.1"), &h), ip("198.51.100.1"));
    }

    #[test]
    fn forwarded_wins_and_its_forms_parse() {
        let t = trusted(&["127.0.0.1", "::1"]);
        let h = headers(&[
            (
                "forwarded",
                r#"for=6.6.6.6, for="[2001:db8:cafe::17]:4711";proto=https"#,
            ),
            ("x-forwarded-for", "1.1.1.1"),
        ]);
        assert_eq!(t.client(ip("127.0.0.1"), &h), ip("2001:db8:cafe::17"));
        let h = headers(&[("forwarded", r#"for="192.0.2.60:8080";by=203.0.113.43"#)]);
        assert_eq!(t.client(ip("::1"), &h), ip("192.0.2.60"));
        // `unknown` stops at the last trusted hop.
        let h = headers(&[("forwarded", "for=6.6.6.6, for=unknown")]);
        assert_eq!(t.client(ip("127.0.0.1"), &h), ip("127.0.0.1"));
        // No header at all: the proxy itself.
        assert_eq!(
            t.client(ip("127.0.0.1"), &HeaderMap::new()),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn cidr_entries_are_checked() {
        let t = trusted(&["192.168.0.0/16", "fd00::/8"]);
        assert!(t.trusts(ip("192.168.4.5")));
        assert!(!t.trusts(ip("192.169.0.1")));
        assert!(t.trusts(ip("fd12::1")));
        assert!(
            t.trusts(ip("::ffff:192.168.1.1")),
            "v4-mapped v6 counts as v4"
        );
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(TrustedProxies::parse(&["localhost".into()]).is_err());
        assert!(trusted(&["0.0.0.0/0"]).trusts(ip("8.8.8.8")));
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        let a = ClientAddr(ip("2001:db8:1:2:aaaa::1")).limit_key();
        let b = ClientAddr(ip("2001:db8:1:2:bbbb::9")).limit_key();
        let c = ClientAddr(ip("2001:db8:1:3::1")).limit_key();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(ClientAddr(ip("1.2.3.4")).limit_key(), ip("1.2.3.4"));
    }
}
