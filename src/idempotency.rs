//! `Idempotency-Key` on creating POSTs (SPEC §1): mobile clients on flaky networks
//! retry, and a retry must not create a second record.
//!
//! The first answer is stored (encrypted: it may carry a secret shown once) in the same
//! transaction as the record it describes, keyed by caller and key, for 24 hours. The
//! same key with the same request replays that answer; with another request it is
//! `422 idempotency_key_reused`. Because the key row is written in the creating
//! transaction, it holds across instances: of two concurrent first attempts on
//! PostgreSQL one fails on the unique key, rolls back, and is answered with a replay.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, web};
use chrono::Duration;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::audit::{Actor, RequestOrigin};
use crate::auth::Caller;
use crate::crypto::PersonalDataCipher;
use crate::db::schema::idempotency_keys;
use crate::db::{Db, DbConnection, now};
use crate::error::{ApiError, FieldIssue};
pub use crate::extract::RawBody;
use crate::unit_of_work::UnitOfWork;

pub const HEADER: HeaderName = HeaderName::from_static("idempotency-key");
const KEPT_HOURS: i64 = 24;
const UNIQUE_CONSTRAINT: &str = "idempotency_keys_owner_key";

/// Longest `Idempotency-Key` accepted (and the width of its column).
pub const MAX_KEY_LENGTH: usize = 255;

/// The `Idempotency-Key` header: 1–255 visible ASCII characters, or absent.
#[derive(Debug, Clone, Default)]
pub struct IdempotencyKey(Option<String>);

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(value) = req.headers().get(&HEADER) else {
            return ready(Ok(IdempotencyKey(None)));
        };
        let key = value.to_str().ok().filter(|key| {
            (1..=MAX_KEY_LENGTH).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
        });
        ready(match key {
            Some(key) => Ok(IdempotencyKey(Some(key.to_owned()))),
            None => Err(ApiError::InvalidHeader(vec![FieldIssue::new(
                "Idempotency-Key",
                "invalid_idempotency_key",
                "must be 1–255 visible ASCII characters",
                "harus 1–255 karakter ASCII yang terlihat",
            )])),
        })
    }
}

/// An answer to a creating request, as stored for replays.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatedResponse {
    pub status: u16,
    pub body: serde_json::Value,
    pub location: Option<String>,
    pub etag: Option<String>,
}

impl CreatedResponse {
    pub fn created<T: Serialize>(
        body: &T,
        location: String,
        version: i64,
    ) -> Result<Self, ApiError> {
        Ok(CreatedResponse {
            status: StatusCode::CREATED.as_u16(),
            body: serde_json::to_value(body).map_err(ApiError::internal)?,
            location: Some(location),
            etag: Some(crate::concurrency::etag(version)),
        })
    }

    fn into_http(self, replayed: bool) -> HttpResponse {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::CREATED);
        let mut response = HttpResponse::build(status);
        if let Some(location) = self.location {
            response.insert_header((header::LOCATION, location));
        }
        if let Some(etag) = self.etag {
            response.insert_header((header::ETAG, etag));
        }
        if replayed {
            response.insert_header(("idempotent-replayed", "true"));
        }
        response.json(self.body)
    }
}

/// For resources whose replays owe nothing beyond the handler's own role checks.
pub fn nothing_owed(_: &mut UnitOfWork<'_>, _: &CreatedResponse) -> Result<(), ApiError> {
    Ok(())
}

/// Who creates, under which key, from where.
pub struct Creation<'a> {
    pub request: &'a HttpRequest,
    pub key: IdempotencyKey,
    pub caller: &'a Caller,
    pub origin: RequestOrigin,
}

/// What a creating handler needs to create once per `Idempotency-Key`, as one
/// extractor: the request (for the fingerprint), its key, where it came from, and the
/// database and cipher the stored answers go through. The caller stays its own
/// extractor, as each route checks it its own way.
pub struct Creating {
    request: HttpRequest,
    key: IdempotencyKey,
    origin: RequestOrigin,
    db: web::Data<Db>,
    cipher: web::Data<PersonalDataCipher>,
}

impl FromRequest for Creating {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let key = match IdempotencyKey::from_request(req, payload).into_inner() {
            Ok(key) => key,
            Err(error) => return ready(Err(error)),
        };
        let (Some(db), Some(cipher)) = (
            req.app_data::<web::Data<Db>>(),
            req.app_data::<web::Data<PersonalDataCipher>>(),
        ) else {
            return ready(Err(ApiError::internal(
                "the database or the cipher is not configured",
            )));
        };
        ready(Ok(Creating {
            request: req.clone(),
            key,
            origin: RequestOrigin::of(req),
            db: db.clone(),
            cipher: cipher.clone(),
        }))
    }
}

impl Creating {
    /// The database, for checks before the creating transaction.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// [`create_once`] for `caller`.
    pub async fn create_once<F, R>(
        self,
        caller: &Caller,
        create: F,
        replay: R,
    ) -> Result<HttpResponse, ApiError>
    where
        F: Fn(&mut UnitOfWork<'_>) -> Result<CreatedResponse, ApiError> + Clone + Send + 'static,
        R: Fn(&mut UnitOfWork<'_>, &CreatedResponse) -> Result<(), ApiError>
            + Clone
            + Send
            + 'static,
    {
        let creation = Creation {
            request: &self.request,
            key: self.key,
            caller,
            origin: self.origin,
        };
        create_once(creation, &self.db, self.cipher, create, replay).await
    }
}

/// Runs `create` in a write transaction once per (caller, key): a retry with the same
/// key and request gets the stored answer. Before a stored answer is replayed,
/// `replay` runs in the same transaction: it checks that the caller may still see
/// what the answer shows and writes the audit records showing it owes (a whole NIK).
pub async fn create_once<F, R>(
    creation: Creation<'_>,
    db: &Db,
    cipher: web::Data<PersonalDataCipher>,
    create: F,
    replay: R,
) -> Result<HttpResponse, ApiError>
where
    F: Fn(&mut UnitOfWork<'_>) -> Result<CreatedResponse, ApiError> + Clone + Send + 'static,
    R: Fn(&mut UnitOfWork<'_>, &CreatedResponse) -> Result<(), ApiError> + Clone + Send + 'static,
{
    let Creation {
        request: req,
        key,
        caller,
        origin,
    } = creation;
    let owner = caller.owner_key();
    let actor = Actor::from(caller);
    let Some(key) = key.0 else {
        let created = db
            .unit_of_work(actor, origin, move |uow| create(uow))
            .await?;
        return Ok(created.into_http(false));
    };
    let fingerprint = fingerprint(req, &cipher)?;
    // One retry: a concurrent first attempt may have taken the key meanwhile. Lost
    // serialization and deadlock races are retried by the unit of work itself, as for
    // any write, and an emitted event wakes the dispatcher after the commit.
    for attempt in 0..2 {
        let (cipher, key, owner, fingerprint, create, replay) = (
            cipher.clone(),
            key.clone(),
            owner.clone(),
            fingerprint.clone(),
            create.clone(),
            replay.clone(),
        );
        let outcome = db
            .unit_of_work(actor.clone(), origin.clone(), move |uow| {
                if let Some(stored) = find(uow.conn, &owner, &key)? {
                    if stored.request_hash != fingerprint {
                        return Err(key_reused());
                    }
                    let response = cipher
                        .decrypt(&stored.response)
                        .ok()
                        .and_then(|json| serde_json::from_str::<CreatedResponse>(&json).ok())
                        .ok_or_else(|| {
                            ApiError::internal("a stored idempotent response is unreadable")
                        })?;
                    replay(uow, &response)?;
                    return Ok((response, true));
                }
                // Claim the key before doing the work: a concurrent first attempt with
                // the same key waits here on the unique index, then fails and replays,
                // instead of colliding with this one on the record's own constraints.
                let claim = claim(uow.conn, &owner, &key, &fingerprint)?;
                let created = create(uow)?;
                store(uow.conn, &cipher, claim, &created)?;
                Ok((created, false))
            })
            .await;
        match outcome {
            Ok((response, replayed)) => return Ok(response.into_http(replayed)),
            Err(ApiError::Conflict { constraint })
                if attempt == 0 && constraint.as_deref() == Some(UNIQUE_CONSTRAINT) =>
            {
                continue;
            }
            Err(error) => return Err(error),
        }
    }
    Err(ApiError::internal("idempotent creation did not settle"))
}

/// What makes two requests "the same": method, path, query, content type and body.
/// The body is the one the handler's extractor kept ([`RawBody`]); a handler that
/// honours the header without such an extractor is a bug, refused rather than
/// fingerprinted as if its body were empty (a reused key would replay another answer).
fn fingerprint(req: &HttpRequest, cipher: &PersonalDataCipher) -> Result<String, ApiError> {
    let raw = req.extensions().get::<RawBody>().cloned();
    let Some(RawBody { bytes, is_json }) = raw else {
        return Err(ApiError::internal(
            "Idempotency-Key on a request whose body no extractor kept",
        ));
    };
    // Canonical JSON (serde_json sorts object keys), so whitespace and key order do not
    // make a retry look like another request; any other body counts byte for byte.
    let body: Vec<u8> = if is_json {
        serde_json::from_slice::<serde_json::Value>(&bytes)
            .map(|value| value.to_string().into_bytes())
            .unwrap_or_else(|_| bytes.to_vec())
    } else {
        bytes.to_vec()
    };
    // The media type without parameters: a retried upload has another multipart
    // boundary, and `; charset=utf-8` does not make JSON another request.
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let mut text = format!(
        "{} {}?{}\n{content_type}\n",
        req.method(),
        req.path(),
        req.query_string()
    )
    .into_bytes();
    text.extend_from_slice(&body);
    Ok(cipher.keyed_hash("idempotency", &text))
}

struct StoredKey {
    request_hash: String,
    response: String,
}

fn find(conn: &mut DbConnection, owner: &str, key: &str) -> Result<Option<StoredKey>, ApiError> {
    let row = idempotency_keys::table
        .filter(idempotency_keys::owner.eq(owner))
        .filter(idempotency_keys::idempotency_key.eq(key))
        .filter(idempotency_keys::expires_at.gt(now()))
        .select((idempotency_keys::request_hash, idempotency_keys::response))
        .first::<(String, String)>(conn)
        .optional()?;
    Ok(row.map(|(request_hash, response)| StoredKey {
        request_hash,
        response,
    }))
}

/// Inserts the key's row, still without its answer; returns the row id. The row only
/// becomes visible, complete, when the creating transaction commits.
/// Expired keys removed by one claim: more than claims ever outpace.
const EXPIRED_PER_CLAIM: i64 = 16;

fn claim(
    conn: &mut DbConnection,
    owner: &str,
    key: &str,
    fingerprint: &str,
) -> Result<i64, ApiError> {
    let now = now();
    // Expired keys go as new ones come, a bounded batch at a time, oldest first: the
    // ORDER BY … LIMIT walks the expires_at index even while PostgreSQL's statistics
    // still describe a young, small table (a plain range DELETE was planned as a
    // sequential scan of the whole table on every submission).
    let expired: Vec<i64> = idempotency_keys::table
        .filter(idempotency_keys::expires_at.le(now))
        .order(idempotency_keys::expires_at)
        .select(idempotency_keys::id)
        .limit(EXPIRED_PER_CLAIM)
        .load(conn)?;
    if !expired.is_empty() {
        diesel::delete(idempotency_keys::table.filter(idempotency_keys::id.eq_any(&expired)))
            .execute(conn)?;
    }
    Ok(diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::owner.eq(owner),
            idempotency_keys::idempotency_key.eq(key),
            idempotency_keys::request_hash.eq(fingerprint),
            idempotency_keys::status_code.eq(0),
            idempotency_keys::response.eq(""),
            idempotency_keys::created_at.eq(now),
            idempotency_keys::expires_at.eq(now + Duration::hours(KEPT_HOURS)),
        ))
        .returning(idempotency_keys::id)
        .get_result(conn)?)
}

fn store(
    conn: &mut DbConnection,
    cipher: &PersonalDataCipher,
    claim: i64,
    response: &CreatedResponse,
) -> Result<(), ApiError> {
    let json = serde_json::to_string(response).map_err(ApiError::internal)?;
    let sealed = cipher.encrypt(&json).map_err(ApiError::internal)?;
    diesel::update(idempotency_keys::table.filter(idempotency_keys::id.eq(claim)))
        .set((
            idempotency_keys::status_code.eq(i32::from(response.status)),
            idempotency_keys::response.eq(sealed),
        ))
        .execute(conn)?;
    Ok(())
}

fn key_reused() -> ApiError {
    ApiError::unprocessable(
        "idempotency_key_reused",
        "This Idempotency-Key was used with a different request; use a new key.",
        "Idempotency-Key ini sudah dipakai untuk permintaan lain; gunakan kunci baru.",
        Vec::new(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretBox;

    fn cipher() -> PersonalDataCipher {
        PersonalDataCipher::new(&SecretBox::new(Box::new([7u8; 32])))
    }

    #[test]
    fn a_request_without_a_kept_body_has_no_fingerprint() {
        let req = actix_web::test::TestRequest::post()
            .uri("/api/v1/reports")
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .to_http_request();
        assert!(matches!(
            fingerprint(&req, &cipher()),
            Err(ApiError::Internal(_))
        ));
    }

    #[test]
    fn json_bodies_compare_canonically_and_other_bodies_byte_for_byte() {
        let with_body = |body: &'static str, content_type: &str, is_json: bool| {
            let req = actix_web::test::TestRequest::post()
                .uri("/api/v1/reports")
                .insert_header((header::CONTENT_TYPE, content_type))
                .to_http_request();
            req.extensions_mut().insert(RawBody {
                bytes: web::Bytes::from_static(body.as_bytes()),
                is_json,
            });
            fingerprint(&req, &cipher()).ok()
        };
        let json = "application/json";
        assert!(with_body(r#"{"a":1,"b":2}"#, json, true).is_some());
        assert_eq!(
            with_body(r#"{"a":1,"b":2}"#, json, true),
            with_body(r#"{ "b": 2, "a": 1 }"#, json, true)
        );
        assert_ne!(
            with_body(r#"{"a":1}"#, json, true),
            with_body(r#"{"a":2}"#, json, true)
        );
        assert_ne!(
            with_body("", "text/plain", false),
            with_body(" ", "text/plain", false)
        );
    }
}
