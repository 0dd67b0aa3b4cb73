//! The upload flow every resource with files shares: refuse before reading the body,
//! stream the file to a part file (or put a complete resumable upload together), record
//! it once per `Idempotency-Key` in the resource's unit of work, then settle what was
//! stored by whether its row committed.

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};

use super::{AttachUpload, Storage, Upload, resumable};
use crate::audit::RequestOrigin;
use crate::auth::Caller;
use crate::crypto::PersonalDataCipher;
use crate::db::{Db, DbConnection};
use crate::error::ApiError;
use crate::idempotency::{CreatedResponse, Creation, IdempotencyKey, RawBody, create_once};
use crate::unit_of_work::UnitOfWork;

/// An upload as the handler receives it: who, where to, under which key, and the body.
pub struct UploadRequest {
    pub req: HttpRequest,
    pub caller: Caller,
    pub db: web::Data<Db>,
    pub cipher: web::Data<PersonalDataCipher>,
    pub storage: web::Data<Storage>,
    pub origin: RequestOrigin,
    pub key: IdempotencyKey,
    pub source: Source,
}

/// Where the file comes from.
pub enum Source {
    /// Sent in the request, as the multipart field `file`.
    Multipart(web::Payload),
    /// A complete resumable upload of the caller's (its JSON body kept by the extractor
    /// for the idempotency fingerprint).
    Resumable(AttachUpload),
}

/// Receives `payload` and records it with `attach` (in the resource's unit of work,
/// under its lock), answering `201` once per key; `may_attach` refuses a caller before
/// the body is read, `replay` decides whether a retry may see the first answer.
pub async fn upload_once<P, A, R>(
    request: UploadRequest,
    may_attach: P,
    attach: A,
    replay: R,
) -> Result<HttpResponse, ApiError>
where
    P: FnOnce(&mut DbConnection) -> Result<(), ApiError> + Send + 'static,
    A: Fn(&mut UnitOfWork<'_>, &Upload) -> Result<CreatedResponse, ApiError>
        + Clone
        + Send
        + 'static,
    R: Fn(&mut UnitOfWork<'_>, &CreatedResponse) -> Result<(), ApiError> + Clone + Send + 'static,
{
    let UploadRequest {
        req,
        caller,
        db,
        cipher,
        storage,
        origin,
        key,
        source,
    } = request;
    db.read(may_attach).await?;
    let received = match source {
        Source::Resumable(AttachUpload { upload_id }) => {
            storage
                .take_pieces(&db, upload_id, caller.owner_key())
                .await?
        }
        Source::Multipart(payload) => {
            let upload = storage.receive(&req, payload).await?;
            // A retry changes the multipart boundary, not the file: the fingerprint is the
            // file.
            req.extensions_mut().insert(RawBody {
                bytes: upload.fingerprint().into_bytes().into(),
                is_json: false,
            });
            Some(upload)
        }
    };
    let creation = Creation {
        request: &req,
        key,
        caller: &caller,
        origin,
    };
    let stored = received.clone();
    let uploader = caller.clone();
    let answer = create_once(
        creation,
        &db,
        cipher,
        move |uow| {
            crate::kims::model::ensure_kim_user_may_write(uow, &uploader)?;
            // No upload by that id any more: only a replay of its attachment answers.
            let upload = stored.as_ref().ok_or_else(super::upload_not_found)?;
            let created = attach(uow, upload)?;
            if let Some(from) = &upload.from_pieces {
                // A concurrent attachment of the same upload took it first.
                resumable::delete(uow.conn, &from.upload_id, &from.owner)?
                    .ok_or_else(super::upload_not_found)?;
            }
            Ok(created)
        },
        replay,
    )
    .await;
    if let Some(upload) = &received
        && let Err(error) = storage.settle(&db, upload).await
    {
        // The row (if any) stays; the sweep removes what is left over.
        tracing::error!(%error, "an uploaded file was not settled");
    }
    answer
}
