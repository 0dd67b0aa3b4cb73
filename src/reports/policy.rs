//! Who sees which reports and whose names (SPEC §7), as one SQL condition for lists
//! and single reads alike:
//!
//! - government users see every report; gov_admin also the reporter of anonymous ones;
//! - a KIM's users see their KIM's reports (confidential ones included), without the
//!   reporter of anonymous ones;
//! - integration clients see the reports they submitted, and with `reports:read` every
//!   report that is not confidential; never the reporter;
//! - anything else does not exist for the caller (404).

use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::model::{Privacy, ReportRow, Submitter};
use super::timeline::{Author, AuthorSide};
use crate::auth::{Caller, Role, Scope, Subject};
use crate::db::schema::{integration_clients, reports};
use crate::db::{Backend, DbConnection};
use crate::error::ApiError;

pub type ReportCondition = Box<dyn BoxableExpression<reports::table, Backend, SqlType = Bool>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reader {
    GovAdmin,
    GovOfficer,
    Kim {
        kim_id: i64,
    },
    Client {
        client_id: i64,
        reads_all: bool,
        writes: bool,
    },
}

#[derive(Debug, Clone, Copy)]
pub struct ReportAccess {
    reader: Reader,
}

impl ReportAccess {
    /// `Err(403)` for an integration client with neither report scope.
    pub fn of(conn: &mut DbConnection, caller: &Caller) -> Result<Self, ApiError> {
        let reader = match (&caller.role, &caller.subject) {
            (Role::GovAdmin, _) => Reader::GovAdmin,
            (Role::GovOfficer, _) => Reader::GovOfficer,
            (Role::Integration, Subject::Client(client_id)) => {
                let reads_all = caller.has_scope(Scope::ReportsRead);
                let writes = caller.has_scope(Scope::ReportsWrite);
                if !reads_all && !writes {
                    return Err(ApiError::Forbidden);
                }
                Reader::Client {
                    client_id: client_record(conn, client_id)?,
                    reads_all,
                    writes,
                }
            }
            (Role::KimAdmin | Role::KimMember, _) => Reader::Kim {
                kim_id: caller.kim_id.ok_or(ApiError::Forbidden)?,
            },
            _ => return Err(ApiError::Forbidden),
        };
        Ok(ReportAccess { reader })
    }

    pub fn is_gov(&self) -> bool {
        matches!(self.reader, Reader::GovAdmin | Reader::GovOfficer)
    }

    /// The KIM of a KIM user.
    pub fn kim(&self) -> Option<i64> {
        match self.reader {
            Reader::Kim { kim_id } => Some(kim_id),
            _ => None,
        }
    }

    /// Who submits as this caller: a KIM's user (its KIM from the token) or a client
    /// holding `reports:write`; anyone else is 403.
    pub fn submitter(&self, caller: &Caller) -> Result<Submitter, ApiError> {
        match (self.reader, caller.user_id()) {
            (Reader::Kim { kim_id }, Some(user_id)) => Ok(Submitter::KimUser { kim_id, user_id }),
            (
                Reader::Client {
                    client_id,
                    writes: true,
                    ..
                },
                _,
            ) => Ok(Submitter::Client { client_id }),
            _ => Err(ApiError::Forbidden),
        }
    }

    /// Whether the caller may say if it is satisfied with `report`'s resolution: the
    /// users of the KIM that submitted it (others see it, if at all, without a say).
    pub fn may_give_feedback(&self, report: &ReportRow) -> Result<(), ApiError> {
        match self.reader {
            Reader::Kim { kim_id } if report.kim_id == Some(kim_id) => Ok(()),
            _ => Err(ApiError::Forbidden),
        }
    }

    /// Who `caller` is on a report's timeline.
    pub fn author(&self, caller: &Caller) -> Author {
        let (client_id, side) = match self.reader {
            Reader::GovAdmin | Reader::GovOfficer => (None, AuthorSide::Government),
            Reader::Kim { .. } => (None, AuthorSide::Kim),
            Reader::Client { client_id, .. } => (Some(client_id), AuthorSide::Integration),
        };
        Author {
            user_id: caller.user_id(),
            client_id,
            side,
        }
    }

    /// A key of what the caller sees, for sync tokens: equal keys, equal views.
    pub fn view_key(&self) -> u64 {
        crate::sync::view_key(&match self.reader {
            Reader::GovAdmin => "gov_admin".to_owned(),
            Reader::GovOfficer => "gov_officer".to_owned(),
            Reader::Kim { kim_id } => format!("kim:{kim_id}"),
            Reader::Client {
                client_id,
                reads_all,
                ..
            } => format!("client:{client_id}:{reads_all}"),
        })
    }

    /// Whether the caller reads `internal` timeline entries and who wrote entries.
    pub fn reads_internal(&self) -> bool {
        self.is_gov()
    }

    /// Whether the caller may write a comment of `visibility` on `row`: it takes part in
    /// the conversation, and only government users write internal notes.
    pub fn may_comment(
        &self,
        row: &ReportRow,
        visibility: super::timeline::Visibility,
    ) -> Result<(), ApiError> {
        self.may_take_part(row)?;
        if visibility == super::timeline::Visibility::Internal && !self.reads_internal() {
            return Err(ApiError::Forbidden);
        }
        Ok(())
    }

    /// Whether the caller takes part in report `row`'s conversation (comments, files):
    /// government users, the submitting KIM's users and the submitting client (with
    /// `reports:write`). Others who see the report only read it (403).
    pub fn may_take_part(&self, row: &ReportRow) -> Result<(), ApiError> {
        let takes_part = match self.reader {
            Reader::GovAdmin | Reader::GovOfficer => true,
            Reader::Kim { kim_id } => row.kim_id == Some(kim_id),
            Reader::Client {
                client_id, writes, ..
            } => writes && row.submitted_by_client == Some(client_id),
        };
        if takes_part {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    /// The reports the caller may see, as SQL.
    pub fn condition(&self) -> ReportCondition {
        match self.reader {
            Reader::GovAdmin | Reader::GovOfficer => Box::new(true.into_sql::<Bool>()),
            Reader::Kim { kim_id } => Box::new(
                reports::kim_id
                    .is_not_null()
                    .and(reports::kim_id.assume_not_null().eq(kim_id)),
            ),
            Reader::Client {
                client_id,
                reads_all,
                ..
            } => {
                let own = reports::submitted_by_client
                    .is_not_null()
                    .and(reports::submitted_by_client.assume_not_null().eq(client_id));
                if reads_all {
                    Box::new(own.or(reports::privacy.ne(Privacy::Confidential)))
                } else {
                    Box::new(own)
                }
            }
        }
    }

    /// Whether the caller sees the reporter's name and contact, and the submitting
    /// account, of `row`.
    pub fn people(&self, row: &ReportRow) -> super::model::PeopleView {
        let anonymous = row.privacy == Privacy::Anonymous;
        let (reporter, submitter) = match self.reader {
            Reader::GovAdmin => (true, true),
            Reader::GovOfficer | Reader::Kim { .. } => (!anonymous, true),
            Reader::Client { .. } => (false, false),
        };
        super::model::PeopleView {
            reporter,
            submitter,
        }
    }
}

/// The row id of an integration client from its public `client_id`.
pub fn client_record(conn: &mut DbConnection, client_id: &str) -> Result<i64, ApiError> {
    integration_clients::table
        .filter(integration_clients::client_id.eq(client_id))
        .select(integration_clients::id)
        .first(conn)
        .optional()?
        .ok_or(ApiError::Forbidden)
}

/// The channel a caller submits through: KIM users, and integration clients holding
/// `reports:write`; anyone else is 403 (before the body is judged).
pub fn channel_of(caller: &Caller) -> Result<super::model::Channel, ApiError> {
    match caller.role {
        Role::KimAdmin | Role::KimMember => Ok(super::model::Channel::Kim),
        Role::Integration if caller.has_scope(Scope::ReportsWrite) => {
            Ok(super::model::Channel::Integration)
        }
        _ => Err(ApiError::Forbidden),
    }
}
