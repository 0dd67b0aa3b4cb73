//! A bulletin's files (a poster, a scanned circular), through the shared attachments
//! module: uploaded by those who may edit the bulletin, downloaded by those who see it.

use actix_web::{HttpRequest, HttpResponse, get, post, web};

use super::model::BulletinStatus;
use super::policy::{self, BulletinAccess};
use super::{archived, find_changeable, find_visible, model};
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

/// Attaches a file (multipart field `file`): JPEG, PNG, WebP or PDF judged by its
/// content, at most 5 MiB, at most 10 per bulletin. Honours `Idempotency-Key` (a retry
/// of the same file answers the first upload).
///
/// Roles: as for editing the bulletin; not once it is archived.
#[utoipa::path(
    tag = "bulletins",
    params(("id" = i64, Path, description = "Bulletin id"), IdempotencyKeyParam),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Attached", body = Attachment, headers(("Location" = String))),
        (status = 400, response = InvalidBody),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, description = "`too_many_attachments`, `bulletin_archived`; `kim_dissolved`: the caller's KIM is dissolved", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, response = PayloadTooLarge),
        (status = 415, description = "`unsupported_file_type` (by content) or not multipart/form-data", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, response = crate::openapi::UnusableFile),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/bulletins/{id}/attachments")]
#[expect(
    clippy::too_many_arguments,
    reason = "one extractor per concern, as actix wants"
)]
pub async fn upload_attachment(
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
            let access = BulletinAccess::of(conn, Some(&checking))?;
            let row = find_visible(conn, &access, id)?;
            policy::may_change(&checking, &row)
        },
        move |uow, upload| {
            let current = find_changeable(uow, &author, id, policy::may_change)?;
            if current.status()? == BulletinStatus::Archived {
                return Err(archived());
            }
            let row = attachments::insert(uow.conn, Owner::Bulletin(id), upload, author.user_id())?;
            // A new file changes the bulletin as apps hold it: a new version to sync.
            model::touch(uow.conn, &current)?;
            uow.audit(
                "bulletin.attachment_added",
                Some(Target::new("bulletin", id)),
                Some(format!("attachment={} type={}", row.id, row.content_type)),
            )?;
            let location = format!("/api/v1/bulletins/{id}/attachments/{}", row.id);
            CreatedResponse::created(&Attachment::from(row), location, 1)
        },
        move |uow: &mut UnitOfWork<'_>, _: &CreatedResponse| {
            let access = BulletinAccess::of(uow.conn, Some(&replay_caller))?;
            find_visible(uow.conn, &access, id).map(|_| ())
        },
    )
    .await
}

/// Downloads a file of a bulletin the caller may see (anonymous callers: of published
/// public bulletins), as an attachment with its stored type.
#[utoipa::path(
    tag = "bulletins",
    params(
        ("id" = i64, Path, description = "Bulletin id"),
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
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/bulletins/{id}/attachments/{aid}")]
pub async fn download_attachment(
    caller: MaybeCaller,
    db: web::Data<Db>,
    storage: web::Data<Storage>,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (id, aid) = path.into_inner();
    let MaybeCaller(caller) = caller;
    let row = db
        .read(move |conn| {
            let access = BulletinAccess::of(conn, caller.as_ref())?;
            find_visible(conn, &access, id)?;
            attachments::find(conn, Owner::Bulletin(id), aid)?.ok_or(ApiError::NotFound)
        })
        .await?;
    storage.download(&row).await
}
