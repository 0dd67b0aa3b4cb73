//! A consultation's documents (the draft regulation, a map), through the shared
//! attachments module: gov attaches them until the consultation is concluded, and
//! whoever sees the consultation downloads them.

use actix_web::{HttpRequest, HttpResponse, get, post, web};

use super::model::ConsultationStatus;
use super::policy::ConsultationAccess;
use super::{find_for_change, find_visible};
use crate::attachments::{
    self, Attachment, FileContent, Owner, Storage, UploadForm, UploadRequest, upload_once,
};
use crate::auth::{Authorized, GovOnly, MaybeCaller};
use crate::crypto::PersonalDataCipher;
use crate::db::Db;
use crate::error::ApiError;
use crate::idempotency::{CreatedResponse, IdempotencyKey};
use crate::openapi::{
    Forbidden, IdempotencyKeyParam, InvalidBody, NotFound, PayloadTooLarge, ServiceUnavailable,
    Unauthorized,
};
use crate::unit_of_work::{Target, UnitOfWork};

/// Attaches a document (multipart field `file`): JPEG, PNG, WebP or PDF judged by its
/// content, at most 5 MiB, at most 10 per consultation. gov, until it is concluded.
/// Honours `Idempotency-Key`.
#[utoipa::path(
    tag = "consultations",
    params(("id" = i64, Path, description = "Consultation id"), IdempotencyKeyParam),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Attached", body = Attachment, headers(("Location" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`too_many_attachments`, `consultation_concluded`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, response = PayloadTooLarge),
        (status = 415, description = "`unsupported_file_type` (by content) or not multipart/form-data", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::openapi::UnusableFile),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/consultations/{id}/attachments")]
#[expect(
    clippy::too_many_arguments,
    reason = "one extractor per concern, as actix wants"
)]
pub async fn upload_consultation_attachment(
    req: HttpRequest,
    caller: Authorized<GovOnly>,
    db: web::Data<Db>,
    cipher: web::Data<PersonalDataCipher>,
    storage: web::Data<Storage>,
    origin: crate::audit::RequestOrigin,
    idempotency_key: IdempotencyKey,
    id: web::Path<i64>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let author = caller.caller.user_id();
    let request = UploadRequest {
        req: &req,
        caller: &caller.caller,
        db: &db,
        cipher,
        storage: &storage,
        origin,
        key: idempotency_key,
    };
    upload_once(
        request,
        payload,
        move |conn| find_visible(conn, &ConsultationAccess::Government, id).map(|_| ()),
        move |uow, upload| {
            let current = find_for_change(uow, id)?;
            if current.status()? == ConsultationStatus::Concluded {
                return Err(ApiError::conflict(
                    "consultation_concluded",
                    "A concluded consultation takes no more files.",
                    "Konsultasi yang sudah disimpulkan tidak menerima berkas lagi.",
                ));
            }
            let row = attachments::insert(uow.conn, Owner::Consultation(id), upload, author)?;
            uow.audit(
                "consultation.attachment_added",
                Some(Target::new("consultation", id)),
                Some(format!("attachment={} type={}", row.id, row.content_type)),
            )?;
            let location = format!("/api/v1/consultations/{id}/attachments/{}", row.id);
            CreatedResponse::created(&Attachment::from(row), location, 1)
        },
        move |uow: &mut UnitOfWork<'_>, _: &CreatedResponse| {
            find_visible(uow.conn, &ConsultationAccess::Government, id).map(|_| ())
        },
    )
    .await
}

/// Downloads a document of a consultation the caller sees, as an attachment with its
/// stored type.
#[utoipa::path(
    tag = "consultations",
    params(
        ("id" = i64, Path, description = "Consultation id"),
        ("aid" = i64, Path, description = "Attachment id"),
    ),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The file, as `Content-Disposition: attachment`",
            content(
                (FileContent = "image/jpeg"),
                (FileContent = "image/png"),
                (FileContent = "image/webp"),
                (FileContent = "application/pdf"),
            )),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/consultations/{id}/attachments/{aid}")]
pub async fn download_consultation_attachment(
    caller: MaybeCaller,
    db: web::Data<Db>,
    storage: web::Data<Storage>,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (id, aid) = path.into_inner();
    let MaybeCaller(caller) = caller;
    let row = db
        .read(move |conn| {
            let access = ConsultationAccess::of(conn, caller.as_ref())?;
            find_visible(conn, &access, id)?;
            attachments::find(conn, Owner::Consultation(id), aid)?.ok_or(ApiError::NotFound)
        })
        .await?;
    storage.download(&row).await
}
