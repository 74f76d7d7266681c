//! The participants file's signature on both targets and both signers: the S3 target
//! with the KMS signer (moto's KMS, DIGEST signing as KMS does it), the local directory
//! with the key-file signer; one signer contract run on each; the HTTP route's header;
//! and what a failing signer leaves behind.

use directory_usecases::prelude::*;

use directory_aws::{KmsSigner, S3Target};
use directory_domain::routes;
use directory_domain::signature::{self, BoxFuture, Jwk, Jwks, SignError, Signer, VerifyError};
use directory_embedded::LocalDirTarget;
use directory_embedded::LocalSigner;
use directory_http::handlers::{Services, dispatch};
use directory_tests::*;
use directory_usecases::export::{self, ObjectTarget};
use directory_usecases::import;
use sha2::Digest;
use std::sync::Arc;

async fn kms_signer() -> KmsSigner {
    let config = directory_aws::sdk_config().await;
    let client = aws_sdk_kms::Client::new(&config);
    let key = kms_key(&client).await;
    KmsSigner::new(client, key)
}

async fn s3_text(client: &aws_sdk_s3::Client, bucket: &str, key: &str) -> (String, Option<String>) {
    let out = client.get_object().bucket(bucket).key(key).send().await.unwrap();
    let content_type = out.content_type().map(str::to_owned);
    let bytes = out.body.collect().await.unwrap().into_bytes();
    (String::from_utf8(bytes.to_vec()).unwrap(), content_type)
}

/// What every signer must do: a JWK whose `kid` is its thumbprint, and signatures of
/// digests that the JWK verifies (and that do not verify another digest).
async fn signer_contract(signer: &dyn Signer) {
    let jwk = signer.public_jwk().await.unwrap();
    let key = jwk.verifying_key().expect("a P-256 JWK");
    assert_eq!(
        Jwk::from_key(&p256::PublicKey::from(&key)),
        Jwk {
            exp: None,
            ..jwk.clone()
        }
    );
    let file = b"[{\"OrganisationId\":\"contract\"}]";
    let sha = hex::encode(sha2::Sha256::digest(file));
    let jws = signature::sign_file(
        signer,
        &signature::Subject::file(&sha, None),
        1_700_000_000,
        |mut input| async move {
            input.update(file);
            Ok::<_, String>(input)
        },
    )
    .await
    .unwrap();
    let jwks = Jwks::of(jwk.clone());
    let ok = signature::verify_bytes(file, &jws, &jwks, 1_700_000_100).unwrap();
    assert_eq!((ok.kid, ok.iat, ok.sha256), (jwk.kid.clone(), 1_700_000_000, sha));
    let mut other = file.to_vec();
    other[3] = b'X';
    assert!(matches!(
        signature::verify_bytes(&other, &jws, &jwks, 1_700_000_100),
        Err(VerifyError::HashMismatch { .. })
    ));
}

#[tokio::test]
async fn the_local_and_the_kms_signer_keep_the_same_contract() {
    signer_contract(&LocalSigner::ephemeral()).await;
    let kms = kms_signer().await;
    signer_contract(&kms).await;
    // The public key is asked for once.
    assert_eq!(kms.public_jwk().await.unwrap(), kms.public_jwk().await.unwrap());
}

#[tokio::test]
async fn a_kms_key_that_is_not_p256_is_refused() {
    let config = directory_aws::sdk_config().await;
    let client = aws_sdk_kms::Client::new(&config);
    let rsa = client
        .create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::Rsa2048)
        .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap();
    let signer = KmsSigner::new(client, rsa.key_metadata().unwrap().key_id());
    let err = signer.public_jwk().await.unwrap_err();
    assert!(err.to_string().contains("is not an ECC_NIST_P256 key"), "{err}");
}

#[tokio::test]
async fn s3_publishes_file_signature_and_keys_signed_by_kms() {
    let store = dynamodb_store().await;
    import::import(&store, &demo_bytes(), |_, _| {}).await.unwrap();
    let (client, bucket) = s3_bucket().await;
    let signer = Arc::new(kms_signer().await);
    let target = S3Target::new(client.clone(), &bucket, signer.clone());
    let report = export::run(&store, &target, &mut |_| {}).await.unwrap();
    assert!(report.signed);
    let file = s3_object(&client, &bucket).await.unwrap();
    let (jws, jws_type) = s3_text(&client, &bucket, signature::SIGNATURE_KEY).await;
    let (jwks, jwks_type) = s3_text(&client, &bucket, signature::JWKS_KEY).await;
    assert_eq!(jws, report.signature);
    assert_eq!(jws_type.as_deref(), Some("application/jose"));
    assert_eq!(jwks_type.as_deref(), Some("application/jwk-set+json"));
    let jwks: Jwks = serde_json::from_str(&jwks).unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let verified = signature::verify_bytes(&file, &jws, &jwks, now).unwrap();
    assert_eq!(verified.kid, signer.public_jwk().await.unwrap().kid);
    assert_eq!(verified.sha256, report.sha256);

    // Unchanged: nothing signed, nothing written.
    let again = export::run(&store, &target, &mut |_| {}).await.unwrap();
    assert!(again.unchanged && !again.signed);
    assert_eq!(again.signature, jws);

    // A new key (a rotation by deploying another KMS key) with changed data: the new
    // file is signed by the new key and the old key stays in the set.
    let rotated_signer = Arc::new(kms_signer().await);
    let rotated = S3Target::new(client.clone(), &bucket, rotated_signer.clone());
    let (_, orgs) = directory_tests::contract::demo();
    let mut changed = orgs[0].clone();
    changed.organisation_details.organisation_name = Some("Renamed for the rotation test".to_owned());
    store.replace_organisation(&changed).await.unwrap();
    let third = export::run(&store, &rotated, &mut |_| {}).await.unwrap();
    assert!(!third.unchanged && third.signed);
    let (new_jwks, _) = s3_text(&client, &bucket, signature::JWKS_KEY).await;
    let new_jwks: Jwks = serde_json::from_str(&new_jwks).unwrap();
    let kids: Vec<_> = new_jwks.keys.iter().map(|k| k.kid.clone()).collect();
    assert_eq!(
        kids,
        [rotated_signer.public_jwk().await.unwrap().kid, verified.kid.clone()]
    );
    let new_file = s3_object(&client, &bucket).await.unwrap();
    assert!(signature::verify_bytes(&new_file, &third.signature, &new_jwks, now).is_ok());
    // The old file with the old signature still verifies; the old signature next to
    // the new file does not.
    assert!(signature::verify_bytes(&file, &jws, &new_jwks, now).is_ok());
    assert!(matches!(
        signature::verify_bytes(&new_file, &jws, &new_jwks, now),
        Err(VerifyError::HashMismatch { .. })
    ));
}

/// A signer whose every signature is refused (a KMS outage, a revoked grant).
struct BrokenSigner(LocalSigner);

impl Signer for BrokenSigner {
    fn public_jwk(&self) -> BoxFuture<'_, Result<Jwk, SignError>> {
        self.0.public_jwk()
    }
    fn sign_digest(&self, _: [u8; 32]) -> BoxFuture<'_, Result<[u8; 64], SignError>> {
        Box::pin(async { Err(SignError("injected: AccessDeniedException".into())) })
    }
}

/// A signer that returns a signature of another digest (a misconfigured key).
struct WrongDigestSigner(LocalSigner);

impl Signer for WrongDigestSigner {
    fn public_jwk(&self) -> BoxFuture<'_, Result<Jwk, SignError>> {
        self.0.public_jwk()
    }
    fn sign_digest(&self, digest: [u8; 32]) -> BoxFuture<'_, Result<[u8; 64], SignError>> {
        let mut other = digest;
        other[0] ^= 1;
        self.0.sign_digest(other)
    }
}

#[tokio::test]
async fn a_file_that_could_not_be_signed_is_signed_by_the_next_run() {
    let (store, _guard) = embedded_store();
    import::import(&store, &demo_bytes(), |_, _| {}).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    for broken in [
        Arc::new(BrokenSigner(LocalSigner::ephemeral())) as Arc<dyn Signer>,
        Arc::new(WrongDigestSigner(LocalSigner::ephemeral())),
    ] {
        let target = LocalDirTarget::new(out.path(), broken);
        let err = export::run(&store, &target, &mut |_| {}).await.unwrap_err();
        assert!(matches!(err, export::ExportError::Sign(_)), "{err}");
        assert!(
            !out.path().join(signature::SIGNATURE_KEY).exists(),
            "no signature is published that does not verify"
        );
    }
    // The file itself was published (and audited); the next run with a working key
    // signs it although the bytes are unchanged.
    assert!(out.path().join("participants").exists());
    let target = LocalDirTarget::new(out.path(), signer());
    let report = export::run(&store, &target, &mut |_| {}).await.unwrap();
    assert!(report.unchanged && report.signed);
    let file = std::fs::read(out.path().join("participants")).unwrap();
    let jwks: Jwks = serde_json::from_slice(&std::fs::read(out.path().join(signature::JWKS_KEY)).unwrap()).unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    signature::verify_bytes(&file, &report.signature, &jwks, now).unwrap();
}

#[tokio::test]
async fn the_route_sends_the_signature_of_the_bytes_it_answers_with() {
    let (store, _guard) = embedded_store();
    import::import(&store, &demo_bytes(), |_, _| {}).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    let services = Services {
        store,
        exports: LocalDirTarget::new(out.path(), signer()),
    };
    let event = std::fs::read_to_string(repo_root().join("tests/events/get-open-data-export/200-admin.json")).unwrap();
    let route = routes::OPEN_DATA_EXPORT;
    let response = dispatch(&route, &services, lambda_http::request::from_str(&event).unwrap()).await;
    assert_eq!(response.status(), 200);
    let header = response.headers()["x-jws-signature"].to_str().unwrap().to_owned();
    let body = response.body().as_ref().to_vec();
    let jwks = export::participants_jwks(&services.store, &services.exports)
        .await
        .unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let verified = signature::verify_bytes(&body, &header, &jwks, now).unwrap();
    assert_eq!(verified.kid, services.exports.signer().public_jwk().await.unwrap().kid);
}
