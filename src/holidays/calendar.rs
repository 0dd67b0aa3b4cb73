//! Working days in Kota Metro (Asia/Jakarta, WIB, UTC+7 all year): Monday to Friday,
//! except the public holidays in the `holidays` table.
//!
//! A service level of `n` working days started at some moment runs to the end (23:59:59
//! WIB) of the `n`-th working day after that moment's local day: a report submitted on
//! Friday afternoon, or on Saturday, with 3 working days is due at the end of Wednesday.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, NaiveDateTime, Utc, Weekday};
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::holidays;
use crate::error::ApiError;

/// WIB: Indonesia keeps no daylight saving time.
const WIB_SECONDS: i32 = 7 * 3600;

/// Holidays loaded ahead of a start day; a longer run of days off than this is not a
/// calendar anyone keeps.
const LOOKAHEAD_DAYS: u64 = 400;

/// The working-day calendar from some day on.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    holidays: BTreeSet<NaiveDate>,
}

fn wib() -> FixedOffset {
    FixedOffset::east_opt(WIB_SECONDS).unwrap_or_else(|| unreachable!("+07:00 is a valid offset"))
}

/// The WIB calendar day of a UTC moment.
pub fn wib_day(moment: NaiveDateTime) -> NaiveDate {
    moment.and_utc().with_timezone(&wib()).date_naive()
}

/// Today in WIB.
pub fn wib_today() -> NaiveDate {
    wib_day(crate::db::now())
}

/// The UTC moment WIB day `day` begins.
pub fn wib_midnight(day: NaiveDate) -> NaiveDateTime {
    day.and_time(chrono::NaiveTime::MIN) - chrono::Duration::seconds(i64::from(WIB_SECONDS))
}

impl Calendar {
    pub fn new(holidays: impl IntoIterator<Item = NaiveDate>) -> Self {
        Calendar {
            holidays: holidays.into_iter().collect(),
        }
    }

    /// The holidays after the WIB day of `from`, far enough for any service level.
    pub fn load(conn: &mut DbConnection, from: NaiveDateTime) -> Result<Self, ApiError> {
        let first = wib_day(from);
        let last = first
            .checked_add_days(Days::new(LOOKAHEAD_DAYS))
            .unwrap_or(NaiveDate::MAX);
        let days: Vec<NaiveDate> = holidays::table
            .filter(holidays::day.gt(first))
            .filter(holidays::day.le(last))
            .select(holidays::day)
            .load(conn)?;
        Ok(Calendar::new(days))
    }

    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) && !self.holidays.contains(&day)
    }

    /// The end (23:59:59 WIB, as UTC) of the `working_days`-th working day after the
    /// WIB day of `start` (UTC).
    pub fn due(&self, start: NaiveDateTime, working_days: u32) -> NaiveDateTime {
        let mut day = wib_day(start);
        let mut counted = 0;
        while counted < working_days {
            day = match day.succ_opt() {
                Some(next) => next,
                None => break,
            };
            if self.is_working_day(day) {
                counted += 1;
            }
        }
        let end_of_day = day
            .and_hms_opt(23, 59, 59)
            .and_then(|local| local.and_local_timezone(wib()).single())
            .map(|local| local.with_timezone(&Utc));
        end_of_day.map_or(NaiveDateTime::MAX, |moment: DateTime<Utc>| {
            moment.naive_utc()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    /// A WIB wall-clock moment, as the UTC the database stores.
    fn wib_at(y: i32, m: u32, d: u32, hour: u32) -> NaiveDateTime {
        date(y, m, d)
            .and_hms_opt(hour, 0, 0)
            .and_then(|local| local.and_local_timezone(wib()).single())
            .map(|moment| moment.naive_utc())
            .unwrap_or_default()
    }

    fn end_of(y: i32, m: u32, d: u32) -> NaiveDateTime {
        date(y, m, d)
            .and_hms_opt(23, 59, 59)
            .and_then(|local| local.and_local_timezone(wib()).single())
            .map(|moment| moment.naive_utc())
            .unwrap_or_default()
    }

    #[test]
    fn weekends_are_skipped() {
        let calendar = Calendar::default();
        // Thursday 3 December 2026 → Fri, Mon, Tue.
        assert_eq!(
            calendar.due(wib_at(2026, 12, 3, 10), 3),
            end_of(2026, 12, 8)
        );
        // Friday afternoon and Saturday both count from Monday.
        assert_eq!(
            calendar.due(wib_at(2026, 12, 4, 16), 3),
            end_of(2026, 12, 9)
        );
        assert_eq!(calendar.due(wib_at(2026, 12, 5, 9), 3), end_of(2026, 12, 9));
        assert_eq!(
            calendar.due(wib_at(2026, 12, 4, 16), 5),
            end_of(2026, 12, 11)
        );
    }

    #[test]
    fn the_wib_day_decides_not_the_utc_day() {
        let calendar = Calendar::default();
        // 20:00 UTC on Thursday is 03:00 WIB on Friday.
        let late = date(2026, 12, 3).and_hms_opt(20, 0, 0).unwrap_or_default();
        assert_eq!(calendar.due(late, 1), end_of(2026, 12, 7));
        assert_eq!(end_of(2026, 12, 7).to_string(), "2026-12-07 16:59:59");
    }

    #[test]
    fn holidays_are_skipped() {
        // Christmas 2026 is a Friday.
        let calendar = Calendar::new([date(2026, 12, 25)]);
        assert_eq!(
            calendar.due(wib_at(2026, 12, 23, 9), 3),
            end_of(2026, 12, 29)
        );
        assert!(!calendar.is_working_day(date(2026, 12, 25)));
    }

    #[test]
    fn across_the_year_end() {
        // Collective leave on Thursday 31 December 2026, New Year's Day on Friday.
        let calendar = Calendar::new([date(2026, 12, 31), date(2027, 1, 1)]);
        // Wednesday 30 December → Mon 4, Tue 5, Wed 6 January 2027.
        assert_eq!(
            calendar.due(wib_at(2026, 12, 30, 11), 3),
            end_of(2027, 1, 6)
        );
        assert_eq!(
            calendar.due(wib_at(2026, 12, 30, 11), 5),
            end_of(2027, 1, 8)
        );
    }
}
