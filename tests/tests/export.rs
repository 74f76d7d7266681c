//! The open-data export on DynamoDB Local and the S3 emulator: exact public content,
//! no private data, determinism, atomic abort, both triggers, the HTTP route.

use directory_usecases::prelude::*;

use directory_aws::S3Target;
use directory_domain::audit::AuditRecord;
use directory_domain::feed::{Current, Entry, Head, Record, Revision};
use directory_domain::ids::{ClaimId, OrganisationId, ResourceId, ServerId};
use directory_domain::model::*;
use directory_http::handlers::open_data_export;
use directory_tests::contract::demo;
use directory_tests::*;
use directory_usecases::export::{self, EXPORT_KEY, ExportError, ObjectTarget};
use directory_usecases::import;
use directory_usecases::ports::{Commit, Document, Pending, Sequenced, StoreError, Versioned};
use directory_usecases::writes::ClaimWrite;
use serde_json::Value;
use sha2::Digest;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

fn strings(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::String(s) => {
            out.insert(s.clone());
        }
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m.iter().for_each(|(k, x)| {
            out.insert(k.clone());
            strings(x, out)
        }),
        _ => {}
    }
}

fn expected_export() -> Vec<ExportOrganisation> {
    let (_, mut orgs) = demo();
    orgs.sort_by(|a, b| a.id().cmp(b.id()));
    orgs.into_iter().map(ExportOrganisation::from).collect()
}

async fn loaded_dynamodb() -> directory_aws::DynamoStore {
    let store = dynamodb_store().await;
    import::import(&store, &demo_bytes(), |_, _| {}).await.unwrap();
    store
}

#[tokio::test]
async fn the_export_is_exactly_the_public_projection_and_leaks_nothing() {
    let store = loaded_dynamodb().await;
    let (client, bucket) = s3_bucket().await;
    let target = S3Target::new(client.clone(), &bucket, directory_tests::signer());
    let report = export::run(&store, &target, &mut |_| {}).await.unwrap();
    let bytes = s3_object(&client, &bucket).await.expect("published");
    assert_eq!(report.bytes, bytes.len() as u64);
    assert_eq!(report.sha256, hex::encode(sha2::Sha256::digest(&bytes)));
    assert_eq!(report.organisations, 13);
    let file: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(file, serde_json::to_value(expected_export()).unwrap());
    // Exactly the documented keys at each level.
    let documented: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("tests/fixtures/api-docs/open-data-export.json")).unwrap(),
    )
    .unwrap();
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<BTreeSet<_>>();
    for org in file.as_array().unwrap() {
        assert!(keys(org).is_subset(&keys(&documented[0])), "{:?}", keys(org));
        for claim in org["OrgDomainRoleClaims"].as_array().unwrap() {
            assert!(keys(claim).is_subset(&keys(&documented[0]["OrgDomainRoleClaims"][0])));
        }
    }
    // No value that exists only in private data appears anywhere in the file.
    let (_, orgs) = demo();
    let mut private = BTreeSet::new();
    let mut public = BTreeSet::new();
    for org in &orgs {
        for c in &org.contacts {
            strings(&serde_json::to_value(c).unwrap(), &mut private);
        }
        strings(&Value::Object(org.software_statements.clone()), &mut private);
        for c in &org.organisation_certificates {
            strings(&serde_json::to_value(c).unwrap(), &mut private);
        }
        for f in org
            .organisation_details
            .flags
            .iter()
            .chain(org.authorisation_servers.iter().flat_map(|s| &s.flags))
        {
            if !f.is_public() {
                strings(&serde_json::to_value(f).unwrap(), &mut private);
            }
        }
        strings(
            &serde_json::to_value(ExportOrganisation::from(org.clone())).unwrap(),
            &mut public,
        );
    }
    // Private values that no public string contains (so finding one is a leak).
    let private_only: Vec<&String> = private
        .difference(&public)
        .filter(|s| s.len() > 3 && !public.iter().any(|p| p.contains(s.as_str())))
        .collect();
    assert!(
        private_only.len() > 100,
        "the check needs private values: {}",
        private_only.len()
    );
    let text = String::from_utf8(bytes).unwrap();
    for value in private_only {
        assert!(
            !text.contains(value.as_str()),
            "private value {value:?} leaked into the export"
        );
    }
    for leaked in [
        "Risk Rating",
        "Tier 3",
        "Internal Routing",
        "PgpPublicKey",
        "SoftwareStatements",
        "Contacts",
        "OrganisationCertificates",
    ] {
        assert!(!text.contains(leaked), "{leaked}");
    }
}

#[tokio::test]
async fn runs_are_deterministic_and_an_unchanged_run_leaves_the_object_alone() {
    let store = loaded_dynamodb().await;
    let (client, bucket) = s3_bucket().await;
    let target = S3Target::new(client.clone(), &bucket, directory_tests::signer());
    let first = export::run(&store, &target, &mut |_| {}).await.unwrap();
    assert!(!first.unchanged);
    let head1 = client
        .head_object()
        .bucket(&bucket)
        .key(EXPORT_KEY)
        .send()
        .await
        .unwrap();
    let bytes1 = s3_object(&client, &bucket).await.unwrap();
    assert_eq!(head1.content_type(), Some("application/json"));
    assert!(head1.cache_control().is_some());
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let second = export::run(&store, &target, &mut |_| {}).await.unwrap();
    assert!(second.unchanged, "same data, same bytes: the upload is aborted");
    assert_eq!(second.sha256, first.sha256);
    let head2 = client
        .head_object()
        .bucket(&bucket)
        .key(EXPORT_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(head1.last_modified(), head2.last_modified(), "Last-Modified untouched");
    assert_eq!(s3_object(&client, &bucket).await.unwrap(), bytes1);
    assert_eq!(
        target.published_sha256().await.unwrap().as_deref(),
        Some(first.sha256.as_str())
    );
    let uploads = client.list_multipart_uploads().bucket(&bucket).send().await.unwrap();
    assert!(uploads.uploads().is_empty(), "no upload left open");
}

/// A store that fails the read of the file's records once `fail_at` have been read,
/// to break an export midway.
struct FailingStore<S> {
    inner: S,
    reads: AtomicUsize,
    fail_at: usize,
}

/// Only what an export needs: the export takes no more than its capabilities.
impl<S: OrganisationReads> OrganisationReads for FailingStore<S> {
    async fn read_organisation(
        &self,
        id: &OrganisationId,
        public_only: bool,
    ) -> Result<Option<OrganisationSnapshot>, StoreError> {
        self.inner.read_organisation(id, public_only).await
    }
    async fn api_resource(
        &self,
        o: &OrganisationId,
        s: &ServerId,
        r: &ResourceId,
    ) -> Result<Option<ApiResource>, StoreError> {
        self.inner.api_resource(o, s, r).await
    }
    async fn authority_claims(&self, o: &OrganisationId) -> Result<Option<Vec<AuthorityClaim>>, StoreError> {
        self.inner.authority_claims(o).await
    }
    async fn organisation_ids(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>, StoreError> {
        self.inner.organisation_ids(after, limit).await
    }
}

impl<S: ChangeFeed> ChangeFeed for FailingStore<S> {
    async fn feed_head(&self) -> Result<Option<Head>, StoreError> {
        self.inner.feed_head().await
    }
    async fn pending(&self, limit: usize) -> Result<Vec<Pending>, StoreError> {
        self.inner.pending(limit).await
    }
    async fn enqueue(&self, p: &[Pending]) -> Result<(), StoreError> {
        self.inner.enqueue(p).await
    }
    async fn public_record(&self, o: &OrganisationId) -> Result<(Option<Record>, u64), StoreError> {
        self.inner.public_record(o).await
    }
    async fn current_records(&self, ids: &[String]) -> Result<Vec<Current>, StoreError> {
        self.inner.current_records(ids).await
    }
    async fn keep_superseded(&self, r: &[Current], now: i64) -> Result<(), StoreError> {
        self.inner.keep_superseded(r, now).await
    }
    async fn commit_sequence(&self, e: Option<&Head>, b: &Sequenced) -> Result<Commit, StoreError> {
        self.inner.commit_sequence(e, b).await
    }
    async fn entries_after(&self, s: Revision, l: usize, now: i64) -> Result<(Vec<Entry>, Option<Head>), StoreError> {
        self.inner.entries_after(s, l, now).await
    }
    async fn current_page(&self, after: Option<&str>, limit: usize) -> Result<Vec<Current>, StoreError> {
        if self.reads.load(Ordering::SeqCst) >= self.fail_at {
            return Err(StoreError::Backend("injected failure".into()));
        }
        let page = self.inner.current_page(after, limit).await?;
        self.reads.fetch_add(page.len(), Ordering::SeqCst);
        Ok(page)
    }
    async fn superseded(&self, o: &str, at: Revision, now: i64) -> Result<Option<Current>, StoreError> {
        self.inner.superseded(o, at, now).await
    }
    fn settle_time(&self) -> std::time::Duration {
        self.inner.settle_time()
    }
    fn feed_retention_days(&self) -> u32 {
        self.inner.feed_retention_days()
    }
}

impl<S: AuditLog> AuditLog for FailingStore<S> {
    fn audit_retention_days(&self) -> u32 {
        self.inner.audit_retention_days()
    }
    async fn put_audit(&self, r: &AuditRecord) -> Result<(), StoreError> {
        self.inner.put_audit(r).await
    }
    async fn audit_records(
        &self,
        o: Option<&OrganisationId>,
        since: Option<&str>,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        self.inner.audit_records(o, since).await
    }
}

impl<S: ExportLease> ExportLease for FailingStore<S> {
    async fn acquire_export_lease(&self, holder: &str, ttl: std::time::Duration) -> Result<Option<u64>, StoreError> {
        self.inner.acquire_export_lease(holder, ttl).await
    }
    async fn holds_export_lease(&self, fence: u64) -> Result<bool, StoreError> {
        self.inner.holds_export_lease(fence).await
    }
    async fn release_export_lease(&self, fence: u64) -> Result<(), StoreError> {
        self.inner.release_export_lease(fence).await
    }
    async fn request_export(&self, at: i64) -> Result<(), StoreError> {
        self.inner.request_export(at).await
    }
    async fn export_requested(&self) -> Result<Option<i64>, StoreError> {
        self.inner.export_requested().await
    }
}

impl<S: Documents> Documents for FailingStore<S> {
    async fn document(&self, d: Document) -> Result<Option<Versioned>, StoreError> {
        self.inner.document(d).await
    }
    async fn put_document(&self, d: Document, body: &str, expected: Option<u64>) -> Result<bool, StoreError> {
        self.inner.put_document(d, body, expected).await
    }
}

#[tokio::test]
async fn a_failure_mid_upload_aborts_and_keeps_the_previous_file() {
    let (store, _dir) = embedded_store();
    for org in generated_organisations(400) {
        store.replace_organisation(&org).await.unwrap();
    }
    let (client, bucket) = s3_bucket().await;
    // Small parts so several are uploaded before the failure (S3 checks the 5 MiB
    // minimum only at completion, which never comes).
    let target = S3Target::new(client.clone(), &bucket, directory_tests::signer()).with_part_bytes(64 * 1024);
    let good = export::run(&store, &target, &mut |_| {}).await;
    assert!(good.is_err(), "parts under 5 MiB cannot complete on S3: {good:?}");
    let big = S3Target::new(client.clone(), &bucket, directory_tests::signer());
    let published = export::run(&store, &big, &mut |_| {}).await.unwrap();
    let before = s3_object(&client, &bucket).await.unwrap();

    let mut changed = generated_organisations(1).remove(0);
    changed.organisation_details.organisation_name = Some("Changed Name".into());
    store.replace_organisation(&changed).await.unwrap();
    let failing = FailingStore {
        inner: store,
        reads: AtomicUsize::new(0),
        fail_at: 250,
    };
    let mut seen = 0usize;
    let err = export::run(&failing, &target, &mut |b| seen += b.len())
        .await
        .unwrap_err();
    assert!(matches!(err, ExportError::Store(_)), "{err}");
    assert!(
        seen > 5 * 64 * 1024,
        "the failure came after several parts ({seen} bytes)"
    );
    assert_eq!(
        s3_object(&client, &bucket).await.unwrap(),
        before,
        "previous file intact"
    );
    assert_eq!(big.published_sha256().await.unwrap(), Some(published.sha256));
    let uploads = client.list_multipart_uploads().bucket(&bucket).send().await.unwrap();
    assert!(uploads.uploads().is_empty(), "failed uploads are aborted");
}

#[tokio::test]
async fn a_large_export_streams_in_several_parts() {
    let (store, _dir) = embedded_store();
    let n = 1500;
    for org in generated_organisations(n) {
        store.replace_organisation(&org).await.unwrap();
    }
    let (client, bucket) = s3_bucket().await;
    let target =
        S3Target::new(client.clone(), &bucket, directory_tests::signer()).with_part_bytes(export::MIN_PART_BYTES);
    let report = export::run(&store, &target, &mut |_| {}).await.unwrap();
    assert_eq!(report.organisations, n);
    assert!(report.parts >= 2, "{report:?}");
    let bytes = s3_object(&client, &bucket).await.unwrap();
    assert_eq!(bytes.len() as u64, report.bytes);
    let parsed: Vec<ExportOrganisation> = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(parsed.len(), n);
    assert!(
        parsed.windows(2).all(|w| w[0].organisation_id < w[1].organisation_id),
        "sorted by OrganisationId"
    );
}

fn export_event(scope: &str, headers: &[(&str, &str)]) -> String {
    let mut h = serde_json::json!({"accept": "application/json", "x-fapi-interaction-id": "export-1"});
    for (k, v) in headers {
        h[*k] = Value::String((*v).to_owned());
    }
    serde_json::json!({
        "version": "2.0",
        "routeKey": "GET /organisations/export/open-data",
        "rawPath": "/organisations/export/open-data",
        "rawQueryString": "",
        "headers": h,
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com", "domainPrefix": "api",
            "http": {"method": "GET", "path": "/organisations/export/open-data", "protocol": "HTTP/1.1", "sourceIp": "203.0.113.1", "userAgent": "t"},
            "requestId": "r", "routeKey": "GET /organisations/export/open-data", "stage": "$default", "time": "", "timeEpoch": 0,
            "authorizer": {"jwt": {"claims": {"sub": "s", "organisation_id": "org", "scope": scope}, "scopes": [scope]}}
        },
        "isBase64Encoded": false
    })
    .to_string()
}

async fn http_export<S: Store, T: ObjectTarget>(
    store: &S,
    target: &T,
    scope: &str,
    headers: &[(&str, &str)],
) -> lambda_http::Response<lambda_http::Body> {
    let req = lambda_http::request::from_str(&export_event(scope, headers)).unwrap();
    open_data_export::handle(store, target, req).await
}

#[tokio::test]
async fn the_schedule_and_the_route_publish_the_same_object_and_the_route_answers_with_it() {
    let store = loaded_dynamodb().await;
    let (client, scheduled_bucket) = s3_bucket().await;
    let (_, http_bucket) = s3_bucket().await;
    let scheduled_target = S3Target::new(client.clone(), &scheduled_bucket, directory_tests::signer());
    let schedule_event = serde_json::json!({"version": "0", "id": "e", "detail-type": "Scheduled Event", "source": "aws.events", "time": "2026-11-28T10:00:00Z", "detail": {}});
    let out = export::scheduled(&store, &scheduled_target, &schedule_event)
        .await
        .unwrap();
    assert_eq!(out["organisations"], 13);
    let http_target = S3Target::new(client.clone(), &http_bucket, directory_tests::signer());
    let resp = http_export(&store, &http_target, "directory:admin", &[]).await;
    assert_eq!(resp.status(), 200);
    let a = s3_object(&client, &scheduled_bucket).await.unwrap();
    let b = s3_object(&client, &http_bucket).await.unwrap();
    assert_eq!(a, b, "both triggers publish the same bytes");
    assert_eq!(resp.body().as_ref(), &a[..], "the route answers with the file");
    let etag = format!("\"{}\"", hex::encode(sha2::Sha256::digest(&a)));
    assert_eq!(resp.headers()["etag"], etag.as_str());
    assert_eq!(resp.headers()["x-fapi-interaction-id"], "export-1");
    assert_eq!(out["sha256"], etag.trim_matches('"'));

    let not_modified = http_export(&store, &http_target, "directory:admin", &[("if-none-match", &etag)]).await;
    assert_eq!(not_modified.status(), 304);
    assert!(not_modified.body().is_empty());

    let gz = http_export(&store, &http_target, "directory:admin", &[("accept-encoding", "gzip")]).await;
    assert_eq!(gz.status(), 200);
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(gz.body().as_ref()), &mut plain).unwrap();
    assert_eq!(plain, a);

    // Auth comes first: a non-admin gets 403 even with a matching If-None-Match.
    for scope in ["directory:read", "directory:write"] {
        let denied = http_export(&store, &http_target, scope, &[("if-none-match", &etag)]).await;
        assert_eq!(denied.status(), 403);
    }
    // Past the response limit: a redirect to a presigned URL of the object.
    let small = S3Target::new(client.clone(), &http_bucket, directory_tests::signer()).with_response_limit(10_000);
    let redirect = http_export(&store, &small, "directory:admin", &[]).await;
    assert_eq!(redirect.status(), 303);
    let location = redirect.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.contains("X-Amz-Signature") && location.contains("X-Amz-Expires=300"),
        "{location}"
    );
    let reply = directory_tests::http::get_url(&location);
    let (status, body) = (reply.status, reply.body);
    assert_eq!(status, 200);
    assert_eq!(body, a);
}

#[tokio::test]
async fn a_claim_change_shows_in_the_next_export() {
    let store = Arc::new(loaded_dynamodb().await);
    let (client, bucket) = s3_bucket().await;
    let target = S3Target::new(client.clone(), &bucket, directory_tests::signer());
    export::run(&*store, &target, &mut |_| {}).await.unwrap();
    let (_, orgs) = demo();
    let org = orgs.iter().find(|o| !o.org_domain_role_claims.is_empty()).unwrap();
    let claim_id = org.org_domain_role_claims[0].organisation_authority_claim_id.clone();
    let write = store
        .update_authority_claim(
            &OrganisationId::from(org.id()),
            &ClaimId::from(&claim_id),
            |_: &_, _: &[AuthorityClaim], c: &AuthorityClaim| {
                let mut c = c.clone();
                c.registration_id = Some("CHANGED-REG".into());
                Ok::<_, String>(c)
            },
        )
        .await
        .unwrap();
    assert!(matches!(write, ClaimWrite::Updated(_)));
    let report = export::run(&*store, &target, &mut |_| {}).await.unwrap();
    assert!(!report.unchanged);
    let text = String::from_utf8(s3_object(&client, &bucket).await.unwrap()).unwrap();
    assert!(text.contains("CHANGED-REG"));
}
