//! Protection of personal data at rest (UU 27/2022): AES-256-GCM with a fresh random
//! nonce per value, and keyed hashes (HMAC-SHA256) for look-ups that must not need the
//! plaintext. Both keys are derived from `NIK_ENCRYPTION_KEY`, so one secret is
//! configured and the two uses never share a key.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD as BASE64;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;

/// Length of `NIK_ENCRYPTION_KEY`, the master key the two keys are derived from.
pub const NIK_KEY_BYTES: usize = 32;

/// Stored ciphertexts start with this, so a future key or algorithm can be told apart.
const FORMAT: &str = "v1:";

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("a stored value cannot be decrypted with the configured key")]
    Undecryptable,
    #[error("no randomness for a nonce")]
    Randomness,
}

pub struct PersonalDataCipher {
    cipher: Aes256Gcm,
    hash_key: [u8; 32],
}

fn derive(master: &[u8; NIK_KEY_BYTES], label: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(master)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(label);
    mac.finalize().into_bytes().into()
}

impl PersonalDataCipher {
    pub fn new(master: &SecretBox<[u8; NIK_KEY_BYTES]>) -> Self {
        let master = master.expose_secret();
        let encryption_key = derive(master, b"kim-api personal data encryption v1");
        PersonalDataCipher {
            cipher: Aes256Gcm::new(&encryption_key.into()),
            hash_key: derive(master, b"kim-api personal data lookup v1"),
        }
    }

    /// `v1:` + base64(nonce ‖ ciphertext ‖ tag).
    pub fn encrypt(&self, plaintext: &str) -> Result<String, CryptoError> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|_| CryptoError::Randomness)?;
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(nonce), plaintext.as_bytes())
            .map_err(|_| CryptoError::Undecryptable)?;
        let mut stored = Vec::with_capacity(12 + sealed.len());
        stored.extend_from_slice(&nonce);
        stored.extend_from_slice(&sealed);
        Ok(format!("{FORMAT}{}", BASE64.encode(stored)))
    }

    pub fn decrypt(&self, stored: &str) -> Result<String, CryptoError> {
        let encoded = stored
            .strip_prefix(FORMAT)
            .ok_or(CryptoError::Undecryptable)?;
        let bytes = BASE64
            .decode(encoded)
            .map_err(|_| CryptoError::Undecryptable)?;
        if bytes.len() < 12 + 16 {
            return Err(CryptoError::Undecryptable);
        }
        let (nonce, sealed) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| CryptoError::Undecryptable)?;
        let plain = self
            .cipher
            .decrypt(&Nonce::from(nonce), sealed)
            .map_err(|_| CryptoError::Undecryptable)?;
        String::from_utf8(plain).map_err(|_| CryptoError::Undecryptable)
    }

    /// A stable keyed hash of `value` in the namespace `purpose`, hex-encoded: equal
    /// inputs give equal hashes, and without the key nobody can test a guess.
    pub fn keyed_hash(&self, purpose: &str, value: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.hash_key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(value);
        hex(&mac.finalize().into_bytes())
    }
}

/// Lower-case hexadecimal of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// `N` bytes from the operating system's CSPRNG, as hexadecimal.
pub fn random_hex<const N: usize>() -> Result<String, crate::error::ApiError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|error| crate::error::ApiError::internal(error.to_string()))?;
    Ok(hex(&bytes))
}

/// Whether `text` could be a value of [`random_hex::<N>`]: `2 * N` lowercase hex
/// digits. Names built from it (store keys, upload ids) are checked with this before use.
pub fn is_random_hex<const N: usize>(text: &str) -> bool {
    text.len() == 2 * N
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A stable 64-bit digest of `text` (the first 8 bytes of its SHA-256), for keys that
/// only need to tell texts apart: advisory-lock names, views of a synced list.
pub fn short_digest(text: &str) -> u64 {
    use sha2::Digest;
    let digest = Sha256::digest(text.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(byte: u8) -> PersonalDataCipher {
        PersonalDataCipher::new(&SecretBox::new(Box::new([byte; NIK_KEY_BYTES])))
    }

    #[test]
    fn values_round_trip_with_fresh_nonces() {
        let cipher = cipher(1);
        let first = cipher.encrypt("1872014107900001").unwrap_or_default();
        let second = cipher.encrypt("1872014107900001").unwrap_or_default();
        assert_ne!(first, second, "a fresh nonce per value");
        assert!(!first.contains("1872014107900001"));
        assert_eq!(
            cipher.decrypt(&first).ok().as_deref(),
            Some("1872014107900001")
        );
    }

    #[test]
    fn another_key_or_a_changed_byte_cannot_decrypt() {
        let stored = cipher(1).encrypt("+6281234567890").unwrap_or_default();
        assert!(cipher(2).decrypt(&stored).is_err());
        let mut tampered = stored.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(
            cipher(1)
                .decrypt(&String::from_utf8_lossy(&tampered))
                .is_err()
        );
    }

    #[test]
    fn keyed_hashes_are_stable_and_keyed() {
        assert_eq!(
            cipher(1).keyed_hash("nik", b"1"),
            cipher(1).keyed_hash("nik", b"1")
        );
        assert_ne!(
            cipher(1).keyed_hash("nik", b"1"),
            cipher(2).keyed_hash("nik", b"1")
        );
        assert_ne!(
            cipher(1).keyed_hash("nik", b"1"),
            cipher(1).keyed_hash("idempotency", b"1")
        );
    }
}
