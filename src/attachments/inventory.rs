//! `kim-api verify-storage`: every file the database records is in the store, and every
//! object in the store belongs to a record. Run after restoring a database and a store
//! that were backed up apart (PostgreSQL and S3), or whenever in doubt.

use std::collections::HashSet;

use diesel::prelude::*;

use super::storage::Storage;
use super::variants::{self, Variant};
use crate::db::Db;
use crate::db::schema::{attachment_variants, attachments, resumable_upload_chunks};
use crate::error::ApiError;

/// What the store and the database disagree on. Keys are random names: they say
/// nothing about whom a file concerns.
#[derive(Debug, Default)]
pub struct Inventory {
    /// Files the database records.
    pub recorded: usize,
    /// Objects in the store.
    pub stored: usize,
    /// Recorded files the store lacks: lost data.
    pub missing: Vec<String>,
    /// Objects no record owns, older than `settled`: left over, or a record lost.
    pub unowned: Vec<String>,
    /// Objects no record owns yet, written within `settled`: uploads under way.
    pub recent: usize,
}

impl Inventory {
    pub fn is_consistent(&self) -> bool {
        self.missing.is_empty() && self.unowned.is_empty()
    }
}

/// Compares the records of `db` with the objects of `storage`. Objects written within
/// `settled` of now may belong to uploads whose record is not written yet.
pub async fn take(
    db: &Db,
    storage: &Storage,
    settled: std::time::Duration,
) -> Result<Inventory, ApiError> {
    let recorded = db.read(recorded_keys).await?;
    let listing = storage.listing().await?;
    let settled = chrono::Duration::from_std(settled).map_err(ApiError::internal)?;
    let cutoff = chrono::Utc::now() - settled;
    let stored: HashSet<&str> = listing.iter().map(|(key, _)| key.as_str()).collect();
    let mut inventory = Inventory {
        recorded: recorded.len(),
        stored: listing.len(),
        ..Inventory::default()
    };
    inventory.missing = recorded
        .iter()
        .filter(|key| !stored.contains(key.as_str()))
        .cloned()
        .collect();
    inventory.missing.sort();
    for (key, written) in &listing {
        if recorded.contains(key) {
            continue;
        }
        if *written < cutoff {
            inventory.unowned.push(key.clone());
        } else {
            inventory.recent += 1;
        }
    }
    inventory.unowned.sort();
    Ok(inventory)
}

/// The store keys every record names: attachments, their variants, and the pieces of
/// resumable uploads.
fn recorded_keys(conn: &mut crate::db::DbConnection) -> Result<HashSet<String>, ApiError> {
    let mut keys: HashSet<String> = attachments::table
        .select(attachments::storage_key)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let variants: Vec<(String, String)> = attachment_variants::table
        .inner_join(attachments::table)
        .select((attachments::storage_key, attachment_variants::variant))
        .load(conn)?;
    for (key, variant) in variants {
        if let Some(variant) = Variant::ALL.iter().find(|v| v.as_str() == variant) {
            keys.insert(variants::key_of(&key, *variant));
        }
    }
    keys.extend(
        resumable_upload_chunks::table
            .select(resumable_upload_chunks::storage_key)
            .load::<String>(conn)?,
    );
    Ok(keys)
}
