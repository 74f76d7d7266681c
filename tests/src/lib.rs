//! Helpers for the integration tests: stores on the real local services, the demo
//! data, and the store contract suite that every adapter must pass.

pub mod calls;
pub mod contract;

use directory_aws::DynamoStore;
use directory_core::store::embedded::EmbeddedStore;
use std::path::PathBuf;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The bundled demo data file.
pub fn demo_bytes() -> Vec<u8> {
    std::fs::read(repo_root().join("data/demo.json")).expect("data/demo.json")
}

/// An embedded store in a fresh temporary directory (kept alive by the guard).
pub fn embedded_store() -> (EmbeddedStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store =
        EmbeddedStore::open(&dir.path().join("directory.redb")).expect("open embedded store");
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
    store
        .create_table()
        .await
        .expect("create table in DynamoDB Local");
    store
}

/// A DynamoDB store whose SDK calls are recorded in the returned log.
pub async fn counting_dynamodb_store() -> (DynamoStore, calls::CallLog) {
    dynamodb_endpoint();
    let config = directory_aws::sdk_config().await;
    let log = calls::CallLog::default();
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&config)
            .interceptor(log.clone())
            .build(),
    );
    let store = DynamoStore::new(client, format!("directory-test-{}", uuid::Uuid::new_v4()));
    store
        .create_table()
        .await
        .expect("create table in DynamoDB Local");
    (store, log)
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
