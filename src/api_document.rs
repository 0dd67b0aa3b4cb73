//! The OpenAPI document assembled: its header, the answers every operation of a kind
//! shares, the real bounds of text properties and the limits named in descriptions.
//!
//! Paths are not listed here: `routes::api_routes` registers each handler together
//! with its `#[utoipa::path]` documentation, so no route can be left out.

use utoipa::openapi::security::{
    ClientCredentials, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Password, Scopes, SecurityScheme,
};
use utoipa::{Modify, OpenApi};

use crate::auth::Scope;
use crate::error::{FieldError, Problem};
use crate::openapi::*;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "KIM API",
        description = "API of the Kelompok Informasi Masyarakat (KIM) of Kota Metro: the KIM \
registry and members, government information bulletins, and citizen reports.\n\n\
Errors are RFC 9457 `application/problem+json` documents with a stable `code`. \
Send `Accept-Language: id` for Indonesian texts. Lists use keyset pagination: pass \
`next_cursor` back as `cursor`.",
        license(name = "MIT", identifier = "MIT"),
    ),
    tags(
        (name = "reference data", description = "Regions and report categories"),
        (name = "operations", description = "Health probes and metrics"),
        (name = "auth", description = "Tokens, sign-out and the caller"),
        (name = "users", description = "Accounts of government staff and KIM boards and members"),
        (name = "integration clients", description = "Machine clients of other Pemda systems"),
        (name = "kims", description = "The KIM registry and lifecycle"),
        (name = "members", description = "KIM members; personal data protected as UU 27/2022 requires"),
        (name = "bulletins", description = "Information from the government to KIMs and between KIMs"),
        (name = "reports", description = "Citizen reports: submission, workflow, service levels"),
        (name = "holidays", description = "Public holidays of the service-level calendar of citizen reports"),
        (name = "statistics", description = "Dashboard figures over a period"),
        (name = "open311", description = "Open311 GeoReport v2: report categories as services, reports as service requests; `.json` or `.xml`"),
        (name = "webhooks", description = "Signed deliveries of events to other systems (Standard Webhooks)"),
        (name = "alert sources", description = "CAP early warnings taken in (BMKG and others): sources, their poll log"),
        (name = "audit log", description = "Who did what to which record, when, from which request"),
        (name = "notifications", description = "Each account's inbox: what happened to what concerns it"),
        (name = "mentoring", description = "Mentoring sessions for KIMs: nominations and attendance"),
        (name = "activities", description = "What each KIM did in its community, with photos"),
        (name = "consultations", description = "Policy consultations: the government asks, KIMs answer, the government responds"),
        (name = "uploads", description = "Resumable uploads (tus 1.0) for files sent over networks that drop, attached to an item once complete"),
    ),
    components(
        schemas(Problem, FieldError),
        responses(
            InvalidQuery,
            InvalidBody,
            Unauthorized,
            Forbidden,
            NotFound,
            PreconditionFailed,
            Unprocessable,
            TooManyRequests,
            ServiceUnavailable,
            BadRequest,
            InvalidPath,
            PayloadTooLarge,
            UriTooLong,
            RequestTimeout,
            UnusableFile,
            UnsupportedMediaType,
            crate::attachments::tus::TusVersionUnsupported,
        ),
    ),
    modifiers(&SecuritySchemes),
)]
pub struct ApiDoc;

/// Bearer access tokens, and the OAuth 2.0 flows of the token endpoint so the docs
/// page can sign in.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token from `POST /api/v1/auth/token`."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "oauth2",
            SecurityScheme::OAuth2(OAuth2::with_description(
                [
                    Flow::Password(Password::new(TOKEN_URL, Scopes::new())),
                    Flow::ClientCredentials(ClientCredentials::new(
                        TOKEN_URL,
                        Scopes::from_iter(
                            Scope::ALL.map(|scope| (scope.as_str(), scope_description(scope))),
                        ),
                    )),
                ],
                "Password grant for people, client credentials for integration clients.",
            )),
        );
    }
}

const TOKEN_URL: &str = "/api/v1/auth/token";

fn scope_description(scope: Scope) -> &'static str {
    match scope {
        Scope::KimsRead => "Read the KIM registry",
        Scope::MembersRead => "Read KIM members (NIK masked)",
        Scope::BulletinsRead => "Read bulletins",
        Scope::ReportsRead => "Read citizen reports",
        Scope::ReportsWrite => "Submit citizen reports",
        Scope::StatsRead => "Read dashboard statistics",
    }
}

/// Every operation of a path.
fn operations_mut(
    item: &mut utoipa::openapi::path::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.post,
        &mut item.put,
        &mut item.patch,
        &mut item.delete,
        &mut item.head,
        &mut item.options,
    ]
    .into_iter()
    .flatten()
}

/// Writes the limits in force into the descriptions: a description names
/// `{MAX_FILE_MIB}` and the document says the number of the constant the service
/// enforces, so the two cannot drift apart.
pub fn fill_limits(document: &mut utoipa::openapi::OpenApi) {
    use crate::attachments::{MAX_FILE_BYTES, MAX_PER_OWNER, content, resumable};
    const MIB: usize = 1024 * 1024;
    let limits = [
        ("{MAX_FILE_MIB}", (MAX_FILE_BYTES / MIB).to_string()),
        (
            "{MAX_JSON_MIB}",
            (crate::extract::JSON_BODY_LIMIT / MIB).to_string(),
        ),
        ("{MAX_FILES_PER_ITEM}", MAX_PER_OWNER.to_string()),
        (
            "{MAX_IMAGE_MEGAPIXELS}",
            (content::MAX_IMAGE_PIXELS / 1_000_000).to_string(),
        ),
        (
            "{MAX_OPEN_UPLOADS}",
            resumable::MAX_OPEN_PER_OWNER.to_string(),
        ),
        (
            "{UPLOAD_EXPIRY_HOURS}",
            resumable::EXPIRES_AFTER_HOURS.to_string(),
        ),
    ];
    // Through the JSON text, straight back into the document: a `Value` in between
    // would sort every map and reorder the document.
    let filled = serde_json::to_string(&*document).and_then(|mut text| {
        for (name, number) in &limits {
            text = text.replace(name, number);
        }
        serde_json::from_str(&text)
    });
    match filled {
        Ok(filled) => *document = filled,
        Err(error) => panic!("the OpenAPI document does not round-trip: {error}"),
    }
}

/// Adds the answers every operation of a kind can give, so that no handler has to
/// list them and none can forget one: 414 everywhere (any target can be too long),
/// 400 where there is input, 408 where there is a body, 401 where a token is
/// read, 404 where a path names a record, 413 and 415 where there is a body, 429
/// wherever a rate limit applies (every route but probes, metrics, keys and docs), 503
/// wherever the database or a bounded queue is involved.
pub fn add_shared_responses(document: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::{Ref, RefOr};

    /// Operations that touch neither the database nor a bounded queue.
    const NEVER_UNAVAILABLE: [&str; 3] = ["/health/live", "/metrics", "/.well-known/jwks.json"];
    for (path, item) in document.paths.paths.iter_mut() {
        for operation in operations_mut(item) {
            let parameters = operation.parameters.as_deref().unwrap_or_default();
            let has_path_parameter = parameters.iter().any(
                |parameter| matches!(parameter, RefOr::T(p) if p.parameter_in == ParameterIn::Path),
            );
            let has_input = !parameters.is_empty() || operation.request_body.is_some();
            let has_body = operation.request_body.is_some();
            // Anonymous routes that still read (and refuse an invalid) token declare
            // `security((), ("bearer" = []))`.
            let reads_token = operation.security.is_some();
            let responses = &mut operation.responses.responses;
            let mut add = |status: &str, name: &str| {
                responses
                    .entry(status.to_owned())
                    .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
            };
            if has_path_parameter {
                add("400", "InvalidPath");
                add("404", "NotFound");
            }
            if has_input {
                add("400", "BadRequest");
            }
            if reads_token {
                add("401", "Unauthorized");
            }
            if has_body {
                add("408", "RequestTimeout");
                add("413", "PayloadTooLarge");
                add("415", "UnsupportedMediaType");
            }
            add("414", "UriTooLong");
            if !crate::rate_limit::is_exempt(path) {
                add("429", "TooManyRequests");
            }
            if !NEVER_UNAVAILABLE.contains(&path.as_str()) {
                add("503", "ServiceUnavailable");
            }
        }
    }
}

/// What the document says about one text property: its bounds from
/// [`crate::domain::text::limits`] (the constants validation uses) and, where the
/// value has a fixed shape, its pattern.
struct TextRule {
    schema: &'static str,
    property: &'static str,
    min: usize,
    max: usize,
    pattern: Option<&'static str>,
}

const fn rule(schema: &'static str, property: &'static str, min: usize, max: usize) -> TextRule {
    TextRule {
        schema,
        property,
        min,
        max,
        pattern: None,
    }
}

const fn shaped(
    schema: &'static str,
    property: &'static str,
    min: usize,
    max: usize,
    pattern: &'static str,
) -> TextRule {
    TextRule {
        schema,
        property,
        min,
        max,
        pattern: Some(pattern),
    }
}

const KELURAHAN_CODE_PATTERN: &str = r"^[0-9]{2}\.[0-9]{2}\.[0-9]{2}\.[0-9]{4}$";
/// A kecamatan (`18.72.01`) or kelurahan (`18.72.01.1001`) code.
const REGION_CODE_PATTERN: &str = r"^[0-9]{2}\.[0-9]{2}\.[0-9]{2}(\.[0-9]{4})?$";
const USERNAME_PATTERN: &str = "^[A-Za-z0-9._-]+$";
/// `*` or entity tags, strong or weak (a weak one never matches: RFC 9110 §13.1.1).
const IF_MATCH_PATTERN: &str = r#"^(\*|(W/)?"[^"]*"(\s*,\s*(W/)?"[^"]*")*)$"#;
const NIK_PATTERN: &str = "^[0-9]{16}$";
const PHONE_PATTERN: &str = r"^\+?[0-9 ().-]{6,24}$";
const EMAIL_PATTERN: &str = "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$";

fn text_rules() -> Vec<TextRule> {
    use crate::domain::text::limits::*;
    let mut rules = Vec::new();
    for schema in ["NewKimRequest", "KimChanges"] {
        rules.extend([
            rule(schema, "name", 1, KIM_NAME),
            rule(schema, "address", 0, KIM_ADDRESS),
            rule(schema, "description", 0, KIM_DESCRIPTION),
            shaped(schema, "kelurahan_code", 13, 13, KELURAHAN_CODE_PATTERN),
            shaped(schema, "contact_email", 3, EMAIL, EMAIL_PATTERN),
            shaped(schema, "contact_phone", 6, 24, PHONE_PATTERN),
        ]);
    }
    rules.push(rule("KimChanges", "sk_number", 0, SK_NUMBER));
    rules.extend([
        rule("KimStatusRequest", "reason", 1, STATUS_REASON),
        rule("KimStatusRequest", "sk_number", 0, SK_NUMBER),
        shaped("NewUserRequest", "username", 3, USERNAME, USERNAME_PATTERN),
        rule("NewUserRequest", "display_name", 0, DISPLAY_NAME),
        rule("UserChanges", "display_name", 0, DISPLAY_NAME),
        rule("NewUserRequest", "password", MIN_PASSWORD, MAX_PASSWORD),
        rule("UserChanges", "password", MIN_PASSWORD, MAX_PASSWORD),
        rule("NewClientRequest", "name", 1, CLIENT_NAME),
        rule("ClientChanges", "name", 1, CLIENT_NAME),
    ]);
    for schema in ["NewBulletinRequest", "BulletinChanges"] {
        rules.extend([
            rule(schema, "title", 1, BULLETIN_TITLE),
            rule(schema, "body", 1, BULLETIN_BODY),
            rule(schema, "event", 1, CAP_EVENT),
            rule(schema, "instruction", 1, CAP_INSTRUCTION),
        ]);
    }
    rules.push(rule(
        "AcknowledgementRequest",
        "note",
        0,
        ACKNOWLEDGEMENT_NOTE,
    ));
    rules.extend([
        rule("NewReportRequest", "title", 1, REPORT_TITLE),
        rule("NewReportRequest", "description", 1, REPORT_DESCRIPTION),
        rule("NewReportRequest", "address", 0, REPORT_ADDRESS),
        rule("NewReportRequest", "reporter_name", 0, REPORTER_NAME),
        shaped(
            "NewReportRequest",
            "kelurahan_code",
            13,
            13,
            KELURAHAN_CODE_PATTERN,
        ),
        rule("ReportStatusRequest", "note", 0, TIMELINE_BODY),
        rule("ReportStatusRequest", "assigned_agency", 0, AGENCY),
        rule("NewHolidayRequest", "name", 1, HOLIDAY_NAME),
        shaped(
            "NewCategoryRequest",
            "code",
            2,
            CATEGORY_CODE,
            crate::report_categories::CATEGORY_CODE_PATTERN,
        ),
        rule("NewCategoryRequest", "name", 1, CATEGORY_NAME),
        rule("CategoryChanges", "name", 1, CATEGORY_NAME),
        rule("NewCategoryRequest", "description", 0, CATEGORY_DESCRIPTION),
        rule("CategoryChanges", "description", 0, CATEGORY_DESCRIPTION),
        rule(
            "NewWebhookRequest",
            "url",
            1,
            crate::outbound::target::MAX_URL,
        ),
        rule("WebhookChanges", "url", 1, crate::outbound::target::MAX_URL),
        rule(
            "NewAlertSourceRequest",
            "url",
            1,
            crate::outbound::target::MAX_URL,
        ),
        rule(
            "AlertSourceChanges",
            "url",
            1,
            crate::outbound::target::MAX_URL,
        ),
        rule("NewWebhookRequest", "description", 0, WEBHOOK_DESCRIPTION),
        rule("WebhookChanges", "description", 0, WEBHOOK_DESCRIPTION),
        rule("NewCommentRequest", "body", 1, TIMELINE_BODY),
        rule("FeedbackRequest", "comment", 0, TIMELINE_BODY),
        rule(
            "PushSubscriptionRequest",
            "endpoint",
            1,
            crate::outbound::target::MAX_URL,
        ),
        rule(
            "PushSubscriptionKeys",
            "p256dh",
            1,
            crate::notifications::push::subscriptions::MAX_P256DH,
        ),
        rule(
            "PushSubscriptionKeys",
            "auth",
            1,
            crate::notifications::push::subscriptions::MAX_AUTH,
        ),
        shaped(
            "ReportSubscriptionRequest",
            "email",
            3,
            EMAIL,
            EMAIL_PATTERN,
        ),
    ]);
    for schema in ["NewActivityRequest", "ActivityChanges"] {
        rules.extend([
            rule(schema, "title", 1, ACTIVITY_TITLE),
            rule(schema, "description", 0, ACTIVITY_DESCRIPTION),
            rule(schema, "location", 0, ACTIVITY_LOCATION),
        ]);
    }
    for schema in ["NewConsultationRequest", "ConsultationChanges"] {
        rules.extend([
            rule(schema, "title", 1, CONSULTATION_TITLE),
            rule(schema, "summary", 1, CONSULTATION_SUMMARY),
        ]);
    }
    rules.extend([
        rule(
            "ConsultationStatusRequest",
            "government_response",
            1,
            GOVERNMENT_RESPONSE,
        ),
        rule("Question", "text", 1, QUESTION_TEXT),
    ]);
    for schema in ["NewSessionRequest", "SessionChanges"] {
        rules.extend([
            rule(schema, "title", 1, SESSION_TITLE),
            rule(schema, "location", 1, SESSION_LOCATION),
        ]);
    }
    for schema in ["NewMemberRequest", "MemberChanges"] {
        rules.extend([
            rule(schema, "full_name", 1, MEMBER_NAME),
            rule(schema, "profession", 0, PROFESSION),
            shaped(schema, "nik", 16, 16, NIK_PATTERN),
            shaped(schema, "email", 3, EMAIL, EMAIL_PATTERN),
            shaped(schema, "phone", 6, 24, PHONE_PATTERN),
        ]);
    }
    rules
}

const MIN_PASSWORD: usize = crate::auth::password::MIN_PASSWORD_CHARS;
const MAX_PASSWORD: usize = crate::auth::password::MAX_PASSWORD_CHARS;

/// Writes the real bounds into the schemas: lengths from the constants validation
/// uses, shapes of codes and numbers, the tag limits of `focus`, and the search limit
/// of `q`. A rule naming a property the document lacks is a bug: it panics in tests.
pub fn add_text_limits(document: &mut utoipa::openapi::OpenApi) {
    use crate::domain::text::limits;
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{ArrayItems, Schema};

    let Some(components) = document.components.as_mut() else {
        return;
    };
    for rule in text_rules() {
        let property = match components.schemas.get_mut(rule.schema) {
            Some(RefOr::T(Schema::Object(object))) => object.properties.get_mut(rule.property),
            _ => None,
        };
        let Some(RefOr::T(Schema::Object(property))) = property else {
            panic!(
                "no text property {}.{} to bound",
                rule.schema, rule.property
            );
        };
        property.max_length = Some(rule.max);
        property.min_length = (rule.min > 0).then_some(rule.min);
        property.pattern = rule.pattern.map(str::to_owned);
    }
    for schema in ["NewKimRequest", "KimChanges"] {
        if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(schema)
            && let Some(RefOr::T(Schema::Array(focus))) = object.properties.get_mut("focus")
        {
            focus.max_items = Some(limits::FOCUS_TAGS);
            if let ArrayItems::RefOrSchema(item) = &mut focus.items
                && let RefOr::T(Schema::Object(tag)) = item.as_mut()
            {
                tag.min_length = Some(1);
                tag.max_length = Some(limits::FOCUS_TAG);
            }
        }
    }
    if let Some(RefOr::T(Schema::Object(audience))) = components.schemas.get_mut("Audience") {
        for (list, item_pattern) in [("codes", Some(REGION_CODE_PATTERN)), ("kim_ids", None)] {
            if let Some(RefOr::T(Schema::Array(entries))) = audience.properties.get_mut(list) {
                entries.max_items = Some(limits::AUDIENCE_ENTRIES);
                if let (Some(pattern), ArrayItems::RefOrSchema(item)) =
                    (item_pattern, &mut entries.items)
                    && let RefOr::T(Schema::Object(code)) = item.as_mut()
                {
                    code.pattern = Some(pattern.to_owned());
                    code.max_length = Some(limits::REGION_CODE);
                }
            }
        }
    }
    for item in document.paths.paths.values_mut() {
        for operation in operations_mut(item) {
            for parameter in operation.parameters.iter_mut().flatten() {
                let RefOr::T(parameter) = parameter else {
                    continue;
                };
                let Some(RefOr::T(Schema::Object(schema))) = parameter.schema.as_mut() else {
                    continue;
                };
                match parameter.name.as_str() {
                    "q" => schema.max_length = Some(limits::SEARCH),
                    "If-Match" => schema.pattern = Some(IF_MATCH_PATTERN.to_owned()),
                    "Idempotency-Key" => {
                        schema.min_length = Some(1);
                        schema.max_length = Some(crate::idempotency::MAX_KEY_LENGTH);
                        schema.pattern = Some("^[!-~]+$".to_owned());
                    }
                    _ => {}
                }
            }
        }
    }
}
