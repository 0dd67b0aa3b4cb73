//! Who sees and changes which mentoring sessions and nominations (SPEC §10), as one
//! SQL condition for lists and single reads alike:
//!
//! - gov users see and plan every session, read every nomination and record
//!   attendance;
//! - a KIM's users see the sessions addressed to their KIM (as bulletins are
//!   addressed) and their own KIM's nominations; its kim_admin nominates and
//!   withdraws members of that KIM;
//! - integration clients get 403 and anonymous callers 401; a session not addressed
//!   to a KIM does not exist for its users (404).

use diesel::IntoSql;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use crate::audience::{AudienceRows, KimPlace};
use crate::auth::{Caller, Role};
use crate::db::schema::mentoring_sessions;
use crate::db::{Backend, DbConnection};
use crate::error::ApiError;

pub type SessionCondition =
    Box<dyn BoxableExpression<mentoring_sessions::table, Backend, SqlType = Bool>>;

pub const SESSION_AUDIENCE: AudienceRows = AudienceRows {
    owner: "mentoring_sessions",
    table: "mentoring_session_audience",
    owner_key: "session_id",
};

#[derive(Debug, Clone)]
pub enum SessionAccess {
    Government,
    Kim { place: KimPlace, admin: bool },
}

impl SessionAccess {
    pub fn of(conn: &mut DbConnection, caller: &Caller) -> Result<Self, ApiError> {
        if caller.is_gov() {
            return Ok(SessionAccess::Government);
        }
        let admin = match caller.role {
            Role::KimAdmin => true,
            Role::KimMember => false,
            _ => return Err(ApiError::Forbidden),
        };
        let kim_id = caller.kim_id.ok_or(ApiError::Forbidden)?;
        let place = KimPlace::of(conn, kim_id)?.ok_or(ApiError::Forbidden)?;
        Ok(SessionAccess::Kim { place, admin })
    }

    /// The sessions the caller sees, as SQL.
    pub fn condition(&self) -> SessionCondition {
        match self {
            SessionAccess::Government => Box::new(true.into_sql::<Bool>()),
            SessionAccess::Kim { place, .. } => Box::new(place.addressed_in(&SESSION_AUDIENCE)),
        }
    }

    /// The KIM of a KIM user.
    pub fn kim(&self) -> Option<i64> {
        match self {
            SessionAccess::Government => None,
            SessionAccess::Kim { place, .. } => Some(place.kim_id),
        }
    }

    /// Whether the caller may withdraw a nomination: gov users any, a kim_admin its own
    /// KIM's (the participant was found through this access).
    pub fn may_withdraw(&self) -> Result<(), ApiError> {
        match self {
            SessionAccess::Government => Ok(()),
            SessionAccess::Kim { .. } => self.nominating_kim().map(|_| ()),
        }
    }

    /// The KIM whose members a kim_admin nominates; 403 for anyone else.
    pub fn nominating_kim(&self) -> Result<i64, ApiError> {
        match self {
            SessionAccess::Kim { place, admin: true } => Ok(place.kim_id),
            _ => Err(ApiError::Forbidden),
        }
    }
}

/// SQL: sessions addressed to the KIM at `place` (gov's `kim_id` filter).
pub fn addressed_to(place: &KimPlace) -> SessionCondition {
    Box::new(place.addressed_in(&SESSION_AUDIENCE))
}

/// Only government users list the sessions addressed to a given KIM.
pub fn may_filter_by_kim(caller: &Caller) -> Result<(), ApiError> {
    if caller.is_gov() {
        return Ok(());
    }
    Err(ApiError::invalid_query(
        "kim_id",
        "gov_only",
        "only government users filter by KIM",
        "hanya pengguna pemerintah yang menyaring menurut KIM",
    ))
}
