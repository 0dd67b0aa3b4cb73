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

/// Whether `ip` is an ordinary address on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(mapped) => is_public_v4(mapped),
            None => is_public_v6(ip),
        },
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
        || (first == 0x2001 && ip.segments()[1] == 0x0db8))
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
        ] {
            let ip: IpAddr = text.parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
            assert!(!is_public(ip), "{text}");
        }
        for text in ["103.10.20.30", "8.8.8.8", "2606:4700::1111"] {
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
