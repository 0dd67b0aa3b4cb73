//! Per-address limits for anonymous lookups that would otherwise be free to repeat
//! (tracking codes: guessing one is hopeless at 31⁸ codes, but only while guesses are
//! slow). GCRA by `governor`, in memory per instance: the effective limit is the
//! configured rate times the number of instances.
//!
//! Memory stays bounded: IPv6 callers are keyed by their /64 (one subscriber's whole
//! network), and once more than [`SWEEP_ABOVE`] addresses are kept, every check first
//! drops the addresses whose allowance has fully come back.

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{Quota, RateLimiter};

use crate::error::ApiError;

/// Addresses kept before idle ones are swept.
const SWEEP_ABOVE: usize = 10_000;

type Keyed =
    RateLimiter<IpAddr, governor::state::keyed::DefaultKeyedStateStore<IpAddr>, DefaultClock>;

/// Requests per minute allowed from one address, all arriving at once if they like.
pub struct AddressLimit {
    limiter: Keyed,
    clock: DefaultClock,
}

impl std::fmt::Debug for AddressLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddressLimit")
            .field("addresses", &self.limiter.len())
            .finish()
    }
}

impl AddressLimit {
    pub fn per_minute(requests: NonZeroU32) -> Self {
        AddressLimit {
            limiter: RateLimiter::hashmap(Quota::per_minute(requests)),
            clock: DefaultClock::default(),
        }
    }

    /// `429` with the wait in `Retry-After` when `address` is over its allowance.
    /// Requests without a known address (none over TCP) share one allowance.
    pub fn check(&self, address: Option<IpAddr>) -> Result<(), ApiError> {
        if self.limiter.len() > SWEEP_ABOVE {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        let key = address.map_or(IpAddr::from([0u8; 4]), network_of);
        self.limiter.check_key(&key).map_err(|refused| {
            let wait = refused.wait_time_from(self.clock.now());
            ApiError::TooManyRequests {
                retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            }
        })
    }
}

/// The address a limit counts: IPv4 as it is, IPv6 by its /64.
fn network_of(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_is_limited_and_others_are_not() {
        let limit = AddressLimit::per_minute(NonZeroU32::MIN.saturating_add(1));
        let first: IpAddr = [203, 0, 113, 5].into();
        let other: IpAddr = [203, 0, 113, 6].into();
        assert!(limit.check(Some(first)).is_ok());
        assert!(limit.check(Some(first)).is_ok());
        let refused = limit.check(Some(first)).err();
        assert!(
            matches!(refused, Some(ApiError::TooManyRequests { retry_after_secs }) if (1..=30).contains(&retry_after_secs)),
            "{refused:?}"
        );
        assert!(limit.check(Some(other)).is_ok());
    }

    #[test]
    fn ipv6_addresses_of_one_network_share_a_limit() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap_or(IpAddr::from([0u8; 4]));
        let b: IpAddr = "2001:db8:1:2:ffff::9"
            .parse()
            .unwrap_or(IpAddr::from([0u8; 4]));
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap_or(IpAddr::from([0u8; 4]));
        assert_eq!(network_of(a), network_of(b));
        assert_ne!(network_of(a), network_of(c));
        let mapped: IpAddr = "::ffff:203.0.113.5"
            .parse()
            .unwrap_or(IpAddr::from([0u8; 4]));
        assert_eq!(network_of(mapped), IpAddr::from([203, 0, 113, 5]));
    }
}
