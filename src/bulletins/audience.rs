//! Who a bulletin is addressed to (SPEC §6): everyone, every KIM, the KIMs of some
//! kecamatan or kelurahan, or named KIMs.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::schema::{kims, regions};
use crate::domain::Checks;
use crate::domain::text::limits;
use crate::error::{ApiError, FieldIssue};
use crate::kims::model::KimStatus;
use crate::text_enum;

text_enum! {
    pub enum AudienceScope {
        /// Everyone, anonymous readers and the public feed included.
        Public = "public",
        /// Every KIM's users.
        AllKims = "all_kims",
        /// The KIMs of the kecamatan in `codes`.
        Kecamatan = "kecamatan",
        /// The KIMs of the kelurahan in `codes`.
        Kelurahan = "kelurahan",
        /// The KIMs in `kim_ids`.
        Kims = "kims",
    }
}

/// `codes` only with `kecamatan`/`kelurahan`, `kim_ids` only with `kims`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Audience {
    pub scope: AudienceScope,
    /// Region codes (see `GET /api/v1/regions`) of the scope's level.
    #[serde(default)]
    #[schema(example = json!(["18.72.01"]))]
    pub codes: Vec<String>,
    #[serde(default)]
    pub kim_ids: Vec<i64>,
}

fn issue(field: &str, code: &'static str, en: String, id: String) -> FieldIssue {
    FieldIssue::new(field, code, en, id)
}

impl Audience {
    /// The shape rules, noted in `checks`; codes and ids come back sorted, once each.
    pub fn check(mut self, checks: &mut Checks) -> Option<Audience> {
        let uses_codes = matches!(
            self.scope,
            AudienceScope::Kecamatan | AudienceScope::Kelurahan
        );
        let uses_kims = self.scope == AudienceScope::Kims;
        let mut problems = Vec::new();
        for (field, used, len) in [
            ("audience.codes", uses_codes, self.codes.len()),
            ("audience.kim_ids", uses_kims, self.kim_ids.len()),
        ] {
            if used && len == 0 {
                problems.push(issue(
                    field,
                    "required",
                    format!("name at least one for scope {}", self.scope.as_str()),
                    format!(
                        "sebutkan minimal satu untuk cakupan {}",
                        self.scope.as_str()
                    ),
                ));
            } else if !used && len > 0 {
                problems.push(issue(
                    field,
                    "not_allowed",
                    format!("not used with scope {}", self.scope.as_str()),
                    format!("tidak dipakai untuk cakupan {}", self.scope.as_str()),
                ));
            } else if len > limits::AUDIENCE_ENTRIES {
                problems.push(issue(
                    field,
                    "too_many",
                    format!("at most {}", limits::AUDIENCE_ENTRIES),
                    format!("maksimal {}", limits::AUDIENCE_ENTRIES),
                ));
            }
        }
        self.codes.sort();
        self.codes.dedup();
        self.kim_ids.sort_unstable();
        self.kim_ids.dedup();
        let fine = problems.is_empty();
        for problem in problems {
            checks.push(problem);
        }
        fine.then_some(self)
    }

    /// A kim_admin speaks to its own KIM, to every KIM or to the public only.
    pub fn allowed_for_kim(&self, own_kim: i64) -> Result<(), ApiError> {
        let allowed = match self.scope {
            AudienceScope::Public | AudienceScope::AllKims => true,
            AudienceScope::Kims => self.kim_ids == [own_kim],
            AudienceScope::Kecamatan | AudienceScope::Kelurahan => false,
        };
        if allowed {
            return Ok(());
        }
        Err(ApiError::Validation(vec![issue(
            "audience",
            "audience_not_allowed",
            "a KIM publishes to its own KIM, to all_kims or to public".into(),
            "KIM menerbitkan untuk KIM-nya sendiri, all_kims, atau public".into(),
        )]))
    }

    /// Every code names a region of the scope's level and every id a KIM that is not
    /// dissolved; `422` naming each one that does not.
    pub fn verify(&self, conn: &mut DbConnection) -> Result<(), ApiError> {
        let mut problems = Vec::new();
        if !self.codes.is_empty() {
            let level = if self.scope == AudienceScope::Kecamatan {
                "kecamatan"
            } else {
                "kelurahan"
            };
            let known: Vec<String> = regions::table
                .filter(regions::level.eq(level))
                .filter(regions::code.eq_any(&self.codes))
                .select(regions::code)
                .load(conn)?;
            for (index, code) in self.codes.iter().enumerate() {
                if !known.contains(code) {
                    problems.push(issue(
                        &format!("audience.codes[{index}]"),
                        "unknown_region",
                        format!("no {level} has the code {code}"),
                        format!("tidak ada {level} dengan kode {code}"),
                    ));
                }
            }
        }
        if !self.kim_ids.is_empty() {
            let known: Vec<i64> = kims::table
                .filter(kims::id.eq_any(&self.kim_ids))
                .filter(kims::status.ne(KimStatus::Dissolved.as_str()))
                .select(kims::id)
                .load(conn)?;
            for (index, id) in self.kim_ids.iter().enumerate() {
                if !known.contains(id) {
                    problems.push(issue(
                        &format!("audience.kim_ids[{index}]"),
                        "unknown_kim",
                        format!("no KIM that takes bulletins has the id {id}"),
                        format!("tidak ada KIM penerima buletin dengan id {id}"),
                    ));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(problems))
        }
    }
}
