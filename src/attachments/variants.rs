//! The smaller copies of image attachments (`thumb`, `preview`): made at upload beside
//! the cleaned original, listed with their sizes, downloaded with `?variant=`.

use std::collections::HashMap;

use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

pub use super::content::Variant;
use super::sniff::FileKind;
use crate::db::DbConnection;
use crate::db::schema::{attachment_variants, attachments};
use crate::error::ApiError;

/// A variant as stored beside its attachment.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = attachment_variants)]
pub struct VariantRow {
    pub attachment_id: i64,
    pub variant: Variant,
    pub content_type: String,
    pub width: i32,
    pub height: i32,
    pub size_bytes: i64,
    pub sha256: String,
}

/// A smaller copy of an image attachment, as listed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttachmentVariant {
    pub variant: Variant,
    #[schema(example = "image/jpeg")]
    pub content_type: String,
    #[schema(example = 320)]
    pub width: i32,
    #[schema(example = 240)]
    pub height: i32,
    pub size_bytes: i64,
}

impl AttachmentVariant {
    fn of(row: VariantRow) -> Result<Self, ApiError> {
        let variant = row.variant;
        Ok(AttachmentVariant {
            variant,
            content_type: row.content_type,
            width: row.width,
            height: row.height,
            size_bytes: row.size_bytes,
        })
    }
}

impl From<&StoredVariant> for AttachmentVariant {
    fn from(stored: &StoredVariant) -> Self {
        AttachmentVariant {
            variant: stored.variant,
            content_type: stored.kind.mime().to_owned(),
            width: stored.width,
            height: stored.height,
            size_bytes: stored.size_bytes,
        }
    }
}

/// A variant made for an upload, its object already in the store.
#[derive(Debug, Clone)]
pub struct StoredVariant {
    pub variant: Variant,
    pub kind: FileKind,
    pub width: i32,
    pub height: i32,
    pub size_bytes: i64,
    pub sha256: String,
}

/// The store key of `variant` of the file stored under `storage_key`.
pub fn key_of(storage_key: &str, variant: Variant) -> String {
    format!("{storage_key}-{}", variant.as_str())
}

/// Which file of an attachment a download answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VariantChoice {
    /// The cleaned file as kept.
    #[default]
    Original,
    Thumb,
    Preview,
}

/// The query of a download.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DownloadQuery {
    /// `thumb` (≈320 px) or `preview` (≈1 280 px) of an image; `original` by default.
    /// A PDF has only its original (`404` for the others).
    #[serde(default)]
    #[param(inline)]
    pub variant: VariantChoice,
}

impl VariantChoice {
    pub fn variant(self) -> Option<Variant> {
        match self {
            VariantChoice::Original => None,
            VariantChoice::Thumb => Some(Variant::Thumb),
            VariantChoice::Preview => Some(Variant::Preview),
        }
    }
}

/// Records the variants of attachment `attachment_id`.
pub fn insert(
    conn: &mut DbConnection,
    attachment_id: i64,
    variants: &[StoredVariant],
) -> Result<(), ApiError> {
    for stored in variants {
        diesel::insert_into(attachment_variants::table)
            .values((
                attachment_variants::attachment_id.eq(attachment_id),
                attachment_variants::variant.eq(stored.variant),
                attachment_variants::content_type.eq(stored.kind.mime()),
                attachment_variants::width.eq(stored.width),
                attachment_variants::height.eq(stored.height),
                attachment_variants::size_bytes.eq(stored.size_bytes),
                attachment_variants::sha256.eq(&stored.sha256),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Variant `variant` of attachment `attachment_id`.
pub fn find(
    conn: &mut DbConnection,
    attachment_id: i64,
    variant: Variant,
) -> Result<Option<VariantRow>, ApiError> {
    Ok(attachment_variants::table
        .filter(attachment_variants::attachment_id.eq(attachment_id))
        .filter(attachment_variants::variant.eq(variant))
        .select(VariantRow::as_select())
        .first(conn)
        .optional()?)
}

/// The variants of the attachments of owners `owner_type` with ids in `low..=high`,
/// by attachment id, smallest first.
pub fn of_owners(
    conn: &mut DbConnection,
    owner_type: &str,
    low: i64,
    high: i64,
) -> Result<HashMap<i64, Vec<AttachmentVariant>>, ApiError> {
    let rows: Vec<VariantRow> = attachment_variants::table
        .inner_join(attachments::table)
        .filter(attachments::owner_type.eq(owner_type))
        .filter(attachments::owner_id.between(low, high))
        .order((
            attachment_variants::attachment_id,
            attachment_variants::size_bytes,
        ))
        .select(VariantRow::as_select())
        .load(conn)?;
    let mut by_attachment: HashMap<i64, Vec<AttachmentVariant>> = HashMap::new();
    for row in rows {
        by_attachment
            .entry(row.attachment_id)
            .or_default()
            .push(AttachmentVariant::of(row)?);
    }
    Ok(by_attachment)
}

/// Deletes the variant rows of attachments `ids`.
pub fn delete_of(conn: &mut DbConnection, ids: &[i64]) -> Result<(), ApiError> {
    diesel::delete(
        attachment_variants::table.filter(attachment_variants::attachment_id.eq_any(ids)),
    )
    .execute(conn)?;
    Ok(())
}
