//! The client's address: the connection's peer, or — only when that peer is a configured
//! trusted proxy — the address the proxy wrote into its forwarding header. A header from any
//! other peer is ignored, so a client cannot choose the address it is counted under.
//!
//! Addresses are canonical: an IPv4 client of a dual-stack listener arrives as
//! `::ffff:a.b.c.d` and is counted as `a.b.c.d` (else every IPv4 client would share one IPv6
//! "network", and IPv4 proxies would never match). An IPv6 client is limited by its /64 (what
//! one subscriber gets; a single host can use every address in it).

use std::net::{IpAddr, Ipv6Addr};

use ipnet::IpNet;

/// `ip` with an IPv4-mapped IPv6 address turned back into IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// The key one client is limited under: its IPv4 address, or its IPv6 /64.
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

/// [`limit_key`] as text: `203.0.113.7` or `2001:db8:1:2::/64`.
pub fn limit_text(ip: IpAddr) -> String {
    match limit_key(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("{v6}/64"),
    }
}

/// Whether `ip` is one of the trusted proxies.
fn trusted(ip: IpAddr, proxies: &[IpNet]) -> bool {
    proxies.iter().any(|n| n.contains(&ip))
}

/// The client behind `peer`: walks the forwarding header from the right (each proxy appends
/// the address it was reached from), past trusted proxies, to the first address that is not
/// one. An unreadable entry stops the walk at the last address read.
pub fn resolve(peer: IpAddr, header: Option<&str>, proxies: &[IpNet]) -> IpAddr {
    let peer = canonical(peer);
    if !trusted(peer, proxies) {
        return peer;
    }
    let Some(header) = header else {
        return peer;
    };
    let mut client = peer;
    for part in header.rsplit(',') {
        let Ok(ip) = part.trim().parse::<IpAddr>() else {
            break;
        };
        let ip = canonical(ip);
        client = ip;
        if !trusted(ip, proxies) {
            break;
        }
    }
    client
}

/// `10.0.0.1` (one address) or `10.0.0.0/8`.
pub fn parse_net(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{text:?} is not an IP address or CIDR range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|t| parse_net(t).unwrap()).collect()
    }

    #[test]
    fn ipv4_mapped_clients_are_ipv4_and_ipv6_is_limited_per_slash_64() {
        let mapped: IpAddr = "::ffff:198.51.100.7".parse().unwrap();
        let v4: IpAddr = "198.51.100.7".parse().unwrap();
        assert_eq!(resolve(mapped, None, &[]), v4);
        // An IPv4 proxy reached over a dual-stack socket is trusted, and names its client.
        let proxy: IpAddr = "::ffff:10.0.0.2".parse().unwrap();
        assert_eq!(
            resolve(proxy, Some("::ffff:203.0.113.9"), &nets(&["10.0.0.0/8"])),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(limit_key(mapped), v4);
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(limit_key(a), limit_key(b), "one /64, one quota");
        assert_ne!(limit_key(a), limit_key(other));
        assert_eq!(limit_text(a), "2001:db8:1:2::/64");
        assert_eq!(limit_text(v4), "198.51.100.7");
    }

    #[test]
    fn a_header_from_an_untrusted_peer_is_ignored() {
        let peer: IpAddr = "198.51.100.7".parse().unwrap();
        assert_eq!(resolve(peer, Some("1.2.3.4"), &nets(&["10.0.0.0/8"])), peer);
        assert_eq!(resolve(peer, Some("1.2.3.4"), &[]), peer);
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_spoofed_entries_to_its_left_are_ignored() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let trusted = nets(&["10.0.0.0/8"]);
        // The client sent "X-Forwarded-For: 6.6.6.6" itself; the proxy appended what it saw.
        assert_eq!(
            resolve(proxy, Some("6.6.6.6, 203.0.113.9"), &trusted),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        // Two proxies in a row.
        assert_eq!(
            resolve(proxy, Some("203.0.113.9, 10.0.0.3"), &trusted),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        // No header, or garbage: the proxy itself.
        assert_eq!(resolve(proxy, None, &trusted), proxy);
        assert_eq!(resolve(proxy, Some("not-an-ip"), &trusted), proxy);
        assert_eq!(
            resolve(proxy, Some("2001:db8::1"), &nets(&["10.0.0.2"])),
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
    }
}
