//! Citizens without an account who follow a report by e-mail (SPEC §11): anyone holding
//! a tracking code (or the reporter, at submission) asks; a confirmation link in a mail
//! makes it a subscription (double opt-in: nothing else is sent before); each status
//! change and public comment is then mailed, with a one-click unsubscribe (RFC 8058).
//!
//! The pages behind the links are small HTML forms: mail programs and scanners open
//! links on their own, so only a POST (the form's button, or the mail program's
//! one-click unsubscribe) changes anything.

pub mod feedback;
pub mod links;
pub mod mail;
pub mod model;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use links::Purpose;
use model::{Asked, MailKind};

use super::model::ReportRow;
use super::track::TrackingLookups;
use super::tracking::TrackingCode;
use crate::audit::{Actor, RequestOrigin, client_address};
use crate::crypto::PersonalDataCipher;
use crate::db::schema::reports;
use crate::db::{Db, DbConnection};
use crate::domain::EmailAddress;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::openapi::{InvalidBody, NotFound, ServiceUnavailable, TooManyRequests, Unprocessable};
use crate::unit_of_work::UnitOfWork;

/// Asks for mail about a report.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportSubscriptionRequest {
    #[schema(example = "warga@example.com")]
    pub email: String,
}

/// What happens next: a confirmation mail, whatever the address (whether it already
/// follows the report is nobody else's business).
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionAccepted {
    /// Always `confirmation_sent`.
    #[schema(example = "confirmation_sent")]
    pub status: &'static str,
}

/// Starts a subscription of `email` to `report` and queues its confirmation, in the
/// caller's unit of work; `Asked::Known` when the address already asked.
pub(crate) fn start(
    uow: &mut UnitOfWork<'_>,
    cipher: &PersonalDataCipher,
    report: &ReportRow,
    email: &str,
) -> Result<Asked, ApiError> {
    uow.lock_report(report.id)?;
    uow.lock_name(&format!(
        "report-subscription:{}",
        model::digest(cipher, email)
    ))?;
    let asked = model::ask(uow.conn, cipher, report.id, email)?;
    if let Asked::Pending(subscription) = asked {
        let (subject, body) = mail::confirmation(report);
        model::queue(
            uow.conn,
            subscription,
            MailKind::Confirmation,
            &subject,
            &body,
        )?;
    }
    Ok(asked)
}

fn report_by_code(conn: &mut DbConnection, code: &str) -> Result<Option<ReportRow>, ApiError> {
    // A code that cannot exist is looked up as one that does not, as tracking does.
    let stored = TrackingCode::parse(code)
        .map(|code| code.stored().to_owned())
        .unwrap_or_default();
    Ok(reports::table
        .filter(reports::tracking_code.eq(&stored))
        .select(ReportRow::as_select())
        .first(conn)
        .optional()?)
}

/// Asks for mail about a report's progress, by its tracking code. Anonymous. A
/// confirmation mail goes to the address; only after its link is opened and confirmed
/// do status changes and public comments follow (in Indonesian, no more than the
/// tracking page shows). A report takes 10 requests an hour, an address 5 a day; each
/// client address shares the tracking allowance (`TRACK_RATE_PER_MINUTE`).
#[utoipa::path(
    tag = "reports",
    params(("tracking_code" = String, Path, description = "As given on submission, e.g. `MTR-7KQ3-X9PA`",
        max_length = 32)),
    request_body = ReportSubscriptionRequest,
    responses(
        (status = 202, description = "A confirmation mail is on its way", body = SubscriptionAccepted),
        (status = 400, response = InvalidBody),
        (status = 404, response = NotFound),
        (status = 422, response = Unprocessable),
        (status = 429, response = TooManyRequests),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/reports/track/{tracking_code}/subscriptions")]
pub async fn follow_report(
    req: HttpRequest,
    db: web::Data<Db>,
    cipher: web::Data<PersonalDataCipher>,
    lookups: web::Data<TrackingLookups>,
    origin: RequestOrigin,
    tracking_code: web::Path<String>,
    body: ApiJson<ReportSubscriptionRequest>,
) -> Result<HttpResponse, ApiError> {
    lookups.0.check(client_address(&req))?;
    let ApiJson(request) = body;
    let email = EmailAddress::parse("email", &request.email)
        .map_err(|issue| ApiError::Validation(vec![issue]))?
        .into_string();
    let cipher = cipher.into_inner();
    db.unit_of_work(Actor::Anonymous, origin, move |uow| {
        let report = report_by_code(uow.conn, &tracking_code)?.ok_or(ApiError::NotFound)?;
        start(uow, &cipher, &report, &email)
    })
    .await?;
    Ok(HttpResponse::Accepted().json(SubscriptionAccepted {
        status: "confirmation_sent",
    }))
}

/// A small page in Indonesian, with a form (its HTML) if it has one.
fn page(title: &str, text: &str, form: Option<&str>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><html lang=\"id\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title>\
             </head><body><h1>{title}</h1><p>{text}</p>{}</body></html>",
            form.unwrap_or_default()
        ))
}

/// A form of one button that POSTs to the page's own address.
fn button(label: &str) -> String {
    format!("<form method=\"post\"><button type=\"submit\">{label}</button></form>")
}

fn subscription_of(
    cipher: &PersonalDataCipher,
    token: &str,
    purpose: Purpose,
) -> Result<i64, ApiError> {
    links::verify(cipher, token, purpose).ok_or(ApiError::NotFound)
}

/// The page behind a confirmation link: a button that confirms. Opening it changes
/// nothing (mail scanners open links).
#[utoipa::path(
    tag = "reports",
    params(("token" = String, Path, description = "From the confirmation mail", pattern = "^[0-9]{1,19}-[0-9a-f]{32}$")),
    responses(
        (status = 200, description = "A page with the confirmation button", content_type = "text/html", body = String),
        (status = 404, response = NotFound),
    ),
)]
#[get("/report-subscriptions/{token}/confirm")]
pub async fn confirmation_page(
    cipher: web::Data<PersonalDataCipher>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    subscription_of(&cipher, &token, Purpose::Confirm)?;
    Ok(page(
        "Konfirmasi langganan",
        "Tekan tombol di bawah untuk menerima kabar perkembangan laporan ini lewat surel.",
        Some(&button("Konfirmasi")),
    ))
}

/// Confirms a subscription (the button of the confirmation page); confirming again
/// changes nothing. 404 when the link is not this service's or the subscription ended.
#[utoipa::path(
    tag = "reports",
    params(("token" = String, Path, description = "From the confirmation mail", pattern = "^[0-9]{1,19}-[0-9a-f]{32}$")),
    responses(
        (status = 200, description = "Confirmed", content_type = "text/html", body = String),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/report-subscriptions/{token}/confirm")]
pub async fn confirm_subscription(
    db: web::Data<Db>,
    cipher: web::Data<PersonalDataCipher>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let subscription = subscription_of(&cipher, &token, Purpose::Confirm)?;
    if !db
        .write(move |conn| model::confirm(conn, subscription))
        .await?
    {
        return Err(ApiError::NotFound);
    }
    Ok(page(
        "Langganan aktif",
        "Terima kasih. Anda akan dikabari setiap perubahan status dan tanggapan baru.",
        None,
    ))
}

/// The page behind an unsubscribe link: a button that unsubscribes.
#[utoipa::path(
    tag = "reports",
    params(("token" = String, Path, description = "From any mail of the subscription", pattern = "^[0-9]{1,19}-[0-9a-f]{32}$")),
    responses(
        (status = 200, description = "A page with the unsubscribe button", content_type = "text/html", body = String),
        (status = 404, response = NotFound),
    ),
)]
#[get("/report-subscriptions/{token}/unsubscribe")]
pub async fn unsubscribe_page(
    cipher: web::Data<PersonalDataCipher>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    subscription_of(&cipher, &token, Purpose::Unsubscribe)?;
    Ok(page(
        "Berhenti berlangganan",
        "Tekan tombol di bawah agar tidak lagi menerima surel tentang laporan ini.",
        Some(&button("Berhenti berlangganan")),
    ))
}

/// Ends a subscription, with what was still queued for it: the page's button, or a
/// mail program's one-click unsubscribe (RFC 8058, body `List-Unsubscribe=One-Click`).
/// Ending it again answers the same.
#[utoipa::path(
    tag = "reports",
    params(("token" = String, Path, description = "From any mail of the subscription", pattern = "^[0-9]{1,19}-[0-9a-f]{32}$")),
    responses(
        (status = 200, description = "Unsubscribed", content_type = "text/html", body = String),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/report-subscriptions/{token}/unsubscribe")]
pub async fn end_subscription(
    db: web::Data<Db>,
    cipher: web::Data<PersonalDataCipher>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let subscription = subscription_of(&cipher, &token, Purpose::Unsubscribe)?;
    db.write(move |conn| model::remove(conn, subscription))
        .await?;
    Ok(page(
        "Langganan berakhir",
        "Anda tidak akan menerima surel lagi tentang laporan ini.",
        None,
    ))
}
