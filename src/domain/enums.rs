//! Enumerations stored as text: one declaration gives the serde names, the OpenAPI
//! enum, the stored text and a strict parser, so the four can never disagree.

/// Declares a `Copy` enum whose variants are written as the given texts in JSON, in
/// the OpenAPI document and in the database.
#[macro_export]
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($(#[$variant_meta:meta])* $variant:ident = $text:literal),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
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
