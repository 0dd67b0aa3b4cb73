//! The service's identity towards push services (RFC 8292): a P-256 key whose public
//! half browsers subscribe with, and a short-lived ES256 token per push service.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::EncodePrivateKey;
use secrecy::ExposeSecret;
use serde::Serialize;

use crate::config::VapidSettings;

/// RFC 8292 §2: at most a day; push services refuse longer.
const TOKEN_LIFETIME: chrono::Duration = chrono::Duration::hours(12);

pub struct Vapid {
    encoding: EncodingKey,
    /// The uncompressed public point in unpadded base64url, as browsers take it
    /// (`applicationServerKey`) and as the `k` parameter carries it.
    public_key: String,
    subject: String,
}

#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    exp: i64,
    sub: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum VapidError {
    #[error("the VAPID key is not a P-256 private key")]
    Key,
    #[error("cannot sign the VAPID token: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

impl Vapid {
    pub fn new(settings: &VapidSettings) -> Result<Self, VapidError> {
        let secret = p256::SecretKey::from_slice(settings.private_key.expose_secret())
            .map_err(|_| VapidError::Key)?;
        let pkcs8 = secret.to_pkcs8_der().map_err(|_| VapidError::Key)?;
        let public = secret.public_key().to_encoded_point(false);
        Ok(Vapid {
            encoding: EncodingKey::from_ec_der(pkcs8.as_bytes()),
            public_key: URL_SAFE_NO_PAD.encode(public.as_bytes()),
            subject: settings.subject.clone(),
        })
    }

    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// The `Authorization` header for a push to `endpoint`, whose origin is the token's
    /// audience. Without the space after the comma that RFC 8292's example shows: both
    /// forms are valid (RFC 9110 §11.2), and some push services parse only this one.
    pub fn authorization(&self, endpoint: &url::Url) -> Result<String, VapidError> {
        let audience = endpoint.origin().ascii_serialization();
        let claims = Claims {
            aud: &audience,
            exp: (crate::clock::now() + TOKEN_LIFETIME).timestamp(),
            sub: &self.subject,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &self.encoding)?;
        Ok(format!("vapid t={token},k={}", self.public_key))
    }
}
