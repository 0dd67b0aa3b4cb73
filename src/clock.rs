//! The service's time of day. Everything that decides by the date or time — due dates,
//! expiry, consultations opening and closing, sessions starting, token lifetimes,
//! statistics periods — reads it here, never from the system directly, so tests move
//! time instead of sleeping or rewriting rows.
//!
//! In production this is the system clock: nothing can move it, as the functions that
//! do exist only with the `test-clock` feature, which only the test builds enable.
//! Elapsed-time measures (`Instant`) and the modification times of stored files, which
//! the filesystem or object store stamps, are not read here.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};

/// How far the service's time is ahead of the system's, in microseconds (tests only).
static SHIFT_MICROS: AtomicI64 = AtomicI64::new(0);

/// A stopped time, in microseconds since the epoch; `i64::MIN` while the time runs
/// (tests only: exact durations need a clock that does not move between two requests).
static FROZEN_MICROS: AtomicI64 = AtomicI64::new(i64::MIN);

/// The current time.
pub fn now() -> DateTime<Utc> {
    let frozen = FROZEN_MICROS.load(Ordering::Relaxed);
    if frozen != i64::MIN {
        return DateTime::from_timestamp_micros(frozen).unwrap_or_default();
    }
    let shift = SHIFT_MICROS.load(Ordering::Relaxed);
    Utc::now() + Duration::microseconds(shift)
}

/// The current time as the database stores it: UTC without zone, microseconds (as both
/// backends keep them).
pub fn now_naive() -> NaiveDateTime {
    chrono::SubsecRound::trunc_subsecs(now().naive_utc(), 6)
}

/// Moves the service's time forward (or back) by `by`, for every instance in this
/// process.
#[cfg(feature = "test-clock")]
pub fn advance(by: Duration) {
    let micros = by.num_microseconds().unwrap_or(i64::MAX);
    SHIFT_MICROS.fetch_add(micros, Ordering::Relaxed);
}

/// Sets the service's time to `at` (it runs on from there).
#[cfg(feature = "test-clock")]
pub fn set(at: DateTime<Utc>) {
    let shift = (at - Utc::now()).num_microseconds().unwrap_or(i64::MAX);
    FROZEN_MICROS.store(i64::MIN, Ordering::Relaxed);
    SHIFT_MICROS.store(shift, Ordering::Relaxed);
}

/// Stops the service's time at `at` until the next [`freeze`] or [`reset`].
#[cfg(feature = "test-clock")]
pub fn freeze(at: DateTime<Utc>) {
    FROZEN_MICROS.store(at.timestamp_micros(), Ordering::Relaxed);
}

/// Back to the system's time.
#[cfg(feature = "test-clock")]
pub fn reset() {
    FROZEN_MICROS.store(i64::MIN, Ordering::Relaxed);
    SHIFT_MICROS.store(0, Ordering::Relaxed);
}
