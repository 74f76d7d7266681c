//! Where a push subscription's events go, and where they may not (docs/security.md,
//! "Outbound requests"): an `https` URL, `http` only to loopback when the deployment
//! allows it (the local server), and in AWS never an address in a loopback,
//! link-local, private, shared or otherwise non-public range — checked on the URL
//! when the subscription is made and on every address the name resolves to when an
//! event is sent, so a name re-pointed later cannot reach inside the network either.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The longest endpoint URL accepted.
pub const MAX_URL_CHARS: usize = 2048;

/// What a deployment lets subscribers name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// AWS: public addresses over https only.
    Public,
    /// The local server: also `http` and https to loopback (a receiver on the laptop).
    Loopback,
}

impl Reach {
    /// The deployment's reach: `EVENTS_ALLOW_LOOPBACK=1` (the local server sets it),
    /// public otherwise — fail closed.
    pub fn from_env() -> Reach {
        match std::env::var("EVENTS_ALLOW_LOOPBACK").as_deref() {
            Ok("1") => Reach::Loopback,
            _ => Reach::Public,
        }
    }

    /// Whether an event may be sent to `ip`.
    pub fn allows(self, ip: IpAddr) -> bool {
        public(ip) || (self == Reach::Loopback && ip.is_loopback())
    }
}

/// A checked endpoint: scheme, host and port, and the URL as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub url: String,
    pub https: bool,
    pub host: String,
    pub port: u16,
}

/// Checks an endpoint URL; the problem names the rule broken.
pub fn parse(url: &str, reach: Reach) -> Result<Endpoint, String> {
    let field = "delivery.endpoint_url";
    if url.chars().count() > MAX_URL_CHARS {
        return Err(format!("{field}: at most {MAX_URL_CHARS} characters"));
    }
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("{field}: must be an absolute https URL"))?;
    let https = match scheme {
        "https" => true,
        "http" => false,
        _ => return Err(format!("{field}: must be an https URL")),
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) || url.contains('#') {
        return Err(format!("{field}: no spaces, control characters or fragment"));
    }
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(format!(
            "{field}: no user information (credentials do not belong in a URL)"
        ));
    }
    let (host, port) =
        split_port(authority).ok_or_else(|| format!("{field}: a host, and a port from 1 to 65535 if any"))?;
    if host.is_empty() {
        return Err(format!("{field}: a host is required"));
    }
    let ip = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok();
    let loopback_name = host.eq_ignore_ascii_case("localhost");
    let is_loopback = loopback_name || ip.is_some_and(|ip| ip.is_loopback());
    if !(https || (reach == Reach::Loopback && is_loopback)) {
        return Err(format!(
            "{field}: must be https (http only to loopback on a local server)"
        ));
    }
    match (ip, reach) {
        (Some(ip), _) if !reach.allows(ip) => {
            return Err(format!("{field}: {ip} is not a public address"));
        }
        (None, Reach::Public) if loopback_name => return Err(format!("{field}: localhost is not a public address")),
        _ => {}
    }
    if host
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':' | '[' | ']')))
    {
        return Err(format!("{field}: the host must be a DNS name or an IP address"));
    }
    Ok(Endpoint {
        url: url.to_owned(),
        https,
        host: host.trim_start_matches('[').trim_end_matches(']').to_owned(),
        port: port.unwrap_or(if https { 443 } else { 80 }),
    })
}

fn split_port(authority: &str) -> Option<(&str, Option<u16>)> {
    if let Some(v6) = authority.strip_prefix('[') {
        let (addr, rest) = v6.split_once(']')?;
        let host = &authority[..addr.len() + 2];
        return match rest.strip_prefix(':') {
            None if rest.is_empty() => Some((host, None)),
            Some(p) => Some((host, Some(port(p)?))),
            None => None,
        };
    }
    match authority.split_once(':') {
        None => Some((authority, None)),
        Some((h, p)) => Some((h, Some(port(p)?))),
    }
}

fn port(p: &str) -> Option<u16> {
    p.parse::<u16>().ok().filter(|p| *p > 0 && !p.to_string().is_empty())
}

/// Whether an address is a public unicast one (not loopback, private, link-local,
/// shared, documentation, benchmarking, multicast, reserved or unspecified).
pub fn public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => public_v4(v4),
            None => public_v6(v6),
        },
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (RFC 6598)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240)
}

fn public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x64 && s[1] == 0xff9b) // NAT64 (could reach IPv4 inside)
        || s[0] == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_https_in_aws_and_loopback_http_locally() {
        assert!(parse("https://receiver.example/events", Reach::Public).is_ok());
        assert!(parse("https://receiver.example:8443/e?x=1", Reach::Public).is_ok());
        for bad in [
            "http://receiver.example/events",
            "https://127.0.0.1/e",
            "https://localhost/e",
            "https://10.1.2.3/e",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/e",
            "https://[fd00::1]/e",
            "https://[::ffff:10.0.0.1]/e",
            "https://100.64.0.1/e",
            "https://user:pw@receiver.example/e",
            "https://receiver.example/e#frag",
            "ftp://receiver.example/e",
            "receiver.example/e",
            "https://receiver.example:0/e",
            "https://receiver.example:99999/e",
            "https:///e",
            "https://bad_host!/e",
        ] {
            assert!(parse(bad, Reach::Public).is_err(), "{bad}");
        }
        assert!(parse("http://127.0.0.1:9000/events", Reach::Loopback).is_ok());
        assert!(parse("http://localhost:9000/events", Reach::Loopback).is_ok());
        assert!(parse("http://receiver.example/events", Reach::Loopback).is_err());
        assert!(parse("https://10.0.0.1/events", Reach::Loopback).is_err());
        let e = parse("https://[2606:4700::1]:444/x", Reach::Public).unwrap();
        assert_eq!((e.host.as_str(), e.port), ("2606:4700::1", 444));
        assert!(
            parse(
                &format!("https://r.example/{}", "a".repeat(MAX_URL_CHARS)),
                Reach::Public
            )
            .is_err()
        );
    }

    #[test]
    fn resolved_addresses_are_judged_alike() {
        assert!(Reach::Public.allows("93.184.216.34".parse().unwrap()));
        assert!(!Reach::Public.allows("127.0.0.1".parse().unwrap()));
        assert!(Reach::Loopback.allows("127.0.0.1".parse().unwrap()));
        assert!(!Reach::Loopback.allows("192.168.1.1".parse().unwrap()));
        assert!(!Reach::Public.allows("::ffff:169.254.169.254".parse().unwrap()));
    }
}
