use diesel::prelude::*;
use kim_api::db::schema::{
    alert_polls, alert_sources, attachments, audit_log, bulletin_acknowledgements, bulletin_alerts,
    bulletin_audience, bulletin_seen_by, bulletins, consultation_audience, consultation_responses,
    consultations, holidays, idempotency_keys, incoming_alerts, integration_api_keys,
    integration_clients, kim_activities, kim_members, kim_status_changes, kims, known_sign_ins,
    login_failures, mentoring_participants, mentoring_session_audience, mentoring_sessions,
    outbox_events, refresh_tokens, region_boundaries, regions, registration_counters,
    report_categories, report_media_urls, report_timeline, reports, sync_counters, users,
    webhook_attempts, webhook_deliveries, webhook_subscriptions,
};
use kim_api::db::{DbConnection, revert_all_migrations, run_pending_migrations};

use crate::helpers::on_each_backend;

/// Loads every column `schema.rs` declares, so a drift between it and the
/// migrations fails here.
fn check_schema_matches(conn: &mut DbConnection) {
    let regions: Vec<(String, String, Option<String>, String)> = regions::table
        .select(regions::all_columns)
        .load(conn)
        .expect("regions match schema.rs");
    assert_eq!(regions.len(), 29);
    type CategoryColumns = (
        i64,
        String,
        String,
        bool,
        chrono::NaiveDateTime,
        chrono::NaiveDateTime,
        i64,
        Option<String>,
    );
    let categories: Vec<CategoryColumns> = report_categories::table
        .select(report_categories::all_columns)
        .load(conn)
        .expect("report_categories match schema.rs");
    assert!(categories.len() >= 9);
    // Every column of every table `schema.rs` declares exists (a query naming a missing
    // one fails), whatever rows there are.
    macro_rules! every_column_of {
        ($($table:ident),* $(,)?) => {
            $(
                $table::table
                    .select($table::all_columns)
                    .limit(1)
                    .execute(conn)
                    .unwrap_or_else(|error| panic!("{} matches schema.rs: {error}", stringify!($table)));
            )*
        };
    }
    every_column_of!(
        regions,
        region_boundaries,
        report_categories,
        kims,
        registration_counters,
        kim_status_changes,
        users,
        refresh_tokens,
        integration_clients,
        login_failures,
        audit_log,
        idempotency_keys,
        kim_members,
        outbox_events,
        known_sign_ins,
        bulletins,
        bulletin_audience,
        bulletin_seen_by,
        bulletin_acknowledgements,
        sync_counters,
        attachments,
        holidays,
        reports,
        report_timeline,
        webhook_subscriptions,
        webhook_deliveries,
        webhook_attempts,
        integration_api_keys,
        report_media_urls,
        mentoring_sessions,
        mentoring_session_audience,
        mentoring_participants,
        kim_activities,
        consultations,
        consultation_audience,
        consultation_responses,
        bulletin_alerts,
        alert_sources,
        alert_polls,
        incoming_alerts,
    );
}

#[tokio::test]
async fn migrations_run_up_down_and_up_again() {
    on_each_backend(async |app| {
        let db = app.db.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = db.blocking_connection().expect("connection");
            check_schema_matches(&mut conn);

            let reverted = revert_all_migrations(&mut conn).expect("down");
            assert!(!reverted.is_empty());
            let missing = regions::table.count().get_result::<i64>(&mut *conn);
            assert!(missing.is_err(), "the regions table is gone after down");

            let applied = run_pending_migrations(&mut conn).expect("up again");
            assert_eq!(applied, reverted.into_iter().rev().collect::<Vec<_>>());
            check_schema_matches(&mut conn);
            assert!(
                run_pending_migrations(&mut conn)
                    .expect("idempotent")
                    .is_empty()
            );
        })
        .await
        .expect("blocking task");
    })
    .await;
}
