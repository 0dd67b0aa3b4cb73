//! Who may see and change which accounts (SPEC §2): the one place for both single
//! reads and writes and for the rows a list shows.
//!
//! - gov_admin sees and changes every account;
//! - a kim_admin sees its own KIM's accounts only (others do not exist for it: 404),
//!   creates `kim_member` accounts of its KIM and disables them, nothing more (403);
//! - nobody else manages accounts (the routes take `Authorized<UserManagers>`).

use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::model::UserRow;
use crate::auth::{Caller, Role};
use crate::db::Backend;
use crate::db::schema::users;
use crate::error::ApiError;

/// A condition on `users` rows, applied to a list query.
pub type UserCondition = Box<dyn BoxableExpression<users::table, Backend, SqlType = Bool>>;

/// May `caller` see the account of `kim_id` (the account's KIM, if any)?
fn sees(caller: &Caller, kim_id: Option<i64>) -> bool {
    caller.role == Role::GovAdmin || kim_id.is_some_and(|kim| caller.can_manage_kim(kim))
}

/// `Err(404)` unless `caller` may see `row`.
pub fn may_see(caller: &Caller, row: &UserRow) -> Result<(), ApiError> {
    may_see_account_of(caller, row.kim_id)
}

/// [`may_see`] for an account known only by its KIM (a replayed creation).
pub fn may_see_account_of(caller: &Caller, kim_id: Option<i64>) -> Result<(), ApiError> {
    sees(caller, kim_id).then_some(()).ok_or(ApiError::NotFound)
}

/// May `caller` change `row`? Beyond seeing it, a kim_admin changes only `kim_member`
/// accounts, and only by disabling them (checked with the request's fields).
pub fn may_change(caller: &Caller, row: &UserRow) -> Result<(), ApiError> {
    may_see(caller, row)?;
    if caller.role != Role::GovAdmin && row.role != Role::KimMember {
        return Err(ApiError::Forbidden);
    }
    Ok(())
}

/// May `caller` create an account with `role` in `kim_id`? Answers the KIM the
/// account goes to (a kim_admin's own, whatever it named).
pub fn may_create(
    caller: &Caller,
    role: Role,
    kim_id: Option<i64>,
) -> Result<Option<i64>, ApiError> {
    if caller.role == Role::GovAdmin {
        return Ok(kim_id);
    }
    if role != Role::KimMember || kim_id.is_some_and(|id| Some(id) != caller.kim_id) {
        return Err(ApiError::Forbidden);
    }
    Ok(caller.kim_id)
}

/// The rows `caller` may list: [`may_see`] as SQL. `None`: all of them.
pub fn list_condition(caller: &Caller) -> Option<UserCondition> {
    if caller.role == Role::GovAdmin {
        return None;
    }
    Some(match caller.kim_id {
        Some(kim_id) => Box::new(users::kim_id.eq(kim_id).assume_not_null()),
        // A manager without a KIM manages nothing.
        None => Box::new(users::id.eq(-1)),
    })
}

/// Whether `caller` may make an edit of this kind at all, before the account is read.
/// SPEC §2 lets a kim_admin create and disable its members' accounts; enabling one
/// again (perhaps disabled by a gov_admin), or any other change, is gov_admin's call.
pub fn may_edit_as_asked(caller: &Caller, only_disables: bool) -> Result<(), ApiError> {
    if caller.role == Role::GovAdmin || only_disables {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}
