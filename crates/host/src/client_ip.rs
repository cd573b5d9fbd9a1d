//! The client's address: the connection's peer, or — only when that peer is a configured
//! trusted proxy — the address the proxy wrote into its forwarding header. A header from any
//! other peer is ignored, so a client cannot choose the address it is counted under.

use std::net::IpAddr;

use ipnet::IpNet;

/// Whether `ip` is one of the trusted proxies.
fn trusted(ip: IpAddr, proxies: &[IpNet]) -> bool {
    proxies.iter().any(|n| n.contains(&ip))
}

/// The client behind `peer`: walks the forwarding header from the right (each proxy appends
/// the address it was reached from), past trusted proxies, to the first address that is not
/// one. An unreadable entry stops the walk at the last address read.
pub fn resolve(peer: IpAddr, header: Option<&str>, proxies: &[IpNet]) -> IpAddr {
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
