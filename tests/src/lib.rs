//! Helpers for the integration tests: stores on the real local services, the demo
//! data, and the store contract suite that every adapter must pass.

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
