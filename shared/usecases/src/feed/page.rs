//! Reading a page of the feed, and signing it.

use crate::clock::now;
use crate::ports::{ChangeFeed, Documents, ExportLease, StoreError};
use crate::signing_keys as keys;
use directory_domain::feed::{self, Entry, Page, Revision};
use directory_domain::signature::{self, SignError, Signer, Subject};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

/// Why a page cannot be given.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// `since` is older than the revisions kept: start again from the file.
    #[error("revisions after {since} are no longer kept; start again from the participants file")]
    Gone { since: Revision },
    /// `since` is beyond the head.
    #[error("since {since} is beyond the last revision, {head}")]
    Future { since: Revision, head: Revision },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How many times a read that found a revision missing in the middle reads again
/// before calling it expired (a commit a query saw only in part).
const GAP_READS: usize = 4;

/// The page after `since` of at most `limit` revisions (and at most
/// [`feed::PAGE_BYTES`] of records, one change whatever its size): contiguous, final
/// revisions only.
pub async fn page<S: ChangeFeed>(store: &S, since: Revision, limit: u64) -> Result<Page, FeedError> {
    page_at(store, since, limit, now).await
}

/// [`page`] at the time `clock` tells (tests move it past the retention).
pub async fn page_at<S: ChangeFeed>(
    store: &S,
    since: Revision,
    limit: u64,
    clock: impl Fn() -> i64,
) -> Result<Page, FeedError> {
    let limit = limit.clamp(1, feed::MAX_LIMIT) as usize;
    let mut reads = 0;
    loop {
        reads += 1;
        let (mut entries, head) = store.entries_after(since, limit + 1, clock()).await?;
        let first_ok = entries.first().is_some_and(|e| e.revision == since + 1);
        match head {
            // Nothing after `since`: current, or beyond the head (none yet: 0).
            _ if entries.is_empty() => match head.map_or(0, |h| h.revision) {
                h if h == since => return page_of(since, entries, false),
                h if h < since => return Err(FeedError::Future { since, head: h }),
                // The head is past `since`, yet no revision after it was found.
                _ if reads < GAP_READS => {}
                _ => return Err(FeedError::Gone { since }),
            },
            _ if !first_ok && reads < GAP_READS => {}
            _ if !first_ok => return Err(FeedError::Gone { since }),
            _ => {
                // The contiguous prefix only: a later revision seen before an earlier
                // one is not given until the earlier one is readable.
                let contiguous = entries
                    .iter()
                    .enumerate()
                    .take_while(|(i, e)| e.revision == since + 1 + *i as u64)
                    .count();
                let complete = contiguous == entries.len();
                entries.truncate(contiguous);
                let mut more = entries.len() > limit || !complete;
                entries.truncate(limit);
                let mut bytes = 0;
                let fits = entries
                    .iter()
                    .take_while(|e| {
                        bytes += e.record.as_ref().map_or(0, |r| r.0.len());
                        bytes <= feed::PAGE_BYTES
                    })
                    .count()
                    .max(1);
                if fits < entries.len() {
                    entries.truncate(fits);
                    more = true;
                }
                return page_of(since, entries, more);
            }
        }
        tokio::time::sleep(Duration::from_millis(10 * reads as u64)).await;
    }
}

fn page_of(since: Revision, entries: Vec<Entry>, more: bool) -> Result<Page, FeedError> {
    Page::of(since, &entries, more).map_err(|e| {
        FeedError::Store(StoreError::Corrupt {
            key: format!("{}/{}", directory_domain::keys::FEED_PK, since + 1),
            reason: e,
        })
    })
}

/// A page as sent: its bytes, their detached signature and what they cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPage {
    pub bytes: Vec<u8>,
    pub signature: String,
    pub since: Revision,
    pub revision: Revision,
    pub more: bool,
}

/// Pages signed by this process, by the SHA-256 of their bytes.
const SIGNED_PAGES: usize = 1024;

/// Signs pages with the directory's key, each distinct page once per process: a poll
/// that gets the same bytes as another costs no signature, so signatures (KMS calls in
/// AWS) grow with changes and with the distinct places readers are at, not with polls.
#[derive(Default)]
pub struct PageSigner {
    cache: Mutex<(HashMap<String, String>, VecDeque<String>)>,
    /// The key this process last recorded in the key history.
    recorded: Mutex<Option<String>>,
}

impl PageSigner {
    /// The page's signature: `typ` [`feed::CHANGES_TYP`], `sha256` of the bytes,
    /// `since` and `revision` in the protected header; verifiable with the keys that
    /// verify the participants file (the key is in its history before it signs).
    pub async fn sign<S: Documents + ExportLease>(
        &self,
        store: &S,
        signer: &dyn Signer,
        page: &Page,
    ) -> Result<SignedPage, SignError> {
        let bytes = page.to_bytes();
        let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        let kid = signer.public_jwk().await?.kid;
        let key = format!("{kid}:{sha256}");
        let cached = self.cache.lock().ok().and_then(|c| c.0.get(&key).cloned());
        let signature = match cached {
            Some(jws) => jws,
            None => {
                let now = now();
                if self.recorded.lock().ok().and_then(|r| r.clone()).as_deref() != Some(kid.as_str()) {
                    let recorded = keys::record(store, keys::PARTICIPANTS_KEYS, signer, now)
                        .await
                        .map_err(|e| SignError(e.to_string()))?;
                    if recorded.new {
                        // Readers verify pages with the published key set: an export
                        // run publishes the new key beside the file (and re-signs it).
                        store.request_export(now).await.map_err(|e| SignError(e.to_string()))?;
                    }
                    if let Ok(mut r) = self.recorded.lock() {
                        *r = Some(kid.clone());
                    }
                }
                let subject = Subject {
                    typ: feed::CHANGES_TYP,
                    sha256: sha256.clone(),
                    revision: Some(page.revision),
                    since: Some(page.since),
                };
                let payload = &bytes;
                let jws = signature::sign_file(signer, &subject, now, |mut input| async move {
                    input.update(payload);
                    Ok::<_, std::convert::Infallible>(input)
                })
                .await?;
                if let Ok(mut c) = self.cache.lock() {
                    if c.1.len() >= SIGNED_PAGES
                        && let Some(old) = c.1.pop_front()
                    {
                        c.0.remove(&old);
                    }
                    c.0.insert(key.clone(), jws.clone());
                    c.1.push_back(key);
                }
                jws
            }
        };
        Ok(SignedPage {
            bytes,
            signature,
            since: page.since,
            revision: page.revision,
            more: page.more,
        })
    }
}
