//! End-to-end on DynamoDB Local: `create-table`, `import` and `serve --store dynamodb`.
#![cfg(feature = "aws")]

mod common;

use common::{Server, cli, get};

#[test]
fn the_cli_runs_against_dynamodb_local() {
    assert!(
        std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok(),
        "AWS_ENDPOINT_URL_DYNAMODB is not set: run the tests with scripts/test.sh"
    );
    let dir = tempfile::tempdir().unwrap();
    let table = format!("directory-e2e-{}", uuid::Uuid::new_v4());
    let store = ["--store", "dynamodb", "--table", table.as_str()];
    let (ok, out, err) = cli(dir.path(), &[&store[..], &["create-table"]].concat());
    assert!(ok, "{err}");
    assert!(out.contains("is ready"));
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/demo.json");
    let (ok, _, err) = cli(dir.path(), &[&store[..], &["import", demo]].concat());
    assert!(ok, "{err}");
    assert!(err.contains("imported 13 organisations"), "{err}");
    let server = Server::start(dir.path(), &store);
    let path = server.printed_url().trim_start_matches(&server.base).to_owned();
    let reply = get(&server.base, &path, &server.printed_token());
    assert_eq!(reply.status, 200);
    assert!(reply.json()["AuthorisationServers"].is_array());
    assert!(server.stop());
    let (ok, _, err) = cli(dir.path(), &["--store", "dynamodb", "import", demo]);
    assert!(!ok && err.contains("TABLE_NAME"), "{err}");

    // --bucket publishes the export to S3 (the emulator).
    let bucket = format!("directory-e2e-{}", uuid::Uuid::new_v4());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let config = directory_aws::sdk_config().await;
        directory_aws::s3_client(&config)
            .create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
    });
    let (ok, out, err) = cli(
        dir.path(),
        &[&store[..], &["--bucket", bucket.as_str(), "export"]].concat(),
    );
    assert!(ok, "{err}");
    assert_eq!(out.trim(), format!("s3://{bucket}/participants"));
    assert!(err.contains("exported 13 organisations"), "{err}");
    let (ok, _, err) = cli(
        dir.path(),
        &[&store[..], &["--bucket", bucket.as_str(), "export"]].concat(),
    );
    assert!(ok && err.contains("unchanged"), "{err}");
    let (ok, _, err) = cli(dir.path(), &["--bucket", bucket.as_str(), "export", "--out", "/tmp/x"]);
    assert!(!ok && err.contains("choose one"), "{err}");
}
