//! The audit log as gov_admin reads it (SPEC §8): who did what to which record, when,
//! from which request. Read only: no route updates or deletes a record.
//!
//! Newest first, keyset-paged on `(occurred_at, id)`; each filter has an index that
//! starts with it and ends with that order, so a page costs the same at any depth.

use actix_web::{get, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Authorized, GovAdminOnly};
use crate::db::schema::audit_log;
use crate::db::{Db, DbConnection, utc};
use crate::error::{ApiError, FieldIssue};
use crate::extract::ListQuery;
use crate::openapi::{Forbidden, InvalidQuery, ServiceUnavailable, Unauthorized};
use crate::pagination::{Page, PageParams, like_literal};

crate::text_enum! {
    /// Who acted: an account, an integration client, nobody signed in (sign-in
    /// attempts, public tracking) or the service itself.
    pub enum ActorType {
        User = "user",
        Client = "client",
        Anonymous = "anonymous",
        System = "system",
    }
}

/// Longest action name (`report_category.updated`…); also the column's width.
const ACTION_MAX: usize = 64;
/// Width of the id columns (`actor_id`, `target_id`, `request_id`).
const ID_MAX: usize = 64;
const TARGET_TYPE_MAX: usize = 32;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
struct AuditRow {
    id: i64,
    occurred_at: NaiveDateTime,
    actor_type: ActorType,
    actor_id: Option<String>,
    action: String,
    target_type: Option<String>,
    target_id: Option<String>,
    request_id: Option<String>,
    client_ip: Option<String>,
    detail: Option<String>,
}

/// One audit record. Details never hold personal data or secrets.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditRecord {
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_type: ActorType,
    /// The account id (`user`) or the client's `client_id` (`client`).
    #[schema(example = "12")]
    pub actor_id: Option<String>,
    #[schema(example = "report.status_changed")]
    pub action: String,
    #[schema(example = "report")]
    pub target_type: Option<String>,
    #[schema(example = "4711")]
    pub target_id: Option<String>,
    /// The `X-Request-Id` of the request that made the change.
    pub request_id: Option<String>,
    pub client_ip: Option<String>,
    /// Non-personal context, e.g. `changed=name,active`.
    pub detail: Option<String>,
}

impl TryFrom<AuditRow> for AuditRecord {
    type Error = ApiError;

    fn try_from(row: AuditRow) -> Result<Self, ApiError> {
        Ok(AuditRecord {
            id: row.id,
            occurred_at: utc(row.occurred_at),
            actor_type: row.actor_type,
            actor_id: row.actor_id,
            action: row.action,
            target_type: row.target_type,
            target_id: row.target_id,
            request_id: row.request_id,
            client_ip: row.client_ip,
            detail: row.detail,
        })
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    actor_type: Option<ActorType>,
    /// With `actor_type`: one account id or client id.
    #[param(max_length = 64)]
    actor_id: Option<String>,
    /// One action (`report.status_changed`), or every action of a kind (`report.*`).
    #[param(max_length = 64, pattern = r"^[a-z_]+(\.[a-z_]+|\.\*)?$")]
    action: Option<String>,
    #[param(max_length = 32)]
    target_type: Option<String>,
    /// With `target_type`.
    #[param(max_length = 64)]
    target_id: Option<String>,
    /// At or after this moment.
    from: Option<DateTime<Utc>>,
    /// Before this moment.
    to: Option<DateTime<Utc>>,
    #[param(max_length = 64)]
    request_id: Option<String>,
}

/// How an `action` filter matches.
enum ActionMatch {
    Exactly(String),
    /// `LIKE` pattern of every action of a kind.
    Kind(String),
}

impl AuditFilter {
    fn check(&self) -> Result<Option<ActionMatch>, ApiError> {
        let mut issues = Vec::new();
        let too_long = |field: &str, value: &Option<String>, max: usize| {
            value
                .as_ref()
                .is_some_and(|text| text.chars().count() > max)
                .then(|| {
                    FieldIssue::new(
                        field,
                        "too_long",
                        format!("at most {max} characters"),
                        format!("maksimal {max} karakter"),
                    )
                })
        };
        issues.extend(too_long("actor_id", &self.actor_id, ID_MAX));
        issues.extend(too_long("target_type", &self.target_type, TARGET_TYPE_MAX));
        issues.extend(too_long("target_id", &self.target_id, ID_MAX));
        issues.extend(too_long("request_id", &self.request_id, ID_MAX));
        if self.actor_id.is_some() && self.actor_type.is_none() {
            issues.push(FieldIssue::new(
                "actor_id",
                "needs_actor_type",
                "give `actor_type` with `actor_id`",
                "sertakan `actor_type` bersama `actor_id`",
            ));
        }
        if self.target_id.is_some() && self.target_type.is_none() {
            issues.push(FieldIssue::new(
                "target_id",
                "needs_target_type",
                "give `target_type` with `target_id`",
                "sertakan `target_type` bersama `target_id`",
            ));
        }
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from >= to
        {
            issues.push(FieldIssue::new(
                "to",
                "before_from",
                "must be after `from`",
                "harus setelah `from`",
            ));
        }
        let action = match self.action.as_deref() {
            None => None,
            Some(action) => match action_match(action) {
                Some(matched) => Some(matched),
                None => {
                    issues.push(FieldIssue::new(
                        "action",
                        "invalid_action",
                        "must be an action such as `report.created`, or `report.*`",
                        "harus berupa aksi seperti `report.created`, atau `report.*`",
                    ));
                    None
                }
            },
        };
        if issues.is_empty() {
            Ok(action)
        } else {
            Err(ApiError::InvalidQuery(issues))
        }
    }
}

fn action_match(action: &str) -> Option<ActionMatch> {
    let word =
        |text: &str| !text.is_empty() && text.chars().all(|c| c.is_ascii_lowercase() || c == '_');
    if action.len() > ACTION_MAX {
        return None;
    }
    match action.split_once('.') {
        Some((kind, "*")) if word(kind) => Some(ActionMatch::Kind(format!(
            "{}.%",
            like_literal(kind, ACTION_MAX)
        ))),
        Some((kind, verb)) if word(kind) && word(verb) => {
            Some(ActionMatch::Exactly(action.to_owned()))
        }
        None if word(action) => Some(ActionMatch::Exactly(action.to_owned())),
        _ => None,
    }
}

/// Lists audit records, newest first. gov_admin only.
#[utoipa::path(
    tag = "audit log",
    params(AuditFilter, PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of audit records", body = Page<AuditRecord>),
        (status = 400, response = InvalidQuery),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/audit-log")]
pub async fn list_audit_log(
    _admin: Authorized<GovAdminOnly>,
    db: web::Data<Db>,
    query: ListQuery<AuditFilter>,
) -> Result<web::Json<Page<AuditRecord>>, ApiError> {
    let ListQuery { page, filter } = query;
    let action = filter.check()?;
    let after: Option<(NaiveDateTime, i64)> = page.after()?;
    let listed = db
        .read(move |conn| {
            let rows = filter
                .find(conn, action, after, page.fetch_limit())?
                .into_iter()
                .map(AuditRecord::try_from)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Page::from_rows(rows, &page, |record| {
                (record.occurred_at.naive_utc(), record.id)
            }))
        })
        .await?;
    Ok(web::Json(listed))
}

impl AuditFilter {
    /// The records the filter and `action` match, newest first, after `after`.
    fn find(
        self,
        conn: &mut DbConnection,
        action: Option<ActionMatch>,
        after: Option<(NaiveDateTime, i64)>,
        limit: i64,
    ) -> Result<Vec<AuditRow>, ApiError> {
        let mut select = audit_log::table
            .select(AuditRow::as_select())
            .order((audit_log::occurred_at.desc(), audit_log::id.desc()))
            .limit(limit)
            .into_boxed();
        if let Some(actor_type) = self.actor_type {
            select = select.filter(audit_log::actor_type.eq(actor_type));
        }
        if let Some(actor_id) = self.actor_id {
            select = select.filter(audit_log::actor_id.eq(actor_id));
        }
        select = match action {
            Some(ActionMatch::Exactly(action)) => select.filter(audit_log::action.eq(action)),
            Some(ActionMatch::Kind(pattern)) => {
                select.filter(audit_log::action.like(pattern).escape('\\'))
            }
            None => select,
        };
        if let Some(target_type) = self.target_type {
            select = select.filter(audit_log::target_type.eq(target_type));
        }
        if let Some(target_id) = self.target_id {
            select = select.filter(audit_log::target_id.eq(target_id));
        }
        if let Some(request_id) = self.request_id {
            select = select.filter(audit_log::request_id.eq(request_id));
        }
        if let Some(from) = self.from {
            select = select.filter(audit_log::occurred_at.ge(from.naive_utc()));
        }
        if let Some(to) = self.to {
            select = select.filter(audit_log::occurred_at.lt(to.naive_utc()));
        }
        if let Some((occurred_at, id)) = after {
            // `occurred_at <= ?` bounds the index scan; the OR alone does not.
            select = select.filter(
                audit_log::occurred_at.le(occurred_at).and(
                    audit_log::occurred_at
                        .lt(occurred_at)
                        .or(audit_log::id.lt(id)),
                ),
            );
        }
        Ok(select.load(conn)?)
    }
}
