//! The upload flow every resource with files shares: refuse before reading the body,
//! stream the file to a part file, record it once per `Idempotency-Key` in the
//! resource's unit of work, then settle the part file by whether its row committed.

use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};

use super::{Storage, Upload};
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
    pub payload: web::Payload,
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
        payload,
    } = request;
    db.read(may_attach).await?;
    let upload = storage.receive(&req, payload).await?;
    // A retry changes the multipart boundary, not the file: the fingerprint is the file.
    req.extensions_mut().insert(RawBody {
        bytes: upload.fingerprint().into_bytes().into(),
        is_json: false,
    });
    let creation = Creation {
        request: &req,
        key,
        caller: &caller,
        origin,
    };
    let stored = upload.clone();
    let uploader = caller.clone();
    let answer = create_once(
        creation,
        &db,
        cipher,
        move |uow| {
            crate::kims::model::ensure_kim_user_may_write(uow, &uploader)?;
            attach(uow, &stored)
        },
        replay,
    )
    .await;
    if let Err(error) = storage.settle(&db, &upload).await {
        // The row (if any) stays; a download or the next start-up finishes the rename.
        tracing::error!(%error, "an uploaded file was not settled");
    }
    answer
}
