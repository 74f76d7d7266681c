//! Security Event Tokens (RFC 8417) as the directory issues them: a compact JWS,
//! ES256, header `typ` `secevent+jwt` and the signing key's `kid`, over claims `iss`,
//! `iat`, `jti`, `aud`, `txn`, `toe`, `sub_id` (RFC 9493, as SSF 1.0 requires) and
//! `events`. `jti` is derived from the subscription and the event's place in the feed,
//! so a re-sent event carries the same `jti` and a receiver de-duplicates by it.

use super::{ChangeEvent, VERIFICATION_EVENT};
use crate::signature::{BoxFuture, Jwks, SignError, Signer};
use serde_json::{Map, Value, json};

/// The JWS `typ` of a SET (RFC 8417 §2.3).
pub const SET_TYP: &str = "secevent+jwt";
/// The media type of a pushed SET (RFC 8935 §2).
pub const SET_CONTENT_TYPE: &str = "application/secevent+jwt";

/// Where an event sits: its revision and its index among that revision's events
/// (the verification event sits before every revision).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Place {
    pub revision: u64,
    pub index: u32,
}

/// The `jti` of the event at `place` for `subscription` (the same for every re-send).
pub fn jti(subscription: &str, place: Place) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("set:{subscription}/{}/{}", place.revision, place.index).as_bytes(),
    )
    .to_string()
}

/// The `txn` every event of one revision shares (RFC 8417 §2.2), whoever receives it.
pub fn txn(issuer: &str, revision: u64) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("{issuer}#revision-{revision}").as_bytes(),
    )
    .to_string()
}

/// The claims of a change event's SET.
#[allow(clippy::too_many_arguments)]
pub fn change_claims(
    issuer: &str,
    audience: &str,
    subscription: &str,
    place: Place,
    organisation_id: &str,
    event: &ChangeEvent,
    toe: i64,
    iat: i64,
) -> Value {
    let mut payload = Map::new();
    payload.insert("revision".into(), json!(place.revision));
    payload.insert("organisation_id".into(), json!(organisation_id));
    for (k, v) in &event.about {
        payload.insert(k.clone(), v.clone());
    }
    json!({
        "iss": issuer,
        "iat": iat,
        "jti": jti(subscription, place),
        "aud": audience,
        "txn": txn(issuer, place.revision),
        "toe": toe,
        "sub_id": {"format": "opaque", "id": organisation_id},
        "events": { event.kind.uri(): payload },
    })
}

/// The `jti` of a subscription's verification SET with `state` (the same for every re-send).
pub fn verification_jti(subscription: &str, state: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("verify:{subscription}/{state}").as_bytes(),
    )
    .to_string()
}

/// The claims of a subscription's verification SET (SSF 1.0 §8.1.4): its subject is
/// the stream (the subscription) and it carries the `state` the receiver echoes nothing
/// of: a 202 is the answer RFC 8935 defines.
pub fn verification_claims(issuer: &str, audience: &str, subscription: &str, state: &str, iat: i64) -> Value {
    json!({
        "iss": issuer,
        "iat": iat,
        "jti": verification_jti(subscription, state),
        "aud": audience,
        "sub_id": {"format": "opaque", "id": subscription},
        "events": { VERIFICATION_EVENT: {"state": state} },
    })
}

/// Signs `claims` as a SET with `signer` (one signature: one `sign_digest`).
pub fn sign<'a>(signer: &'a dyn Signer, claims: &'a Value) -> BoxFuture<'a, Result<String, SignError>> {
    crate::jwt::sign(signer, SET_TYP, claims)
}

/// Why a SET was refused, as RFC 8935 §2.3 names the error codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// `invalid_request`, `invalid_key`, `invalid_issuer` or `invalid_audience`.
    pub err: &'static str,
    pub description: String,
}

fn refused(err: &'static str, description: impl Into<String>) -> Refused {
    Refused {
        err,
        description: description.into(),
    }
}

/// Verifies a SET against the transmitter's keys: ES256 with a listed, unexpired key,
/// `typ` `secevent+jwt`, `iss` = `issuer`, `aud` naming `audience` (when given), a
/// `jti` and an `events` object. The claims, or why not.
pub fn verify(
    set: &str,
    jwks: &Jwks,
    issuer: &str,
    audience: Option<&str>,
    now: i64,
) -> Result<Map<String, Value>, Refused> {
    use crate::jwt::JwtError;
    let bad = |d: &str| refused("invalid_request", d);
    let decoded = crate::jwt::decode(set).map_err(|e| bad(&e.to_string()))?;
    decoded
        .check_header(SET_TYP)
        .map_err(|_| bad("the header must say alg ES256, typ secevent+jwt, and no crit"))?;
    decoded.verify(jwks, now).map_err(|e| match e {
        JwtError::UnknownKey(kid) => refused(
            "invalid_key",
            format!("no usable key {kid:?} in the transmitter's JWKS"),
        ),
        JwtError::BadSignature(kid) => refused("invalid_key", format!("key {kid:?} does not verify this SET")),
        other => bad(&other.to_string()),
    })?;
    let claims = decoded.claims;
    if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
        return Err(refused("invalid_issuer", format!("iss is not {issuer}")));
    }
    if let Some(audience) = audience {
        let named = match claims.get("aud") {
            Some(Value::String(a)) => a == audience,
            Some(Value::Array(list)) => list.iter().any(|a| a == audience),
            _ => false,
        };
        if !named {
            return Err(refused("invalid_audience", format!("aud does not name {audience}")));
        }
    }
    if !claims.get("jti").is_some_and(Value::is_string) || !claims.get("events").is_some_and(Value::is_object) {
        return Err(bad("a SET has a jti and an events object"));
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventKind;
    use crate::signature::Jwk;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

    struct Key(p256::ecdsa::SigningKey);

    impl Signer for Key {
        fn public_jwk(&self) -> BoxFuture<'_, Result<Jwk, SignError>> {
            let jwk = Jwk::from_key(&p256::PublicKey::from(self.0.verifying_key()));
            Box::pin(async move { Ok(jwk) })
        }
        fn sign_digest(&self, digest: [u8; 32]) -> BoxFuture<'_, Result<[u8; 64], SignError>> {
            use p256::ecdsa::signature::hazmat::PrehashSigner;
            let sig: Result<p256::ecdsa::Signature, _> = self.0.sign_prehash(&digest);
            Box::pin(async move { Ok(sig.map_err(|e| SignError(e.to_string()))?.to_bytes().into()) })
        }
    }

    fn key(seed: u8) -> Key {
        Key(p256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap())
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        // The signer above never waits: one poll finishes it.
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut f = std::pin::pin!(f);
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("pending"),
        }
    }

    #[test]
    fn a_signed_set_verifies_and_any_change_fails() {
        let signer = key(7);
        let jwks = Jwks::of(block_on(signer.public_jwk()).unwrap());
        let event = ChangeEvent {
            kind: EventKind::AuthorityClaimDeactivated,
            about: [("role".to_owned(), json!("PAGTO"))].into_iter().collect(),
        };
        let place = Place { revision: 9, index: 1 };
        let claims = change_claims(
            "https://dir.example",
            "https://rp.example/e",
            "s1",
            place,
            "org-1",
            &event,
            5,
            6,
        );
        let set = block_on(sign(&signer, &claims)).unwrap();
        let got = verify(&set, &jwks, "https://dir.example", Some("https://rp.example/e"), 10).unwrap();
        assert_eq!(got["jti"], jti("s1", place));
        assert_eq!(
            got["events"][EventKind::AuthorityClaimDeactivated.uri()]["role"],
            "PAGTO"
        );
        assert_eq!(got["events"][EventKind::AuthorityClaimDeactivated.uri()]["revision"], 9);
        assert_eq!(got["txn"], txn("https://dir.example", 9));
        assert_ne!(jti("s1", place), jti("s2", place));
        assert_eq!(
            verify(&set, &jwks, "https://other.example", None, 10).unwrap_err().err,
            "invalid_issuer"
        );
        assert_eq!(
            verify(&set, &jwks, "https://dir.example", Some("x"), 10)
                .unwrap_err()
                .err,
            "invalid_audience"
        );
        let other = Jwks::of(block_on(key(8).public_jwk()).unwrap());
        assert_eq!(
            verify(&set, &other, "https://dir.example", None, 10).unwrap_err().err,
            "invalid_key"
        );
        // One byte of the claims changed: the signature no longer verifies.
        let (head, rest) = set.split_once('.').unwrap();
        let (payload, sig) = rest.split_once('.').unwrap();
        let mut bytes = B64.decode(payload).unwrap();
        bytes[10] ^= 1;
        let tampered = format!("{head}.{}.{sig}", B64.encode(bytes));
        assert!(verify(&tampered, &jwks, "https://dir.example", None, 10).is_err());
        let verification = verification_claims("https://dir.example", "a", "s1", "st", 1);
        let set = block_on(sign(&signer, &verification)).unwrap();
        let got = verify(&set, &jwks, "https://dir.example", Some("a"), 10).unwrap();
        assert_eq!(got["events"][VERIFICATION_EVENT]["state"], "st");
    }
}
