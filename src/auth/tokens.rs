//! Access tokens: JWTs signed with `JWT_SECRET` (HS256) or a configured key pair
//! (EdDSA / RS256), and validated strictly.

use std::collections::HashSet;
use std::time::Duration;

use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::{Role, Scopes};
use crate::config::{AsymmetricAlgorithm, Settings, SigningConfig};

/// Clock skew tolerated on `exp`, `nbf` and `iat`.
const LEEWAY_SECS: u64 = 30;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// A user's id, or an integration client's `client_id`.
    pub sub: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kim_id: Option<i64>,
    /// Space-separated scopes (integration clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The refresh-token family (sign-in session) the token belongs to, for logout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The holder's security stamp when the token was issued; a token whose stamp is
    /// no longer current (disabled, new role, KIM, password or scopes) is refused.
    #[serde(default)]
    pub stm: i64,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
}

/// What a new token says about its holder.
#[derive(Debug, Clone)]
pub struct TokenSubject {
    pub sub: String,
    pub role: Role,
    pub kim_id: Option<i64>,
    pub scopes: Option<Scopes>,
    pub session: Option<String>,
    pub stamp: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("JWT_SECRET is not usable as an HMAC key: {0}")]
    Secret(jsonwebtoken::errors::Error),
    #[error("JWT_SIGNING_KEY_FILE is not a PKCS#8 PEM private key for the algorithm: {0}")]
    PrivateKey(jsonwebtoken::errors::Error),
}

pub struct TokenKeys {
    algorithm: Algorithm,
    key_id: Option<String>,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    jwks: JwkSet,
    issuer: String,
    audience: String,
    lifetime: Duration,
}

impl TokenKeys {
    pub fn from_settings(settings: &Settings) -> Result<Self, KeyError> {
        let (algorithm, key_id, encoding, decoding, jwks) = match &settings.signing {
            SigningConfig::Hmac => {
                let secret = settings.jwt_secret_bytes();
                (
                    Algorithm::HS256,
                    None,
                    EncodingKey::from_secret(secret).map_err(KeyError::Secret)?,
                    DecodingKey::from_secret(secret).map_err(KeyError::Secret)?,
                    // Never publish a symmetric key.
                    JwkSet { keys: vec![] },
                )
            }
            SigningConfig::Asymmetric {
                algorithm,
                private_key_pem,
                key_id,
            } => {
                let pem = private_key_pem.expose_secret();
                let (algorithm, encoding) = match algorithm {
                    AsymmetricAlgorithm::EdDsa => (Algorithm::EdDSA, EncodingKey::from_ed_pem(pem)),
                    AsymmetricAlgorithm::Rs256 => {
                        (Algorithm::RS256, EncodingKey::from_rsa_pem(pem))
                    }
                };
                let encoding = encoding.map_err(KeyError::PrivateKey)?;
                let mut jwk =
                    Jwk::from_encoding_key(&encoding, algorithm).map_err(KeyError::PrivateKey)?;
                jwk.common.key_id = Some(key_id.clone());
                jwk.common.public_key_use = Some(PublicKeyUse::Signature);
                jwk.common.key_algorithm = Some(match algorithm {
                    Algorithm::EdDSA => KeyAlgorithm::EdDSA,
                    _ => KeyAlgorithm::RS256,
                });
                let decoding = DecodingKey::from_jwk(&jwk).map_err(KeyError::PrivateKey)?;
                (
                    algorithm,
                    Some(key_id.clone()),
                    encoding,
                    decoding,
                    JwkSet { keys: vec![jwk] },
                )
            }
        };
        let mut validation = Validation::new(algorithm);
        // `exp` and `nbf` are checked against the service clock in `verify`, not by the
        // library against the system's.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_issuer(&[&settings.jwt_issuer]);
        validation.set_audience(&[&settings.jwt_audience]);
        validation.required_spec_claims = ["exp", "nbf", "iss", "aud", "sub"]
            .into_iter()
            .map(String::from)
            .collect::<HashSet<_>>();
        Ok(TokenKeys {
            algorithm,
            key_id,
            encoding,
            decoding,
            validation,
            jwks,
            issuer: settings.jwt_issuer.clone(),
            audience: settings.jwt_audience.clone(),
            lifetime: settings.access_token_ttl,
        })
    }

    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    pub fn jwks(&self) -> &JwkSet {
        &self.jwks
    }

    pub fn issue(&self, subject: TokenSubject) -> Result<String, jsonwebtoken::errors::Error> {
        let now = crate::clock::now().timestamp();
        let claims = Claims {
            sub: subject.sub,
            role: subject.role,
            kim_id: subject.kim_id,
            scope: subject.scopes.map(|scopes| scopes.to_string()),
            sid: subject.session,
            stm: subject.stamp,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now,
            nbf: now,
            exp: now + self.lifetime.as_secs() as i64,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let mut header = Header::new(self.algorithm);
        header.kid = self.key_id.clone();
        jsonwebtoken::encode(&header, &claims, &self.encoding)
    }

    /// Checks signature, algorithm, `kid`, `exp`, `nbf`, `iat`, `iss` and `aud`.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != self.algorithm || header.kid != self.key_id {
            return None;
        }
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()?
            .claims;
        let (now, leeway) = (crate::clock::now().timestamp(), LEEWAY_SECS as i64);
        let current = claims.exp > now - leeway && claims.nbf <= now + leeway;
        let issued_in_future = claims.iat > now + leeway;
        (current && !issued_in_future).then_some(claims)
    }
}
