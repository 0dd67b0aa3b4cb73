//! Hand-written SQL conditions that the statement cache keeps.
//!
//! `diesel::dsl::sql` marks its whole statement as not cacheable, because its text
//! could differ from one call to the next; a list filtered by one was parsed and
//! planned by the database on every request (11 % of the CPU of the bulletin list in
//! `perf`). [`BoundSql`] only takes `'static` text, so equal code gives equal SQL and
//! the values travel as bind parameters.

use diesel::QueryResult;
use diesel::expression::is_aggregate::Never;
use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, Text};

use super::Backend;

#[derive(Debug, Clone)]
enum Part {
    Sql(&'static str),
    Text(String),
    BigInt(i64),
}

/// A boolean SQL condition built from static text and bound values, for what diesel's
/// query builder cannot say (correlated `EXISTS` subqueries).
#[derive(Debug, Clone)]
pub struct BoundSql {
    parts: Vec<Part>,
}

impl BoundSql {
    pub fn new(sql: &'static str) -> Self {
        BoundSql {
            parts: vec![Part::Sql(sql)],
        }
    }

    pub fn sql(mut self, sql: &'static str) -> Self {
        self.parts.push(Part::Sql(sql));
        self
    }

    pub fn text(mut self, value: impl Into<String>) -> Self {
        self.parts.push(Part::Text(value.into()));
        self
    }

    pub fn big_int(mut self, value: i64) -> Self {
        self.parts.push(Part::BigInt(value));
        self
    }

    /// Another condition's text and values, in place.
    pub fn append(mut self, other: BoundSql) -> Self {
        self.parts.extend(other.parts);
        self
    }
}

impl Expression for BoundSql {
    type SqlType = Bool;
}

impl<QS> AppearsOnTable<QS> for BoundSql {}

impl<QS> SelectableExpression<QS> for BoundSql {}

impl<GB> ValidGrouping<GB> for BoundSql {
    type IsAggregate = Never;
}

impl QueryId for BoundSql {
    type QueryId = ();
    // The statement is cached by its SQL text, which the static parts fix.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<Backend> for BoundSql {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Backend>) -> QueryResult<()> {
        for part in &self.parts {
            match part {
                Part::Sql(sql) => out.push_sql(sql),
                Part::Text(value) => out.push_bind_param::<Text, String>(value)?,
                Part::BigInt(value) => out.push_bind_param::<BigInt, i64>(value)?,
            }
        }
        Ok(())
    }
}
