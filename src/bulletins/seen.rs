//! Who could ever have seen a bulletin: every audience it was published to, kept as
//! keys (`public`, `all_kims`, `region:18.72.01`, `kim:5`) in `bulletin_seen_by`. Sync
//! answers a removal only to a caller one of these keys takes in (SPEC §1: items that
//! left *the caller's* view), never for a draft or an audience it was never part of.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::model::{BulletinRow, BulletinStatus};
use crate::audience::{AudienceScope, KimPlace};
use crate::db::{BoundSql, DbConnection};
use crate::error::ApiError;

/// Records the audience of `row` if it is published; called after every write that
/// publishes a bulletin or changes a published one's audience. Keys already kept stay.
pub fn record(conn: &mut DbConnection, row: &BulletinRow) -> Result<(), ApiError> {
    if row.status != BulletinStatus::Published {
        return Ok(());
    }
    let audience = row.audience()?;
    let mut keys: Vec<String> = match audience.scope {
        AudienceScope::Public | AudienceScope::AllKims => vec![audience.scope.as_str().into()],
        _ => Vec::new(),
    };
    keys.extend(audience.codes.iter().map(|code| region_key(code)));
    keys.extend(audience.kim_ids.iter().map(|id| kim_key(*id)));
    for key in keys {
        // `ON CONFLICT` written out: the multi-backend connection has no upsert builder.
        diesel::sql_query(
            "INSERT INTO bulletin_seen_by (bulletin_id, audience_key) VALUES ($1, $2) \
             ON CONFLICT (bulletin_id, audience_key) DO NOTHING",
        )
        .bind::<BigInt, _>(row.id)
        .bind::<Text, _>(key)
        .execute(conn)?;
    }
    Ok(())
}

fn region_key(code: &str) -> String {
    format!("region:{code}")
}

fn kim_key(kim_id: i64) -> String {
    format!("kim:{kim_id}")
}

/// SQL: some audience the bulletin was published to took in the KIM at `place`.
pub fn by_kim(place: &KimPlace) -> BoundSql {
    BoundSql::new(
        "EXISTS (SELECT 1 FROM bulletin_seen_by s WHERE s.bulletin_id = bulletins.id \
         AND s.audience_key IN ('public', 'all_kims', ",
    )
    .text(region_key(&place.kelurahan_code))
    .sql(", ")
    .text(region_key(&place.kecamatan_code))
    .sql(", ")
    .text(kim_key(place.kim_id))
    .sql("))")
}

/// SQL: the bulletin was published to the public.
pub fn by_public() -> BoundSql {
    BoundSql::new(
        "EXISTS (SELECT 1 FROM bulletin_seen_by s WHERE s.bulletin_id = bulletins.id \
         AND s.audience_key = 'public')",
    )
}

/// SQL: the bulletin was ever published (to anyone).
pub fn ever_published() -> BoundSql {
    BoundSql::new("EXISTS (SELECT 1 FROM bulletin_seen_by s WHERE s.bulletin_id = bulletins.id)")
}
