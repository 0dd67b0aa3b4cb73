//! A consultation's questions and a KIM's answers to them: the shape of each question
//! kind, and answers judged against it, each problem naming its question.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::Checks;
use crate::domain::text::{Lines, limits};
use crate::error::FieldIssue;
use crate::text_enum;

/// Most questions one consultation asks.
pub const MAX_QUESTIONS: usize = 30;
/// Most options of a choice question.
pub const MAX_OPTIONS: usize = 20;
/// The ends of a scale question's answer.
pub const SCALE: std::ops::RangeInclusive<i64> = 1..=5;

text_enum! {
    pub enum QuestionKind {
        /// Free text.
        Text = "text",
        /// One of `options`.
        Choice = "choice",
        /// A whole number from 1 to 5.
        Scale = "scale",
    }
}

/// A question as asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// The question's key within the consultation: lower-case letters, digits and `_`.
    #[schema(example = "setuju_jadwal", pattern = "^[a-z0-9_]{1,32}$")]
    pub id: String,
    #[schema(example = "Apakah warga setuju jadwal pengangkutan sampah diubah?")]
    pub text: String,
    pub kind: QuestionKind,
    /// For `choice` only: 2 to 20 distinct options.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// Whether a response must answer it; `true` when absent.
    #[serde(default = "answer_required")]
    pub required: bool,
}

fn answer_required() -> bool {
    true
}

fn valid_id(id: &str) -> bool {
    (1..=32).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The questions of a request, each rule noted in `checks` under `questions[i]…`.
pub fn checked(checks: &mut Checks, questions: Vec<Question>) -> Option<Vec<Question>> {
    if questions.is_empty() || questions.len() > MAX_QUESTIONS {
        checks.push(FieldIssue::new(
            "questions",
            "out_of_range",
            format!("ask 1 to {MAX_QUESTIONS} questions"),
            format!("ajukan 1 sampai {MAX_QUESTIONS} pertanyaan"),
        ));
        return None;
    }
    let before = checks.len();
    let mut seen = HashSet::new();
    let mut kept = Vec::with_capacity(questions.len());
    for (index, question) in questions.into_iter().enumerate() {
        let field = |name: &str| format!("questions[{index}].{name}");
        if !valid_id(&question.id) {
            checks.push(FieldIssue::new(
                field("id"),
                "invalid_id",
                "1 to 32 lower-case letters, digits or _",
                "1 sampai 32 huruf kecil, angka atau _",
            ));
        } else if !seen.insert(question.id.clone()) {
            checks.push(FieldIssue::new(
                field("id"),
                "duplicate",
                "another question has this id",
                "pertanyaan lain memakai id ini",
            ));
        }
        let text = checks.text(
            &field("text"),
            &question.text,
            limits::QUESTION_TEXT,
            Lines::Multi,
        );
        let options = options(checks, &field("options"), question.kind, question.options);
        if let (Some(text), Some(options)) = (text, options) {
            kept.push(Question {
                text,
                options,
                ..question
            });
        }
    }
    (checks.len() == before).then_some(kept)
}

fn options(
    checks: &mut Checks,
    field: &str,
    kind: QuestionKind,
    options: Vec<String>,
) -> Option<Vec<String>> {
    if kind != QuestionKind::Choice {
        if options.is_empty() {
            return Some(options);
        }
        checks.push(FieldIssue::new(
            field,
            "not_allowed",
            "only choice questions have options",
            "hanya pertanyaan pilihan yang memiliki opsi",
        ));
        return None;
    }
    if !(2..=MAX_OPTIONS).contains(&options.len()) {
        checks.push(FieldIssue::new(
            field,
            "out_of_range",
            format!("a choice question has 2 to {MAX_OPTIONS} options"),
            format!("pertanyaan pilihan memiliki 2 sampai {MAX_OPTIONS} opsi"),
        ));
        return None;
    }
    let mut kept: Vec<String> = Vec::with_capacity(options.len());
    for (index, option) in options.iter().enumerate() {
        let option = checks.text(
            &format!("{field}[{index}]"),
            option,
            limits::QUESTION_OPTION,
            Lines::Single,
        )?;
        if kept.contains(&option) {
            checks.push(FieldIssue::new(
                format!("{field}[{index}]"),
                "duplicate",
                "options are distinct",
                "opsi tidak boleh sama",
            ));
            return None;
        }
        kept.push(option);
    }
    Some(kept)
}

/// An answer: text for `text` and `choice` questions, a whole number for `scale`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum AnswerValue {
    Number(i64),
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    #[schema(example = "setuju_jadwal")]
    pub question_id: String,
    pub value: AnswerValue,
}

/// `answers` judged against `questions`: each unknown or repeated question, each value
/// that does not fit its question's kind, and each required question left out is
/// noted, naming the question. Answers come back in the questions' order.
pub fn checked_answers(
    checks: &mut Checks,
    questions: &[Question],
    answers: Vec<Answer>,
) -> Vec<Answer> {
    let by_id: BTreeMap<&str, &Question> = questions
        .iter()
        .map(|question| (question.id.as_str(), question))
        .collect();
    let mut given: BTreeMap<String, Answer> = BTreeMap::new();
    for (index, answer) in answers.into_iter().enumerate() {
        let field = |name: &str| format!("answers[{index}].{name}");
        let Some(question) = by_id.get(answer.question_id.as_str()) else {
            checks.push(FieldIssue::new(
                field("question_id"),
                "unknown_question",
                format!("no question has the id {}", answer.question_id),
                format!("tidak ada pertanyaan dengan id {}", answer.question_id),
            ));
            continue;
        };
        if given.contains_key(&answer.question_id) {
            checks.push(FieldIssue::new(
                field("question_id"),
                "duplicate",
                format!("question {} is answered twice", question.id),
                format!("pertanyaan {} dijawab dua kali", question.id),
            ));
            continue;
        }
        if let Some(value) = fitting(checks, &field("value"), question, answer.value) {
            given.insert(
                answer.question_id.clone(),
                Answer {
                    question_id: answer.question_id,
                    value,
                },
            );
        }
    }
    for question in questions {
        if question.required && !given.contains_key(&question.id) {
            checks.push(FieldIssue::new(
                "answers",
                "missing_answer",
                format!("question {} needs an answer", question.id),
                format!("pertanyaan {} wajib dijawab", question.id),
            ));
        }
    }
    questions
        .iter()
        .filter_map(|question| given.remove(&question.id))
        .collect()
}

fn fitting(
    checks: &mut Checks,
    field: &str,
    question: &Question,
    value: AnswerValue,
) -> Option<AnswerValue> {
    let wrong = |en: String, id: String| FieldIssue::new(field, "invalid_answer", en, id);
    match (question.kind, value) {
        (QuestionKind::Text, AnswerValue::Text(text)) => checks
            .text(field, &text, limits::ANSWER_TEXT, Lines::Multi)
            .map(AnswerValue::Text),
        (QuestionKind::Choice, AnswerValue::Text(option)) if question.options.contains(&option) => {
            Some(AnswerValue::Text(option))
        }
        (QuestionKind::Choice, _) => {
            checks.push(wrong(
                format!("question {} takes one of its options", question.id),
                format!(
                    "pertanyaan {} dijawab dengan salah satu opsinya",
                    question.id
                ),
            ));
            None
        }
        (QuestionKind::Scale, AnswerValue::Number(n)) if SCALE.contains(&n) => {
            Some(AnswerValue::Number(n))
        }
        (QuestionKind::Scale, _) => {
            checks.push(wrong(
                format!("question {} takes a whole number from 1 to 5", question.id),
                format!(
                    "pertanyaan {} dijawab dengan angka bulat 1 sampai 5",
                    question.id
                ),
            ));
            None
        }
        (QuestionKind::Text, AnswerValue::Number(_)) => {
            checks.push(wrong(
                format!("question {} takes text", question.id),
                format!("pertanyaan {} dijawab dengan teks", question.id),
            ));
            None
        }
    }
}
