//! The feedback question of a resolved report, answered by a citizen who follows it,
//! through the link of its mail: a page with the form, and the form's POST.

use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;

use super::links::Purpose;
use super::{model, page, subscription_of};
use crate::audit::{Actor, RequestOrigin};
use crate::crypto::PersonalDataCipher;
use crate::db::Db;
use crate::error::{ApiError, FieldIssue};
use crate::openapi::{InvalidBody, NotFound, ServiceUnavailable, Unprocessable};
use crate::reports::feedback::{FeedbackRequest, answer_as_citizen};

/// The form of the feedback page (`application/x-www-form-urlencoded`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CitizenFeedbackForm {
    /// `true`: the resolution satisfied; `false` reopens the report.
    pub satisfied: bool,
    /// Why; when not satisfied it goes on the report's public timeline.
    pub comment: Option<String>,
}

const FORM: &str = "<form method=\"post\">\
    <p><label><input type=\"radio\" name=\"satisfied\" value=\"true\" required> Puas</label> \
    <label><input type=\"radio\" name=\"satisfied\" value=\"false\"> Tidak puas</label></p>\
    <p><label>Alasan (boleh kosong)<br><textarea name=\"comment\" rows=\"4\" cols=\"40\">\
    </textarea></label></p><button type=\"submit\">Kirim</button></form>";

/// The page behind a feedback link: whether the resolution satisfied, and why. Opening
/// it changes nothing.
#[utoipa::path(
    tag = "reports",
    params(("token" = String, Path, description = "From the mail that said the report was resolved", pattern = "^[0-9]{1,19}-[0-9a-f]{32}$")),
    responses(
        (status = 200, description = "A page with the feedback form", content_type = "text/html", body = String),
        (status = 404, response = NotFound),
    ),
)]
#[get("/report-subscriptions/{token}/feedback")]
pub async fn feedback_page(
    cipher: web::Data<PersonalDataCipher>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    subscription_of(&cipher, &token, Purpose::Feedback)?;
    Ok(page(
        "Tanggapan atas penyelesaian",
        "Apakah penyelesaian laporan ini memuaskan?",
        Some(FORM),
    ))
}

/// Answers the feedback question as the citizen the link was mailed to: once, within
/// 10 days of the resolution, for a confirmed subscription; `satisfied=false` reopens
/// the report with the comment on its public timeline (by a `citizen`).
#[utoipa::path(
    tag = "reports",
    params(("token" = String, Path, description = "From the mail that said the report was resolved", pattern = "^[0-9]{1,19}-[0-9a-f]{32}$")),
    request_body(content = CitizenFeedbackForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Recorded", content_type = "text/html", body = String),
        (status = 400, response = InvalidBody),
        (status = 404, response = NotFound),
        (status = 409, description = "`feedback_closed`: not resolved, or resolved more than 10 days ago; `feedback_given`: answered already", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, response = Unprocessable),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[post("/report-subscriptions/{token}/feedback")]
pub async fn give_citizen_feedback(
    db: web::Data<Db>,
    cipher: web::Data<PersonalDataCipher>,
    origin: RequestOrigin,
    token: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let subscription = subscription_of(&cipher, &token, Purpose::Feedback)?;
    let form: CitizenFeedbackForm = serde_urlencoded::from_bytes(&body).map_err(|error| {
        ApiError::InvalidBody(vec![FieldIssue::new(
            "body",
            "invalid_form",
            format!("a form with satisfied=true|false and an optional comment: {error}"),
            "formulir dengan satisfied=true|false dan comment (boleh kosong)".to_owned(),
        )])
    })?;
    let answer = FeedbackRequest {
        satisfied: form.satisfied,
        comment: form.comment.filter(|comment| !comment.trim().is_empty()),
    }
    .check()?;
    let (reopened, _) = db
        .unit_of_work(Actor::Anonymous, origin, move |uow| {
            let follower = model::find(uow.conn, subscription)?
                .filter(|follower| follower.confirmed_at.is_some())
                .ok_or(ApiError::NotFound)?;
            answer_as_citizen(uow, follower.report_id, subscription, &answer)
        })
        .await?;
    let text = if reopened {
        "Terima kasih. Laporan dibuka kembali dan akan ditangani lagi."
    } else {
        "Terima kasih atas tanggapan Anda."
    };
    Ok(page("Tanggapan diterima", text, None))
}
