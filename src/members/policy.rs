//! Who may see and change which members, and how much of them: the one place for the
//! member rules of SPEC §5, used by single reads, lists and writes alike.
//!
//! - gov_admin and the KIM's own kim_admin see whole NIKs (each such answer is
//!   audited) and contacts; gov_officer sees masked NIKs and contacts; the KIM's own
//!   kim_member and integration clients with `members:read` see masked NIKs only;
//! - other KIMs' users get 404 (their members are not revealed), integration clients
//!   without the scope 403, the public 401 (the routes need a token);
//! - only gov_admin and the KIM's own kim_admin change members (403 otherwise).

use super::model::MemberView;
use crate::auth::{Caller, Role, Scope};
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::kims::model::KimRow;

/// What `caller` may see of `kim`'s members; `Err` when nothing.
pub fn member_view(caller: &Caller, kim: &KimRow) -> Result<MemberView, ApiError> {
    let own = caller.kim_id == Some(kim.id);
    match caller.role {
        Role::GovAdmin => Ok(MemberView {
            whole_nik: true,
            contacts: true,
        }),
        Role::GovOfficer => Ok(MemberView {
            whole_nik: false,
            contacts: true,
        }),
        Role::KimAdmin if own => Ok(MemberView {
            whole_nik: true,
            contacts: true,
        }),
        Role::KimMember if own => Ok(MemberView {
            whole_nik: false,
            contacts: false,
        }),
        Role::Integration if caller.has_scope(Scope::MembersRead) => Ok(MemberView {
            whole_nik: false,
            contacts: false,
        }),
        Role::Integration => Err(ApiError::Forbidden),
        // Another KIM's members: not revealed.
        Role::KimAdmin | Role::KimMember => Err(ApiError::NotFound),
    }
}

/// The KIM `kim_id` if `caller` may see its members, with the view it gets.
pub fn visible_kim(
    conn: &mut DbConnection,
    caller: &Caller,
    kim_id: i64,
) -> Result<(KimRow, MemberView), ApiError> {
    let kim = crate::kims::model::find(conn, kim_id)?.ok_or(ApiError::NotFound)?;
    let view = member_view(caller, &kim)?;
    Ok((kim, view))
}

/// Like [`visible_kim`], for changes: gov_admin and the KIM's own kim_admin.
pub fn managed_kim(
    conn: &mut DbConnection,
    caller: &Caller,
    kim_id: i64,
) -> Result<(KimRow, MemberView), ApiError> {
    let (kim, view) = visible_kim(conn, caller, kim_id)?;
    if !caller.can_manage_kim(kim_id) {
        return Err(ApiError::Forbidden);
    }
    Ok((kim, view))
}

/// Whether `caller`'s role may add members to `kim_id` at all, judged before the body is
/// read: another KIM's kim_member gets 404 (the KIM's members are not revealed), every
/// other role but gov_admin and kim_admin 403. [`managed_kim`] then decides per KIM.
pub fn may_add_to(caller: &Caller, kim_id: i64) -> Result<(), ApiError> {
    match caller.role {
        Role::GovAdmin | Role::KimAdmin => Ok(()),
        Role::KimMember if caller.kim_id != Some(kim_id) => Err(ApiError::NotFound),
        _ => Err(ApiError::Forbidden),
    }
}
