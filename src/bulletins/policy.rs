//! Who sees and changes which bulletins: the one place that answers "may this caller
//! see this bulletin" and "which bulletins may it list", as one SQL condition used by
//! lists and single reads alike, so the two can never disagree.
//!
//! - government users see every bulletin;
//! - integration clients holding `bulletins:read` see published ones (403 without it);
//! - a KIM's users see published, unexpired bulletins addressed to their KIM (public,
//!   all_kims, its kecamatan, its kelurahan, or its id); its kim_admin also sees every
//!   bulletin of its own KIM, drafts and archived ones included;
//! - anonymous callers see published, unexpired public bulletins;
//! - anything else does not exist for the caller (404).
//!
//! gov users change government bulletins and archive any; a kim_admin changes its own
//! KIM's bulletins; other visible bulletins are 403.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::model::{BulletinRow, BulletinStatus, Origin, StoredStatus};
use crate::audience::{AudienceRows, AudienceScope, KimPlace};
use crate::auth::{Caller, Role, Scope};
use crate::db::schema::bulletins;
use crate::db::{Backend, DbConnection, now};
use crate::error::ApiError;

/// A condition on `bulletins` rows, applied to a query.
pub type BulletinCondition = Box<dyn BoxableExpression<bulletins::table, Backend, SqlType = Bool>>;

type Live = diesel::dsl::Or<
    diesel::dsl::IsNull<bulletins::expires_at>,
    diesel::dsl::Gt<diesel::dsl::AssumeNotNull<bulletins::expires_at>, NaiveDateTime>,
>;

#[derive(Debug, Clone)]
enum Reader {
    Government,
    Integration,
    Kim { place: KimPlace, admin: bool },
    Public,
}

/// A caller's view of the bulletins, as of one moment (expiry is judged at it).
#[derive(Debug, Clone)]
pub struct BulletinAccess {
    reader: Reader,
    at: NaiveDateTime,
}

impl BulletinAccess {
    /// Reads the region of a KIM user's KIM; `Err(403)` for an integration client
    /// without `bulletins:read`.
    pub fn of(conn: &mut DbConnection, caller: Option<&Caller>) -> Result<Self, ApiError> {
        let reader = match caller {
            None => Reader::Public,
            Some(caller) if caller.is_gov() => Reader::Government,
            Some(caller) if caller.role == Role::Integration => {
                if !caller.has_scope(Scope::BulletinsRead) {
                    return Err(ApiError::Forbidden);
                }
                Reader::Integration
            }
            Some(caller) => {
                let kim_id = caller.kim_id.ok_or(ApiError::Forbidden)?;
                Reader::Kim {
                    place: KimPlace::of(conn, kim_id)?.ok_or(ApiError::Forbidden)?,
                    admin: caller.role == Role::KimAdmin,
                }
            }
        };
        Ok(BulletinAccess { reader, at: now() })
    }

    /// The KIM of a KIM user.
    pub fn kim(&self) -> Option<i64> {
        match self.reader {
            Reader::Kim { ref place, .. } => Some(place.kim_id),
            _ => None,
        }
    }

    /// Whether account ids (the author) are shown.
    pub fn shows_authors(&self) -> bool {
        !matches!(self.reader, Reader::Public)
    }

    /// A key of what the caller sees, for sync tokens: equal keys, equal views.
    pub fn view_key(&self) -> u64 {
        crate::sync::view_key(&match &self.reader {
            Reader::Government => "government".to_owned(),
            Reader::Integration => "integration".to_owned(),
            Reader::Public => "public".to_owned(),
            Reader::Kim { place, admin } => format!(
                "kim:{}:{}:{}:{admin}",
                place.kim_id, place.kelurahan_code, place.kecamatan_code
            ),
        })
    }

    /// The bulletins the caller may see, as SQL.
    pub fn condition(&self) -> BulletinCondition {
        let published = bulletins::status.eq(BulletinStatus::Published);
        match &self.reader {
            Reader::Government => Box::new(bulletins::status.ne(StoredStatus::Deleted)),
            Reader::Integration => Box::new(published),
            Reader::Public => Box::new(
                published
                    .and(live(self.at))
                    .and(bulletins::audience_scope.eq(AudienceScope::Public)),
            ),
            Reader::Kim { place, admin } => {
                let received = received_by(place, self.at);
                if *admin {
                    // Written to be false, never NULL, for government bulletins: the
                    // condition is also selected as a column (sync marks removals).
                    let own =
                        from_kim(place.kim_id).and(bulletins::status.ne(StoredStatus::Deleted));
                    Box::new(received.or(own))
                } else {
                    received
                }
            }
        }
    }

    /// The bulletins the caller could have seen at some time: a sync answers removals
    /// only for these (see `seen.rs`).
    pub fn could_have_seen(&self) -> BulletinCondition {
        match &self.reader {
            Reader::Government => Box::new(true.into_sql::<Bool>()),
            Reader::Integration => Box::new(super::seen::ever_published()),
            Reader::Public => Box::new(super::seen::by_public()),
            Reader::Kim { place, admin } => {
                let seen = super::seen::by_kim(place);
                if *admin {
                    Box::new(from_kim(place.kim_id).or(seen))
                } else {
                    Box::new(seen)
                }
            }
        }
    }

    /// For a KIM user: the bulletins its KIM received (published, unexpired, addressed
    /// to it), the ones it may acknowledge. `None` for other callers.
    pub fn received(&self) -> Option<BulletinCondition> {
        let Reader::Kim { place, .. } = &self.reader else {
            return None;
        };
        Some(received_by(place, self.at))
    }
}

/// Where bulletins keep their audience rows.
pub const BULLETIN_AUDIENCE: AudienceRows = AudienceRows {
    owner: "bulletins",
    table: "bulletin_audience",
    owner_key: "bulletin_id",
};

/// Published, unexpired at `at`, and addressed to the KIM at `place`: by scope, or by
/// name through the indexed audience rows.
fn received_by(place: &KimPlace, at: NaiveDateTime) -> BulletinCondition {
    // Two comparisons rather than `IN (…)`: a list of values makes diesel prepare the
    // statement anew on every request instead of keeping it cached.
    let addressed = bulletins::audience_scope
        .eq(AudienceScope::Public)
        .or(bulletins::audience_scope.eq(AudienceScope::AllKims))
        .or(place.named_in(&BULLETIN_AUDIENCE));
    Box::new(
        bulletins::status
            .eq(BulletinStatus::Published)
            .and(live(at))
            .and(addressed),
    )
}

/// Written by KIM `kim_id`; false, never NULL, for government bulletins.
fn from_kim(
    kim_id: i64,
) -> diesel::dsl::And<
    diesel::dsl::IsNotNull<bulletins::origin_kim_id>,
    diesel::dsl::Eq<diesel::dsl::AssumeNotNull<bulletins::origin_kim_id>, i64>,
> {
    bulletins::origin_kim_id
        .is_not_null()
        .and(bulletins::origin_kim_id.assume_not_null().eq(kim_id))
}

/// Not expired at `at`.
fn live(at: NaiveDateTime) -> Live {
    bulletins::expires_at
        .is_null()
        .or(bulletins::expires_at.assume_not_null().gt(at))
}

/// May `caller` edit, publish or delete `row` (already known visible to it)?
pub fn may_change(caller: &Caller, row: &BulletinRow) -> Result<(), ApiError> {
    let allowed = match row.origin {
        Origin::Government => caller.is_gov(),
        Origin::Kim => {
            caller.role == Role::KimAdmin
                && caller.kim_id.is_some()
                && row.origin_kim_id == caller.kim_id
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

/// May `caller` archive `row`? Its editors, and gov for any bulletin (withdrawing a
/// KIM's bulletin that misinforms is the government's call).
pub fn may_archive(caller: &Caller, row: &BulletinRow) -> Result<(), ApiError> {
    if caller.is_gov() {
        return Ok(());
    }
    may_change(caller, row)
}

/// Who writes a bulletin and as whom: gov users for the government, a kim_admin for
/// its KIM. Anyone else is 403.
pub fn author_origin(caller: &Caller) -> Result<(Origin, Option<i64>), ApiError> {
    match caller.role {
        Role::GovAdmin | Role::GovOfficer => Ok((Origin::Government, None)),
        Role::KimAdmin => Ok((Origin::Kim, caller.kim_id)),
        _ => Err(ApiError::Forbidden),
    }
}

/// Who may read a bulletin's acknowledgements: gov users, and the origin KIM's
/// kim_admin for its own KIM's bulletins.
pub fn may_read_acknowledgements(caller: &Caller, row: &BulletinRow) -> Result<(), ApiError> {
    if caller.is_gov() {
        return Ok(());
    }
    if caller.role == Role::KimAdmin && row.origin_kim_id.is_some() {
        return may_change(caller, row);
    }
    Err(ApiError::Forbidden)
}

/// Who acknowledges bulletins: a KIM's users, for their KIM.
pub fn may_acknowledge(caller: &Caller) -> Result<(), ApiError> {
    if caller.role.is_kim_role() {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}
