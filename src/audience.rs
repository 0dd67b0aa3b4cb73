//! Who a bulletin, a mentoring session or a consultation is addressed to (SPEC §6,
//! §10): everyone, every KIM, the KIMs of some kecamatan or kelurahan, or named KIMs.
//! One set of rules for all of them: the shape of an audience, whether it takes in a
//! KIM (in Rust for one row, in SQL for lists), and how many active KIMs it reaches.
//!
//! Each addressed resource keeps its audience twice on purpose: as shown (scope and
//! JSON lists on its row) and as rows, one per named region or KIM, that matching
//! probes through indexes ([`AudienceRows`]).

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{kims, regions};
use crate::db::{BoundSql, DbConnection, stored};
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
                .filter(kims::status.ne(KimStatus::Dissolved))
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

/// An audience as stored on its row: the scope and two JSON lists.
pub struct StoredAudience {
    pub scope: AudienceScope,
    pub codes: String,
    pub kim_ids: String,
}

impl Audience {
    /// The stored form of the audience.
    pub fn stored(&self) -> Result<StoredAudience, ApiError> {
        let json = |error: serde_json::Error| ApiError::internal(error.to_string());
        Ok(StoredAudience {
            scope: self.scope,
            codes: serde_json::to_string(&self.codes).map_err(json)?,
            kim_ids: serde_json::to_string(&self.kim_ids).map_err(json)?,
        })
    }

    /// The audience of row `id` of `table`, from its stored columns.
    pub fn from_stored(
        table: &'static str,
        id: i64,
        scope: AudienceScope,
        codes: &str,
        kim_ids: &str,
    ) -> Result<Audience, ApiError> {
        Ok(Audience {
            scope,
            codes: stored(serde_json::from_str(codes).ok(), table, id)?,
            kim_ids: stored(serde_json::from_str(kim_ids).ok(), table, id)?,
        })
    }

    /// Active KIMs the audience addresses now.
    fn active_kims(&self) -> kims::BoxedQuery<'_, crate::db::Backend> {
        let query = kims::table
            .filter(kims::status.eq(KimStatus::Active))
            .into_boxed();
        match self.scope {
            AudienceScope::Public | AudienceScope::AllKims => query,
            AudienceScope::Kecamatan => query.filter(kims::kecamatan_code.eq_any(&self.codes)),
            AudienceScope::Kelurahan => query.filter(kims::kelurahan_code.eq_any(&self.codes)),
            AudienceScope::Kims => query.filter(kims::id.eq_any(&self.kim_ids)),
        }
    }

    /// How many active KIMs the audience addresses now.
    pub fn count_active_kims(&self, conn: &mut DbConnection) -> Result<i32, ApiError> {
        let count: i64 = self.active_kims().count().get_result(conn)?;
        i32::try_from(count).map_err(|_| ApiError::internal("more KIMs than an i32 counts"))
    }

    /// The active KIMs the audience addresses now.
    pub fn active_kim_ids(&self, conn: &mut DbConnection) -> Result<Vec<i64>, ApiError> {
        Ok(self.active_kims().select(kims::id).load(conn)?)
    }

    /// Whether the audience takes in the KIM at `place`.
    pub fn includes(&self, place: &KimPlace) -> bool {
        match self.scope {
            AudienceScope::Public | AudienceScope::AllKims => true,
            AudienceScope::Kecamatan => self.codes.contains(&place.kecamatan_code),
            AudienceScope::Kelurahan => self.codes.contains(&place.kelurahan_code),
            AudienceScope::Kims => self.kim_ids.contains(&place.kim_id),
        }
    }
}

/// A KIM and its region: what audience matching compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KimPlace {
    pub kim_id: i64,
    pub kelurahan_code: String,
    pub kecamatan_code: String,
}

/// Where one kind of addressed row keeps its audience rows: `table` has a column
/// `owner_key` naming the `owner` row and either `region_code` or `kim_id`.
pub struct AudienceRows {
    pub owner: &'static str,
    pub table: &'static str,
    pub owner_key: &'static str,
}

impl AudienceRows {
    /// Replaces the audience rows of row `owner_id` with one per region code and KIM
    /// id of `audience`.
    pub fn write(
        &self,
        conn: &mut DbConnection,
        owner_id: i64,
        audience: &Audience,
    ) -> Result<(), ApiError> {
        use diesel::sql_types::{BigInt, Text};
        // `$n` placeholders are positional on PostgreSQL and, taken in order, on SQLite.
        let (table, key) = (self.table, self.owner_key);
        diesel::sql_query(format!("DELETE FROM {table} WHERE {key} = $1"))
            .bind::<BigInt, _>(owner_id)
            .execute(conn)?;
        for code in &audience.codes {
            diesel::sql_query(format!(
                "INSERT INTO {table} ({key}, region_code) VALUES ($1, $2)"
            ))
            .bind::<BigInt, _>(owner_id)
            .bind::<Text, _>(code)
            .execute(conn)?;
        }
        for kim_id in &audience.kim_ids {
            diesel::sql_query(format!(
                "INSERT INTO {table} ({key}, kim_id) VALUES ($1, $2)"
            ))
            .bind::<BigInt, _>(owner_id)
            .bind::<BigInt, _>(kim_id)
            .execute(conn)?;
        }
        Ok(())
    }
}

impl From<&crate::kims::model::KimRow> for KimPlace {
    fn from(kim: &crate::kims::model::KimRow) -> Self {
        KimPlace {
            kim_id: kim.id,
            kelurahan_code: kim.kelurahan_code.clone(),
            kecamatan_code: kim.kecamatan_code.clone(),
        }
    }
}

impl KimPlace {
    /// The place of KIM `kim_id`; `None` when there is no such KIM.
    pub fn of(conn: &mut DbConnection, kim_id: i64) -> Result<Option<Self>, ApiError> {
        Ok(kims::table
            .find(kim_id)
            .select((kims::kelurahan_code, kims::kecamatan_code))
            .first::<(String, String)>(conn)
            .optional()?
            .map(|(kelurahan_code, kecamatan_code)| KimPlace {
                kim_id,
                kelurahan_code,
                kecamatan_code,
            }))
    }

    /// SQL: the `rows.owner` row names this KIM, its kelurahan or its kecamatan in its
    /// audience rows. A correlated EXISTS, probed per candidate row on the audience
    /// index, instead of `id IN (everything addressed to the region)`: a newest-first
    /// scan stops after a page, while the IN list grows with every row ever addressed
    /// there (benches/bulletins.sh: 0.01 of /health/live with IN at 100 000 bulletins).
    pub fn named_in(&self, rows: &AudienceRows) -> BoundSql {
        BoundSql::new("EXISTS (SELECT 1 FROM ")
            .sql(rows.table)
            .sql(" a WHERE a.")
            .sql(rows.owner_key)
            .sql(" = ")
            .sql(rows.owner)
            .sql(".id AND (a.region_code = ")
            .text(self.kelurahan_code.as_str())
            .sql(" OR a.region_code = ")
            .text(self.kecamatan_code.as_str())
            .sql(" OR a.kim_id = ")
            .big_int(self.kim_id)
            .sql("))")
    }

    /// SQL: the `rows.owner` row's audience takes in this KIM, by scope or by name.
    pub fn addressed_in(&self, rows: &AudienceRows) -> BoundSql {
        BoundSql::new("(")
            .sql(rows.owner)
            .sql(".audience_scope IN ('public', 'all_kims') OR ")
            .append(self.named_in(rows))
            .sql(")")
    }
}
