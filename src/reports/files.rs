//! A report's files (a photo of the broken street light, a scanned letter): added by
//! those who take part in the report, seen by those who see it. Public tracking never
//! shows them.

use super::policy::ReportAccess;
use super::{find_visible, model};
use crate::attachments::{AttachmentRow, FileOwner, endpoints::file_routes};
use crate::auth::Caller;
use crate::db::DbConnection;
use crate::error::{ApiError, AuthFailure};
use crate::unit_of_work::{Target, UnitOfWork};

pub struct ReportFiles;

impl FileOwner for ReportFiles {
    type Item = i64;
    type File = (i64, i64);
    const KIND: &'static str = "report";

    fn id(item: i64) -> i64 {
        item
    }

    fn split(file: (i64, i64)) -> (i64, i64) {
        file
    }

    fn files_url(item: i64) -> String {
        format!("/api/v1/reports/{item}/attachments")
    }

    fn may_add(conn: &mut DbConnection, caller: &Caller, item: i64) -> Result<(), ApiError> {
        let access = ReportAccess::of(conn, caller)?;
        access.may_take_part(&find_visible(conn, &access, item)?)
    }

    fn change(uow: &mut UnitOfWork<'_>, caller: &Caller, item: i64) -> Result<Target, ApiError> {
        uow.lock_report(item)?;
        let access = ReportAccess::of(uow.conn, caller)?;
        let current = find_visible(uow.conn, &access, item)?;
        access.may_take_part(&current)?;
        // The files are part of the report as apps hold it: a new version to sync.
        model::touch(uow.conn, &current)?;
        Ok(Target::new("report", item))
    }

    fn may_see(
        conn: &mut DbConnection,
        caller: Option<&Caller>,
        item: i64,
    ) -> Result<(), ApiError> {
        let caller = caller.ok_or(ApiError::Unauthorized(AuthFailure::Missing))?;
        let access = ReportAccess::of(conn, caller)?;
        find_visible(conn, &access, item).map(|_| ())
    }

    /// Evidence stays: outside government, an account removes only what it added.
    fn may_remove(caller: &Caller, file: &AttachmentRow) -> Result<(), ApiError> {
        if caller.is_gov() || (file.uploaded_by.is_some() && file.uploaded_by == caller.user_id()) {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

file_routes! {
    owner: ReportFiles,
    tag: "reports",
    files: "/reports/{id}/attachments",
    file: "/reports/{id}/attachments/{aid}",
    from_upload: "/reports/{id}/attachments/from-upload",
    item_params: [("id" = i64, Path, description = "Report id")],
    file_param: ("aid" = i64, Path, description = "Attachment id"),
    who_adds: "Roles: government users, the submitting KIM's users and the submitting integration client; others who see the report only read (403). Outside government, only the account that added a file removes it.",
    who_sees: "Those who see the report (its access rule); never anonymous.",
    see_security: (("bearer" = [])),
    conflicts: "`too_many_attachments`; `kim_dissolved`: the caller's KIM is dissolved",
    handlers: (upload_report_attachment, attach_report_upload, list_report_attachments, download_report_attachment, delete_report_attachment),
}
