//! The links in a citizen's mail: confirm, unsubscribe, give feedback. Each names its
//! subscription and carries a keyed hash of it and its purpose, so it needs no storage,
//! cannot be guessed or turned to another purpose, and stops working when the
//! subscription is gone.

use subtle::ConstantTimeEq;

use crate::crypto::PersonalDataCipher;

/// What a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Confirm,
    Unsubscribe,
    Feedback,
}

impl Purpose {
    fn name(self) -> &'static str {
        match self {
            Purpose::Confirm => "confirm",
            Purpose::Unsubscribe => "unsubscribe",
            Purpose::Feedback => "feedback",
        }
    }
}

/// Hex characters of the hash a link carries (128 bits).
const MAC_CHARS: usize = 32;

/// The pattern of a link's token, for the path parameter.
pub const TOKEN_PATTERN: &str = "^[0-9]{1,19}-[0-9a-f]{32}$";

fn mac(cipher: &PersonalDataCipher, subscription: i64, purpose: Purpose) -> String {
    let mut hash = cipher.keyed_hash(
        &format!("report-subscription-link:{}", purpose.name()),
        subscription.to_string().as_bytes(),
    );
    hash.truncate(MAC_CHARS);
    hash
}

/// The token of `purpose`'s link for `subscription`.
pub fn token(cipher: &PersonalDataCipher, subscription: i64, purpose: Purpose) -> String {
    format!("{subscription}-{}", mac(cipher, subscription, purpose))
}

/// The subscription `token` names, if it is a token of `purpose` this service made.
pub fn verify(cipher: &PersonalDataCipher, token: &str, purpose: Purpose) -> Option<i64> {
    let (id, given) = token.split_once('-')?;
    let subscription: i64 = id.parse().ok().filter(|id| *id > 0)?;
    let expected = mac(cipher, subscription, purpose);
    bool::from(expected.as_bytes().ct_eq(given.as_bytes())).then_some(subscription)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_works_for_its_subscription_and_purpose_only() {
        let cipher = PersonalDataCipher::new(&secrecy::SecretBox::new(Box::new([7u8; 32])));
        let confirm = token(&cipher, 42, Purpose::Confirm);
        assert_eq!(verify(&cipher, &confirm, Purpose::Confirm), Some(42));
        assert_eq!(verify(&cipher, &confirm, Purpose::Unsubscribe), None);
        let forged = confirm.replacen("42-", "43-", 1);
        assert_eq!(verify(&cipher, &forged, Purpose::Confirm), None);
        assert_eq!(verify(&cipher, "42", Purpose::Confirm), None);
        assert!(regex_like(&confirm));
    }

    fn regex_like(token: &str) -> bool {
        let (id, mac) = token.split_once('-').expect("dash");
        id.bytes().all(|b| b.is_ascii_digit())
            && mac.len() == MAC_CHARS
            && mac
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    }
}
