//! The file routes every kind of item shares: add, list, download and remove, each
//! deciding access through the item's [`FileOwner`] rules. [`file_routes!`] declares
//! them, documented, for one kind.

use actix_web::{HttpResponse, web};

use super::owner::FileOwner;
use super::{Attachment, Storage, UploadRequest, upload_once};
use crate::auth::Caller;
use crate::db::Db;
use crate::error::ApiError;
use crate::idempotency::CreatedResponse;
use crate::pagination::Page;
use crate::unit_of_work::UnitOfWork;

/// Adds the uploaded file to `item`, once per `Idempotency-Key`.
pub async fn add<O: FileOwner>(
    request: UploadRequest,
    item: O::Item,
) -> Result<HttpResponse, ApiError> {
    let (checking, author, replay_caller) = (
        request.caller.clone(),
        request.caller.clone(),
        request.caller.clone(),
    );
    upload_once(
        request,
        move |conn| O::may_add(conn, &checking, item),
        move |uow, upload| {
            let target = O::change(uow, &author, item)?;
            let added = super::insert(uow.conn, O::owner(O::id(item)), upload, author.user_id())?;
            uow.audit(
                "attachment.added",
                Some(target),
                Some(detail::<O>(item, added.id, &added.content_type)),
            )?;
            let location = format!("{}/{}", O::files_url(item), added.id);
            CreatedResponse::created(&added, location, 1)
        },
        move |uow: &mut UnitOfWork<'_>, _: &CreatedResponse| {
            O::may_see(uow.conn, Some(&replay_caller), item)
        },
    )
    .await
}

/// The files of `item`, oldest first (at most [`super::MAX_PER_OWNER`], one page).
pub async fn list<O: FileOwner>(
    caller: Option<Caller>,
    db: &Db,
    item: O::Item,
) -> Result<web::Json<Page<Attachment>>, ApiError> {
    let files = db
        .read(move |conn| {
            O::may_see(conn, caller.as_ref(), item)?;
            super::of(conn, O::owner(O::id(item)))
        })
        .await?;
    Ok(web::Json(Page {
        data: files,
        next_cursor: None,
    }))
}

/// One file of an item the caller sees.
pub async fn download<O: FileOwner>(
    req: &actix_web::HttpRequest,
    caller: Option<Caller>,
    db: &Db,
    storage: &Storage,
    file: O::File,
    choice: super::VariantChoice,
) -> Result<HttpResponse, ApiError> {
    let (item, id) = O::split(file);
    let served = db
        .read(move |conn| {
            O::may_see(conn, caller.as_ref(), item)?;
            let row = super::find(conn, O::owner(O::id(item)), id)?.ok_or(ApiError::NotFound)?;
            match choice.variant() {
                None => Ok(super::storage::Served::original(row)),
                Some(variant) => {
                    let made =
                        super::variants::find(conn, row.id, variant)?.ok_or(ApiError::NotFound)?;
                    Ok(super::storage::Served::variant(row, made, variant))
                }
            }
        })
        .await?;
    storage.download(&served, req).await
}

/// Removes one file of an item the caller may change; its stored bytes go once the
/// removal commits.
pub async fn remove<O: FileOwner>(
    caller: Caller,
    db: &Db,
    storage: &Storage,
    origin: crate::audit::RequestOrigin,
    file: O::File,
) -> Result<HttpResponse, ApiError> {
    let (item, id) = O::split(file);
    let removed = db
        .unit_of_work(crate::audit::Actor::from(&caller), origin, move |uow| {
            crate::kims::model::ensure_kim_user_may_write(uow, &caller)?;
            let target = O::change(uow, &caller, item)?;
            let row =
                super::find(uow.conn, O::owner(O::id(item)), id)?.ok_or(ApiError::NotFound)?;
            O::may_remove(&caller, &row)?;
            super::delete(uow.conn, row.id)?;
            uow.audit(
                "attachment.removed",
                Some(target),
                Some(detail::<O>(item, row.id, &row.content_type)),
            )?;
            Ok(row.storage_key)
        })
        .await?;
    storage.remove(&[removed]).await;
    Ok(HttpResponse::NoContent().finish())
}

fn detail<O: FileOwner>(item: O::Item, attachment: i64, content_type: &str) -> String {
    format!(
        "{}={} attachment={attachment} type={content_type}",
        O::KIND,
        O::id(item)
    )
}

/// Declares the five file routes of one kind of item, documented in the OpenAPI
/// document: `POST {files}` (add), `POST {from_upload}` (add a resumable upload),
/// `GET {files}` (list), `GET {file}` (download) and `DELETE {file}` (remove), with the
/// handler names given.
macro_rules! file_routes {
    (
        owner: $owner:ty,
        tag: $tag:tt,
        files: $files:tt,
        file: $file:tt,
        from_upload: $from_upload:tt,
        item_params: [$($item_param:tt),+ $(,)?],
        file_param: $file_param:tt,
        who_adds: $who_adds:tt,
        who_sees: $who_sees:tt,
        see_security: $see_security:tt,
        conflicts: $conflicts:tt,
        handlers: ($add:ident, $attach:ident, $list:ident, $download:ident, $remove:ident) $(,)?
    ) => {
        // A module of their own: utoipa recognises the route attributes only by their
        // bare names, which must then be in scope without clashing with the caller's.
        mod routes {
            use super::*;
            use actix_web::{delete, get, post};

            /// Attaches a file (multipart field `file`): JPEG, PNG, WebP or PDF judged by its
            /// content, at most {MAX_FILE_MIB} MiB, at most {MAX_FILES_PER_ITEM} per item.
            /// Images are kept as their pixels only, upright (no EXIF, GPS, XMP or
            /// comments); PDFs without their document information. Honours
            /// `Idempotency-Key` (a retry of the same file answers the first upload).
            ///
            #[doc = $who_adds]
            #[utoipa::path(
                post,
                path = $files,
                tag = $tag,
                params($($item_param,)+ $crate::openapi::IdempotencyKeyParam),
                request_body(content = $crate::attachments::UploadForm, content_type = "multipart/form-data"),
                security(("bearer" = [])),
                responses(
                    (status = 201, description = "Attached", body = $crate::attachments::Attachment, headers(("Location" = String))),
                    (status = 400, response = $crate::openapi::InvalidBody),
                    (status = 401, response = $crate::openapi::Unauthorized),
                    (status = 403, response = $crate::openapi::Forbidden),
                    (status = 404, response = $crate::openapi::NotFound),
                    (status = 409, description = $conflicts, body = $crate::error::Problem, content_type = "application/problem+json"),
                    (status = 413, response = $crate::openapi::PayloadTooLarge),
                    (status = 415, description = "`unsupported_file_type` (by content) or not multipart/form-data", body = $crate::error::Problem, content_type = "application/problem+json"),
                    (status = 422, response = $crate::openapi::UnusableFile),
                    (status = 503, response = $crate::openapi::ServiceUnavailable),
                ),
            )]
            #[post($files)]
            #[expect(clippy::too_many_arguments, reason = "actix extractors, one per concern")]
            pub async fn $add(
                req: actix_web::HttpRequest,
                caller: $crate::auth::Caller,
                db: actix_web::web::Data<$crate::db::Db>,
                cipher: actix_web::web::Data<$crate::crypto::PersonalDataCipher>,
                storage: actix_web::web::Data<$crate::attachments::Storage>,
                origin: $crate::audit::RequestOrigin,
                key: $crate::idempotency::IdempotencyKey,
                item: actix_web::web::Path<<$owner as $crate::attachments::FileOwner>::Item>,
                payload: actix_web::web::Payload,
            ) -> Result<actix_web::HttpResponse, $crate::error::ApiError> {
                let request = $crate::attachments::UploadRequest {
                    req, caller, db, cipher, storage, origin, key,
                    source: $crate::attachments::Source::Multipart(payload),
                };
                $crate::attachments::endpoints::add::<$owner>(request, item.into_inner()).await
            }

            /// Attaches a complete resumable upload (`POST /api/v1/uploads`, tus 1.0), which
            /// is then used up: the same checks, cleaning and limits as a file sent whole
            /// ({MAX_FILE_MIB} MiB, {MAX_FILES_PER_ITEM} per item). Honours `Idempotency-Key`
            /// (a retry answers the first attachment, though the upload is gone).
            ///
            #[doc = $who_adds]
            #[utoipa::path(
                post,
                path = $from_upload,
                tag = $tag,
                params($($item_param,)+ $crate::openapi::IdempotencyKeyParam),
                request_body = $crate::attachments::AttachUpload,
                security(("bearer" = [])),
                responses(
                    (status = 201, description = "Attached", body = $crate::attachments::Attachment, headers(("Location" = String))),
                    (status = 400, response = $crate::openapi::InvalidBody),
                    (status = 401, response = $crate::openapi::Unauthorized),
                    (status = 403, response = $crate::openapi::Forbidden),
                    (status = 404, response = $crate::openapi::NotFound),
                    (status = 409, description = $conflicts, body = $crate::error::Problem, content_type = "application/problem+json"),
                    (status = 415, description = "`unsupported_file_type`: the upload is not a JPEG, PNG, WebP or PDF (by content); or the body is not JSON", body = $crate::error::Problem, content_type = "application/problem+json"),
                    (status = 422, response = $crate::openapi::UnusableFile),
                    (status = 503, response = $crate::openapi::ServiceUnavailable),
                ),
            )]
            #[post($from_upload)]
            #[expect(clippy::too_many_arguments, reason = "actix extractors, one per concern")]
            pub async fn $attach(
                req: actix_web::HttpRequest,
                caller: $crate::auth::Caller,
                db: actix_web::web::Data<$crate::db::Db>,
                cipher: actix_web::web::Data<$crate::crypto::PersonalDataCipher>,
                storage: actix_web::web::Data<$crate::attachments::Storage>,
                origin: $crate::audit::RequestOrigin,
                key: $crate::idempotency::IdempotencyKey,
                item: actix_web::web::Path<<$owner as $crate::attachments::FileOwner>::Item>,
                body: $crate::extract::ApiJson<$crate::attachments::AttachUpload>,
            ) -> Result<actix_web::HttpResponse, $crate::error::ApiError> {
                let request = $crate::attachments::UploadRequest {
                    req, caller, db, cipher, storage, origin, key,
                    source: $crate::attachments::Source::Resumable(body.0),
                };
                $crate::attachments::endpoints::add::<$owner>(request, item.into_inner()).await
            }

            /// Lists the files of an item the caller sees, oldest first.
            ///
            #[doc = $who_sees]
            #[utoipa::path(
                get,
                path = $files,
                tag = $tag,
                params($($item_param),+),
                security $see_security,
                responses(
                    (status = 200, description = "The item's files (one page: at most {MAX_FILES_PER_ITEM})",
                        body = $crate::pagination::Page<$crate::attachments::Attachment>),
                    (status = 400, response = $crate::openapi::InvalidPath),
                    (status = 401, response = $crate::openapi::Unauthorized),
                    (status = 403, response = $crate::openapi::Forbidden),
                    (status = 404, response = $crate::openapi::NotFound),
                    (status = 503, response = $crate::openapi::ServiceUnavailable),
                ),
            )]
            #[get($files)]
            pub async fn $list(
                caller: $crate::auth::MaybeCaller,
                db: actix_web::web::Data<$crate::db::Db>,
                item: actix_web::web::Path<<$owner as $crate::attachments::FileOwner>::Item>,
            ) -> Result<actix_web::web::Json<$crate::pagination::Page<$crate::attachments::Attachment>>, $crate::error::ApiError> {
                $crate::attachments::endpoints::list::<$owner>(caller.0, &db, item.into_inner()).await
            }

            /// Downloads a file of an item the caller sees, as an attachment with its stored
            /// type. Its `ETag` is its SHA-256 (a file never changes): `If-None-Match`
            /// revalidates (`304`), `Range` resumes a cut download (`206`).
            ///
            #[doc = $who_sees]
            #[utoipa::path(
                get,
                path = $file,
                tag = $tag,
                params($($item_param,)+ $file_param, $crate::attachments::DownloadQuery, $crate::openapi::DownloadConditions),
                security $see_security,
                responses(
                    (status = 200, description = "The file, as `Content-Disposition: attachment`",
                        headers(
                            ("ETag" = String, description = "The file's SHA-256, strong"),
                            ("Accept-Ranges" = String, description = "`bytes`"),
                            ("Cache-Control" = String, description = "`private, max-age=86400, immutable`"),
                        ),
                        content(
                            ($crate::attachments::FileContent = "image/jpeg"),
                            ($crate::attachments::FileContent = "image/png"),
                            ($crate::attachments::FileContent = "image/webp"),
                            ($crate::attachments::FileContent = "application/pdf"),
                        )),
                    (status = 206, description = "The bytes of the one range asked for",
                        headers(
                            ("Content-Range" = String, description = "`bytes START-END/SIZE`"),
                            ("ETag" = String, description = "The file's SHA-256, strong"),
                        ),
                        content(
                            ($crate::attachments::FileContent = "image/jpeg"),
                            ($crate::attachments::FileContent = "image/png"),
                            ($crate::attachments::FileContent = "image/webp"),
                            ($crate::attachments::FileContent = "application/pdf"),
                        )),
                    (status = 304, description = "The copy named by `If-None-Match` is current",
                        headers(("ETag" = String, description = "The file's SHA-256, strong"))),
                    (status = 416, description = "`range_not_satisfiable`: the range starts past the end (`Content-Range: bytes */SIZE`)",
                        body = $crate::error::Problem, content_type = "application/problem+json",
                        headers(("Content-Range" = String, description = "`bytes */SIZE`"))),
                    (status = 400, response = $crate::openapi::InvalidPath),
                    (status = 401, response = $crate::openapi::Unauthorized),
                    (status = 403, response = $crate::openapi::Forbidden),
                    (status = 404, response = $crate::openapi::NotFound),
                    (status = 503, response = $crate::openapi::ServiceUnavailable),
                ),
            )]
            #[get($file)]
            pub async fn $download(
                req: actix_web::HttpRequest,
                query: $crate::extract::ApiQuery<$crate::attachments::DownloadQuery>,
                caller: $crate::auth::MaybeCaller,
                db: actix_web::web::Data<$crate::db::Db>,
                storage: actix_web::web::Data<$crate::attachments::Storage>,
                file: actix_web::web::Path<<$owner as $crate::attachments::FileOwner>::File>,
            ) -> Result<actix_web::HttpResponse, $crate::error::ApiError> {
                $crate::attachments::endpoints::download::<$owner>(&req, caller.0, &db, &storage, file.into_inner(), query.0.variant).await
            }

            /// Removes a file; its stored bytes are deleted once the removal commits.
            ///
            #[doc = $who_adds]
            #[utoipa::path(
                delete,
                path = $file,
                tag = $tag,
                params($($item_param,)+ $file_param),
                security(("bearer" = [])),
                responses(
                    (status = 204, description = "Removed"),
                    (status = 400, response = $crate::openapi::InvalidPath),
                    (status = 401, response = $crate::openapi::Unauthorized),
                    (status = 403, response = $crate::openapi::Forbidden),
                    (status = 404, response = $crate::openapi::NotFound),
                    (status = 409, description = $conflicts, body = $crate::error::Problem, content_type = "application/problem+json"),
                    (status = 503, response = $crate::openapi::ServiceUnavailable),
                ),
            )]
            #[delete($file)]
            pub async fn $remove(
                caller: $crate::auth::Caller,
                db: actix_web::web::Data<$crate::db::Db>,
                storage: actix_web::web::Data<$crate::attachments::Storage>,
                origin: $crate::audit::RequestOrigin,
                file: actix_web::web::Path<<$owner as $crate::attachments::FileOwner>::File>,
            ) -> Result<actix_web::HttpResponse, $crate::error::ApiError> {
                $crate::attachments::endpoints::remove::<$owner>(caller, &db, &storage, origin, file.into_inner()).await
            }
        }
        pub use routes::*;
    };
}

pub(crate) use file_routes;
