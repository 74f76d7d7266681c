//! Publishing integrity of the open-data export: runs from every trigger are
//! serialised by the export lease, so a run that read older data can never publish
//! over a newer one, and the published hash always describes the published bytes.
//! Interleavings are forced with a gate at the publish step, on both stacks
//! (embedded + local directory, DynamoDB Local + the S3 emulator).

use directory_aws::S3Target;
use directory_core::export::local::LocalDirTarget;
use directory_core::export::{self, ExportError, ObjectTarget, Upload};
use directory_core::ids::{ClaimId, OrganisationId};
use directory_core::import;
use directory_core::model::ResourceStatus;
use directory_core::store::Store;
use directory_tests::{demo_bytes, dynamodb_store, embedded_store, s3_bucket, s3_object};
use sha2::Digest;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};

const VALE_VERDE: &str = "34e0b251-3677-5c59-8bc9-dc3a3e92a907";
const VALE_VERDE_CLAIM: &str = "b55bd9a3-5b75-5205-b106-a82e8d437350";

/// A target whose first upload stops right before publishing until the test opens
/// the gate (and says when it got there).
#[derive(Clone)]
struct Gated<T> {
    inner: T,
    begun: Arc<AtomicUsize>,
    gate: Arc<Semaphore>,
    reached: Arc<Notify>,
}

impl<T> Gated<T> {
    fn new(inner: T) -> Self {
        Self {
            inner,
            begun: Arc::default(),
            gate: Arc::new(Semaphore::new(0)),
            reached: Arc::new(Notify::new()),
        }
    }
}

struct GatedUpload<U> {
    inner: U,
    gated: Option<(Arc<Semaphore>, Arc<Notify>)>,
}

impl<U: Upload> Upload for GatedUpload<U> {
    async fn put_part(&mut self, part: Vec<u8>) -> Result<(), ExportError> {
        self.inner.put_part(part).await
    }
    async fn complete(self, sha256: &str) -> Result<(), ExportError> {
        if let Some((gate, reached)) = &self.gated {
            reached.notify_one();
            gate.acquire().await.unwrap().forget();
        }
        self.inner.complete(sha256).await
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
            gated: first.then(|| (self.gate.clone(), self.reached.clone())),
        })
    }
    async fn published_sha256(&self) -> Result<Option<String>, ExportError> {
        self.inner.published_sha256().await
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
}

async fn deactivate<S: Store>(store: &S) {
    store
        .update_authority_claim(
            &OrganisationId::from(VALE_VERDE),
            &ClaimId::from(VALE_VERDE_CLAIM),
            |_, c| -> Result<_, String> {
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

/// Run A reads, then stops before publishing; a claim changes; run B starts. B must
/// wait for A's lease, read after the change and publish last: the file reflects the
/// change (today's code without the lease lets A publish its stale read over B's).
async fn exports_cannot_overtake_each_other<S, T>(store: S, target: T, published: impl AsyncFn() -> Vec<u8>)
where
    S: Store + Clone,
    T: ObjectTarget + Clone + 'static,
{
    import::import(&store, &demo_bytes(), |_, _| {}).await.unwrap();
    let gated = Gated::new(target.clone());
    let a = tokio::spawn({
        let (store, gated) = (store.clone(), gated.clone());
        async move { export::run(&store, &gated, &mut |_| {}).await }
    });
    gated.reached.notified().await;
    deactivate(&store).await;
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
    let c = export::run(&store, &target, &mut |_| {}).await.unwrap();
    assert!(c.unchanged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_exports_cannot_overtake_each_other() {
    let (store, _dir) = embedded_store();
    let out = tempfile::tempdir().unwrap();
    let target = LocalDirTarget::new(out.path());
    let path = target.path();
    exports_cannot_overtake_each_other(store, target, async || std::fs::read(&path).unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_exports_cannot_overtake_each_other() {
    let store = dynamodb_store().await;
    let (client, bucket) = s3_bucket().await;
    let target = S3Target::new(client.clone(), &bucket);
    exports_cannot_overtake_each_other(store, target, async || s3_object(&client, &bucket).await.unwrap()).await;
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
    let target = LocalDirTarget::new(out.path());
    let started = std::time::Instant::now();
    let err = export::run(&store, &target, &mut |_| {}).await.unwrap_err();
    assert!(matches!(err, ExportError::Busy), "{err}");
    assert!(started.elapsed() >= export::LEASE_WAIT);
    assert!(!target.path().exists(), "nothing published");
    let api: directory_core::error::ApiError = err.into();
    assert_eq!(api.status(), 429);
    // Given back, the lease is free for the next run.
    store.release_export_lease(fence).await.unwrap();
    export::run(&store, &target, &mut |_| {}).await.unwrap();
    assert!(target.path().exists());
}
