//! Who sees and records which KIM activities (SPEC §10):
//!
//! - gov users see and record every KIM's activities;
//! - a KIM's own users see all of its activities, and its kim_admin records them;
//! - everyone else (anonymous callers, other KIMs' users, integration clients) sees
//!   the activities of active KIMs without account ids, and nothing of other KIMs
//!   (404);
//! - writing needs the KIM's own kim_admin or gov (403 for others who see it).

use crate::auth::{Caller, Role};
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::kims::model::{KimRow, KimStatus};

/// What a caller may do with one KIM's activities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivityAccess {
    /// Account ids shown.
    pub insider: bool,
    pub may_record: bool,
}

impl ActivityAccess {
    fn of(caller: Option<&Caller>, kim: &KimRow) -> Result<Self, ApiError> {
        let own = caller.is_some_and(|caller| caller.kim_id == Some(kim.id));
        let gov = caller.is_some_and(Caller::is_gov);
        if gov || own {
            return Ok(ActivityAccess {
                insider: true,
                may_record: gov || caller.is_some_and(|caller| caller.role == Role::KimAdmin),
            });
        }
        if kim.status == KimStatus::Active {
            return Ok(ActivityAccess {
                insider: false,
                may_record: false,
            });
        }
        Err(ApiError::NotFound)
    }
}

/// KIM `kim_id` and what `caller` may do with its activities; 404 when it sees none.
pub fn visible_kim(
    conn: &mut DbConnection,
    caller: Option<&Caller>,
    kim_id: i64,
) -> Result<(KimRow, ActivityAccess), ApiError> {
    let kim = crate::kims::model::find(conn, kim_id)?.ok_or(ApiError::NotFound)?;
    let access = ActivityAccess::of(caller, &kim)?;
    Ok((kim, access))
}

/// Like [`visible_kim`], for recording: 403 for those who only read.
pub fn recording_kim(
    conn: &mut DbConnection,
    caller: &Caller,
    kim_id: i64,
) -> Result<KimRow, ApiError> {
    let (kim, access) = visible_kim(conn, Some(caller), kim_id)?;
    if !access.may_record {
        return Err(ApiError::Forbidden);
    }
    kim.ensure_not_dissolved()?;
    Ok(kim)
}
