// Written by hand: the MultiConnection supports only the SQL types both backends share,
// so ids are BigInt and timestamps are UTC `Timestamp`s. Keep in step with
// `migrations/`; the migration tests compare this file with what they produce.

diesel::table! {
    regions (code) {
        code -> Text,
        level -> Text,
        parent_code -> Nullable<Text>,
        name -> Text,
    }
}

diesel::table! {
    report_categories (id) {
        id -> BigInt,
        code -> Text,
        name -> Text,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        version -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(regions, report_categories);
