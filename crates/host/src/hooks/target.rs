//! Where an outgoing webhook may go: an `https://` URL (plain `http://` to this machine only in
//! development) whose every resolved address is public. Checked when the endpoint is added and
//! again at each delivery, on the address the request then connects to (no DNS rebinding), so a
//! merchant's endpoint cannot make the host reach its own network, the cloud's metadata service
//! or anything else behind it (server-side request forgery).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::Url;

/// Why a URL or an address is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not a URL we can deliver to.
    #[error("{0}")]
    BadUrl(String),
    /// The address is in a range the host never calls (loopback, private, link-local, metadata…).
    #[error("{0} is a private or reserved address; webhooks go to public addresses only")]
    Forbidden(IpAddr),
    /// The name did not resolve.
    #[error("the name does not resolve: {0}")]
    Unresolved(String),
}

/// The longest endpoint URL taken.
pub const MAX_URL_LEN: usize = 2048;

/// Parses an endpoint URL: `https://` with a host, no credentials, no fragment; `http://` only
/// when `loopback_allowed` (development) and then only to this machine.
pub fn parse_url(text: &str, loopback_allowed: bool) -> Result<Url, TargetError> {
    let text = text.trim();
    if text.len() > MAX_URL_LEN {
        return Err(TargetError::BadUrl(format!(
            "the URL is longer than {MAX_URL_LEN} characters"
        )));
    }
    let url = Url::parse(text).map_err(|e| TargetError::BadUrl(format!("not a URL: {e}")))?;
    let Some(host) = url.host_str() else {
        return Err(TargetError::BadUrl("the URL has no host".into()));
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err(TargetError::BadUrl(
            "credentials in the URL are not kept; verify the signature instead".into(),
        ));
    }
    if url.fragment().is_some() {
        return Err(TargetError::BadUrl("the URL has a fragment (#…)".into()));
    }
    match url.scheme() {
        "https" => {}
        "http" if loopback_allowed && is_local_name(host) => {}
        _ => {
            return Err(TargetError::BadUrl(
                "webhook URLs must start with https://".into(),
            ))
        }
    }
    // An address written in the URL is judged now; a name, when it is resolved.
    if let Some(ip) = literal_ip(&url) {
        check_ip(ip, loopback_allowed)?;
    }
    Ok(url)
}

fn is_local_name(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| canonical(ip).is_loopback())
}

fn literal_ip(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

/// Resolves `url`'s host and returns the address to connect to, refusing the whole name when
/// any of its addresses is refused (a name that also points inside is not trusted).
pub async fn resolve(url: &Url, loopback_allowed: bool) -> Result<SocketAddr, TargetError> {
    let host = url
        .host_str()
        .ok_or_else(|| TargetError::BadUrl("the URL has no host".into()))?;
    let port = url
        .port_or_known_default()
        .ok_or_else(|| TargetError::BadUrl("the URL has no port".into()))?;
    if let Some(ip) = literal_ip(url) {
        check_ip(ip, loopback_allowed)?;
        return Ok(SocketAddr::new(ip, port));
    }
    let name = host.trim_start_matches('[').trim_end_matches(']');
    let found: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
        .await
        .map_err(|e| TargetError::Unresolved(e.to_string()))?
        .collect();
    let first = *found
        .first()
        .ok_or_else(|| TargetError::Unresolved(host.to_owned()))?;
    for a in &found {
        check_ip(a.ip(), loopback_allowed)?;
    }
    Ok(first)
}

/// Refuses what is not a public unicast address (loopback passes only when allowed).
pub fn check_ip(ip: IpAddr, loopback_allowed: bool) -> Result<(), TargetError> {
    let ip = canonical(ip);
    if ip.is_loopback() && loopback_allowed {
        return Ok(());
    }
    if is_public(ip) {
        Ok(())
    } else {
        Err(TargetError::Forbidden(ip))
    }
}

/// An IPv4 address carried in IPv6 (mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`,
/// compatible `::a.b.c.d`) as the IPv4 address it reaches.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let s = v6.segments();
            let embedded =
                Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return IpAddr::V4(embedded);
            }
            if s[..6] == [0; 6] && !v6.is_loopback() && !v6.is_unspecified() {
                return IpAddr::V4(embedded);
            }
            IpAddr::V6(v6)
        }
        v4 => v4,
    }
}

fn in_net(ip: IpAddr, nets: &[&str]) -> bool {
    nets.iter().any(|n| {
        n.parse::<ipnet::IpNet>()
            .expect("the ranges below are valid")
            .contains(&ip)
    })
}

/// Whether `ip` (canonical) is a public unicast address.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !is_reserved_v4(v4),
        IpAddr::V6(v6) => !is_reserved_v6(v6),
    }
}

fn is_reserved_v4(ip: Ipv4Addr) -> bool {
    in_net(
        IpAddr::V4(ip),
        &[
            "0.0.0.0/8",       // "this network"
            "10.0.0.0/8",      // private
            "100.64.0.0/10",   // carrier-grade NAT
            "127.0.0.0/8",     // loopback
            "169.254.0.0/16",  // link-local, with the clouds' metadata at 169.254.169.254
            "172.16.0.0/12",   // private
            "192.0.0.0/24",    // IETF protocol assignments
            "192.0.2.0/24",    // documentation
            "192.88.99.0/24",  // 6to4 relay
            "192.168.0.0/16",  // private
            "198.18.0.0/15",   // benchmarking
            "198.51.100.0/24", // documentation
            "203.0.113.0/24",  // documentation
            "224.0.0.0/4",     // multicast
            "240.0.0.0/4",     // reserved, and the broadcast address
        ],
    )
}

fn is_reserved_v6(ip: Ipv6Addr) -> bool {
    in_net(
        IpAddr::V6(ip),
        &[
            "::/128",            // unspecified
            "::1/128",           // loopback
            "100::/64",          // discard
            "2001::/23",         // IETF protocol assignments (Teredo, ORCHID…)
            "2001:db8::/32",     // documentation
            "2002::/16",         // 6to4: reaches an IPv4 address of its choosing
            "fc00::/7",          // unique local (private)
            "fe80::/10",         // link-local
            "fec0::/10",         // site-local (deprecated)
            "ff00::/8",          // multicast
            "fd00:ec2::254/128", // AWS's IPv6 metadata service (inside fc00::/7 too)
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(ip: &str) -> bool {
        check_ip(ip.parse().unwrap(), false).is_err()
    }

    #[test]
    fn private_loopback_link_local_and_metadata_addresses_are_refused_in_every_spelling() {
        for ip in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "::10.0.0.1",
            "fd00::1",
            "fd00:ec2::254",
            "fe80::1",
            "ff02::1",
            "2002:7f00:1::",
        ] {
            assert!(refused(ip), "{ip} must be refused");
        }
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!refused(ip), "{ip} is public");
        }
        // Development lets loopback through, and only loopback.
        assert!(check_ip("127.0.0.1".parse().unwrap(), true).is_ok());
        assert!(check_ip("::ffff:127.0.0.1".parse().unwrap(), true).is_ok());
        assert!(check_ip("10.0.0.1".parse().unwrap(), true).is_err());
        assert!(check_ip("169.254.169.254".parse().unwrap(), true).is_err());
    }

    #[test]
    fn urls_are_https_without_credentials_and_plain_http_only_to_this_machine_in_development() {
        assert!(parse_url("https://hooks.example.org/paywidget", false).is_ok());
        for bad in [
            "http://hooks.example.org/",
            "ftp://hooks.example.org/",
            "https://user:pw@hooks.example.org/",
            "https://hooks.example.org/#x",
            "not a url",
            "https://169.254.169.254/latest/meta-data",
            "https://[::ffff:10.0.0.1]/",
            "https://10.0.0.1/",
        ] {
            assert!(parse_url(bad, false).is_err(), "{bad}");
        }
        let long = format!("https://example.org/{}", "a".repeat(MAX_URL_LEN));
        assert!(parse_url(&long, false).is_err());
        assert!(parse_url("http://127.0.0.1:8080/hook", false).is_err());
        assert!(parse_url("http://127.0.0.1:8080/hook", true).is_ok());
        assert!(parse_url("http://localhost:8080/hook", true).is_ok());
        assert!(parse_url("http://hooks.example.org/", true).is_err());
        assert!(parse_url("http://10.0.0.1/", true).is_err());
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_outside_development() {
        let url = parse_url("https://localhost:9/hook", false).unwrap();
        assert!(matches!(
            resolve(&url, false).await,
            Err(TargetError::Forbidden(_))
        ));
        assert!(resolve(&url, true).await.is_ok());
    }
}
