//! Demo activity logs: what the demo KIMs did over the past year, written a thousand
//! rows per statement.

use chrono::Duration;
use diesel::prelude::*;
use rand::Rng;
use rand::rngs::SmallRng;

use super::DemoKim;
use crate::activities::model::ActivityKind;
use crate::db::schema::kim_activities;
use crate::db::{DbConnection, now, write_transaction};
use crate::error::ApiError;

const KINDS: [(ActivityKind, &str); 7] = [
    (ActivityKind::Sosialisasi, "Sosialisasi program kelurahan"),
    (
        ActivityKind::Diskusi,
        "Diskusi warga tentang kebersihan lingkungan",
    ),
    (
        ActivityKind::Pelatihan,
        "Pelatihan literasi digital untuk warga",
    ),
    (ActivityKind::Liputan, "Liputan kegiatan gotong royong"),
    (
        ActivityKind::LayananInformasi,
        "Layanan informasi administrasi kependudukan",
    ),
    (ActivityKind::UsahaEkonomi, "Pameran produk UMKM warga"),
    (ActivityKind::Lainnya, "Kegiatan bersama karang taruna"),
];

const BATCH: u32 = 1000;

/// Writes `count` activities spread over the KIMs and the past year; answers how many.
pub fn write(
    conn: &mut DbConnection,
    rng: &mut SmallRng,
    count: u32,
    kims: &[DemoKim],
) -> Result<u64, ApiError> {
    if count == 0 || kims.is_empty() {
        return Ok(0);
    }
    let at = now();
    let today = crate::holidays::calendar::wib_day(at);
    let mut written = 0u64;
    while written < u64::from(count) {
        let size = BATCH.min(count - written as u32);
        let rows: Vec<_> = (0..size)
            .map(|_| {
                let kim = &kims[rng.gen_range(0..kims.len())];
                let (kind, title) = KINDS[rng.gen_range(0..KINDS.len())];
                let held_on = today - Duration::days(rng.gen_range(0..365));
                (
                    kim_activities::kim_id.eq(kim.id),
                    kim_activities::held_on.eq(held_on),
                    kim_activities::kind.eq(kind),
                    kim_activities::title.eq(title),
                    kim_activities::participants.eq(rng.gen_range(5..60)),
                    kim_activities::reach.eq(rng.gen_range(20..500)),
                    kim_activities::created_by.eq(Some(kim.admin_id)),
                    kim_activities::created_at.eq(at),
                    kim_activities::updated_at.eq(at),
                )
            })
            .collect();
        write_transaction(conn, |conn| {
            // Multi-row INSERTs are written per backend, not through the multi-backend
            // connection.
            match conn {
                DbConnection::Postgres(pg) => diesel::insert_into(kim_activities::table)
                    .values(&rows)
                    .execute(pg),
                DbConnection::Sqlite(sqlite) => diesel::insert_into(kim_activities::table)
                    .values(&rows)
                    .execute(sqlite),
            }
            .map_err(ApiError::from)
        })?;
        written += u64::from(size);
    }
    Ok(written)
}
