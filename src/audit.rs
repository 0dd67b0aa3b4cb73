//! The audit log: who did what to which record, when, from which request.
//! Records are written in the same transaction as the change they describe, and never
//! hold secrets or personal data (ids only).

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use diesel::prelude::*;
use std::future::{Ready, ready};

use crate::auth::Caller;
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

impl From<&Caller> for Actor {
    fn from(caller: &Caller) -> Self {
        match &caller.subject {
            crate::auth::Subject::User(id) => Actor::User(*id),
            crate::auth::Subject::Client(client_id) => Actor::Client(client_id.clone()),
        }
    }
}

/// Whether to believe `Forwarded`/`X-Forwarded-For` for the client address.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddressPolicy {
    pub trust_forwarded_for: bool,
}

/// Where a request came from, for the audit log and throttling.
#[derive(Debug, Clone, Default)]
pub struct RequestOrigin {
    pub request_id: Option<String>,
    pub client_ip: Option<String>,
}

impl RequestOrigin {
    pub fn of(req: &HttpRequest) -> Self {
        let trust_forwarded = req
            .app_data::<web::Data<ClientAddressPolicy>>()
            .is_some_and(|policy| policy.trust_forwarded_for);
        let info = req.connection_info();
        let address = if trust_forwarded {
            info.realip_remote_addr().map(str::to_owned)
        } else {
            info.peer_addr().map(str::to_owned)
        };
        RequestOrigin {
            request_id: RequestId::of(req),
            client_ip: address.map(|addr| strip_port(&addr).chars().take(64).collect()),
        }
    }
}

fn strip_port(address: &str) -> &str {
    if let Some(rest) = address.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match address.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.chars().all(|c| c.is_ascii_digit()) => {
            host
        }
        _ => address,
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
    use super::strip_port;

    #[test]
    fn ports_are_stripped_from_addresses() {
        assert_eq!(strip_port("127.0.0.1:5000"), "127.0.0.1");
        assert_eq!(strip_port("[::1]:5000"), "::1");
        assert_eq!(strip_port("::1"), "::1");
        assert_eq!(strip_port("10.0.0.1"), "10.0.0.1");
    }
}
