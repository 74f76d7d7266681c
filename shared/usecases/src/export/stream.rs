//! The file itself: every organisation's public record at one revision, read from the
//! feed's current records in id order (the record a newer revision replaced comes from
//! the superseded ones), written into parts while the previous part uploads, hashed as
//! it goes. The records are the feed's bytes, so the file at a revision and the changes
//! after it are made of the same bytes.

use super::target::Upload;
use super::{ExportError, ID_PAGE};
use crate::ports::{ChangeFeed, StoreError};
use directory_domain::feed::{Current, Record, Revision};
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

/// Every current record, page by page until an empty one (the port promises up to a
/// page, so a short page is not the end).
fn current_records<S: ChangeFeed>(store: &S) -> impl Stream<Item = Result<Current, StoreError>> + Send + '_ {
    stream::try_unfold((None::<String>, store), |(after, store)| async move {
        let page = store.current_page(after.as_deref(), ID_PAGE).await?;
        let Some(last) = page.last().map(|c| c.organisation_id.clone()) else {
            return Ok::<_, StoreError>(None);
        };
        Ok(Some((stream::iter(page.into_iter().map(Ok)), (Some(last), store))))
    })
    .try_flatten()
}

/// The record an organisation had at revision `at`: its current one if no later
/// revision replaced it, else the superseded one of `at` (`None`: not in the file).
async fn record_at<S: ChangeFeed>(
    store: &S,
    current: Current,
    at: Revision,
    now: i64,
) -> Result<Option<Record>, StoreError> {
    if current.revision <= at {
        return Ok(current.record);
    }
    Ok(store
        .superseded(&current.organisation_id, at, now)
        .await?
        .and_then(|c| c.record))
}

/// Writes the file at revision `at` while the previous part uploads (one part queued
/// at most).
pub(super) async fn write_all<S: ChangeFeed, U: Upload>(
    store: &S,
    at: Revision,
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
        let now = crate::clock::now();
        let records = current_records(store).and_then(|c| record_at(store, c, at, now));
        let mut records = std::pin::pin!(records);
        while let Some(record) = records.try_next().await? {
            // Not in the file at `at`: removed, or created after it.
            let Some(record) = record else { continue };
            if count > 0 && out.write(b",", tap).await.is_err() {
                return Ok(None);
            }
            if out.write(record.0.as_bytes(), tap).await.is_err() {
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

/// The file at revision `at` as the export writes it, in memory (tests and tools; the
/// export streams it to its target instead).
pub async fn file_at<S: ChangeFeed>(store: &S, at: Revision) -> Result<Vec<u8>, StoreError> {
    let now = crate::clock::now();
    let records = current_records(store).and_then(|c| record_at(store, c, at, now));
    let mut records = std::pin::pin!(records);
    let mut out = vec![b'['];
    let mut first = true;
    while let Some(record) = records.try_next().await? {
        let Some(record) = record else { continue };
        if !first {
            out.push(b',');
        }
        first = false;
        out.extend_from_slice(record.0.as_bytes());
    }
    out.push(b']');
    Ok(out)
}
