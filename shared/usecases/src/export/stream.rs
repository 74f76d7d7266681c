//! The file itself: every organisation's public record read in id order with reads in
//! flight, serialised into parts while the previous part uploads, hashed as it goes.

use super::target::Upload;
use super::{ExportError, ID_PAGE, READ_CONCURRENCY};
use crate::ports::{OrganisationReads, StoreError};
use directory_domain::ids::OrganisationId;
use directory_domain::model::ExportOrganisation;
use futures_util::{Stream, TryStreamExt, stream};
use sha2::{Digest, Sha256};

/// What one pass wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// Organisations in the file.
    pub organisations: usize,
    /// Its size.
    pub bytes: u64,
    /// Parts uploaded.
    pub parts: usize,
    /// SHA-256 of its bytes (lowercase hex).
    pub sha256: String,
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
pub(super) async fn write_all<S: OrganisationReads, U: Upload>(
    store: &S,
    upload: &mut U,
    part_bytes: usize,
    tap: &mut (dyn FnMut(&[u8]) + Send),
) -> Result<Written, ExportError> {
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
        Some((organisations, bytes, sha256)) => Ok(Written {
            organisations,
            bytes,
            parts,
            sha256,
        }),
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
