//! Enumerations stored as text: one declaration gives the serde names, the OpenAPI
//! enum, the stored text (a diesel `Text` value on SQLite and PostgreSQL) and a strict
//! parser, so the four can never disagree and no query spells a value as a literal.

/// Declares a `Copy` enum whose variants are written as the given texts in JSON, in
/// the OpenAPI document and in the database.
#[macro_export]
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($(#[$variant_meta:meta])* $variant:ident = $text:literal),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        // utoipa does not see a `rename` whose text comes from a macro argument, so
        // the texts must be the variants in snake_case (`texts_are_the_snake_case_names`).
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$variant_meta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            pub fn parse(text: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|value| value.as_str() == text)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(
                    self.as_str(),
                    out,
                )
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(value: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = <String as diesel::deserialize::FromSql<
                    diesel::sql_types::Text,
                    DB,
                >>::from_sql(value)?;
                // A value outside the enum means the database was written by something
                // else than this service; the row is refused rather than guessed.
                Self::parse(&text).ok_or_else(|| {
                    format!("{:?} is not a stored {}", text, stringify!($name)).into()
                })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::text_enum! {
        pub enum Sample {
            AllKims = "all_kims",
            Umum = "umum",
        }
    }

    #[test]
    fn the_openapi_enum_is_the_stored_text() {
        let schema =
            serde_json::to_value(<Sample as utoipa::PartialSchema>::schema()).unwrap_or_default();
        assert_eq!(schema["enum"], serde_json::json!(["all_kims", "umum"]));
        for value in Sample::ALL {
            assert_eq!(
                serde_json::to_value(value).unwrap_or_default(),
                serde_json::json!(value.as_str())
            );
            assert_eq!(Sample::parse(value.as_str()), Some(*value));
        }
    }
}
