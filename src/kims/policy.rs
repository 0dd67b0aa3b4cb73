//! Who may see and change which KIMs: the one place that answers both "may this
//! caller see this KIM, and how much of it" (single reads and writes) and "which KIMs
//! may it list" (a query filter), so the two can never disagree.
//!
//! - government users and integration clients holding `kims:read` see every KIM whole
//!   (an integration client without the scope is refused, 403);
//! - a KIM's own users see their KIM whole, whatever its status;
//! - everyone else (the public, other KIMs' users) sees active KIMs without contact
//!   details; other KIMs do not exist for them (404);
//! - gov_admin changes every KIM, a kim_admin only its own (403 otherwise).

use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::model::{KimRow, KimStatus, Visibility};
use crate::auth::{Caller, Role, Scope};
use crate::db::Backend;
use crate::db::schema::kims;
use crate::error::ApiError;

/// A caller's access to the registry.
#[derive(Debug, Clone, Copy)]
pub struct KimAccess {
    sees_all: bool,
    own_kim: Option<i64>,
}

/// A condition on `kims` rows, applied to a list query.
pub type KimCondition = Box<dyn BoxableExpression<kims::table, Backend, SqlType = Bool>>;

impl KimAccess {
    /// `Err(403)` for an integration client without `kims:read`.
    pub fn of(caller: Option<&Caller>) -> Result<Self, ApiError> {
        if let Some(caller) = caller
            && caller.role == Role::Integration
            && !caller.has_scope(Scope::KimsRead)
        {
            return Err(ApiError::Forbidden);
        }
        Ok(KimAccess {
            sees_all: caller.is_some_and(|c| c.is_gov() || c.role == Role::Integration),
            own_kim: caller.and_then(|c| c.kim_id),
        })
    }

    /// How much of `row` the caller sees; `Err(404)` when it may not know of it.
    pub fn view(&self, row: &KimRow) -> Result<Visibility, ApiError> {
        if self.sees_all || self.own_kim == Some(row.id) {
            Ok(Visibility::Full)
        } else if row.status == KimStatus::Active {
            Ok(Visibility::Public)
        } else {
            Err(ApiError::NotFound)
        }
    }

    /// The rows the caller may list: [`KimAccess::view`] as SQL. `None`: all of them.
    pub fn list_condition(&self) -> Option<KimCondition> {
        if self.sees_all {
            return None;
        }
        let active = kims::status.eq(KimStatus::Active);
        Some(match self.own_kim {
            Some(own) => Box::new(active.or(kims::id.eq(own))),
            None => Box::new(active),
        })
    }
}

/// May `caller` change `row`'s profile? A KIM it may not see is 404; one it sees but
/// does not run, 403.
pub fn may_change(caller: &Caller, row: &KimRow) -> Result<(), ApiError> {
    KimAccess::of(Some(caller))?.view(row)?;
    if caller.can_manage_kim(row.id) {
        Ok(())
    } else {
        Err(ApiError::Forbidden)
    }
}

/// Whether `caller`'s role may edit KIM profiles, judged before the KIM is read:
/// gov_admin anything, a kim_admin (for its own KIM, [`may_change`]) all but the
/// fields only the government sets. Everyone else is 403.
pub fn may_edit_profile(caller: &Caller, touches_government_fields: bool) -> Result<(), ApiError> {
    match caller.role {
        Role::GovAdmin => Ok(()),
        Role::KimAdmin if !touches_government_fields => Ok(()),
        _ => Err(ApiError::Forbidden),
    }
}
