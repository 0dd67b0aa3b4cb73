//! An activity's photos and documents, through the shared attachments module:
//! uploaded by those who record the KIM's activities, downloaded by those who see them.

use actix_web::{HttpRequest, HttpResponse, get, post, web};

use super::{find, policy};
use crate::attachments::{
    self, Attachment, FileContent, Owner, Storage, UploadForm, UploadRequest, upload_once,
};
use crate::auth::{Caller, MaybeCaller};
use crate::crypto::PersonalDataCipher;
use crate::db::Db;
use crate::error::ApiError;
use crate::idempotency::{CreatedResponse, IdempotencyKey};
use crate::openapi::{
    Forbidden, IdempotencyKeyParam, InvalidBody, NotFound, PayloadTooLarge, ServiceUnavailable,
    Unauthorized,
};
use crate::unit_of_work::{Target, UnitOfWork};

/// Attaches a photo or document (multipart field `file`): JPEG, PNG, WebP or PDF
/// judged by its content, at most 5 MiB, at most 10 per activity. Honours
/// `Idempotency-Key`. The KIM's kim_admin, or gov.
#[utoipa::path(
    tag = "activities",
    params(
        ("id" = i64, Path, description = "KIM id"),
        ("aid" = i64, Path, description = "Activity id"),
        IdempotencyKeyParam,
    ),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Attached", body = Attachment, headers(("Location" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`too_many_attachments`, `kim_dissolved`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, response = PayloadTooLarge),
        (status = 415, description = "`unsupported_file_type` (by content) or not multipart/form-data", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::openapi::UnusableFile),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/kims/{id}/activities/{aid}/attachments")]
#[expect(
    clippy::too_many_arguments,
    reason = "one extractor per concern, as actix wants"
)]
pub async fn upload_activity_attachment(
    req: HttpRequest,
    caller: Caller,
    db: web::Data<Db>,
    cipher: web::Data<PersonalDataCipher>,
    storage: web::Data<Storage>,
    origin: crate::audit::RequestOrigin,
    idempotency_key: IdempotencyKey,
    path: web::Path<(i64, i64)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (kim_id, id) = path.into_inner();
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
            policy::recording_kim(conn, &checking, kim_id)?;
            find(conn, kim_id, id).map(|_| ())
        },
        move |uow, upload| {
            uow.lock_kim(kim_id)?;
            policy::recording_kim(uow.conn, &author, kim_id)?;
            find(uow.conn, kim_id, id)?;
            let row = attachments::insert(uow.conn, Owner::Activity(id), upload, author.user_id())?;
            uow.audit(
                "activity.attachment_added",
                Some(Target::new("kim", kim_id)),
                Some(format!(
                    "activity={id} attachment={} type={}",
                    row.id, row.content_type
                )),
            )?;
            let location = format!(
                "/api/v1/kims/{kim_id}/activities/{id}/attachments/{}",
                row.id
            );
            CreatedResponse::created(&Attachment::from(row), location, 1)
        },
        move |uow: &mut UnitOfWork<'_>, _: &CreatedResponse| {
            policy::visible_kim(uow.conn, Some(&replay_caller), kim_id)?;
            find(uow.conn, kim_id, id).map(|_| ())
        },
    )
    .await
}

/// Downloads a file of an activity the caller sees, as an attachment with its stored
/// type.
#[utoipa::path(
    tag = "activities",
    params(
        ("id" = i64, Path, description = "KIM id"),
        ("aid" = i64, Path, description = "Activity id"),
        ("fid" = i64, Path, description = "Attachment id"),
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
#[get("/kims/{id}/activities/{aid}/attachments/{fid}")]
pub async fn download_activity_attachment(
    caller: MaybeCaller,
    db: web::Data<Db>,
    storage: web::Data<Storage>,
    path: web::Path<(i64, i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (kim_id, id, fid) = path.into_inner();
    let MaybeCaller(caller) = caller;
    let row = db
        .read(move |conn| {
            policy::visible_kim(conn, caller.as_ref(), kim_id)?;
            find(conn, kim_id, id)?;
            attachments::find(conn, Owner::Activity(id), fid)?.ok_or(ApiError::NotFound)
        })
        .await?;
    storage.download(&row).await
}
