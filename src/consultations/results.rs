//! What the KIMs answered (gov): participation, a tally per choice and scale
//! question, and the text answers with their KIM. A consultation has at most one
//! response per addressed KIM (hundreds), so the responses are read once, by the
//! consultation index, and tallied here.

use std::collections::BTreeMap;

use actix_web::{get, web};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::model::ResponseRow;
use super::policy::ConsultationAccess;
use super::questions::{Answer, AnswerValue, Question, QuestionKind, SCALE};
use crate::auth::{Authorized, GovOnly};
use crate::db::Db;
use crate::db::schema::{consultation_responses, kims};
use crate::error::ApiError;
use crate::openapi::{Forbidden, NotFound, ServiceUnavailable, Unauthorized};

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsultationResults {
    pub consultation_id: i64,
    /// Active KIMs addressed when it opened; `null` for a draft.
    pub kims_addressed: Option<i32>,
    pub kims_answered: i64,
    /// Citizens consulted, summed over the responses.
    pub citizens_consulted: i64,
    /// In the order asked.
    pub questions: Vec<QuestionResult>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuestionResult {
    pub question_id: String,
    pub kind: QuestionKind,
    /// Responses that answered it.
    pub answered: i64,
    /// `choice`: each option with its count, in the order given; `scale`: 1 to 5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tally: Option<Vec<Tally>>,
    /// `scale`: the mean answer; `null` when none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    /// `text`: each answer with its KIM, by KIM name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answers: Option<Vec<TextAnswer>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Tally {
    /// The option, or the scale value as text.
    pub value: String,
    pub count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TextAnswer {
    pub kim_id: i64,
    pub kim_name: String,
    pub value: String,
}

/// The results of a consultation (gov).
#[utoipa::path(
    tag = "consultations",
    params(("id" = i64, Path, description = "Consultation id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The results", body = ConsultationResults),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/consultations/{id}/results")]
pub async fn consultation_results(
    _gov: Authorized<GovOnly>,
    db: web::Data<Db>,
    id: web::Path<i64>,
) -> Result<web::Json<ConsultationResults>, ApiError> {
    let id = id.into_inner();
    let results = db
        .read(move |conn| {
            let consultation = super::find_visible(conn, &ConsultationAccess::Government, id)?;
            let rows: Vec<(ResponseRow, String)> = consultation_responses::table
                .inner_join(kims::table)
                .filter(consultation_responses::consultation_id.eq(id))
                .order(kims::name)
                .select((ResponseRow::as_select(), kims::name))
                .load(conn)?;
            let responses = rows
                .iter()
                .map(|(row, kim_name)| Ok((row.kim_id, kim_name, row.answers()?)))
                .collect::<Result<Vec<_>, ApiError>>()?;
            let questions = consultation
                .questions()?
                .into_iter()
                .map(|question| QuestionResult::of(question, &responses))
                .collect();
            Ok(ConsultationResults {
                consultation_id: id,
                kims_addressed: consultation.kims_addressed,
                kims_answered: rows.len() as i64,
                citizens_consulted: rows
                    .iter()
                    .map(|(row, _)| i64::from(row.citizens_consulted))
                    .sum(),
                questions,
            })
        })
        .await?;
    Ok(web::Json(results))
}

/// The answers of one KIM: its id, its name and what it answered.
type KimAnswers<'a> = (i64, &'a String, Vec<Answer>);

impl QuestionResult {
    /// The tally, mean or texts of `question` over every KIM's answers.
    fn of(question: Question, responses: &[KimAnswers<'_>]) -> QuestionResult {
        let mut answered = 0;
        let mut counts: BTreeMap<String, i64> = BTreeMap::new();
        let mut texts = Vec::new();
        let mut sum = 0i64;
        for (kim_id, kim_name, answers) in responses {
            let Some(answer) = answers
                .iter()
                .find(|answer| answer.question_id == question.id)
            else {
                continue;
            };
            answered += 1;
            match &answer.value {
                AnswerValue::Number(n) => {
                    sum += n;
                    *counts.entry(n.to_string()).or_default() += 1;
                }
                AnswerValue::Text(text) if question.kind == QuestionKind::Text => {
                    texts.push(TextAnswer {
                        kim_id: *kim_id,
                        kim_name: (*kim_name).clone(),
                        value: text.clone(),
                    });
                }
                AnswerValue::Text(option) => {
                    *counts.entry(option.clone()).or_default() += 1;
                }
            }
        }
        let tally_of = |values: Vec<String>| {
            values
                .into_iter()
                .map(|value| Tally {
                    count: counts.get(&value).copied().unwrap_or(0),
                    value,
                })
                .collect()
        };
        let (tally, mean, answers) = match question.kind {
            QuestionKind::Choice => (Some(tally_of(question.options.clone())), None, None),
            QuestionKind::Scale => (
                Some(tally_of(SCALE.map(|n| n.to_string()).collect())),
                (answered > 0).then(|| sum as f64 / answered as f64),
                None,
            ),
            QuestionKind::Text => (None, None, Some(texts)),
        };
        QuestionResult {
            question_id: question.id,
            kind: question.kind,
            answered,
            tally,
            mean,
            answers,
        }
    }
}
