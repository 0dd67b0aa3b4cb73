//! The audit log: who did what to which record, when, from which request.
//! Records are written in the same transaction as the change they describe, and never
//! hold secrets or personal data (ids only).

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use diesel::prelude::*;
use std::future::{Ready, ready};
use std::net::IpAddr;

use crate::db::schema::audit_log;
use crate::db::{DbConnection, now};
use crate::error::ApiError;
use crate::telemetry::RequestId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    User(i64),
    Client(String),
    Anonymous,
    System,
}

impl Actor {
    fn columns(&self) -> (&'static str, Option<String>) {
        match self {
            Actor::User(id) => ("user", Some(id.to_string())),
            Actor::Client(client_id) => ("client", Some(client_id.clone())),
            Actor::Anonymous => ("anonymous", None),
            Actor::System => ("system", None),
        }
    }
}

/// Which reverse proxies' `X-Forwarded-For` to believe for the client address.
#[derive(Debug, Clone, Default)]
pub struct ClientAddressPolicy {
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl ClientAddressPolicy {
    fn is_trusted(&self, address: IpAddr) -> bool {
        self.trusted_proxies
            .iter()
            .any(|net| net.contains(&address))
    }

    /// The client: the peer, unless the peer is a trusted proxy; then the rightmost
    /// `X-Forwarded-For` hop that is not a trusted proxy. Hops left of it were written
    /// by the client (or whoever it pretends to be) and are never believed.
    pub fn client_address(&self, peer: Option<IpAddr>, forwarded_for: &[&str]) -> Option<IpAddr> {
        let peer = peer?;
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        let mut client = peer;
        let hops = forwarded_for
            .iter()
            .flat_map(|value| value.split(','))
            .map(|hop| hop.trim())
            .collect::<Vec<_>>();
        for hop in hops.into_iter().rev() {
            // A garbled hop: nothing left of it can be believed either.
            let Some(address) = parse_hop(hop) else {
                break;
            };
            client = address;
            if !self.is_trusted(address) {
                break;
            }
        }
        Some(client)
    }
}

/// `203.0.113.5`, `203.0.113.5:4711`, `2001:db8::1` or `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>().ok().or_else(|| {
        hop.parse::<std::net::SocketAddr>()
            .ok()
            .map(|addr| addr.ip())
    })
}

/// The client's address: the peer, or what trusted proxies say it is.
pub fn client_address(req: &HttpRequest) -> Option<IpAddr> {
    let forwarded_for: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok())
        .collect();
    match req.app_data::<web::Data<ClientAddressPolicy>>() {
        Some(policy) => policy.client_address(req.peer_addr().map(|a| a.ip()), &forwarded_for),
        None => req.peer_addr().map(|a| a.ip()),
    }
}

/// Where a request came from, for the audit log and throttling.
#[derive(Debug, Clone, Default)]
pub struct RequestOrigin {
    pub request_id: Option<String>,
    pub client_ip: Option<String>,
}

impl RequestOrigin {
    pub fn of(req: &HttpRequest) -> Self {
        RequestOrigin {
            request_id: RequestId::of(req),
            client_ip: client_address(req).map(|ip| ip.to_canonical().to_string()),
        }
    }
}

impl FromRequest for RequestOrigin {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(RequestOrigin::of(req)))
    }
}

/// One audit record.
#[derive(Debug, Clone)]
pub struct AuditEvent<'a> {
    pub actor: Actor,
    pub action: &'static str,
    pub target: Option<(&'static str, String)>,
    pub origin: &'a RequestOrigin,
    /// Non-personal context, e.g. `role=kim_admin`.
    pub detail: Option<String>,
}

pub fn record(conn: &mut DbConnection, event: AuditEvent<'_>) -> Result<(), ApiError> {
    let (actor_type, actor_id) = event.actor.columns();
    let (target_type, target_id) = match event.target {
        Some((kind, id)) => (Some(kind), Some(id)),
        None => (None, None),
    };
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::occurred_at.eq(now()),
            audit_log::actor_type.eq(actor_type),
            audit_log::actor_id.eq(actor_id),
            audit_log::action.eq(event.action),
            audit_log::target_type.eq(target_type),
            audit_log::target_id.eq(target_id),
            audit_log::request_id.eq(event.origin.request_id.as_deref()),
            audit_log::client_ip.eq(event.origin.client_ip.as_deref()),
            audit_log::detail.eq(event.detail),
        ))
        .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_hop() {
        let policy = ClientAddressPolicy {
            trusted_proxies: vec!["10.0.0.0/8".parse().unwrap_or_default()],
        };
        let from = |peer: &str, xff: &[&str]| policy.client_address(Some(ip(peer)), xff);
        // Not through a trusted proxy: the header is the client's own words.
        assert_eq!(from("203.0.113.9", &["1.2.3.4"]), Some(ip("203.0.113.9")));
        // Through the proxy: the address it saw, not what the client wrote before it.
        assert_eq!(
            from("10.0.0.2", &["6.6.6.6, 203.0.113.9"]),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(
            from("10.0.0.2", &["6.6.6.6", "203.0.113.9, 10.1.1.1"]),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(from("10.0.0.2", &[]), Some(ip("10.0.0.2")));
        assert_eq!(
            from("10.0.0.2", &["garbage, [2001:db8::1]:443"]),
            Some(ip("2001:db8::1"))
        );
        assert_eq!(
            from("10.0.0.2", &["6.6.6.6, garbage"]),
            Some(ip("10.0.0.2"))
        );
    }
}
