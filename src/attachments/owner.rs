//! What files hang off: each kind of item (a bulletin, a report, …) says how its files
//! are addressed and who may add, see and remove them; [`super::endpoints`] does the
//! rest, the same for every kind.

use serde::de::DeserializeOwned;

use super::AttachmentRow;
use crate::auth::Caller;
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::unit_of_work::{Target, UnitOfWork};

/// One item's files, as stored: `attachments.owner_type` and `owner_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub kind: &'static str,
    pub id: i64,
}

/// A kind of item that carries files, and its rules for them.
pub trait FileOwner: 'static {
    /// The route's parameters naming one item (`i64`, or `(kim, activity)`).
    type Item: DeserializeOwned + Copy + Send + 'static;
    /// The route's parameters naming one file of an item.
    type File: DeserializeOwned + Copy + Send + 'static;
    /// Stored as `attachments.owner_type`; also the audit events' prefix.
    const KIND: &'static str;

    /// The item's id.
    fn id(item: Self::Item) -> i64;
    /// The item and the file id a file route names.
    fn split(file: Self::File) -> (Self::Item, i64);
    /// `/api/v1/…/attachments` of the item.
    fn files_url(item: Self::Item) -> String;

    /// Refuses a caller who may not add files to the item, before any byte is read.
    fn may_add(conn: &mut DbConnection, caller: &Caller, item: Self::Item) -> Result<(), ApiError>;
    /// In the unit of work adding or removing a file: locks the item, checks the caller
    /// again and marks the item changed where apps sync it. Answers the audit target.
    fn change(
        uow: &mut UnitOfWork<'_>,
        caller: &Caller,
        item: Self::Item,
    ) -> Result<Target, ApiError>;
    /// Refuses a caller (`None`: anonymous) who may not see the item's files.
    fn may_see(
        conn: &mut DbConnection,
        caller: Option<&Caller>,
        item: Self::Item,
    ) -> Result<(), ApiError>;
    /// Refuses removing `file`, for one who may change the item; everyone by default.
    fn may_remove(_caller: &Caller, _file: &AttachmentRow) -> Result<(), ApiError> {
        Ok(())
    }

    /// The stored owner of the item's files.
    fn owner(id: i64) -> Owner {
        Owner {
            kind: Self::KIND,
            id,
        }
    }
}
