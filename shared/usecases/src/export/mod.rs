//! The open-data export: every organisation's public data as one JSON array,
//! streamed in parts to an object target with memory bounded independently of the
//! number of organisations. One core for the schedule and the HTTP route.

pub mod keys;

use crate::ports::{AuditLog, Documents, ExportLease, OrganisationReads, StoreError};
use directory_domain::audit::{self, Actor, AuditRecord, Change};
use directory_domain::ids::OrganisationId;
use directory_domain::model::ExportOrganisation;
use directory_domain::signature::{self, JWKS_KEY, Jwks, SIGNATURE_KEY, Signer};
use futures_util::{Stream, TryStreamExt, stream};
use sha2::{Digest, Sha256};
use std::future::Future;
use std::time::{Duration, Instant};

/// What a publish needs of the store: the organisations, the lease, the audit trail
/// and the key history.
pub trait ExportStore: OrganisationReads + ExportLease + AuditLog + Documents {}
impl<T: OrganisationReads + ExportLease + AuditLog + Documents> ExportStore for T {}

/// The object key (S3) / file name (local) of the export.
pub const EXPORT_KEY: &str = "participants";
/// S3's smallest part (all but the last).
pub const MIN_PART_BYTES: usize = 5 * 1024 * 1024;
/// Default part size: a little over the minimum, so a part is one buffer flush.
pub const DEFAULT_PART_BYTES: usize = 8 * 1024 * 1024;
/// Organisations read concurrently (order is kept).
const READ_CONCURRENCY: usize = 16;
/// Organisation ids fetched per page.
const ID_PAGE: usize = 256;
/// How long one publish may hold the export lease: longer than any export function
/// may run (the template's largest timeout is 300 s), so a live holder never loses
/// it, while a crashed holder's lease frees itself.
pub const LEASE_TTL: Duration = Duration::from_secs(360);
/// How long a run waits for another run's publish before giving up (the HTTP route
/// must answer within API Gateway's 29 s).
pub const LEASE_WAIT: Duration = Duration::from_secs(15);
/// How often a waiting run asks for the lease again.
const LEASE_POLL: Duration = Duration::from_millis(200);

/// Why an export failed; the previous object is left as it was.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("object target: {0}")]
    Target(String),
    /// The file was published (or left as it was) but could not be signed; the next
    /// run signs it.
    #[error(transparent)]
    Sign(#[from] signature::SignError),
    /// Another run held the export lease for longer than this run would wait.
    #[error("another export is being published; retry in a moment")]
    Busy,
    /// This run's lease expired before it could publish; a later run owns it now.
    #[error("the export lease expired before publishing; nothing was published by this run")]
    LeaseLost,
}

/// What is recorded with a published object, so a consumer can tell what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// SHA-256 of the bytes (lowercase hex).
    pub sha256: String,
    /// When the run started reading (RFC 3339): the file holds no change made later.
    pub read_started: String,
    /// How many organisations it holds.
    pub organisations: usize,
}

/// An object being written; it replaces the published one only at `complete`.
pub trait Upload: Send {
    /// Sends one part (every part but the last is at least the target's minimum).
    fn put_part(&mut self, part: Vec<u8>) -> impl Future<Output = Result<(), ExportError>> + Send;
    /// Publishes the object atomically, recording what [`Published`] says of it.
    fn complete(self, published: &Published) -> impl Future<Output = Result<(), ExportError>> + Send;
    /// Discards everything sent; the published object is untouched.
    fn abort(self) -> impl Future<Output = Result<(), ExportError>> + Send;
}

/// Where the export is published: S3, or a local directory.
pub trait ObjectTarget: Send + Sync {
    /// The upload type.
    type Upload: Upload;
    /// Starts writing a new version of the object.
    fn begin(&self) -> impl Future<Output = Result<Self::Upload, ExportError>> + Send;
    /// The SHA-256 recorded for the published object, if any.
    fn published_sha256(&self) -> impl Future<Output = Result<Option<String>, ExportError>> + Send;
    /// A short-lived URL of the published object, for responses too large to send.
    fn presigned_url(&self) -> impl Future<Output = Result<Option<String>, ExportError>> + Send;
    /// Largest response the HTTP route may send inline (`None`: no limit).
    fn response_limit(&self) -> Option<usize>;
    /// Where the object is published, for people (a path or an `s3://` URL).
    fn location(&self) -> String;
    /// Part size to use.
    fn part_bytes(&self) -> usize {
        DEFAULT_PART_BYTES
    }
    /// The key the published file is signed with.
    fn signer(&self) -> &dyn Signer;
    /// Hands the published object's bytes to `sink`, in order (signing reads back
    /// what was stored, not what was meant to be).
    fn read_published(
        &self,
        sink: &mut (dyn FnMut(&[u8]) + Send),
    ) -> impl Future<Output = Result<(), ExportError>> + Send;
    /// Publishes a small object `name` beside the file (signature, keys), atomically.
    fn put_beside(
        &self,
        name: &'static str,
        bytes: Vec<u8>,
        content_type: &'static str,
    ) -> impl Future<Output = Result<(), ExportError>> + Send;
    /// The small object `name` beside the file, if there is one.
    fn get_beside(&self, name: &'static str) -> impl Future<Output = Result<Option<Vec<u8>>, ExportError>> + Send;
}

/// What one run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportReport {
    pub organisations: usize,
    pub bytes: u64,
    pub parts: usize,
    pub sha256: String,
    /// The bytes equalled the published object's, which was left untouched.
    pub unchanged: bool,
    pub duration: Duration,
    /// The detached JWS of the published file (`participants.jws`).
    pub signature: String,
    /// Whether this run signed (false: the published signature already covered the file).
    pub signed: bool,
}

/// [`run_as`] by the operator's command line.
pub async fn run<S: ExportStore, T: ObjectTarget>(
    store: &S,
    target: &T,
    tap: &mut (dyn FnMut(&[u8]) + Send),
) -> Result<ExportReport, ExportError> {
    run_as(store, target, &Actor::system("directory-cli", "export"), tap).await
}

/// Streams the export into `target`. `tap` sees every byte written, in order (the
/// HTTP route uses it to build its response). On any failure the upload is aborted.
/// A publish (not an unchanged run) leaves one directory-wide audit record of `actor`.
pub async fn run_as<S: ExportStore, T: ObjectTarget>(
    store: &S,
    target: &T,
    actor: &Actor,
    tap: &mut (dyn FnMut(&[u8]) + Send),
) -> Result<ExportReport, ExportError> {
    let started = Instant::now();
    let holder = format!("{}:{}", actor.sub.as_deref().unwrap_or("system"), uuid::Uuid::new_v4());
    let fence = acquire_lease(store, &holder).await?;
    let outcome = publish(store, target, actor, tap, fence, started).await;
    // Given back on every path; if this fails the lease still expires by itself.
    if let Err(e) = store.release_export_lease(fence).await {
        tracing::error!(error = %e, "releasing the export lease failed");
    }
    outcome
}

/// Waits (up to [`LEASE_WAIT`]) for the export lease; its fencing number.
async fn acquire_lease<S: ExportStore>(store: &S, holder: &str) -> Result<u64, ExportError> {
    let deadline = Instant::now() + LEASE_WAIT;
    loop {
        if let Some(fence) = store.acquire_export_lease(holder, LEASE_TTL).await? {
            return Ok(fence);
        }
        if Instant::now() >= deadline {
            return Err(ExportError::Busy);
        }
        tokio::time::sleep(LEASE_POLL).await;
    }
}

/// One publish under the lease `fence`: read everything, then publish unless the
/// bytes equal the current object's, and only while the lease is still ours.
async fn publish<S: ExportStore, T: ObjectTarget>(
    store: &S,
    target: &T,
    actor: &Actor,
    tap: &mut (dyn FnMut(&[u8]) + Send),
    fence: u64,
    started: Instant,
) -> Result<ExportReport, ExportError> {
    let mut upload = target.begin().await?;
    let read_started = directory_domain::audit::format_time(time::OffsetDateTime::now_utc());
    match write_all(store, &mut upload, target.part_bytes(), tap).await {
        Ok((organisations, bytes, parts, sha256)) => {
            let previous = target.published_sha256().await.ok().flatten();
            let unchanged = previous.as_deref() == Some(sha256.as_str());
            if unchanged {
                upload.abort().await?;
            } else {
                // A holder that outlived its lease (stalled past LEASE_TTL) must not
                // publish over the run that took the lease after it.
                if !store.holds_export_lease(fence).await? {
                    upload.abort().await?;
                    return Err(ExportError::LeaseLost);
                }
                upload
                    .complete(&Published {
                        sha256: sha256.clone(),
                        read_started: read_started.clone(),
                        organisations,
                    })
                    .await?;
                let change = Change {
                    field: EXPORT_KEY.to_owned(),
                    before: previous.map_or(serde_json::Value::Null, |h| format!("sha256:{h}").into()),
                    after: format!("sha256:{sha256}").into(),
                };
                let record = AuditRecord::new(actor, Default::default(), vec![change], audit::retention_from_env());
                // The object is already published; a failed audit write must not
                // hide that from the caller, so it is logged as an error instead.
                match store.put_audit(&record).await {
                    Ok(()) => record.log(),
                    Err(e) => {
                        tracing::error!(error = %e, "the export was published but its audit record was not stored")
                    }
                }
            }
            let (signature, signed) = ensure_signed(store, target, &sha256, unchanged).await?;
            publish_explorer(target).await?;
            let report = ExportReport {
                organisations,
                bytes,
                parts,
                sha256,
                unchanged,
                duration: started.elapsed(),
                signature,
                signed,
            };
            tracing::info!(
                organisations = report.organisations,
                bytes = report.bytes,
                parts = report.parts,
                unchanged = report.unchanged,
                signed = report.signed,
                sha256 = %report.sha256,
                duration_ms = report.duration.as_millis() as u64,
                "open-data export finished"
            );
            Ok(report)
        }
        Err(e) => {
            tracing::error!(error = %e, duration_ms = started.elapsed().as_millis() as u64, "open-data export failed; upload aborted");
            if let Err(abort) = upload.abort().await {
                tracing::error!(error = %abort, "aborting the export upload failed");
            }
            Err(e)
        }
    }
}

/// The published file's signature: the stored one when the file was left as it was and
/// that signature is for these bytes by the current key (no re-sign), else a new one,
/// published after the file and after the JWKS holding its key, so a reader that finds
/// it finds its key. The JWKS comes from the store's key history, never from the
/// published `participants.jwks`.
async fn ensure_signed<S: ExportStore, T: ObjectTarget>(
    store: &S,
    target: &T,
    sha256: &str,
    unchanged: bool,
) -> Result<(String, bool), ExportError> {
    let signer = target.signer();
    let kid = signer.public_jwk().await?.kid;
    if unchanged
        && let Some(stored) = target.get_beside(SIGNATURE_KEY).await?
        && let Ok(stored) = String::from_utf8(stored)
        && signature::header_of(&stored).is_some_and(|h| h.sha256 == sha256 && h.kid == kid)
    {
        return Ok((stored, false));
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let jws = signature::sign_file(signer, sha256, now, |mut input| async move {
        target.read_published(&mut |bytes| input.update(bytes)).await?;
        Ok::<_, ExportError>(input)
    })
    .await?;
    let jwks = keys::record(store, keys::PARTICIPANTS_KEYS, signer, now).await?;
    let body = serde_json::to_vec_pretty(&jwks).map_err(|e| ExportError::Target(e.to_string()))?;
    if target.get_beside(JWKS_KEY).await?.as_deref() != Some(body.as_slice()) {
        target.put_beside(JWKS_KEY, body, signature::JWKS_CONTENT_TYPE).await?;
    }
    target
        .put_beside(
            SIGNATURE_KEY,
            jws.clone().into_bytes(),
            signature::SIGNATURE_CONTENT_TYPE,
        )
        .await?;
    Ok((jws, true))
}

/// Publishes the explorer page's files beside the file, each only when it differs from
/// what is there (so an unchanged run writes nothing). The stored copies are read
/// together: this runs on every export, the HTTP route's included.
async fn publish_explorer<T: ObjectTarget>(target: &T) -> Result<(), ExportError> {
    let assets = &crate::explorer::ASSETS;
    let stored = futures_util::future::try_join_all(assets.iter().map(|a| target.get_beside(a.name))).await?;
    for (asset, stored) in assets.iter().zip(stored) {
        if stored.as_deref() != Some(asset.body.as_bytes()) {
            target
                .put_beside(asset.name, asset.body.as_bytes().to_vec(), asset.content_type)
                .await?;
        }
    }
    Ok(())
}

/// The keys that verify the directory's published files (the store's key history, or
/// before the first signed publish the current key alone).
pub async fn participants_jwks<S: ExportStore, T: ObjectTarget>(store: &S, target: &T) -> Result<Jwks, ExportError> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    keys::published(store, keys::PARTICIPANTS_KEYS, target.signer(), now).await
}

/// Cuts the output into parts and hands each, full, to the uploader (the channel).
struct PartWriter {
    parts: tokio::sync::mpsc::Sender<Vec<u8>>,
    buffer: Vec<u8>,
    part_bytes: usize,
    hasher: Sha256,
    bytes: u64,
    sent: bool,
}

/// The uploader stopped (its error is the one reported).
struct UploadStopped;

impl PartWriter {
    async fn write(&mut self, chunk: &[u8], tap: &mut (dyn FnMut(&[u8]) + Send)) -> Result<(), UploadStopped> {
        let start = self.buffer.len();
        self.buffer.extend_from_slice(chunk);
        self.written(start, tap).await
    }

    /// Serialises `item` straight into the part (no per-organisation buffer to copy).
    async fn write_json<T: serde::Serialize>(
        &mut self,
        item: &T,
        tap: &mut (dyn FnMut(&[u8]) + Send),
    ) -> Result<Result<(), UploadStopped>, serde_json::Error> {
        let start = self.buffer.len();
        if let Err(e) = serde_json::to_writer(&mut self.buffer, item) {
            self.buffer.truncate(start);
            return Err(e);
        }
        Ok(self.written(start, tap).await)
    }

    /// Counts, hashes and taps the bytes the buffer holds from `start`, and sends the
    /// part once it is full.
    async fn written(&mut self, start: usize, tap: &mut (dyn FnMut(&[u8]) + Send)) -> Result<(), UploadStopped> {
        let chunk = &self.buffer[start..];
        tap(chunk);
        self.hasher.update(chunk);
        self.bytes += chunk.len() as u64;
        if self.buffer.len() >= self.part_bytes {
            let part = std::mem::replace(&mut self.buffer, Vec::with_capacity(self.part_bytes + 64 * 1024));
            self.parts.send(part).await.map_err(|_| UploadStopped)?;
            self.sent = true;
        }
        Ok(())
    }

    /// Sends the last part (an empty one if nothing was sent: the object exists).
    async fn finish(self) -> Result<(u64, String), UploadStopped> {
        if !self.buffer.is_empty() || !self.sent {
            self.parts.send(self.buffer).await.map_err(|_| UploadStopped)?;
        }
        Ok((self.bytes, hex::encode(self.hasher.finalize())))
    }
}

/// Every organisation id, page by page until an empty one (the port promises up to
/// a page, so a short page is not the end); the next page is asked for only when the
/// reads ahead of it need it, while they are still in flight.
fn organisation_ids<S: OrganisationReads>(store: &S) -> impl Stream<Item = Result<String, StoreError>> + Send + '_ {
    stream::try_unfold((None::<String>, store), |(after, store)| async move {
        let ids = store.organisation_ids(after.as_deref(), ID_PAGE).await?;
        let Some(last) = ids.last().cloned() else {
            return Ok::<_, StoreError>(None);
        };
        Ok(Some((stream::iter(ids.into_iter().map(Ok)), (Some(last), store))))
    })
    .try_flatten()
}

/// Reads every organisation's public snapshot, in id order, keeping
/// [`READ_CONCURRENCY`] reads in flight across id pages, and writes the export while
/// the previous part uploads (one part queued at most).
async fn write_all<S: ExportStore, U: Upload>(
    store: &S,
    upload: &mut U,
    part_bytes: usize,
    tap: &mut (dyn FnMut(&[u8]) + Send),
) -> Result<(usize, u64, usize, String), ExportError> {
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<u8>>(1);
    // Owns the receiver: when it stops on an error the channel closes, so the reader
    // stops too instead of waiting to send.
    let uploader = async move {
        let mut parts = 0usize;
        while let Some(part) = receiver.recv().await {
            upload.put_part(part).await?;
            parts += 1;
        }
        Ok::<_, ExportError>(parts)
    };
    let reader = async {
        let mut out = PartWriter {
            parts: sender,
            buffer: Vec::with_capacity(part_bytes + 64 * 1024),
            part_bytes,
            hasher: Sha256::new(),
            bytes: 0,
            sent: false,
        };
        let mut count = 0usize;
        if out.write(b"[", tap).await.is_err() {
            return Ok(None);
        }
        let snapshots = organisation_ids(store)
            .map_ok(|id| read_public(store, id))
            .try_buffered(READ_CONCURRENCY);
        let mut snapshots = std::pin::pin!(snapshots);
        while let Some(snapshot) = snapshots.try_next().await? {
            // An organisation deleted between the listing and the read is skipped.
            let Some(snapshot) = snapshot else { continue };
            if count > 0 && out.write(b",", tap).await.is_err() {
                return Ok(None);
            }
            if out
                .write_json(&ExportOrganisation::from(snapshot), tap)
                .await
                .map_err(|e| ExportError::Target(format!("serialising: {e}")))?
                .is_err()
            {
                return Ok(None);
            }
            count += 1;
        }
        if out.write(b"]", tap).await.is_err() {
            return Ok(None);
        }
        Ok::<_, ExportError>(out.finish().await.ok().map(|(bytes, sha)| (count, bytes, sha)))
    };
    let (read, uploaded) = tokio::join!(reader, uploader);
    // The uploader's error first: a reader that stopped early stopped because of it.
    let parts = uploaded?;
    match read? {
        Some((count, bytes, sha256)) => Ok((count, bytes, parts, sha256)),
        None => Err(ExportError::Target(
            "the upload stopped before the export was written".to_owned(),
        )),
    }
}

/// One organisation's public snapshot (a named function: a closure's future here
/// trips the compiler's `Send` check on higher-ranked lifetimes).
async fn read_public<S: OrganisationReads>(
    store: &S,
    id: String,
) -> Result<Option<directory_domain::model::OrganisationSnapshot>, StoreError> {
    store.public_snapshot(&OrganisationId::stored(id)).await
}

/// The scheduled trigger: runs the export for an EventBridge event and returns the
/// report as JSON (the invocation result).
pub async fn scheduled<S: ExportStore, T: ObjectTarget>(
    store: &S,
    target: &T,
    event: &serde_json::Value,
) -> Result<serde_json::Value, ExportError> {
    tracing::info!(
        source = event.get("source").and_then(|v| v.as_str()).unwrap_or(""),
        time = event.get("time").and_then(|v| v.as_str()).unwrap_or(""),
        "scheduled open-data export"
    );
    let actor = Actor::system("scheduler", "scheduled-open-data-export");
    let report = run_as(store, target, &actor, &mut |_| {}).await?;
    Ok(serde_json::json!({
        "organisations": report.organisations,
        "bytes": report.bytes,
        "parts": report.parts,
        "sha256": report.sha256,
        "unchanged": report.unchanged,
        "signed": report.signed,
        "durationMs": report.duration.as_millis() as u64,
    }))
}
