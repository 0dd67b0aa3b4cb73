//! The route table: every endpoint, registered together with its documentation, and
//! the OpenAPI document assembled from it. `startup` serves these routes; `openapi`
//! holds the document's header and the answers every operation shares.

use actix_web::App;
use utoipa::OpenApi;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::{AppExt, scope};

use crate::api_document::ApiDoc;
use crate::{
    activities, alert_sources, attachments, audit_log, bulletins, consultations, engagement,
    health, holidays, integration_clients, kims, members, mentoring, metrics, notifications,
    open311, regions, report_categories, reports, sessions, stats, users, webhooks,
};

/// Every documented route. Handlers are registered with `.service(...)` so that
/// utoipa-actix-web records their documentation at the same time.
pub fn api_routes(config: &mut ServiceConfig) {
    config
        .service(health::live)
        .service(health::ready)
        .service(metrics::metrics)
        .service(sessions::jwks)
        .service(open311::discovery)
        .service(open311::services)
        .service(open311::service_definition)
        .service(open311::requests::list_requests)
        .service(open311::requests::create_request)
        .service(open311::requests::get_request)
        .service(open311::requests::request_of_token)
        .service(
            scope::scope("/api/v1")
                .service(sessions::token)
                .service(attachments::tus::upload_options)
                .service(attachments::tus::create_upload)
                .service(attachments::tus::upload_offset)
                .service(attachments::tus::append_to_upload)
                .service(attachments::tus::delete_upload)
                .service(sessions::logout)
                .service(sessions::me)
                .service(users::list_users)
                .service(users::create_user)
                .service(users::get_user)
                .service(users::update_user)
                .service(integration_clients::list_clients)
                .service(integration_clients::create_client)
                .service(integration_clients::get_client)
                .service(integration_clients::update_client)
                .service(kims::list_kims)
                .service(kims::create_kim)
                .service(kims::get_kim)
                .service(kims::update_kim)
                .service(kims::change_status)
                .service(kims::history)
                .service(members::list_members)
                .service(members::add_member)
                .service(members::get_member)
                .service(members::update_member)
                .service(members::remove_member)
                .service(bulletins::list_bulletins)
                // Before `/bulletins/{id}`, which would take `feed.atom` for an id.
                .service(bulletins::atom_feed)
                .service(bulletins::bulletin_alert)
                .service(bulletins::alerts_feed)
                .service(bulletins::create_bulletin)
                .service(bulletins::get_bulletin)
                .service(bulletins::update_bulletin)
                .service(bulletins::delete_bulletin)
                .service(bulletins::publish_bulletin)
                .service(bulletins::archive_bulletin)
                .service(bulletins::acknowledge)
                .service(bulletins::list_acknowledgements)
                .service(bulletins::export_acknowledgements)
                .service(bulletins::upload_attachment)
                .service(bulletins::attach_upload)
                .service(bulletins::list_attachments)
                .service(bulletins::download_attachment)
                .service(bulletins::delete_attachment)
                // Before `/reports/{id}/comments`, which `track/comments` would match.
                .service(reports::track_report)
                .service(reports::list_reports)
                .service(reports::export_reports)
                .service(reports::reports_map)
                .service(reports::create_report)
                .service(reports::get_report)
                .service(reports::change_report_status)
                .service(reports::list_comments)
                .service(reports::add_comment)
                .service(reports::upload_report_attachment)
                .service(reports::attach_report_upload)
                .service(reports::list_report_attachments)
                .service(reports::download_report_attachment)
                .service(reports::delete_report_attachment)
                .service(holidays::list_holidays)
                .service(holidays::create_holiday)
                .service(holidays::delete_holiday)
                .service(regions::list_regions)
                .service(regions::region_boundary)
                .service(report_categories::list_categories)
                .service(report_categories::create_category)
                .service(report_categories::get_category)
                .service(report_categories::update_category)
                .service(audit_log::list_audit_log)
                .service(reports::give_feedback)
                .service(notifications::list_notifications)
                .service(notifications::notification_stream)
                .service(notifications::preferences::get_preferences)
                .service(notifications::preferences::put_preferences)
                .service(notifications::read_all_notifications)
                .service(notifications::read_notification)
                .service(notifications::push::vapid_public_key)
                .service(notifications::push::subscribe_push)
                .service(notifications::push::list_push_subscriptions)
                .service(notifications::push::unsubscribe_push)
                .service(reports::subscriptions::follow_report)
                .service(reports::subscriptions::confirmation_page)
                .service(reports::subscriptions::confirm_subscription)
                .service(reports::subscriptions::unsubscribe_page)
                .service(reports::subscriptions::end_subscription)
                .service(reports::subscriptions::feedback::feedback_page)
                .service(reports::subscriptions::feedback::give_citizen_feedback)
                .service(stats::overview)
                .service(alert_sources::create_alert_source)
                .service(alert_sources::list_alert_sources)
                .service(alert_sources::get_alert_source)
                .service(alert_sources::update_alert_source)
                .service(alert_sources::delete_alert_source)
                .service(alert_sources::list_polls)
                .service(webhooks::create_webhook)
                .service(webhooks::list_webhooks)
                .service(webhooks::get_webhook)
                .service(webhooks::update_webhook)
                .service(webhooks::delete_webhook)
                .service(webhooks::deliveries::list_deliveries)
                .service(webhooks::deliveries::redeliver)
                .service(integration_clients::api_keys::issue_api_key)
                .service(integration_clients::api_keys::revoke_api_key)
                .service(mentoring::list_sessions)
                .service(mentoring::create_session)
                .service(mentoring::get_session)
                .service(mentoring::update_session)
                .service(mentoring::change_session_status)
                .service(mentoring::list_participants)
                .service(mentoring::nominate)
                .service(mentoring::withdraw)
                .service(mentoring::record_attendance)
                .service(activities::list_activities)
                .service(activities::create_activity)
                .service(activities::get_activity)
                .service(activities::update_activity)
                .service(activities::upload_activity_attachment)
                .service(activities::attach_activity_upload)
                .service(activities::list_activity_attachments)
                .service(activities::download_activity_attachment)
                .service(activities::delete_activity_attachment)
                .service(engagement::engagement)
                .service(consultations::list_consultations)
                .service(consultations::create_consultation)
                .service(consultations::get_consultation)
                .service(consultations::update_consultation)
                .service(consultations::change_consultation_status)
                .service(consultations::put_my_response)
                .service(consultations::get_my_response)
                .service(consultations::consultation_results)
                .service(consultations::upload_consultation_attachment)
                .service(consultations::attach_consultation_upload)
                .service(consultations::list_consultation_attachments)
                .service(consultations::download_consultation_attachment)
                .service(consultations::delete_consultation_attachment),
        );
}

/// The OpenAPI document for [`api_routes`], with the shared answers and real text
/// limits written in.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, document) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(api_routes)
        .split_for_parts();
    let mut document = document;
    crate::api_document::add_shared_responses(&mut document);
    crate::api_document::add_text_limits(&mut document);
    crate::api_document::fill_limits(&mut document);
    document
}

/// The OpenAPI document the service serves, as pretty JSON with a final newline.
pub fn openapi_json() -> String {
    openapi_json_of(&openapi())
}

pub fn openapi_json_of(document: &utoipa::openapi::OpenApi) -> String {
    let mut json = document
        .to_pretty_json()
        .unwrap_or_else(|error| panic!("the OpenAPI document cannot be serialised: {error}"));
    json.push('\n');
    json
}
