//! Who sees which consultations (SPEC §10), as one SQL condition for lists and single
//! reads alike:
//!
//! - gov users see every consultation, drafts included, and alone read results;
//! - a KIM's users see the consultations addressed to their KIM once opened, and read
//!   their KIM's response; its kim_admin answers;
//! - everyone else (anonymous callers, integration clients) sees public consultations
//!   once opened, with the government's response when concluded;
//! - anything else does not exist for the caller (404).

use diesel::prelude::*;
use diesel::sql_types::Bool;

use crate::audience::{AudienceRows, AudienceScope, KimPlace};
use crate::auth::{Caller, Role};
use crate::db::schema::consultations;
use crate::db::{Backend, DbConnection};
use crate::error::ApiError;

use super::model::ConsultationStatus;

pub type ConsultationCondition =
    Box<dyn BoxableExpression<consultations::table, Backend, SqlType = Bool>>;

pub const CONSULTATION_AUDIENCE: AudienceRows = AudienceRows {
    owner: "consultations",
    table: "consultation_audience",
    owner_key: "consultation_id",
};

#[derive(Debug, Clone)]
pub enum ConsultationAccess {
    Government,
    Kim { place: KimPlace, admin: bool },
    Public,
}

impl ConsultationAccess {
    pub fn of(conn: &mut DbConnection, caller: Option<&Caller>) -> Result<Self, ApiError> {
        Ok(match caller {
            Some(caller) if caller.is_gov() => ConsultationAccess::Government,
            Some(caller) if matches!(caller.role, Role::KimAdmin | Role::KimMember) => {
                let kim_id = caller.kim_id.ok_or(ApiError::Forbidden)?;
                ConsultationAccess::Kim {
                    place: KimPlace::of(conn, kim_id)?.ok_or(ApiError::Forbidden)?,
                    admin: caller.role == Role::KimAdmin,
                }
            }
            _ => ConsultationAccess::Public,
        })
    }

    /// The consultations the caller sees, as SQL.
    pub fn condition(&self) -> ConsultationCondition {
        let opened = consultations::status.ne(ConsultationStatus::Draft);
        match self {
            ConsultationAccess::Government => Box::new(consultations::id.is_not_null()),
            ConsultationAccess::Kim { place, .. } => {
                Box::new(opened.and(place.addressed_in(&CONSULTATION_AUDIENCE)))
            }
            ConsultationAccess::Public => {
                Box::new(opened.and(consultations::audience_scope.eq(AudienceScope::Public)))
            }
        }
    }

    /// The KIM a kim_admin answers for; 403 for anyone else.
    pub fn answering_kim(&self) -> Result<i64, ApiError> {
        match self {
            ConsultationAccess::Kim { place, admin: true } => Ok(place.kim_id),
            _ => Err(ApiError::Forbidden),
        }
    }

    /// The KIM of a KIM user; 403 for anyone else.
    pub fn kim(&self) -> Result<i64, ApiError> {
        match self {
            ConsultationAccess::Kim { place, .. } => Ok(place.kim_id),
            _ => Err(ApiError::Forbidden),
        }
    }
}
