//! The participants file's signer in AWS: an asymmetric KMS key (`ECC_NIST_P256`,
//! `SIGN_VERIFY`). The private key never leaves KMS; the functions may only call
//! `kms:Sign` and `kms:GetPublicKey` on it (template.yaml).
//!
//! The file can be far larger than KMS's 4 KiB message limit, so KMS is given the
//! SHA-256 of the JWS signing input (`MessageType=DIGEST`).

use aws_sdk_kms::Client;
use aws_sdk_kms::error::DisplayErrorContext;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{MessageType, SigningAlgorithmSpec};
use directory_domain::signature::{BoxFuture, Jwk, SignError, Signer};
use p256::pkcs8::DecodePublicKey;
use tokio::sync::OnceCell;

fn kms_error<E: std::error::Error + 'static>(e: E) -> SignError {
    SignError(format!("KMS: {}", DisplayErrorContext(e)))
}

/// Signs with KMS key `key_id` (id, ARN or alias).
#[derive(Debug)]
pub struct KmsSigner {
    client: Client,
    key_id: String,
    /// The public key, asked for once per execution environment.
    jwk: OnceCell<Jwk>,
}

impl KmsSigner {
    /// A signer with `key_id`.
    pub fn new(client: Client, key_id: impl Into<String>) -> Self {
        Self {
            client,
            key_id: key_id.into(),
            jwk: OnceCell::new(),
        }
    }

    async fn fetch_jwk(&self) -> Result<Jwk, SignError> {
        let out = self
            .client
            .get_public_key()
            .key_id(&self.key_id)
            .send()
            .await
            .map_err(kms_error)?;
        let der = out
            .public_key()
            .ok_or_else(|| SignError("KMS returned no public key".into()))?;
        // The key's DER names its curve: anything but P-256 is refused here.
        let key = p256::PublicKey::from_public_key_der(der.as_ref())
            .map_err(|e| SignError(format!("KMS key {} is not an ECC_NIST_P256 key: {e}", self.key_id)))?;
        if !out.signing_algorithms().contains(&SigningAlgorithmSpec::EcdsaSha256) {
            return Err(SignError(format!(
                "KMS key {} cannot sign with ECDSA_SHA_256",
                self.key_id
            )));
        }
        Ok(Jwk::from_key(&key))
    }
}

impl Signer for KmsSigner {
    fn public_jwk(&self) -> BoxFuture<'_, Result<Jwk, SignError>> {
        Box::pin(async move { self.jwk.get_or_try_init(|| self.fetch_jwk()).await.cloned() })
    }

    fn sign_digest(&self, digest: [u8; 32]) -> BoxFuture<'_, Result<[u8; 64], SignError>> {
        Box::pin(async move {
            let out = self
                .client
                .sign()
                .key_id(&self.key_id)
                .message(Blob::new(digest.to_vec()))
                .message_type(MessageType::Digest)
                .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
                .send()
                .await
                .map_err(kms_error)?;
            let der = out
                .signature()
                .ok_or_else(|| SignError("KMS returned no signature".into()))?;
            // KMS answers ASN.1 DER; JWS wants the fixed-size r ‖ s.
            let signature =
                p256::ecdsa::Signature::from_der(der.as_ref()).map_err(|e| SignError(format!("KMS signature: {e}")))?;
            Ok(signature.to_bytes().into())
        })
    }
}
