//! Listing mentoring sessions: the caller's view, the filters, latest start first.

use actix_web::{get, web};
use chrono::{Days, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::IntoParams;

use super::model::{Session, SessionKind, SessionRow, SessionStatus, SessionTopic};
use super::policy::{self, SessionAccess};
use crate::audience::KimPlace;
use crate::auth::Caller;
use crate::db::schema::mentoring_sessions;
use crate::db::{Db, DbConnection};
use crate::error::ApiError;
use crate::extract::ListQuery;
use crate::holidays::calendar::wib_midnight;
use crate::openapi::{Forbidden, InvalidQuery, ServiceUnavailable, Unauthorized};
use crate::pagination::{Page, PageParams};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SessionFilter {
    status: Option<SessionStatus>,
    kind: Option<SessionKind>,
    topic: Option<SessionTopic>,
    /// Sessions starting on or after this day (WIB), `YYYY-MM-DD`.
    #[serde(default, deserialize_with = "crate::extract::optional_date")]
    #[param(value_type = Option<String>, format = Date)]
    from: Option<NaiveDate>,
    /// Sessions starting on or before this day (WIB), `YYYY-MM-DD`.
    #[serde(default, deserialize_with = "crate::extract::optional_date")]
    #[param(value_type = Option<String>, format = Date)]
    to: Option<NaiveDate>,
    /// gov only: sessions addressed to this KIM.
    kim_id: Option<i64>,
}

/// Lists the sessions the caller sees, latest start first.
///
/// gov users see every session; a KIM's users those addressed to their KIM.
#[utoipa::path(
    tag = "mentoring",
    params(SessionFilter, PageParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "One page of sessions", body = Page<Session>),
        (status = 400, response = InvalidQuery),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 503, response = ServiceUnavailable),
    ),
)]
#[get("/mentoring-sessions")]
pub async fn list_sessions(
    caller: Caller,
    db: web::Data<Db>,
    query: ListQuery<SessionFilter>,
) -> Result<web::Json<Page<Session>>, ApiError> {
    let ListQuery { page, filter } = query;
    let listing = Listing::check(filter, &page, &caller)?;
    let listed = db
        .read(move |conn| {
            let access = SessionAccess::of(conn, &caller)?;
            listing.page(conn, &access, &page)
        })
        .await?;
    Ok(web::Json(listed))
}

/// A listing as asked for: the filter, its days as moments, where the page starts.
struct Listing {
    filter: SessionFilter,
    from: Option<NaiveDateTime>,
    to: Option<NaiveDateTime>,
    after: Option<(NaiveDateTime, i64)>,
}

impl Listing {
    fn check(
        filter: SessionFilter,
        page: &PageParams,
        caller: &Caller,
    ) -> Result<Listing, ApiError> {
        if filter.kim_id.is_some() {
            policy::may_filter_by_kim(caller)?;
        }
        let to = filter
            .to
            .map(|day| {
                day.checked_add_days(Days::new(1))
                    .map(wib_midnight)
                    .ok_or_else(|| {
                        ApiError::invalid_query("to", "out_of_range", "too late", "terlalu jauh")
                    })
            })
            .transpose()?;
        Ok(Listing {
            from: filter.from.map(wib_midnight),
            to,
            after: page.after()?,
            filter,
        })
    }

    fn page(
        self,
        conn: &mut DbConnection,
        access: &SessionAccess,
        page: &PageParams,
    ) -> Result<Page<Session>, ApiError> {
        let mut select = mentoring_sessions::table
            .filter(access.condition())
            .select(SessionRow::as_select())
            .order((
                mentoring_sessions::starts_at.desc(),
                mentoring_sessions::id.desc(),
            ))
            .limit(page.fetch_limit())
            .into_boxed();
        if let Some(status) = self.filter.status {
            select = select.filter(mentoring_sessions::status.eq(status));
        }
        if let Some(kind) = self.filter.kind {
            select = select.filter(mentoring_sessions::kind.eq(kind));
        }
        if let Some(topic) = self.filter.topic {
            select = select.filter(mentoring_sessions::topic.eq(topic));
        }
        if let Some(from) = self.from {
            select = select.filter(mentoring_sessions::starts_at.ge(from));
        }
        if let Some(to) = self.to {
            select = select.filter(mentoring_sessions::starts_at.lt(to));
        }
        if let Some(kim_id) = self.filter.kim_id {
            let Some(place) = KimPlace::of(conn, kim_id)? else {
                return Ok(Page::from_rows(Vec::new(), page, |session: &Session| {
                    session.id
                }));
            };
            select = select.filter(policy::addressed_to(&place));
        }
        if let Some((starts_at, id)) = self.after {
            select = select.filter(
                mentoring_sessions::starts_at
                    .lt(starts_at)
                    .or(mentoring_sessions::starts_at
                        .eq(starts_at)
                        .and(mentoring_sessions::id.lt(id))),
            );
        }
        let sessions = select
            .load(conn)?
            .into_iter()
            .map(Session::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(sessions, page, |session| {
            (session.starts_at.naive_utc(), session.id)
        }))
    }
}
