//! Password hashing (Argon2id) and the strength rule for new passwords.
//!
//! Hashing and verifying take tens of milliseconds of CPU and 19 MiB of memory on
//! purpose. Requests reach them only through [`PasswordWork`], which runs them on the
//! blocking pool, a few at a time: a burst of sign-ins queues (briefly) instead of
//! taking the memory of the machine, and past a short queue is told to come back.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};

use crate::error::{ApiError, FieldIssue};

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 128;

fn argon2() -> Argon2<'static> {
    // OWASP's Argon2id baseline: 19 MiB, 2 passes, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash_password(password: &SecretString) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|_| argon2::password_hash::Error::Crypto)?;
    Ok(argon2()
        .hash_password_with_salt(password.expose_secret().as_bytes(), &salt)?
        .to_string())
}

/// A hash of a random password, verified against when the account does not exist so
/// that a wrong username takes as long as a wrong password.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let filler = SecretString::from(uuid::Uuid::new_v4().to_string());
    hash_password(&filler).unwrap_or_default()
});

pub fn verify_password(password: &SecretString, stored_hash: Option<&str>) -> bool {
    let stored = stored_hash.unwrap_or(DUMMY_HASH.as_str());
    let matches = argon2()
        .verify_password(password.expose_secret().as_bytes(), stored)
        .is_ok();
    matches && stored_hash.is_some()
}

/// The gate in front of Argon2 for request handlers.
pub struct PasswordWork {
    permits: tokio::sync::Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
    max_wait: Duration,
}

impl PasswordWork {
    /// `concurrency` hashes at a time (one per core is all the CPU there is); up to
    /// `max_waiting` more wait at most `max_wait`; beyond that, `503` with `Retry-After`.
    pub fn new(concurrency: usize, max_waiting: usize, max_wait: Duration) -> Self {
        PasswordWork {
            permits: tokio::sync::Semaphore::new(concurrency.max(1)),
            waiting: AtomicUsize::new(0),
            max_waiting,
            max_wait,
        }
    }

    /// Sized for this machine: one hash per core, 16 waiting per core, 5 s of waiting.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        PasswordWork::new(cores, 16 * cores, Duration::from_secs(5))
    }

    pub async fn hash(&self, password: SecretString) -> Result<String, ApiError> {
        self.run(move || hash_password(&password))
            .await?
            .map_err(|error| ApiError::internal(error.to_string()))
    }

    /// `stored_hash: None` (no such account) takes as long as a wrong password.
    pub async fn verify(
        &self,
        password: SecretString,
        stored_hash: Option<String>,
    ) -> Result<bool, ApiError> {
        self.run(move || verify_password(&password, stored_hash.as_deref()))
            .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let busy = || ApiError::Unavailable("too many password checks at once".into());
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(busy());
        }
        let permit = tokio::time::timeout(self.max_wait, self.permits.acquire()).await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        let _permit = permit
            .map_err(|_| busy())?
            .map_err(|_| ApiError::internal("the password gate is closed"))?;
        Ok(actix_web::web::block(work).await?)
    }
}

/// Checks a new password: 12–128 characters and not guessable (zxcvbn score ≥ 2,
/// which refuses common passwords, keyboard walks and words from `context` such as the
/// username).
pub fn check_strength(
    field: &str,
    password: &SecretString,
    context: &[&str],
) -> Result<(), FieldIssue> {
    let text = password.expose_secret();
    let chars = text.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(FieldIssue::new(
            field,
            "too_short",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
            format!("minimal {MIN_PASSWORD_CHARS} karakter"),
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(FieldIssue::new(
            field,
            "too_long",
            format!("must be at most {MAX_PASSWORD_CHARS} characters"),
            format!("maksimal {MAX_PASSWORD_CHARS} karakter"),
        ));
    }
    let score = zxcvbn::zxcvbn(text, context).score();
    if (score as u8) < 2 {
        return Err(FieldIssue::new(
            field,
            "too_weak",
            "is too easy to guess: avoid common passwords, names and repeated patterns",
            "terlalu mudah ditebak: hindari kata sandi umum, nama, dan pola berulang",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    #[test]
    fn hashes_verify_only_the_right_password() {
        let hash = hash_password(&secret("kopi-tubruk-di-metro")).unwrap_or_default();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(
            &secret("kopi-tubruk-di-metro"),
            Some(&hash)
        ));
        assert!(!verify_password(
            &secret("kopi-tubruk-di-metrO"),
            Some(&hash)
        ));
        assert!(!verify_password(&secret("kopi-tubruk-di-metro"), None));
    }

    #[test]
    fn weak_passwords_are_refused() {
        let code = |pw: &str| {
            check_strength("password", &secret(pw), &["siti"])
                .err()
                .map(|e| e.code.to_string())
        };
        assert_eq!(code("short"), Some("too_short".into()));
        assert_eq!(code("password1234"), Some("too_weak".into()));
        assert_eq!(code("aaaaaaaaaaaaaaaa"), Some("too_weak".into()));
        assert_eq!(code("qwertyuiop123"), Some("too_weak".into()));
        assert_eq!(code("sitisitisiti"), Some("too_weak".into()));
        assert_eq!(code("kopi-tubruk-di-metro"), None);
    }
}

#[cfg(test)]
mod gate_tests {
    use std::time::Duration;

    use super::*;

    #[actix_web::test]
    async fn checks_beyond_the_queue_are_told_to_come_back() {
        let gate = std::sync::Arc::new(PasswordWork::new(1, 1, Duration::from_millis(200)));
        let hash = hash_password(&SecretString::from("kopi-tubruk-di-metro".to_owned()))
            .unwrap_or_default();
        let attempts = (0..6).map(|_| {
            let gate = std::sync::Arc::clone(&gate);
            let hash = hash.clone();
            async move {
                gate.verify(
                    SecretString::from("bukan-kata-sandinya".to_owned()),
                    Some(hash),
                )
                .await
            }
        });
        let outcomes = futures_util::future::join_all(attempts).await;
        let refused = outcomes
            .iter()
            .filter(|outcome| matches!(outcome, Err(ApiError::Unavailable(_))))
            .count();
        let checked = outcomes
            .iter()
            .filter(|outcome| matches!(outcome, Ok(false)))
            .count();
        assert!(
            refused >= 4,
            "one running and one waiting at most: {refused} refused"
        );
        assert!(checked >= 1);
    }
}
