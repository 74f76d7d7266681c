//! Helpers for the integration tests: stores on the real local services, the demo
//! data, and the store contract suite that every adapter must pass.

pub mod calls;
pub mod contract;
pub mod schema;

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
    dynamodb_endpoint();
    let config = directory_aws::sdk_config().await;
    let log = calls::CallLog::default();
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&config)
            .interceptor(log.clone())
            .build(),
    );
    let store = DynamoStore::new(client, format!("directory-test-{}", uuid::Uuid::new_v4()));
    store.create_table().await.expect("create table in DynamoDB Local");
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

/// The S3 emulator endpoint; panics with instructions when it is not set.
pub fn s3_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_S3")
        .unwrap_or_else(|_| panic!("AWS_ENDPOINT_URL_S3 is not set: run the tests with scripts/test.sh"))
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
pub fn generated_organisations(n: usize) -> Vec<directory_core::model::OrganisationSnapshot> {
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

/// A minimal HTTP GET over a plain TCP connection (presigned URLs of the emulator).
pub fn http_get(url: &str) -> (u16, Vec<u8>) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let mut stream = std::net::TcpStream::connect(host).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut body = raw[split + 4..].to_vec();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&data[..eol]).unwrap().trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[eol + 4 + size..];
    }
    out
}
