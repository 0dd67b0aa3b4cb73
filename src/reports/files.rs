//! A report's files (a photo of the broken street light, a scanned letter), through the
//! shared attachments module: added by those who take part in the report, downloaded
//! by those who see it. Public tracking never shows them.

use actix_web::{HttpRequest, HttpResponse, get, post, web};

use super::find_visible;
use super::model;
use super::policy::ReportAccess;
use crate::attachments::{
    self, Attachment, FileContent, Owner, Storage, UploadForm, UploadRequest, upload_once,
};
use crate::auth::Caller;
use crate::crypto::PersonalDataCipher;
use crate::db::Db;
use crate::error::ApiError;
use crate::idempotency::{CreatedResponse, IdempotencyKey};
use crate::openapi::{
    Forbidden, IdempotencyKeyParam, InvalidBody, InvalidPath, NotFound, PayloadTooLarge,
    ServiceUnavailable, Unauthorized,
};
use crate::unit_of_work::{Target, UnitOfWork};

/// Attaches a file (multipart field `file`): JPEG, PNG, WebP or PDF judged by its
/// content, at most 5 MiB, at most 10 per report. Honours `Idempotency-Key` (a retry
/// of the same file answers the first upload).
///
/// Roles: government users, the submitting KIM's users and the submitting integration
/// client; others who see the report only download (403).
#[utoipa::path(
    tag = "reports",
    params(("id" = i64, Path, description = "Report id"), IdempotencyKeyParam),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Attached", body = Attachment, headers(("Location" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`too_many_attachments`; `kim_dissolved`: the caller's KIM is dissolved", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, response = PayloadTooLarge),
        (status = 415, description = "`unsupported_file_type` (by content) or not multipart/form-data", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::openapi::UnusableFile),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/reports/{id}/attachments")]
#[expect(
    clippy::too_many_arguments,
    reason = "one extractor per concern, as actix wants"
)]
pub async fn upload_report_attachment(
    req: HttpRequest,
    caller: Caller,
    db: web::Data<Db>,
    cipher: web::Data<PersonalDataCipher>,
    storage: web::Data<Storage>,
    origin: crate::audit::RequestOrigin,
    idempotency_key: IdempotencyKey,
    id: web::Path<i64>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (checking, author, replay_caller) = (caller.clone(), caller.clone(), caller.clone());
    let request = UploadRequest {
        req: &req,
        caller: &caller,
        db: &db,
        cipher,
        storage: &storage,
        origin,
        key: idempotency_key,
    };
    upload_once(
        request,
        payload,
        move |conn| {
            let access = ReportAccess::of(conn, &checking)?;
            access.may_take_part(&find_visible(conn, &access, id)?)
        },
        move |uow, upload| {
            uow.lock_report(id)?;
            let access = ReportAccess::of(uow.conn, &author)?;
            let current = find_visible(uow.conn, &access, id)?;
            access.may_take_part(&current)?;
            let row = attachments::insert(uow.conn, Owner::Report(id), upload, author.user_id())?;
            // The file is part of the report as apps hold it: a new version to sync.
            model::touch(uow.conn, &current)?;
            uow.audit(
                "report.attachment_added",
                Some(Target::new("report", id)),
                Some(format!("attachment={} type={}", row.id, row.content_type)),
            )?;
            let location = format!("/api/v1/reports/{id}/attachments/{}", row.id);
            CreatedResponse::created(&Attachment::from(row), location, 1)
        },
        move |uow: &mut UnitOfWork<'_>, _: &CreatedResponse| {
            let access = ReportAccess::of(uow.conn, &replay_caller)?;
            find_visible(uow.conn, &access, id).map(|_| ())
        },
    )
    .await
}

/// Downloads a file of a report the caller may see, as an attachment with its stored
/// type.
#[utoipa::path(
    tag = "reports",
    params(
        ("id" = i64, Path, description = "Report id"),
        ("aid" = i64, Path, description = "Attachment id"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The file, as `Content-Disposition: attachment`",
            content(
                (FileContent = "image/jpeg"),
                (FileContent = "image/png"),
                (FileContent = "image/webp"),
                (FileContent = "application/pdf"),
            )),
        (status = 400, response = InvalidPath),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/reports/{id}/attachments/{aid}")]
pub async fn download_report_attachment(
    caller: Caller,
    db: web::Data<Db>,
    storage: web::Data<Storage>,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (id, aid) = path.into_inner();
    let row = db
        .read(move |conn| {
            let access = ReportAccess::of(conn, &caller)?;
            find_visible(conn, &access, id)?;
            attachments::find(conn, Owner::Report(id), aid)?.ok_or(ApiError::NotFound)
        })
        .await?;
    storage.download(&row).await
}
