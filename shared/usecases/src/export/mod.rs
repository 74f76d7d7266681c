//! The open-data export: every organisation's public data as one JSON array,
//! streamed in parts to an object target with memory bounded independently of the
//! number of organisations. One core for the schedule and the HTTP route.

mod sign;
mod stream;
mod target;

pub use sign::participants_jwks;
pub use stream::{Written, file_at};
pub use target::{ObjectTarget, Published, Upload};

use crate::feed;
use crate::ports::{AuditLog, ChangeFeed, Documents, ExportLease, OrganisationReads, StoreError};
use directory_domain::audit::{self, Actor, AuditRecord, Change};
use directory_domain::feed::Revision;
use directory_domain::signature;
use std::time::{Duration, Instant};

/// What a publish needs of the store: the feed (its current records are the file), the
/// lease, the audit trail and the key history.
pub trait ExportStore: OrganisationReads + ChangeFeed + ExportLease + AuditLog + Documents {}
impl<T: OrganisationReads + ChangeFeed + ExportLease + AuditLog + Documents> ExportStore for T {}

/// The object key (S3) / file name (local) of the export.
pub const EXPORT_KEY: &str = "participants";
/// S3's smallest part (all but the last).
pub const MIN_PART_BYTES: usize = 5 * 1024 * 1024;
/// Default part size: a little over the minimum, so a part is one buffer flush.
pub const DEFAULT_PART_BYTES: usize = 8 * 1024 * 1024;
/// Current records fetched per page.
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

impl From<crate::signing_keys::KeyError> for ExportError {
    fn from(e: crate::signing_keys::KeyError) -> Self {
        use crate::signing_keys::KeyError;
        match e {
            KeyError::Store(e) => Self::Store(e),
            KeyError::Sign(e) => Self::Sign(e),
            KeyError::Encode(e) => Self::Target(e),
        }
    }
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
    /// The revision the file reflects (its signature's header states it).
    pub revision: Revision,
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
    let revision = settled_revision(store).await?;
    let mut upload = target.begin().await?;
    let read_started = directory_domain::audit::format_time(time::OffsetDateTime::now_utc());
    match stream::write_all(store, revision, &mut upload, target.part_bytes(), tap).await {
        Ok(Written {
            organisations,
            bytes,
            parts,
            sha256,
        }) => {
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
                        revision: Some(revision),
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
            let (signature, signed) = sign::ensure_signed(store, target, &sha256, revision, unchanged).await?;
            sign::publish_explorer(target).await?;
            let report = ExportReport {
                organisations,
                bytes,
                parts,
                sha256,
                unchanged,
                duration: started.elapsed(),
                signature,
                signed,
                revision,
            };
            tracing::info!(
                revision = report.revision,
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

/// The revision the file is written at: the feed's head once every change queued
/// before this run has its revision, and committed at least the store's settle time
/// ago (so every item of it is readable by the export's reads).
async fn settled_revision<S: ExportStore>(store: &S) -> Result<Revision, ExportError> {
    feed::sequence(store).await?;
    let head = store.feed_head().await?.unwrap_or_default();
    let settle = store.settle_time().as_secs_f64();
    let age = crate::clock::now() as f64 - head.at as f64;
    if head.revision > 0 && age < settle {
        tokio::time::sleep(Duration::from_secs_f64((settle - age).max(0.0))).await;
    }
    Ok(head.revision)
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
        "revision": report.revision,
        "durationMs": report.duration.as_millis() as u64,
    }))
}
