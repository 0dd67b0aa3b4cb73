//! An activity's photos and documents: added and removed by those who record the
//! KIM's activities, seen by those who see them.

use super::{find, policy};
use crate::attachments::{FileOwner, endpoints::file_routes};
use crate::auth::Caller;
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::unit_of_work::{Target, UnitOfWork};

pub struct ActivityFiles;

impl FileOwner for ActivityFiles {
    /// `(kim, activity)`.
    type Item = (i64, i64);
    type File = (i64, i64, i64);
    const KIND: &'static str = "activity";

    fn id((_, activity): (i64, i64)) -> i64 {
        activity
    }

    fn split((kim, activity, file): (i64, i64, i64)) -> ((i64, i64), i64) {
        ((kim, activity), file)
    }

    fn files_url((kim, activity): (i64, i64)) -> String {
        format!("/api/v1/kims/{kim}/activities/{activity}/attachments")
    }

    fn may_add(
        conn: &mut DbConnection,
        caller: &Caller,
        (kim, activity): (i64, i64),
    ) -> Result<(), ApiError> {
        policy::recording_kim(conn, caller, kim)?;
        find(conn, kim, activity).map(|_| ())
    }

    fn change(
        uow: &mut UnitOfWork<'_>,
        caller: &Caller,
        (kim, activity): (i64, i64),
    ) -> Result<Target, ApiError> {
        uow.lock_kim(kim)?;
        policy::recording_kim(uow.conn, caller, kim)?;
        find(uow.conn, kim, activity)?;
        Ok(Target::new("kim", kim))
    }

    fn may_see(
        conn: &mut DbConnection,
        caller: Option<&Caller>,
        (kim, activity): (i64, i64),
    ) -> Result<(), ApiError> {
        policy::visible_kim(conn, caller, kim)?;
        find(conn, kim, activity).map(|_| ())
    }
}

file_routes! {
    owner: ActivityFiles,
    tag: "activities",
    files: "/kims/{id}/activities/{aid}/attachments",
    file: "/kims/{id}/activities/{aid}/attachments/{fid}",
    from_upload: "/kims/{id}/activities/{aid}/attachments/from-upload",
    item_params: [
        ("id" = i64, Path, description = "KIM id"),
        ("aid" = i64, Path, description = "Activity id"),
    ],
    file_param: ("fid" = i64, Path, description = "Attachment id"),
    who_adds: "Roles: the KIM's kim_admin, or gov.",
    who_sees: "Those who see the KIM's activities.",
    see_security: ((), ("bearer" = [])),
    conflicts: "`too_many_attachments`; `kim_dissolved`: the caller's KIM is dissolved",
    handlers: (upload_activity_attachment, attach_activity_upload, list_activity_attachments, download_activity_attachment, delete_activity_attachment),
}
