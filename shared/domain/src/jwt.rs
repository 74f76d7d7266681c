//! Signed JWTs as the directory issues and checks them (compact JWS, ES256, a `typ`
//! and the signing key's `kid` in the header): one place for the wire format of
//! Security Event Tokens and of every OpenID Federation statement.

use crate::signature::{ALG, BoxFuture, Jwk, Jwks, SignError, Signer};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// Signs `claims` with `signer` under the header `{"alg":"ES256","typ":typ,"kid":…}`
/// (one signature: one `sign_digest`).
pub fn sign<'a>(signer: &'a dyn Signer, typ: &'a str, claims: &'a Value) -> BoxFuture<'a, Result<String, SignError>> {
    Box::pin(async move {
        let jwk = signer.public_jwk().await?;
        let header = json!({"alg": ALG, "typ": typ, "kid": jwk.kid});
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(serde_json::to_vec(claims).map_err(|e| SignError(e.to_string()))?)
        );
        let signature = signer.sign_digest(Sha256::digest(input.as_bytes()).into()).await?;
        Ok(format!("{input}.{}", B64.encode(signature)))
    })
}

/// A compact JWS split and decoded, not yet verified.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

/// Why a JWT was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not a compact JWS of base64url JSON.
    #[error("{0}")]
    Malformed(&'static str),
    /// The header's `alg`, `typ` or `crit` is not what was asked for.
    #[error("the header must say alg ES256, typ {0}, and no crit")]
    Header(String),
    /// No listed, unexpired key has the header's `kid`.
    #[error("no usable key {0:?}")]
    UnknownKey(String),
    /// The key does not verify the signature.
    #[error("key {0:?} does not verify the signature")]
    BadSignature(String),
}

/// Splits and decodes `token` (three parts, JSON header and claims).
pub fn decode(token: &str) -> Result<Decoded, JwtError> {
    let mut parts = token.trim().split('.');
    let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(JwtError::Malformed("a JWT is a compact JWS of three parts"));
    };
    let json = |part: &str| -> Option<Map<String, Value>> {
        B64.decode(part).ok().and_then(|b| serde_json::from_slice(&b).ok())
    };
    Ok(Decoded {
        header: json(h).ok_or(JwtError::Malformed("the header is not base64url JSON"))?,
        claims: json(p).ok_or(JwtError::Malformed("the claims are not base64url JSON"))?,
        signing_input: format!("{h}.{p}"),
        signature: B64
            .decode(s)
            .map_err(|_| JwtError::Malformed("the signature is not base64url"))?,
    })
}

impl Decoded {
    /// The header's `kid` (empty when absent).
    pub fn kid(&self) -> &str {
        self.header.get("kid").and_then(Value::as_str).unwrap_or_default()
    }

    /// Checks the header says ES256 and `typ`, with no `crit`.
    pub fn check_header(&self, typ: &str) -> Result<(), JwtError> {
        if self.header.get("alg").and_then(Value::as_str) != Some(ALG)
            || self.header.get("typ").and_then(Value::as_str) != Some(typ)
            || self.header.contains_key("crit")
        {
            return Err(JwtError::Header(typ.to_owned()));
        }
        Ok(())
    }

    /// Verifies the signature with `key`.
    pub fn verify_with(&self, key: &Jwk) -> Result<(), JwtError> {
        let kid = self.kid().to_owned();
        let verifying = key.verifying_key().ok_or_else(|| JwtError::UnknownKey(kid.clone()))?;
        let signature =
            p256::ecdsa::Signature::from_slice(&self.signature).map_err(|_| JwtError::BadSignature(kid.clone()))?;
        let digest: [u8; 32] = Sha256::digest(self.signing_input.as_bytes()).into();
        verifying
            .verify_prehash(&digest, &signature)
            .map_err(|_| JwtError::BadSignature(kid))
    }

    /// Verifies the signature with the key of `jwks` the header names (unexpired at `now`).
    pub fn verify(&self, jwks: &Jwks, now: i64) -> Result<(), JwtError> {
        let kid = self.kid();
        let key = jwks
            .keys
            .iter()
            .find(|k| k.kid == kid && k.exp.is_none_or(|exp| exp > now))
            .ok_or_else(|| JwtError::UnknownKey(kid.to_owned()))?;
        self.verify_with(key)
    }

    /// A string claim.
    pub fn str_claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// A NumericDate claim.
    pub fn time_claim(&self, name: &str) -> Option<i64> {
        self.claims.get(name).and_then(Value::as_i64)
    }
}

/// Decodes `token`, checks its header says `typ` and verifies it against `jwks` at `now`.
pub fn verify(token: &str, typ: &str, jwks: &Jwks, now: i64) -> Result<Decoded, JwtError> {
    let decoded = decode(token)?;
    decoded.check_header(typ)?;
    decoded.verify(jwks, now)?;
    Ok(decoded)
}
