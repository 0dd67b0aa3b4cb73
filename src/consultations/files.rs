//! A consultation's documents (the draft regulation it asks about): added and removed
//! by government while it is not concluded, seen by those who see the consultation.

use super::{ConsultationAccess, ConsultationStatus, find_for_change, find_visible};
use crate::attachments::{FileOwner, endpoints::file_routes};
use crate::auth::Caller;
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::unit_of_work::{Target, UnitOfWork};

pub struct ConsultationFiles;

impl FileOwner for ConsultationFiles {
    type Item = i64;
    type File = (i64, i64);
    const KIND: &'static str = "consultation";

    fn id(item: i64) -> i64 {
        item
    }

    fn split(file: (i64, i64)) -> (i64, i64) {
        file
    }

    fn files_url(item: i64) -> String {
        format!("/api/v1/consultations/{item}/attachments")
    }

    fn may_add(conn: &mut DbConnection, caller: &Caller, item: i64) -> Result<(), ApiError> {
        if !caller.is_gov() {
            return Err(ApiError::Forbidden);
        }
        find_visible(conn, &ConsultationAccess::Government, item).map(|_| ())
    }

    fn change(uow: &mut UnitOfWork<'_>, caller: &Caller, item: i64) -> Result<Target, ApiError> {
        if !caller.is_gov() {
            return Err(ApiError::Forbidden);
        }
        if find_for_change(uow, item)?.effective_status() == ConsultationStatus::Concluded {
            return Err(ApiError::conflict(
                "consultation_concluded",
                "A concluded consultation's documents no longer change.",
                "Dokumen konsultasi yang sudah disimpulkan tidak berubah lagi.",
            ));
        }
        Ok(Target::new("consultation", item))
    }

    fn may_see(
        conn: &mut DbConnection,
        caller: Option<&Caller>,
        item: i64,
    ) -> Result<(), ApiError> {
        let access = ConsultationAccess::of(conn, caller)?;
        find_visible(conn, &access, item).map(|_| ())
    }
}

file_routes! {
    owner: ConsultationFiles,
    tag: "consultations",
    files: "/consultations/{id}/attachments",
    file: "/consultations/{id}/attachments/{aid}",
    from_upload: "/consultations/{id}/attachments/from-upload",
    item_params: [("id" = i64, Path, description = "Consultation id")],
    file_param: ("aid" = i64, Path, description = "Attachment id"),
    who_adds: "Roles: gov_admin and gov_officer; not once the consultation is concluded.",
    who_sees: "Those who see the consultation.",
    see_security: ((), ("bearer" = [])),
    conflicts: "`too_many_attachments`, `consultation_concluded`",
    handlers: (upload_consultation_attachment, attach_consultation_upload, list_consultation_attachments, download_consultation_attachment, delete_consultation_attachment),
}
