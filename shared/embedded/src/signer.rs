//! The local signer: a P-256 key in a PKCS#8 PEM file of the data directory (owner-only,
//! never inside the published directory), created on first use.

use directory_domain::signature::{BoxFuture, Jwk, SignError, Signer};
use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use std::path::{Path, PathBuf};

/// The key file's name in the data directory.
pub const KEY_FILE: &str = "participants-signing-key.pem";
/// The federation key's file (the Trust Anchor's statements), apart from the
/// participants file's key so either can be rotated or compromised alone.
pub const FEDERATION_KEY_FILE: &str = "federation-signing-key.pem";

/// Signs with a key file.
pub struct LocalSigner {
    key: SigningKey,
    jwk: Jwk,
    path: PathBuf,
}

impl std::fmt::Debug for LocalSigner {
    // Never prints the private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalSigner")
            .field("kid", &self.jwk.kid)
            .field("path", &self.path)
            .finish()
    }
}

impl LocalSigner {
    /// The key of `dir`/[`KEY_FILE`], created (0600) when there is none.
    pub fn open_or_create(dir: &Path) -> Result<Self, SignError> {
        Self::open_or_create_file(dir, KEY_FILE)
    }

    /// The key of `dir`/`file`, created (0600) when there is none.
    pub fn open_or_create_file(dir: &Path, file: &str) -> Result<Self, SignError> {
        let path = dir.join(file);
        match std::fs::read_to_string(&path) {
            Ok(pem) => {
                let key = SigningKey::from_pkcs8_pem(&pem)
                    .map_err(|e| SignError(format!("{}: not a P-256 PKCS#8 key: {e}", path.display())))?;
                Ok(Self::with_key(key, path))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::create(dir, path),
            Err(e) => Err(SignError(format!("{}: {e}", path.display()))),
        }
    }

    /// Replaces the key of `dir` with a new one (the published JWKS keeps the old one
    /// for the rotation window at the next publish).
    pub fn rotate(dir: &Path) -> Result<Self, SignError> {
        Self::rotate_file(dir, KEY_FILE)
    }

    /// Replaces the key of `dir`/`file` with a new one.
    pub fn rotate_file(dir: &Path, file: &str) -> Result<Self, SignError> {
        Self::create(dir, dir.join(file))
    }

    fn create(dir: &Path, path: PathBuf) -> Result<Self, SignError> {
        let err = |e: &dyn std::fmt::Display| SignError(format!("{}: {e}", path.display()));
        let key = random_key().map_err(|e| err(&e))?;
        let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| err(&e))?;
        std::fs::create_dir_all(dir).map_err(|e| err(&e))?;
        // Written owner-only and renamed into place, so the key is never readable by
        // others and a crash never leaves half a key.
        let temp = tempfile::Builder::new()
            .prefix(".signing-key-")
            .tempfile_in(dir)
            .map_err(|e| err(&e))?;
        std::fs::write(temp.path(), pem.as_bytes()).map_err(|e| err(&e))?;
        temp.as_file().sync_all().map_err(|e| err(&e))?;
        temp.persist(&path).map_err(|e| err(&e.error))?;
        Ok(Self::with_key(key, path))
    }

    /// A signer with a key that lives only in memory (tests, benchmarks).
    pub fn ephemeral() -> Self {
        // The system's random source failing is not something a test can go on from.
        let key = random_key().expect("random source");
        Self::with_key(key, PathBuf::new())
    }

    fn with_key(key: SigningKey, path: PathBuf) -> Self {
        let jwk = Jwk::from_key(&p256::PublicKey::from(key.verifying_key()));
        Self { key, jwk, path }
    }

    /// Its public key.
    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }
}

/// A uniformly random valid scalar (retried in the negligible case it is out of range).
fn random_key() -> Result<SigningKey, String> {
    loop {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| e.to_string())?;
        if let Ok(key) = SigningKey::from_slice(&bytes) {
            return Ok(key);
        }
    }
}

impl Signer for LocalSigner {
    fn public_jwk(&self) -> BoxFuture<'_, Result<Jwk, SignError>> {
        let jwk = self.jwk.clone();
        Box::pin(async move { Ok(jwk) })
    }

    fn sign_digest(&self, digest: [u8; 32]) -> BoxFuture<'_, Result<[u8; 64], SignError>> {
        let signed: Result<p256::ecdsa::Signature, _> = self.key.sign_prehash(&digest);
        Box::pin(async move {
            let signature = signed.map_err(|e| SignError(e.to_string()))?;
            Ok(signature.to_bytes().into())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use directory_domain::signature::*;
    use sha2::Digest;

    async fn sign(signer: &LocalSigner, file: &[u8], iat: i64) -> String {
        let sha = hex::encode(sha2::Sha256::digest(file));
        sign_file(signer, &Subject::file(&sha, None), iat, |mut input| async move {
            input.update(file);
            Ok::<_, std::convert::Infallible>(input)
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn round_trip_and_each_failure_names_its_reason() {
        let signer = LocalSigner::ephemeral();
        let jwks = Jwks::of(signer.jwk().clone());
        let file = br#"[{"OrganisationId":"a"}]"#;
        let jws = sign(&signer, file, 100).await;
        let ok = verify_bytes(file, &jws, &jwks, 200).unwrap();
        assert_eq!(ok.kid, signer.jwk().kid);
        assert_eq!(ok.iat, 100);

        // One byte changed.
        let mut tampered = file.to_vec();
        tampered[3] ^= 1;
        assert!(matches!(
            verify_bytes(&tampered, &jws, &jwks, 200),
            Err(VerifyError::HashMismatch { .. })
        ));

        // An older file's signature next to a newer file.
        let newer = br#"[{"OrganisationId":"b"}]"#;
        let err = verify_bytes(newer, &jws, &jwks, 200).unwrap_err();
        assert!(matches!(&err, VerifyError::HashMismatch { iat: 100, .. }), "{err}");

        // A key the JWKS does not hold.
        let other = LocalSigner::ephemeral();
        let stranger = sign(&other, file, 100).await;
        assert_eq!(
            verify_bytes(file, &stranger, &jwks, 200),
            Err(VerifyError::UnknownKey(other.jwk().kid.clone()))
        );

        // A header claiming another algorithm.
        let (_, rest) = jws.split_once('.').unwrap();
        let hs = B64.encode(br#"{"alg":"HS256","typ":"participants+jws","kid":"k","iat":1,"sha256":"00"}"#);
        assert_eq!(
            verify_bytes(file, &format!("{hs}.{rest}"), &jwks, 200),
            Err(VerifyError::WrongAlg("HS256".into()))
        );
        let none = B64.encode(br#"{"alg":"none"}"#);
        assert_eq!(
            verify_bytes(file, &format!("{none}.{rest}"), &jwks, 200),
            Err(VerifyError::WrongAlg("none".into()))
        );

        // A header changed after signing (here: the time) breaks the signature.
        let mut header = header_of(&jws).unwrap();
        header.iat += 1;
        let forged = format!("{}.{rest}", B64.encode(serde_json::to_vec(&header).unwrap()));
        assert_eq!(
            verify_bytes(file, &forged, &jwks, 200),
            Err(VerifyError::BadSignature(signer.jwk().kid.clone()))
        );

        // After a rotation the old file still verifies, until the window closes.
        let next = LocalSigner::ephemeral();
        let history = KeyHistory::default().with_current(signer.jwk(), 100).unwrap();
        let rotated = history.with_current(next.jwk(), 1_000).unwrap().jwks(1_000);
        assert!(verify_bytes(file, &jws, &rotated, 2_000).is_ok());
        let late = 1_000 + ROTATION_WINDOW_SECS;
        assert!(matches!(
            verify_bytes(file, &jws, &rotated, late),
            Err(VerifyError::RotationWindowExpired { .. })
        ));
        // An attached payload is not this format.
        let attached = jws.replacen("..", ".e30.", 1);
        assert!(matches!(
            verify_bytes(file, &attached, &rotated, 2_000),
            Err(VerifyError::Malformed(_))
        ));
    }

    #[test]
    fn key_file_is_created_once_owner_only_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let first = LocalSigner::open_or_create(dir.path()).unwrap();
        let again = LocalSigner::open_or_create(dir.path()).unwrap();
        assert_eq!(first.jwk(), again.jwk());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the key file is owner-only");
        }
        assert!(!format!("{first:?}").contains("PRIVATE"));
        let rotated = LocalSigner::rotate(dir.path()).unwrap();
        assert_ne!(rotated.jwk().kid, first.jwk().kid);
        assert_eq!(LocalSigner::open_or_create(dir.path()).unwrap().jwk(), rotated.jwk());
    }
}
