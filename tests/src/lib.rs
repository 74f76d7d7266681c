//! Helpers for the integration tests: stores on the real local services, the demo
//! data, and the store contract suite that every adapter must pass.

pub mod calls;
pub mod contract;
pub mod http;
pub mod receiver;
pub mod schema;

use directory_aws::DynamoStore;
use directory_embedded::EmbeddedStore;
use std::path::PathBuf;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The bundled demo data file.
pub fn demo_bytes() -> Vec<u8> {
    std::fs::read(repo_root().join("data/demo.json")).expect("data/demo.json")
}

/// The key every test export is signed with (one per test process, so repeated
/// publishes in a test sign with the same key, as a deployment does).
pub fn signer() -> std::sync::Arc<dyn directory_domain::signature::Signer> {
    static KEY: std::sync::OnceLock<std::sync::Arc<directory_embedded::LocalSigner>> = std::sync::OnceLock::new();
    KEY.get_or_init(|| std::sync::Arc::new(directory_embedded::LocalSigner::ephemeral()))
        .clone()
}

/// An embedded store in a fresh temporary directory (kept alive by the guard).
pub fn embedded_store() -> (EmbeddedStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(&dir.path().join("directory.redb")).expect("open embedded store");
    (store, dir)
}

/// The DynamoDB Local endpoint; panics with instructions when it is not set, so a
/// missing service fails the run instead of skipping tests.
pub fn dynamodb_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_else(|_| {
        panic!(
            "AWS_ENDPOINT_URL_DYNAMODB is not set: run the tests with scripts/test.sh, \
             or start the services with scripts/test-services.sh start and source .services/env"
        )
    })
}

/// A DynamoDB store on a fresh, uniquely named table in DynamoDB Local.
pub async fn dynamodb_store() -> DynamoStore {
    dynamodb_endpoint();
    let config = directory_aws::sdk_config().await;
    let store = DynamoStore::new(
        directory_aws::dynamodb_client(&config),
        format!("directory-test-{}", uuid::Uuid::new_v4()),
    );
    store.create_table().await.expect("create table in DynamoDB Local");
    store
}

/// A DynamoDB store whose SDK calls are recorded in the returned log.
pub async fn counting_dynamodb_store() -> (DynamoStore, calls::CallLog) {
    metered_dynamodb_store(None).await
}

/// [`counting_dynamodb_store`] whose client also meters capacity (benchmarks).
pub async fn metered_dynamodb_store(meter: Option<directory_aws::CapacityMeter>) -> (DynamoStore, calls::CallLog) {
    dynamodb_endpoint();
    let config = directory_aws::sdk_config().await;
    let log = calls::CallLog::default();
    let mut builder = aws_sdk_dynamodb::config::Builder::from(&config).interceptor(log.clone());
    if let Some(meter) = meter {
        builder = builder.interceptor(meter);
    }
    let client = aws_sdk_dynamodb::Client::from_conf(builder.build());
    let store = DynamoStore::new(client, format!("directory-test-{}", uuid::Uuid::new_v4()));
    store.create_table().await.expect("create table in DynamoDB Local");
    (store, log)
}

/// A second store on `table` whose `operation` requests stop after `allow` of them
/// (fault injection; see [`calls::StopAfter`]).
pub async fn stopping_dynamodb_store(table: &str, operation: &'static str, allow: usize) -> DynamoStore {
    let config = directory_aws::sdk_config().await;
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&config)
            .interceptor(calls::StopAfter::new(operation, allow))
            .build(),
    );
    DynamoStore::new(client, table)
}

/// One event fixture of `function` by name, as JSON to adapt.
pub fn event_fixture(function: &str, name: &str) -> serde_json::Value {
    let (.., text) = event_fixtures(function)
        .into_iter()
        .find(|(n, ..)| n == name)
        .unwrap_or_else(|| panic!("no fixture {function}/{name}"));
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// Gives a JWT-authorizer event the `scope` claim `scope` as API Gateway hands it
/// over: the claim as given and `jwt.scopes` listing its space-separated tokens.
pub fn set_jwt_scope(event: &mut serde_json::Value, scope: &str) {
    let jwt = &mut event["requestContext"]["authorizer"]["jwt"];
    jwt["claims"]["scope"] = serde_json::json!(scope);
    jwt["scopes"] = serde_json::json!(scope.split(' ').collect::<Vec<_>>());
}

/// Every event fixture of a function: (file stem, expected status, event JSON).
pub fn event_fixtures(function: &str) -> Vec<(String, u16, String)> {
    let dir = repo_root().join("tests/events").join(function);
    let mut out: Vec<(String, u16, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            let status = stem
                .split('-')
                .next()
                .and_then(|s| s.parse().ok())
                .expect("file name starts with the status");
            (stem, status, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    out.sort();
    out
}

/// The S3 emulator endpoint; panics with instructions when it is not set.
pub fn s3_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_S3")
        .unwrap_or_else(|_| panic!("AWS_ENDPOINT_URL_S3 is not set: run the tests with scripts/test.sh"))
}

/// A fresh signing key (`ECC_NIST_P256`, `SIGN_VERIFY`) in the KMS emulator (moto
/// through scripts/moto_server.py, which signs `MessageType=DIGEST` as KMS does).
pub async fn kms_key(client: &aws_sdk_kms::Client) -> String {
    std::env::var("AWS_ENDPOINT_URL_KMS")
        .unwrap_or_else(|_| panic!("AWS_ENDPOINT_URL_KMS is not set: run the tests with scripts/test.sh"));
    let key = client
        .create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::EccNistP256)
        .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
        .send()
        .await
        .expect("create a key in the KMS emulator");
    key.key_metadata().expect("key metadata").key_id().to_owned()
}

/// A fresh bucket in the S3 emulator, and a client for it.
pub async fn s3_bucket() -> (aws_sdk_s3::Client, String) {
    s3_endpoint();
    let config = directory_aws::sdk_config().await;
    let client = directory_aws::s3_client(&config);
    let bucket = format!("directory-test-{}", uuid::Uuid::new_v4());
    client
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket in the S3 emulator");
    (client, bucket)
}

/// The bytes of `participants` in `bucket`, if any.
pub async fn s3_object(client: &aws_sdk_s3::Client, bucket: &str) -> Option<Vec<u8>> {
    let out = client
        .get_object()
        .bucket(bucket)
        .key("participants")
        .send()
        .await
        .ok()?;
    Some(out.body.collect().await.expect("object body").into_bytes().to_vec())
}

/// `n` valid organisations made from the demo ones with new ids.
pub fn generated_organisations(n: usize) -> Vec<directory_domain::model::OrganisationSnapshot> {
    let (_, demo) = contract::demo();
    (0..n)
        .map(|i| {
            let mut org = demo[i % demo.len()].clone();
            let id = format!("gen-{i:07}");
            org.organisation_details.organisation_id = id.clone();
            org.contacts
                .iter_mut()
                .for_each(|c| c.organisation_id = Some(id.clone()));
            org.authorisation_servers
                .iter_mut()
                .for_each(|s| s.fields.organisation_id = Some(id.clone()));
            org.org_domain_role_claims
                .iter_mut()
                .for_each(|c| c.organisation_id = Some(id.clone()));
            org.organisation_certificates
                .iter_mut()
                .for_each(|c| c.organisation_id = Some(id.clone()));
            for statement in org.software_statements.values_mut() {
                if let Some(d) = statement.get_mut("SoftwareDetails") {
                    d["OrganisationId"] = serde_json::Value::String(id.clone());
                }
            }
            org
        })
        .collect()
}

/// Runs each named `async fn(store)` of the calling file (its own or imported) as a
/// test on both stores: a fresh embedded store and a fresh DynamoDB Local table.
#[macro_export]
macro_rules! both_stores {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (store, _dir) = $crate::embedded_store();
                    super::$name(store).await;
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::dynamodb_store().await).await;
                }
            )*
        }
    };
}

/// A claim decision that sets the claim's status and keeps the rest (a write whose
/// public effect tests and benchmarks can predict).
pub fn set_status(
    status: directory_domain::model::ResourceStatus,
) -> impl Fn(
    &directory_domain::model::ReferenceData,
    &[directory_domain::model::AuthorityClaim],
    &directory_domain::model::AuthorityClaim,
) -> Result<directory_domain::model::AuthorityClaim, String>
+ Send
+ Sync
+ 'static {
    move |_, _, c| Ok(directory_domain::model::AuthorityClaim { status, ..c.clone() })
}

/// The other of Active and Inactive (anything else becomes Active).
pub fn flipped(status: directory_domain::model::ResourceStatus) -> directory_domain::model::ResourceStatus {
    use directory_domain::model::ResourceStatus;
    if status == ResourceStatus::Active {
        ResourceStatus::Inactive
    } else {
        ResourceStatus::Active
    }
}

/// Fetches nothing: fixture tests register keys (a fetch would leave the process).
pub struct NoFetch;

impl directory_usecases::federation::EntityFetch for NoFetch {
    fn get<'a>(&'a self, url: &'a str) -> directory_domain::signature::BoxFuture<'a, Result<String, String>> {
        Box::pin(async move { Err(format!("{url}: no network in the fixture tests")) })
    }
}

/// Gives the process's `Services` a federation key (ephemeral) and [`NoFetch`], as the
/// local server gives its own, so the Trust Anchor's routes answer through `dispatch`.
pub fn install_federation_kit() {
    let _ = directory_http::handlers::FEDERATION_KIT.set(directory_http::handlers::FederationKit {
        signer: std::sync::Arc::new(directory_embedded::LocalSigner::ephemeral()),
        fetch: std::sync::Arc::new(NoFetch),
    });
}
