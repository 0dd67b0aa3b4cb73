//! Rate limits (SPEC §9). Every request but health, metrics, keys and the docs counts
//! against one allowance: an anonymous caller's client address (as `TRUSTED_PROXIES`
//! report it), a signed-in account, or an integration client. Answers say where the
//! caller stands in the IETF `RateLimit-Policy` and `RateLimit` fields
//! (draft-ietf-httpapi-ratelimit-headers); over the allowance the answer is `429` with
//! `Retry-After`.
//!
//! GCRA by `governor`, in memory per instance: the effective limit is the configured
//! rate times the number of instances. Time is the service's clock, so tests move it.
//!
//! Memory stays bounded: IPv6 callers are keyed by their /64 (one subscriber's whole
//! network), and a map that grew past its sweep mark first drops the keys whose
//! allowance has fully come back, then sets the mark at twice what stayed.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, web};
use governor::clock::Clock;
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::auth::Subject;
use crate::config::RateLimits;
use crate::error::ApiError;

/// Keys kept before the first sweep of idle ones.
const SWEEP_ABOVE: usize = 10_000;

/// The window the policies are stated in: their quotas are per minute.
const WINDOW_SECS: u64 = 60;

pub const RATE_LIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
pub const RATE_LIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// Paths no allowance covers: probes, scrapers, key discovery and the documentation
/// must answer however busy a caller is.
const EXEMPT_PREFIXES: [&str; 5] = [
    "/health/",
    "/metrics",
    "/.well-known/",
    "/docs",
    "/api-docs/",
];

/// The service's clock as `governor` reads time, so that moving it in a test gives
/// allowances back.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServiceClock;

impl Clock for ServiceClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        let micros = crate::clock::now().timestamp_micros();
        Duration::from_micros(u64::try_from(micros).unwrap_or(0))
    }
}

type Limiter<K> =
    RateLimiter<K, DefaultKeyedStateStore<K>, ServiceClock, StateInformationMiddleware>;

/// Where a caller stands against its allowance: what the `RateLimit` fields say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub policy: &'static str,
    pub quota: u32,
    pub remaining: u32,
    /// Seconds until the whole allowance is back.
    pub reset_secs: u64,
}

impl Standing {
    /// `RateLimit-Policy: "account";q=600;w=60` and `RateLimit: "account";r=599;t=1`.
    pub fn write_to(&self, headers: &mut HeaderMap) {
        let policy = format!("\"{}\";q={};w={WINDOW_SECS}", self.policy, self.quota);
        let current = format!(
            "\"{}\";r={};t={}",
            self.policy, self.remaining, self.reset_secs
        );
        for (name, value) in [(RATE_LIMIT_POLICY, policy), (RATE_LIMIT, current)] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
    }
}

/// A request over its allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub standing: Standing,
    pub retry_after_secs: u64,
}

/// One allowance per key, `quota` requests a minute, all at once if the caller likes.
pub struct KeyedLimit<K: Hash + Eq + Clone> {
    policy: &'static str,
    limiter: Limiter<K>,
    sweep_above: AtomicUsize,
}

impl<K: Hash + Eq + Clone> std::fmt::Debug for KeyedLimit<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedLimit")
            .field("policy", &self.policy)
            .field("keys", &self.limiter.len())
            .finish()
    }
}

impl<K: Hash + Eq + Clone> KeyedLimit<K> {
    pub fn per_minute(policy: &'static str, requests: NonZeroU32) -> Self {
        KeyedLimit {
            policy,
            limiter: RateLimiter::hashmap_with_clock(Quota::per_minute(requests), ServiceClock)
                .with_middleware::<StateInformationMiddleware>(),
            sweep_above: AtomicUsize::new(SWEEP_ABOVE),
        }
    }

    /// Spends one request of `key`'s allowance, or says how long until there is one.
    pub fn check(&self, key: &K) -> Result<Standing, Refused> {
        self.sweep_when_crowded();
        match self.limiter.check_key(key) {
            Ok(snapshot) => {
                let quota = snapshot.quota();
                let remaining = snapshot.remaining_burst_capacity();
                let spent = quota.burst_size().get().saturating_sub(remaining);
                Ok(self.standing(quota, remaining, quota.replenish_interval() * spent))
            }
            Err(not_yet) => {
                let quota = not_yet.quota();
                let wait = not_yet.wait_time_from(ServiceClock.now());
                // The whole allowance is back when the next request would be, plus the
                // time to refill all the others.
                let others = quota.burst_size().get() - 1;
                let full = wait + quota.replenish_interval() * others;
                Err(Refused {
                    standing: self.standing(quota, 0, full),
                    retry_after_secs: whole_seconds(wait).max(1),
                })
            }
        }
    }

    fn standing(&self, quota: Quota, remaining: u32, until_full: Duration) -> Standing {
        Standing {
            policy: self.policy,
            quota: quota.burst_size().get(),
            remaining,
            reset_secs: whole_seconds(until_full),
        }
    }

    /// Once the map holds more keys than its mark, drops the idle ones; the mark then
    /// doubles what stayed, so a crowd of live keys is not swept on every request.
    fn sweep_when_crowded(&self) {
        let mark = self.sweep_above.load(Ordering::Relaxed);
        if self.limiter.len() <= mark {
            return;
        }
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        let next = (self.limiter.len() * 2).max(SWEEP_ABOVE);
        self.sweep_above.store(next, Ordering::Relaxed);
    }
}

fn whole_seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// Per-address limits of one anonymous action (tracking-code lookups: guessing one is
/// hopeless at 31⁸ codes, but only while guesses are slow).
#[derive(Debug)]
pub struct AddressLimit(KeyedLimit<IpAddr>);

impl AddressLimit {
    pub fn per_minute(policy: &'static str, requests: NonZeroU32) -> Self {
        AddressLimit(KeyedLimit::per_minute(policy, requests))
    }

    /// `429` with the wait in `Retry-After` when `address` is over its allowance.
    /// Requests without a known address (none over TCP) share one allowance.
    pub fn check(&self, address: Option<IpAddr>) -> Result<(), ApiError> {
        self.0
            .check(&address_key(address))
            .map(|_| ())
            .map_err(|refused| ApiError::TooManyRequests {
                retry_after_secs: refused.retry_after_secs,
            })
    }
}

/// The allowances of every class of caller (`RATE_LIMIT_*_PER_MINUTE`).
#[derive(Debug)]
pub struct CallerLimits {
    anonymous: KeyedLimit<IpAddr>,
    accounts: KeyedLimit<i64>,
    clients: KeyedLimit<String>,
}

impl CallerLimits {
    pub fn new(limits: RateLimits) -> Self {
        CallerLimits {
            anonymous: KeyedLimit::per_minute("anonymous", limits.anonymous_per_minute),
            accounts: KeyedLimit::per_minute("account", limits.account_per_minute),
            clients: KeyedLimit::per_minute("client", limits.client_per_minute),
        }
    }

    /// Counts `req` against its caller's allowance. The caller is whom a bearer token
    /// names only when its signature and lifetime hold: a forged or expired token
    /// counts against its sender's address, never against the account it names.
    fn check(&self, req: &HttpRequest) -> Result<Standing, Refused> {
        match crate::auth::signed_subject(req) {
            Some(Subject::User(id)) => self.accounts.check(&id),
            Some(Subject::Client(client_id)) => self.clients.check(&client_id),
            None => self
                .anonymous
                .check(&address_key(crate::audit::client_address(req))),
        }
    }
}

/// Middleware: the allowance check before routing, the `RateLimit` fields on the answer.
/// It never fails: over the limit it answers `429` itself.
pub async fn admit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let limits = req.app_data::<web::Data<CallerLimits>>().cloned();
    let Some(limits) = limits.filter(|_| !is_exempt(req.path())) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    match limits.check(req.request()) {
        Ok(standing) => {
            let mut response = next.call(req).await?.map_into_boxed_body();
            standing.write_to(response.headers_mut());
            Ok(response)
        }
        Err(refused) => {
            let mut response = req.error_response(ApiError::TooManyRequests {
                retry_after_secs: refused.retry_after_secs,
            });
            refused.standing.write_to(response.headers_mut());
            Ok(response)
        }
    }
}

pub fn is_exempt(path: &str) -> bool {
    EXEMPT_PREFIXES
        .iter()
        .any(|prefix| path.starts_with(prefix))
}

/// The address a limit counts: IPv4 as it is, IPv6 by its /64; all unknown addresses
/// as one.
fn address_key(address: Option<IpAddr>) -> IpAddr {
    match address.map(|address| address.to_canonical()) {
        Some(IpAddr::V6(v6)) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        Some(v4) => v4,
        None => IpAddr::from([0u8; 4]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two() -> NonZeroU32 {
        NonZeroU32::MIN.saturating_add(1)
    }

    #[test]
    fn one_key_is_limited_and_others_are_not() {
        let limit = KeyedLimit::per_minute("test", two());
        let first = limit.check(&1);
        assert_eq!(
            first.map(|standing| (standing.quota, standing.remaining)),
            Ok((2, 1))
        );
        assert!(matches!(limit.check(&1), Ok(standing) if standing.remaining == 0));
        let refused = limit.check(&1).err();
        assert!(
            matches!(refused, Some(Refused { retry_after_secs, standing }) if (1..=30).contains(&retry_after_secs) && standing.remaining == 0 && (31..=60).contains(&standing.reset_secs)),
            "{refused:?}"
        );
        assert!(limit.check(&2).is_ok());
    }

    #[test]
    fn the_fields_follow_the_draft_syntax() {
        let mut headers = HeaderMap::new();
        Standing {
            policy: "account",
            quota: 600,
            remaining: 598,
            reset_secs: 1,
        }
        .write_to(&mut headers);
        assert_eq!(
            headers.get(RATE_LIMIT_POLICY).and_then(|v| v.to_str().ok()),
            Some("\"account\";q=600;w=60")
        );
        assert_eq!(
            headers.get(RATE_LIMIT).and_then(|v| v.to_str().ok()),
            Some("\"account\";r=598;t=1")
        );
    }

    #[test]
    fn ipv6_addresses_of_one_network_share_a_limit() {
        let parse = |text: &str| text.parse::<IpAddr>().ok();
        let a = address_key(parse("2001:db8:1:2::1"));
        assert_eq!(a, address_key(parse("2001:db8:1:2:ffff::9")));
        assert_ne!(a, address_key(parse("2001:db8:1:3::1")));
        assert_eq!(
            address_key(parse("::ffff:203.0.113.5")),
            IpAddr::from([203, 0, 113, 5])
        );
    }

    #[test]
    fn idle_keys_are_swept_once_the_map_is_crowded() {
        let limit = KeyedLimit::per_minute("test", two());
        for key in 0..=SWEEP_ABOVE {
            let _ = limit.check(&key);
        }
        // Every key still has spent allowance, so none is idle and the mark moves up
        // instead of sweeping on each request.
        let _ = limit.check(&usize::MAX);
        assert!(limit.sweep_above.load(Ordering::Relaxed) > SWEEP_ABOVE);
    }

    #[test]
    fn exempt_paths_are_probes_metrics_keys_and_docs() {
        for path in [
            "/health/ready",
            "/metrics",
            "/.well-known/jwks.json",
            "/docs/",
            "/api-docs/openapi.json",
        ] {
            assert!(is_exempt(path), "{path}");
        }
        assert!(!is_exempt("/api/v1/bulletins"));
        assert!(!is_exempt("/healthz"));
    }
}
