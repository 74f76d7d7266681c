//! Publishing integrity of the open-data export: runs from every trigger are
//! serialised by the export lease, so a run that read older data can never publish
//! over a newer one, and the published hash always describes the published bytes.
//! Interleavings are forced with a gate at the publish step, on both stacks
//! (embedded + local directory, DynamoDB Local + the S3 emulator).

use directory_usecases::prelude::*;

use directory_aws::S3Target;
use directory_domain::ids::{ClaimId, OrganisationId};
use directory_domain::model::ResourceStatus;
use directory_embedded::LocalDirTarget;
use directory_tests::{demo_bytes, dynamodb_store, embedded_store, s3_bucket, s3_object};
use directory_usecases::export::{self, ExportError, ObjectTarget, Upload};
use directory_usecases::import;
use directory_usecases::ports::Store;
use sha2::Digest;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};

const VALE_VERDE: &str = "34e0b251-3677-5c59-8bc9-dc3a3e92a907";
const VALE_VERDE_CLAIM: &str = "b55bd9a3-5b75-5205-b106-a82e8d437350";

/// Where the first upload of a [`Gated`] target stops.
#[derive(Clone, Copy, Debug)]
enum Stop {
    /// Before sending part `n` (1-based).
    BeforePart(usize),
    /// Before publishing.
    BeforeComplete,
    /// Fails sending part `n`, as if the process died there (no gate).
    FailPart(usize),
}

/// A target whose first upload stops at `stop` until the test opens the gate (and
/// says when it got there); `part_bytes` small so an export has several parts.
#[derive(Clone)]
struct Gated<T> {
    inner: T,
    stop: Stop,
    part_bytes: usize,
    begun: Arc<AtomicUsize>,
    gate: Arc<Semaphore>,
    reached: Arc<Notify>,
}

impl<T: ObjectTarget> Gated<T> {
    fn with_part_bytes(mut self, bytes: usize) -> Self {
        self.part_bytes = bytes;
        self
    }

    fn new(inner: T, stop: Stop) -> Self {
        Self {
            part_bytes: inner.part_bytes(),
            inner,
            stop,
            begun: Arc::default(),
            gate: Arc::new(Semaphore::new(0)),
            reached: Arc::new(Notify::new()),
        }
    }
}

struct GatedUpload<U> {
    inner: U,
    stop: Option<(Stop, Arc<Semaphore>, Arc<Notify>)>,
    parts: usize,
}

impl<U> GatedUpload<U> {
    async fn wait_if(&mut self, here: impl Fn(Stop) -> bool) {
        if let Some((stop, gate, reached)) = &self.stop
            && here(*stop)
        {
            reached.notify_one();
            gate.acquire().await.unwrap().forget();
            self.stop = None;
        }
    }
}

impl<U: Upload> Upload for GatedUpload<U> {
    async fn put_part(&mut self, part: Vec<u8>) -> Result<(), ExportError> {
        self.parts += 1;
        let n = self.parts;
        if matches!(&self.stop, Some((Stop::FailPart(k), ..)) if *k == n) {
            return Err(ExportError::Target(format!("injected: stopped at part {n}")));
        }
        self.wait_if(|stop| matches!(stop, Stop::BeforePart(k) if k == n)).await;
        self.inner.put_part(part).await
    }
    async fn complete(mut self, published: &export::Published) -> Result<(), ExportError> {
        self.wait_if(|stop| matches!(stop, Stop::BeforeComplete)).await;
        self.inner.complete(published).await
    }
    async fn abort(self) -> Result<(), ExportError> {
        self.inner.abort().await
    }
}

impl<T: ObjectTarget> ObjectTarget for Gated<T> {
    type Upload = GatedUpload<T::Upload>;
    async fn begin(&self) -> Result<Self::Upload, ExportError> {
        let first = self.begun.fetch_add(1, Ordering::SeqCst) == 0;
        Ok(GatedUpload {
            inner: self.inner.begin().await?,
            stop: first.then(|| (self.stop, self.gate.clone(), self.reached.clone())),
            parts: 0,
        })
    }
    fn part_bytes(&self) -> usize {
        self.part_bytes
    }
    async fn published(&self) -> Result<Option<export::Published>, ExportError> {
        self.inner.published().await
    }
    async fn presigned_url(&self) -> Result<Option<String>, ExportError> {
        self.inner.presigned_url().await
    }
    fn response_limit(&self) -> Option<usize> {
        self.inner.response_limit()
    }
    fn location(&self) -> String {
        self.inner.location()
    }
    fn signer(&self) -> &dyn directory_domain::signature::Signer {
        self.inner.signer()
    }
    async fn read_published(&self, sink: &mut (dyn FnMut(&[u8]) + Send)) -> Result<(), ExportError> {
        self.inner.read_published(sink).await
    }
    async fn put_beside(
        &self,
        name: &'static str,
        bytes: Vec<u8>,
        content_type: &'static str,
    ) -> Result<(), ExportError> {
        self.inner.put_beside(name, bytes, content_type).await
    }
    async fn get_beside(&self, name: &'static str) -> Result<Option<Vec<u8>>, ExportError> {
        self.inner.get_beside(name).await
    }
}

async fn deactivate<S: Store>(store: &S) {
    store
        .update_authority_claim(
            &OrganisationId::from(VALE_VERDE),
            &ClaimId::from(VALE_VERDE_CLAIM),
            |_, _, c| -> Result<_, String> {
                let mut c = c.clone();
                c.status = if c.is_active() {
                    ResourceStatus::Inactive
                } else {
                    ResourceStatus::Active
                };
                Ok(c)
            },
        )
        .await
        .unwrap();
}

/// Run A stops at `stop` (between two parts, or before publishing); a claim
/// changes; run B starts. B must wait for A's lease, read after the change and
/// publish last: the file reflects the change (without the lease, B reads alongside
/// A and A can publish its stale read over B's).
async fn exports_cannot_overtake_each_other<S, T>(
    store: &S,
    target: T,
    stop: Stop,
    part_bytes: usize,
    published: &impl AsyncFn() -> Vec<u8>,
) where
    S: Store + Clone,
    T: ObjectTarget + Clone + 'static,
{
    // A change before A reads, so A has something new to publish too.
    deactivate(store).await;
    let gated = Gated::new(target.clone(), stop).with_part_bytes(part_bytes);
    let a = tokio::spawn({
        let (store, gated) = (store.clone(), gated.clone());
        async move { export::run(&store, &gated, &mut |_| {}).await }
    });
    gated.reached.notified().await;
    deactivate(store).await;
    let b = tokio::spawn({
        let (store, gated) = (store.clone(), gated.clone());
        async move { export::run(&store, &gated, &mut |_| {}).await }
    });
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        !b.is_finished(),
        "B waits for A's lease instead of reading alongside it"
    );
    gated.gate.add_permits(1);
    let (a, b) = (a.await.unwrap().unwrap(), b.await.unwrap().unwrap());
    assert!(!a.unchanged && !b.unchanged);
    assert_ne!(a.sha256, b.sha256, "B read the change");

    let bytes = published().await;
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&bytes)),
        b.sha256,
        "the latest read is published"
    );
    assert_eq!(
        target.published_sha256().await.unwrap().as_deref(),
        Some(b.sha256.as_str()),
        "the recorded hash describes the published bytes"
    );
    // And the next run sees no change against the current object.
    let c = export::run(store, &target, &mut |_| {}).await.unwrap();
    assert!(c.unchanged);
}

/// [`exports_cannot_overtake_each_other`] stopping A before each of its parts (of
/// `part_bytes`) and before publishing; returns how many interleavings were tried.
async fn every_interleaving<S, T>(store: S, target: T, part_bytes: usize, published: impl AsyncFn() -> Vec<u8>) -> usize
where
    S: Store + Clone,
    T: ObjectTarget + Clone + 'static,
{
    import::import(&store, &demo_bytes(), |_, _| {}).await.unwrap();
    // How many parts an export has, from a run into a scratch directory.
    let scratch = tempfile::tempdir().unwrap();
    let counting = Gated::new(
        LocalDirTarget::new(scratch.path(), directory_tests::signer()),
        Stop::BeforePart(usize::MAX),
    )
    .with_part_bytes(part_bytes);
    let parts = export::run(&store, &counting, &mut |_| {}).await.unwrap().parts;
    let mut stops: Vec<Stop> = (1..=parts).map(Stop::BeforePart).collect();
    stops.push(Stop::BeforeComplete);
    for stop in &stops {
        exports_cannot_overtake_each_other(&store, target.clone(), *stop, part_bytes, &published).await;
    }
    stops.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_exports_cannot_overtake_each_other() {
    let (store, _dir) = embedded_store();
    let out = tempfile::tempdir().unwrap();
    let target = LocalDirTarget::new(out.path(), directory_tests::signer());
    let path = target.path();
    // Small parts: the demo export is about 80 KiB, so several stop points.
    let tried = every_interleaving(store, target, 16 * 1024, async || std::fs::read(&path).unwrap()).await;
    assert!(tried >= 5, "{tried}");
    println!("embedded: {tried} interleavings of two exports with a change between their reads");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_exports_cannot_overtake_each_other() {
    let store = dynamodb_store().await;
    let (client, bucket) = s3_bucket().await;
    let target = S3Target::new(client.clone(), &bucket, directory_tests::signer());
    // S3 parts are at least 5 MiB: the demo export is one part.
    let part_bytes = target.part_bytes();
    let tried = every_interleaving(store, target, part_bytes, async || {
        s3_object(&client, &bucket).await.unwrap()
    })
    .await;
    println!("S3: {tried} interleavings of two exports with a change between their reads");
    let tags = client
        .get_object_tagging()
        .bucket(&bucket)
        .key(export::EXPORT_KEY)
        .send()
        .await
        .unwrap();
    let tag = |k: &str| {
        tags.tag_set()
            .iter()
            .find(|t| t.key() == k)
            .map(|t| t.value().to_owned())
    };
    assert_eq!(tag("organisations").as_deref(), Some("13"));
    assert!(
        tag("read-started").is_some_and(|t| t.ends_with('Z') && t.len() == 27),
        "{tags:?}"
    );
    let uploads = client.list_multipart_uploads().bucket(&bucket).send().await.unwrap();
    assert!(uploads.uploads().is_empty(), "no upload left open");
}

/// A run waits for a held lease at most [`export::LEASE_WAIT`], then fails clearly
/// (the HTTP route answers 429 with Retry-After); nothing is published by it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_cannot_get_the_lease_fails_clearly() {
    let (store, _dir) = embedded_store();
    import::import(&store, &demo_bytes(), |_, _| {}).await.unwrap();
    let fence = store
        .acquire_export_lease("someone-else", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    let target = LocalDirTarget::new(out.path(), directory_tests::signer());
    let started = std::time::Instant::now();
    let err = export::run(&store, &target, &mut |_| {}).await.unwrap_err();
    assert!(matches!(err, ExportError::Busy), "{err}");
    assert!(started.elapsed() >= export::LEASE_WAIT);
    assert!(!target.path().exists(), "nothing published");
    let api: directory_http::error::ApiError = err.into();
    assert_eq!(api.status(), 429);
    // Given back, the lease is free for the next run.
    store.release_export_lease(fence).await.unwrap();
    export::run(&store, &target, &mut |_| {}).await.unwrap();
    assert!(target.path().exists());
}

/// An export that stops at any of its parts leaves the published file as it was and
/// no upload open; the next run publishes.
async fn a_run_stopped_at_any_part_publishes_nothing<S, T>(
    store: S,
    target: T,
    part_bytes: usize,
    published: impl AsyncFn() -> Vec<u8>,
) -> usize
where
    S: Store + Clone,
    T: ObjectTarget + Clone + 'static,
{
    import::import(&store, &demo_bytes(), |_, _| {}).await.unwrap();
    export::run(&store, &target, &mut |_| {}).await.unwrap();
    let before = published().await;
    deactivate(&store).await;
    let mut k = 1;
    loop {
        let failing = Gated::new(target.clone(), Stop::FailPart(k)).with_part_bytes(part_bytes);
        match export::run(&store, &failing, &mut |_| {}).await {
            Err(ExportError::Target(e)) => assert!(e.contains("injected"), "{e}"),
            Ok(report) => {
                // Past the last part: this run published the change.
                assert_ne!(published().await, before);
                assert_eq!(report.parts, k - 1);
                return k - 1;
            }
            Err(other) => panic!("{other}"),
        }
        assert_eq!(
            published().await,
            before,
            "stopped at part {k}: the previous file stays"
        );
        k += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_exports_stopped_at_any_part_publish_nothing() {
    let (store, _dir) = embedded_store();
    let out = tempfile::tempdir().unwrap();
    let target = LocalDirTarget::new(out.path(), directory_tests::signer());
    let path = target.path();
    let parts =
        a_run_stopped_at_any_part_publishes_nothing(store, target, 16 * 1024, async || std::fs::read(&path).unwrap())
            .await;
    assert!(parts >= 4, "{parts}");
    let mut leftovers: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    leftovers.sort();
    let mut published: Vec<String> = [
        "participants",
        "participants.jwks",
        "participants.jws",
        "participants.sha256",
        // What was published (sha256, organisations, revision): the route's answer.
        ".participants.published.json",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain(directory_usecases::explorer::ASSETS.iter().map(|a| a.name.to_owned()))
    .collect();
    published.sort();
    assert_eq!(
        leftovers, published,
        "only the file, its hash, signature, keys and record and the explorer page: no temporary file is left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_exports_stopped_at_any_part_publish_nothing() {
    let store = dynamodb_store().await;
    let (client, bucket) = s3_bucket().await;
    // Parts under S3's 5 MiB are accepted until completion; the last run, whose
    // parts are whole, completes.
    let target = S3Target::new(client.clone(), &bucket, directory_tests::signer());
    let part_bytes = target.part_bytes();
    a_run_stopped_at_any_part_publishes_nothing(store, target, part_bytes, async || {
        s3_object(&client, &bucket).await.unwrap()
    })
    .await;
    let uploads = client.list_multipart_uploads().bucket(&bucket).send().await.unwrap();
    assert!(uploads.uploads().is_empty(), "no upload left open");
}
