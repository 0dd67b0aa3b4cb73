//! Where a webhook may point (SPEC §8). Deliveries leave from inside the city's
//! network, so a subscription must not turn the service into a way of reaching it:
//! targets on loopback, link-local, private, shared (CGNAT), multicast or otherwise
//! special addresses are refused unless `WEBHOOK_ALLOW_PRIVATE_TARGETS=true`
//! (development and tests), and so is plain `http`.
//!
//! A name is checked here only when it is an address or `localhost`: names resolve
//! differently over time (DNS rebinding), so the dispatcher checks every address it
//! resolves right before it connects, with the same [`is_public`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

use crate::error::FieldIssue;

/// Longest target URL; also the column's width.
pub const MAX_URL: usize = 2000;

/// Whether deliveries may go to private targets.
#[derive(Debug, Clone, Copy)]
pub struct TargetPolicy {
    pub allow_private: bool,
}

fn refused(code: &'static str, en: &str, id: &str) -> FieldIssue {
    FieldIssue::new("url", code, en.to_owned(), id.to_owned())
}

impl TargetPolicy {
    /// The URL as stored, or why it is refused.
    pub fn check(&self, text: &str) -> Result<Url, FieldIssue> {
        if text.chars().count() > MAX_URL {
            return Err(refused(
                "too_long",
                &format!("at most {MAX_URL} characters"),
                &format!("maksimal {MAX_URL} karakter"),
            ));
        }
        let url = Url::parse(text.trim()).map_err(|_| {
            refused(
                "invalid_url",
                "must be an absolute https URL",
                "harus URL https yang lengkap",
            )
        })?;
        let scheme_allowed = match url.scheme() {
            "https" => true,
            "http" => self.allow_private,
            _ => false,
        };
        if !scheme_allowed {
            return Err(refused(
                "insecure_url",
                "must use https",
                "harus memakai https",
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refused(
                "credentials_in_url",
                "must not carry a user name or password; receivers verify the signature",
                "tidak boleh memuat nama pengguna atau kata sandi; penerima memeriksa tanda tangan",
            ));
        }
        let private = match url.host() {
            Some(Host::Ipv4(ip)) => !is_public(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => !is_public(IpAddr::V6(ip)),
            Some(Host::Domain(name)) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                name == "localhost" || name.ends_with(".localhost")
            }
            None => true,
        };
        if private && !self.allow_private {
            return Err(refused(
                "private_target",
                "must not point at a loopback, link-local or private address",
                "tidak boleh menuju alamat loopback, link-local atau privat",
            ));
        }
        Ok(url)
    }
}

/// Whether `ip` is an ordinary address on the public internet. An IPv6 address that
/// carries an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo) is judged by the
/// IPv4 address it reaches: `[64:ff9b::a9fe:a9fe]` is the cloud metadata service.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => is_public_v6(ip) && embedded_ipv4(ip).into_iter().all(is_public_v4),
    }
}

/// The IPv4 addresses an IPv6 address leads to, by the transition mechanisms that
/// embed one.
fn embedded_ipv4(ip: Ipv6Addr) -> Vec<Ipv4Addr> {
    let s = ip.segments();
    let v4 = |high: u16, low: u16| Ipv4Addr::from((u32::from(high) << 16) | u32::from(low));
    let last = v4(s[6], s[7]);
    match s {
        // IPv4-mapped (::ffff:0:0/96), IPv4-translated (::ffff:0:0:0/96, RFC 2765) and
        // the deprecated IPv4-compatible form (::/96; :: and ::1 are judged as IPv6).
        [0, 0, 0, 0, 0, 0xffff, ..] | [0, 0, 0, 0, 0xffff, 0, ..] | [0, 0, 0, 0, 0, 0, ..] => {
            vec![last]
        }
        // NAT64, the well-known prefix (RFC 6052).
        [0x64, 0xff9b, 0, 0, 0, 0, ..] => vec![last],
        // 6to4 (2002::/16): the relay's IPv4 address follows the prefix.
        [0x2002, high, low, ..] => vec![v4(high, low)],
        // Teredo (2001::/32): the server, then the client obscured by inverting its bits.
        [0x2001, 0, high, low, ..] => vec![v4(high, low), v4(!s[6], !s[7])],
        _ => Vec::new(),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        // Shared address space (RFC 6598), used by carrier-grade NAT.
        || (a == 100 && (64..128).contains(&b))
        // IETF protocol assignments and benchmarking (RFC 6890, RFC 2544).
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || (a == 198 && (b == 18 || b == 19))
        // Reserved for future use (240/4).
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        // Unique local (fc00::/7) and link-local (fe80::/10).
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        // Documentation (2001:db8::/32).
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)
        // NAT64 for local use (64:ff9b:1::/48, RFC 8215): translated into any network.
        || (first == 0x64 && ip.segments()[1] == 0xff9b && ip.segments()[2] == 1)
        // Discard-only (100::/64, RFC 6666).
        || ip.segments()[..4] == [0x100, 0, 0, 0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_addresses_are_not_public() {
        for text in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            // IPv6 forms that reach an IPv4 address are judged by that address.
            "::127.0.0.1",
            "::a9fe:a9fe",
            "::ffff:0:7f00:1",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::10.0.0.1",
            "64:ff9b:1::8.8.8.8",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "2002:c0a8:101::1",
            // Teredo: a public server, a client of 127.0.0.1 (bits inverted).
            "2001:0:808:808::80ff:fffe",
            // Teredo: a private server.
            "2001:0:a00:1::f7f7:f7f7",
            "100::1",
        ] {
            let ip: IpAddr = text.parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
            assert!(!is_public(ip), "{text}");
        }
        for text in [
            "103.10.20.30",
            "8.8.8.8",
            "2606:4700::1111",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "::ffff:8.8.8.8",
            // Teredo between public addresses (client 8.8.4.4 inverted).
            "2001:0:808:808::f7f7:fbfb",
        ] {
            let ip: IpAddr = text.parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
            assert!(is_public(ip), "{text}");
        }
    }

    #[test]
    fn targets_are_https_public_and_without_credentials() {
        let strict = TargetPolicy {
            allow_private: false,
        };
        assert!(
            strict
                .check("https://sipd.metrokota.go.id/hooks/kim")
                .is_ok()
        );
        for (url, code) in [
            ("http://sipd.metrokota.go.id/hook", "insecure_url"),
            ("ftp://sipd.metrokota.go.id/hook", "insecure_url"),
            ("https://127.0.0.1/hook", "private_target"),
            ("https://[::1]/hook", "private_target"),
            ("https://10.0.0.5/hook", "private_target"),
            ("https://169.254.169.254/latest", "private_target"),
            ("https://[::127.0.0.1]/hook", "private_target"),
            ("https://[64:ff9b::7f00:1]/hook", "private_target"),
            ("https://[64:ff9b::a9fe:a9fe]/latest", "private_target"),
            ("https://[2002:7f00:1::]/hook", "private_target"),
            ("https://[::ffff:7f00:1]/hook", "private_target"),
            ("https://[2001:0:808:808::80ff:fffe]/hook", "private_target"),
            ("https://localhost:8443/hook", "private_target"),
            ("https://api.localhost/hook", "private_target"),
            (
                "https://user:pw@sipd.metrokota.go.id/hook",
                "credentials_in_url",
            ),
            ("bukan url", "invalid_url"),
        ] {
            let refused = strict.check(url).err().map(|issue| issue.code);
            assert_eq!(refused.as_deref(), Some(code), "{url}");
        }
        let relaxed = TargetPolicy {
            allow_private: true,
        };
        assert!(relaxed.check("http://127.0.0.1:9000/hook").is_ok());
    }
}
