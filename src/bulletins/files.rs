//! A bulletin's files (a poster, a scanned circular): added and removed by those who
//! may edit the bulletin, seen by those who see it.

use super::model::BulletinStatus;
use super::policy::{self, BulletinAccess};
use super::{archived, find_changeable, find_visible, model};
use crate::attachments::{FileOwner, endpoints::file_routes};
use crate::auth::Caller;
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::unit_of_work::{Target, UnitOfWork};

pub struct BulletinFiles;

impl FileOwner for BulletinFiles {
    type Item = i64;
    type File = (i64, i64);
    const KIND: &'static str = "bulletin";

    fn id(item: i64) -> i64 {
        item
    }

    fn split(file: (i64, i64)) -> (i64, i64) {
        file
    }

    fn files_url(item: i64) -> String {
        format!("/api/v1/bulletins/{item}/attachments")
    }

    fn may_add(conn: &mut DbConnection, caller: &Caller, item: i64) -> Result<(), ApiError> {
        let access = BulletinAccess::of(conn, Some(caller))?;
        policy::may_change(caller, &find_visible(conn, &access, item)?)
    }

    fn change(uow: &mut UnitOfWork<'_>, caller: &Caller, item: i64) -> Result<Target, ApiError> {
        let current = find_changeable(uow, caller, item, policy::may_change)?;
        if current.status == BulletinStatus::Archived {
            return Err(archived());
        }
        // The files are part of the bulletin as apps hold it: a new version to sync.
        model::touch(uow.conn, &current)?;
        Ok(Target::new("bulletin", item))
    }

    fn may_see(
        conn: &mut DbConnection,
        caller: Option<&Caller>,
        item: i64,
    ) -> Result<(), ApiError> {
        let access = BulletinAccess::of(conn, caller)?;
        find_visible(conn, &access, item).map(|_| ())
    }
}

file_routes! {
    owner: BulletinFiles,
    tag: "bulletins",
    files: "/bulletins/{id}/attachments",
    file: "/bulletins/{id}/attachments/{aid}",
    from_upload: "/bulletins/{id}/attachments/from-upload",
    item_params: [("id" = i64, Path, description = "Bulletin id")],
    file_param: ("aid" = i64, Path, description = "Attachment id"),
    who_adds: "Roles: as for editing the bulletin; not once it is archived.",
    who_sees: "Those who see the bulletin (anonymous callers: published public bulletins).",
    see_security: ((), ("bearer" = [])),
    conflicts: "`too_many_attachments`, `bulletin_archived`; `kim_dissolved`: the caller's KIM is dissolved",
    handlers: (upload_attachment, attach_upload, list_attachments, download_attachment, delete_attachment),
}
