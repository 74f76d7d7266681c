//! The participants file's detached signature: a compact JWS (RFC 7515, payload
//! detached as in its Appendix F) over the exact bytes of `participants`, ES256, with
//! the file's SHA-256 and the signing time in the protected header, and the JWKS that
//! verifies it. One place for the format: the export signs with it, `verify` and the
//! tests check with it.
//!
//! Binding: the signature covers the protected header and the whole file, and the
//! header names the file's SHA-256, so a file paired with another run's signature fails
//! as a hash mismatch before any key is consulted.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::future::Future;
use std::pin::Pin;

/// Object key / file name of the detached signature, beside the file.
pub const SIGNATURE_KEY: &str = "participants.jws";
/// Object key / file name of the verification keys, beside the file.
pub const JWKS_KEY: &str = "participants.jwks";
/// Content type of the signature object.
pub const SIGNATURE_CONTENT_TYPE: &str = "application/jose";
/// Content type of the keys object.
pub const JWKS_CONTENT_TYPE: &str = "application/jwk-set+json";
/// The only algorithm written or accepted.
pub const ALG: &str = "ES256";
/// The protected header's `typ`.
pub const TYP: &str = "participants+jws";
/// How long a replaced key stays in the published JWKS (with `exp`), so files signed
/// before a rotation (still in caches and mirrors) keep verifying.
pub const ROTATION_WINDOW_SECS: i64 = 30 * 24 * 3600;

/// A boxed future (the signer port is used as a trait object).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why signing failed; nothing is published beside the file then.
#[derive(Debug, thiserror::Error)]
#[error("signing the participants file: {0}")]
pub struct SignError(pub String);

/// Something that signs SHA-256 digests with one P-256 key: a key file locally, KMS in AWS.
pub trait Signer: Send + Sync {
    /// The public key as a JWK (its `kid` is the RFC 7638 thumbprint).
    fn public_jwk(&self) -> BoxFuture<'_, Result<Jwk, SignError>>;
    /// ECDSA P-256 signature of a SHA-256 digest, as JWS wants it: `r ‖ s`, 64 bytes.
    fn sign_digest(&self, digest: [u8; 32]) -> BoxFuture<'_, Result<[u8; 64], SignError>>;
}

/// One public key of the JWKS (RFC 7517), P-256 only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
    pub y: String,
    pub kid: String,
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// When a replaced key stops verifying (NumericDate); absent on the current key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
}

impl Jwk {
    /// The JWK of a P-256 public key, `kid` = its RFC 7638 thumbprint.
    pub fn from_key(key: &p256::PublicKey) -> Self {
        let point = p256::Sec1Point::from(key);
        // An uncompressed point of a valid public key always has both coordinates.
        let x = B64.encode(point.x().map(|x| &x[..]).unwrap_or_default());
        let y = B64.encode(point.y().map(|y| &y[..]).unwrap_or_default());
        let thumbprint = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        Self {
            kty: "EC".into(),
            crv: "P-256".into(),
            kid: B64.encode(Sha256::digest(thumbprint.as_bytes())),
            x,
            y,
            use_: Some("sig".into()),
            alg: Some(ALG.into()),
            exp: None,
        }
    }

    /// The verifying key, if this is a well-formed P-256 JWK.
    pub fn verifying_key(&self) -> Option<p256::ecdsa::VerifyingKey> {
        if self.kty != "EC" || self.crv != "P-256" {
            return None;
        }
        let x = B64.decode(&self.x).ok()?;
        let y = B64.decode(&self.y).ok()?;
        let (x, y) = (<[u8; 32]>::try_from(x).ok()?, <[u8; 32]>::try_from(y).ok()?);
        let point = p256::Sec1Point::from_affine_coordinates(&x.into(), &y.into(), false);
        p256::ecdsa::VerifyingKey::from_sec1_point(&point).ok()
    }
}

/// A JWK Set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// The set of one key (before any history exists).
    pub fn of(current: Jwk) -> Jwks {
        Jwks {
            keys: vec![Jwk { exp: None, ..current }],
        }
    }
}

/// The directory's own public signing keys over time, as the store keeps them. The
/// published JWKS is derived from it and never read back: whoever can write the
/// published object once cannot make the directory vouch for a key of theirs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KeyHistory {
    /// Newest first: the current key (not retired), then the retired ones.
    pub keys: Vec<KeyRecord>,
}

/// One key of the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    pub jwk: Jwk,
    /// When it was first recorded signing (NumericDate).
    pub since: i64,
    /// When another key replaced it (NumericDate); its JWKS entry expires
    /// [`ROTATION_WINDOW_SECS`] later, whatever it said before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired: Option<i64>,
}

impl KeyHistory {
    /// The history once `current` signs at `now`, `None` when it would not change: a
    /// new key retires the one it replaces at `now`, and keys whose window has
    /// closed are dropped.
    pub fn with_current(&self, current: &Jwk, now: i64) -> Option<KeyHistory> {
        let current = Jwk {
            exp: None,
            ..current.clone()
        };
        let open = |r: &KeyRecord| r.retired.is_none_or(|at| at + ROTATION_WINDOW_SECS > now);
        let is_current = self
            .keys
            .first()
            .is_some_and(|r| r.jwk == current && r.retired.is_none());
        if is_current && self.keys.iter().all(open) {
            return None;
        }
        let mut keys = Vec::with_capacity(self.keys.len() + 1);
        keys.push(match self.keys.first() {
            Some(r) if is_current => r.clone(),
            _ => KeyRecord {
                jwk: current.clone(),
                since: now,
                retired: None,
            },
        });
        for record in &self.keys {
            if record.jwk.kid == current.kid {
                continue;
            }
            let retired = KeyRecord {
                retired: Some(record.retired.unwrap_or(now)),
                ..record.clone()
            };
            if open(&retired) {
                keys.push(retired);
            }
        }
        Some(KeyHistory { keys })
    }

    /// The JWKS to publish at `now`: the current key, then each retired key whose
    /// window is open, with `exp` = its retirement + [`ROTATION_WINDOW_SECS`].
    pub fn jwks(&self, now: i64) -> Jwks {
        let keys = self
            .keys
            .iter()
            .filter_map(|r| match r.retired {
                None => Some(Jwk {
                    exp: None,
                    ..r.jwk.clone()
                }),
                Some(at) => {
                    let exp = at + ROTATION_WINDOW_SECS;
                    (exp > now).then(|| Jwk {
                        exp: Some(exp),
                        ..r.jwk.clone()
                    })
                }
            })
            .collect();
        Jwks { keys }
    }
}

/// The protected header of a participants signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub alg: String,
    pub typ: String,
    pub kid: String,
    /// Signing time (NumericDate).
    pub iat: i64,
    /// SHA-256 of the file (lowercase hex, as its `ETag`).
    pub sha256: String,
    /// The revision the file (or the last change of a changes page) reflects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
    /// The revision a changes page starts after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<u64>,
    /// Extensions a verifier must understand; none are used, so any is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crit: Option<Vec<String>>,
}

/// SHA-256 of a JWS signing input with a detached payload,
/// `BASE64URL(header) || '.' || BASE64URL(payload)`, fed the payload in pieces.
pub struct SigningInput {
    hasher: Sha256,
    /// Payload bytes not yet encoded (base64 works in groups of three).
    carry: Vec<u8>,
    encoded: String,
    /// SHA-256 of the payload itself, for the header's `sha256`.
    payload: Sha256,
}

impl SigningInput {
    /// Starts with the encoded protected header.
    pub fn new(header_b64: &str) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(header_b64.as_bytes());
        hasher.update(b".");
        Self {
            hasher,
            carry: Vec::with_capacity(3),
            encoded: String::new(),
            payload: Sha256::new(),
        }
    }

    /// Feeds the next payload bytes.
    pub fn update(&mut self, mut bytes: &[u8]) {
        self.payload.update(bytes);
        if !self.carry.is_empty() {
            let take = (3 - self.carry.len()).min(bytes.len());
            self.carry.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.carry.len() < 3 {
                return;
            }
            let group = std::mem::take(&mut self.carry);
            self.encode(&group);
        }
        let whole = bytes.len() / 3 * 3;
        // Bounded pieces keep the encoding buffer small whatever the chunk size.
        for piece in bytes[..whole].chunks(48 * 1024) {
            self.encode(piece);
        }
        self.carry.extend_from_slice(&bytes[whole..]);
    }

    fn encode(&mut self, bytes: &[u8]) {
        self.encoded.clear();
        B64.encode_string(bytes, &mut self.encoded);
        self.hasher.update(self.encoded.as_bytes());
    }

    /// The signing input's digest and the payload's SHA-256 (hex).
    pub fn finish(mut self) -> ([u8; 32], String) {
        let rest = std::mem::take(&mut self.carry);
        self.encode(&rest);
        (self.hasher.finalize().into(), hex::encode(self.payload.finalize()))
    }
}

/// A header ready to sign: its JSON encoded once, so the bytes signed are the bytes sent.
pub struct Prepared {
    pub header: Header,
    pub header_b64: String,
}

/// What a signature covers, besides the bytes: their type, hash and revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The header's `typ`: [`TYP`] for the file, [`crate::feed::CHANGES_TYP`] for a page.
    pub typ: &'static str,
    /// SHA-256 of the bytes (lowercase hex).
    pub sha256: String,
    /// The revision the bytes reflect (a file) or end at (a changes page).
    pub revision: Option<u64>,
    /// The revision a changes page starts after.
    pub since: Option<u64>,
}

impl Subject {
    /// The participants file with `sha256`, at `revision` when it states one.
    pub fn file(sha256: &str, revision: Option<u64>) -> Self {
        Self {
            typ: TYP,
            sha256: sha256.to_owned(),
            revision,
            since: None,
        }
    }
}

impl Prepared {
    /// The header of a signature by `kid` at `iat` over the participants file with `sha256`.
    pub fn new(kid: &str, iat: i64, sha256: &str) -> Self {
        Self::of(kid, iat, &Subject::file(sha256, None))
    }

    /// The header of a signature by `kid` at `iat` over `subject`.
    pub fn of(kid: &str, iat: i64, subject: &Subject) -> Self {
        let header = Header {
            alg: ALG.into(),
            typ: subject.typ.into(),
            kid: kid.into(),
            iat,
            sha256: subject.sha256.clone(),
            revision: subject.revision,
            since: subject.since,
            crit: None,
        };
        // A struct of strings and an integer always serialises.
        let json = serde_json::to_vec(&header).unwrap_or_default();
        Self {
            header_b64: B64.encode(json),
            header,
        }
    }

    /// The compact detached JWS (`header..signature`).
    pub fn compact(&self, signature: &[u8; 64]) -> String {
        format!("{}..{}", self.header_b64, B64.encode(signature))
    }
}

/// Signs a file whose bytes `feed` hands over (it is given a [`SigningInput`] and must
/// feed it the whole file): the compact JWS. Refuses when the bytes fed are not the
/// file `sha256` names, and checks the signature against the signer's own public key
/// before returning it, so a misbehaving signer never publishes an unverifiable file.
pub async fn sign_file<F, Fut, E>(
    signer: &dyn Signer,
    subject: &Subject,
    iat: i64,
    feed: F,
) -> Result<String, SignError>
where
    F: FnOnce(SigningInput) -> Fut,
    Fut: Future<Output = Result<SigningInput, E>>,
    E: std::fmt::Display,
{
    let sha256 = subject.sha256.as_str();
    let jwk = signer.public_jwk().await?;
    let prepared = Prepared::of(&jwk.kid, iat, subject);
    let input = feed(SigningInput::new(&prepared.header_b64))
        .await
        .map_err(|e| SignError(format!("reading the published file back: {e}")))?;
    let (digest, actual) = input.finish();
    if actual != sha256 {
        return Err(SignError(format!(
            "the published file's SHA-256 is {actual}, not {sha256}: it changed while being signed"
        )));
    }
    let signature = signer.sign_digest(digest).await?;
    let key = jwk
        .verifying_key()
        .ok_or_else(|| SignError("the signer's public key is not a P-256 key".into()))?;
    let sig = p256::ecdsa::Signature::from_slice(&signature).map_err(|e| SignError(e.to_string()))?;
    key.verify_prehash(&digest, &sig)
        .map_err(|_| SignError("the signer returned a signature its own public key does not verify".into()))?;
    Ok(prepared.compact(&signature))
}

/// Why a file does not verify; each names the check that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("reading the file: {0}")]
    Read(String),
    #[error("malformed signature: {0}")]
    Malformed(String),
    #[error("algorithm {0:?} is not accepted (only {ALG})")]
    WrongAlg(String),
    #[error("unknown key: no key {0:?} in the JWKS")]
    UnknownKey(String),
    #[error("key {kid:?} left the rotation window at {exp} (NumericDate); the JWKS no longer vouches for it")]
    RotationWindowExpired { kid: String, exp: i64 },
    #[error(
        "hash mismatch: the signature is for a file with SHA-256 {signed}, signed at {iat}; this file's is {actual}"
    )]
    HashMismatch { signed: String, actual: String, iat: i64 },
    #[error("bad signature: key {0:?} does not verify this header and file")]
    BadSignature(String),
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub kid: String,
    pub iat: i64,
    pub sha256: String,
    /// The revision the signed header states.
    pub revision: Option<u64>,
    /// The revision a signed changes page starts after.
    pub since: Option<u64>,
}

/// A parsed compact detached JWS.
pub struct Parsed {
    pub header: Header,
    header_b64: String,
    signature: p256::ecdsa::Signature,
}

/// Parses a compact detached JWS of the participants file and checks its header
/// (algorithm, type, extensions).
pub fn parse(jws: &str) -> Result<Parsed, VerifyError> {
    parse_typed(jws, TYP)
}

/// [`parse`] for a signature whose header must say `typ`.
pub fn parse_typed(jws: &str, typ: &str) -> Result<Parsed, VerifyError> {
    let malformed = |m: &str| VerifyError::Malformed(m.to_owned());
    let mut parts = jws.trim().split('.');
    let (Some(h), Some(payload), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(malformed("a compact JWS has three dot-separated parts"));
    };
    if !payload.is_empty() {
        return Err(malformed("the payload part must be empty (detached payload)"));
    }
    let json = B64.decode(h).map_err(|_| malformed("the header is not base64url"))?;
    let value: serde_json::Value =
        serde_json::from_slice(&json).map_err(|_| malformed("the header is not a JSON object"))?;
    if let Some(alg) = value.get("alg").and_then(|a| a.as_str())
        && alg != ALG
    {
        return Err(VerifyError::WrongAlg(alg.to_owned()));
    }
    let header: Header = serde_json::from_value(value).map_err(|e| VerifyError::Malformed(format!("header: {e}")))?;
    if header.typ != typ {
        return Err(VerifyError::Malformed(format!("typ is {:?}, not {typ:?}", header.typ)));
    }
    if header.crit.as_ref().is_some_and(|c| !c.is_empty()) {
        return Err(malformed(
            "the header names critical extensions this verifier does not know",
        ));
    }
    let raw = B64.decode(s).map_err(|_| malformed("the signature is not base64url"))?;
    let signature =
        p256::ecdsa::Signature::from_slice(&raw).map_err(|_| malformed("an ES256 signature is 64 bytes (r ‖ s)"))?;
    Ok(Parsed {
        header,
        header_b64: h.to_owned(),
        signature,
    })
}

/// Verifies `file` (read in pieces) against the detached `jws` and the `jwks`, at `now`.
pub fn verify(file: &mut dyn std::io::Read, jws: &str, jwks: &Jwks, now: i64) -> Result<Verified, VerifyError> {
    verify_typed(file, jws, TYP, jwks, now)
}

/// [`verify`] for a signature whose header must say `typ` (a changes page's).
pub fn verify_typed(
    file: &mut dyn std::io::Read,
    jws: &str,
    typ: &str,
    jwks: &Jwks,
    now: i64,
) -> Result<Verified, VerifyError> {
    let parsed = parse_typed(jws, typ)?;
    let key = key_for(&parsed.header, jwks, now)?;
    let mut input = SigningInput::new(&parsed.header_b64);
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buffer).map_err(|e| VerifyError::Read(e.to_string()))?;
        if n == 0 {
            break;
        }
        input.update(&buffer[..n]);
    }
    check(parsed, key, input)
}

/// The key `header.kid` names, if the JWKS still vouches for it at `now`.
fn key_for(header: &Header, jwks: &Jwks, now: i64) -> Result<p256::ecdsa::VerifyingKey, VerifyError> {
    let jwk = jwks
        .keys
        .iter()
        .find(|k| k.kid == header.kid)
        .ok_or_else(|| VerifyError::UnknownKey(header.kid.clone()))?;
    if let Some(exp) = jwk.exp
        && exp <= now
    {
        return Err(VerifyError::RotationWindowExpired {
            kid: jwk.kid.clone(),
            exp,
        });
    }
    if jwk.alg.as_deref().is_some_and(|a| a != ALG) {
        return Err(VerifyError::WrongAlg(jwk.alg.clone().unwrap_or_default()));
    }
    jwk.verifying_key()
        .ok_or_else(|| VerifyError::Malformed(format!("key {:?} is not a P-256 public key", jwk.kid)))
}

fn check(parsed: Parsed, key: p256::ecdsa::VerifyingKey, input: SigningInput) -> Result<Verified, VerifyError> {
    let (digest, actual) = input.finish();
    let header = parsed.header;
    if actual != header.sha256 {
        return Err(VerifyError::HashMismatch {
            signed: header.sha256,
            actual,
            iat: header.iat,
        });
    }
    key.verify_prehash(&digest, &parsed.signature)
        .map_err(|_| VerifyError::BadSignature(header.kid.clone()))?;
    Ok(Verified {
        kid: header.kid,
        iat: header.iat,
        sha256: header.sha256,
        revision: header.revision,
        since: header.since,
    })
}

/// Verifies in-memory bytes (tests, tools): [`verify`] over a slice.
pub fn verify_bytes(file: &[u8], jws: &str, jwks: &Jwks, now: i64) -> Result<Verified, VerifyError> {
    verify(&mut &file[..], jws, jwks, now)
}

/// The header of a stored signature, if it parses (to tell whether it is for a file).
pub fn header_of(jws: &str) -> Option<Header> {
    parse(jws).ok().map(|p| p.header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_signing_input_equals_the_whole() {
        let file: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let whole = {
            let mut h = Sha256::new();
            h.update(b"hdr.");
            h.update(B64.encode(&file).as_bytes());
            <[u8; 32]>::from(h.finalize())
        };
        for split in [1usize, 2, 3, 4, 5, 7, 1000, 4096, 9_999] {
            let mut input = SigningInput::new("hdr");
            for piece in file.chunks(split) {
                input.update(piece);
            }
            let (digest, sha) = input.finish();
            assert_eq!(digest, whole, "chunks of {split}");
            assert_eq!(sha, hex::encode(Sha256::digest(&file)));
        }
        let (empty, _) = SigningInput::new("hdr").finish();
        assert_eq!(empty, <[u8; 32]>::from(Sha256::digest(b"hdr.")));
    }

    /// A key with no material: the history only looks at `kid` and `exp`.
    fn key(kid: &str, exp: Option<i64>) -> Jwk {
        Jwk {
            kty: "EC".into(),
            crv: "P-256".into(),
            x: String::new(),
            y: String::new(),
            kid: kid.into(),
            use_: None,
            alg: None,
            exp,
        }
    }

    #[test]
    fn rotation_keeps_replaced_keys_for_the_window_only() {
        let now = 1_000_000;
        let first = KeyHistory::default().with_current(&key("a", None), now).unwrap();
        assert_eq!(first.jwks(now), Jwks::of(key("a", None)));
        // Same key again: unchanged.
        assert_eq!(first.with_current(&key("a", None), now + 5), None);
        let rotated = first.with_current(&key("b", None), now + 10).unwrap();
        let jwks = rotated.jwks(now + 10);
        assert_eq!(jwks.keys[0].kid, "b");
        assert_eq!(jwks.keys[0].exp, None);
        assert_eq!(jwks.keys[1].exp, Some(now + 10 + ROTATION_WINDOW_SECS));
        // The window does not restart on later publishes, and closes.
        assert_eq!(rotated.with_current(&key("b", None), now + 20), None);
        assert_eq!(rotated.jwks(now + 20), jwks);
        let closed = rotated
            .with_current(&key("b", None), now + 10 + ROTATION_WINDOW_SECS)
            .unwrap();
        assert_eq!(closed.keys.len(), 1);
        assert_eq!(closed.jwks(now + 10 + ROTATION_WINDOW_SECS).keys.len(), 1);
    }

    #[test]
    fn a_retired_key_never_outlives_its_window_whatever_it_says() {
        // A record that claims a far exp, and one retired long ago: the window counts
        // from retirement, and the JWK's own exp is not trusted.
        let history = KeyHistory {
            keys: vec![
                KeyRecord {
                    jwk: key("a", Some(i64::MAX)),
                    since: 0,
                    retired: None,
                },
                KeyRecord {
                    jwk: key("old", Some(i64::MAX)),
                    since: 0,
                    retired: Some(10),
                },
            ],
        };
        let next = history.with_current(&key("b", None), 1_000).unwrap();
        let jwks = next.jwks(1_000);
        assert_eq!(
            jwks.keys.iter().map(|k| (k.kid.as_str(), k.exp)).collect::<Vec<_>>(),
            [
                ("b", None),
                ("a", Some(1_000 + ROTATION_WINDOW_SECS)),
                ("old", Some(10 + ROTATION_WINDOW_SECS))
            ]
        );
        assert_eq!(next.jwks(20 + ROTATION_WINDOW_SECS).keys.len(), 2);
    }
}
