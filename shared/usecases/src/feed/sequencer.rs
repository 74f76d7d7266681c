//! The sequencer: outbox items in, revisions out (see the module above).

use crate::clock::now;
use crate::ports::{ChangeFeed, Commit, OrganisationReads, Pending, Sequenced, StoreError};
use crate::writes::Retry;
use directory_domain::feed::{self, Current, Entry, Head, Record, Revision};
use directory_domain::ids::OrganisationId;
use directory_domain::limits::{self, MAX_TRANSACTION_BYTES, MAX_TRANSACTION_ITEMS};
use futures_util::{StreamExt, TryStreamExt, stream};
use std::collections::BTreeMap;
use std::time::Duration;

/// Outbox items read per round.
const PENDING_PAGE: usize = 500;
/// Public records read at once while sequencing.
const READ_CONCURRENCY: usize = 16;
/// Record bytes one sequencer transaction carries at most (each new record twice:
/// the current record and the feed entry), inside DynamoDB's 4 MB with room.
const BATCH_RECORD_BYTES: usize = MAX_TRANSACTION_BYTES / 4;
/// How many times a round waits for a write the outbox announced but the read did not
/// see yet (DynamoDB: a query may see a transaction's outbox item before its other
/// items), before leaving it to the next run.
const UNSEEN_WAITS: usize = 50;

/// What a sequencer run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sequencing {
    /// Revisions it added.
    pub revisions: u64,
    /// Outbox items it settled.
    pub settled: usize,
    /// Organisations queued by seeding (a directory stored before the feed).
    pub seeded: usize,
    /// The head it left.
    pub head: Revision,
}

/// What the sequencer needs of the store: the feed, and organisation ids to seed.
pub trait SequencerStore: ChangeFeed + OrganisationReads {}
impl<T: ChangeFeed + OrganisationReads> SequencerStore for T {}

/// Runs the sequencer until the outbox is empty (or holds only writes not yet
/// readable): every organisation written since its last revision is read, and gets a
/// revision if its public record changed. Safe to run anywhere at any time, by any
/// number of processes: a commit lands only on the head it read.
pub async fn sequence<S: SequencerStore>(store: &S) -> Result<Sequencing, StoreError> {
    let mut done = Sequencing::default();
    let mut retry = Retry::default();
    let mut unseen_waits = 0;
    loop {
        let head = store.feed_head().await?;
        let current = head.unwrap_or_default();
        if !current.seeded {
            done.seeded += seed(store).await?;
            let seeded = Head {
                seeded: true,
                commits: current.commits + 1,
                ..current
            };
            let batch = Sequenced {
                head: seeded,
                ..Sequenced::default()
            };
            if store.commit_sequence(head.as_ref(), &batch).await? == Commit::Conflict {
                retry.again().await?;
            }
            continue;
        }
        let mut pending = store.pending(PENDING_PAGE).await?;
        if pending.is_empty() {
            done.head = current.revision;
            return Ok(done);
        }
        // One page of the outbox serves round after round while this run's commits
        // land on the head they expect (no re-read of the outbox per round).
        let mut head = head;
        while !pending.is_empty() {
            let current = head.unwrap_or_default();
            let round = round(store, &current, pending.clone()).await?;
            if round.batch.done.is_empty() {
                // Every queued write is still invisible to reads: wait for it a little.
                unseen_waits += 1;
                if unseen_waits > UNSEEN_WAITS {
                    tracing::warn!("outbox items name writes not readable yet; leaving them to the next run");
                    done.head = current.revision;
                    return Ok(done);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                break;
            }
            if !round.replaced.is_empty() {
                store.keep_superseded(&round.replaced, round.batch.head.at).await?;
            }
            match store.commit_sequence(head.as_ref(), &round.batch).await? {
                Commit::Done => {
                    done.revisions += round.batch.entries.len() as u64;
                    done.settled += round.batch.done.len();
                    for e in &round.batch.entries {
                        tracing::debug!(
                            revision = e.revision,
                            organisation_id = %e.organisation_id,
                            removed = e.record.is_none(),
                            "revision"
                        );
                    }
                    pending.retain(|p| !round.batch.done.contains(p));
                    head = Some(round.batch.head);
                }
                Commit::Conflict => {
                    // Another sequencer moved the head: read everything again.
                    retry.again().await?;
                    break;
                }
            }
        }
    }
}

/// Queues every stored organisation at version 0 (below any write's), once.
async fn seed<S: SequencerStore>(store: &S) -> Result<usize, StoreError> {
    let mut after: Option<String> = None;
    let mut count = 0;
    loop {
        let ids = store.organisation_ids(after.as_deref(), 256).await?;
        let Some(last) = ids.last().cloned() else {
            return Ok(count);
        };
        let pending: Vec<Pending> = ids
            .into_iter()
            .map(|organisation_id| Pending {
                organisation_id,
                version: 0,
            })
            .collect();
        count += pending.len();
        store.enqueue(&pending).await?;
        after = Some(last);
    }
}

/// One round's commit, and the records it replaces.
struct Round {
    batch: Sequenced,
    replaced: Vec<Current>,
}

/// Reads the organisations of the first outbox items (as many as one transaction
/// takes) and decides each: a new revision, or nothing public changed.
async fn round<S: SequencerStore>(store: &S, head: &Head, pending: Vec<Pending>) -> Result<Round, StoreError> {
    let mut queued: BTreeMap<String, Vec<Pending>> = BTreeMap::new();
    for p in pending {
        queued.entry(p.organisation_id.clone()).or_default().push(p);
    }
    // Organisations to read: as many as one transaction may take (the items of each
    // are counted once its record is read).
    let orgs: Vec<String> = queued.keys().take(feed::BATCH_ORGANISATIONS).cloned().collect();
    let current: BTreeMap<String, Current> = store
        .current_records(&orgs)
        .await?
        .into_iter()
        .map(|c| (c.organisation_id.clone(), c))
        .collect();
    let reads: Vec<(String, Option<Record>, u64)> = stream::iter(orgs.iter().cloned())
        .map(|org| async move {
            let (record, version) = store.public_record(&OrganisationId::stored(org.clone())).await?;
            Ok::<_, StoreError>((org, record, version))
        })
        .buffered(READ_CONCURRENCY)
        .try_collect()
        .await?;
    let at = now().max(head.at);
    let mut batch = Sequenced {
        head: Head {
            at,
            commits: head.commits + 1,
            ..*head
        },
        ..Sequenced::default()
    };
    let mut replaced = Vec::new();
    let mut bytes = 0usize;
    // The head, then per organisation its outbox items and, when it changed, its
    // record and feed entry (each in as many items as its size needs).
    let mut items = 1;
    for (org, record, version) in reads {
        // An organisation written many times settles part of its queue per round.
        let queue = &queued[&org];
        let queue = &queue[..queue.len().min(MAX_TRANSACTION_ITEMS / 2)];
        // A write the outbox announced but this read did not see: not yet.
        if queue.iter().any(|p| p.version > version) {
            continue;
        }
        let size = record.as_ref().map_or(0, |r| r.0.len());
        let cost = queue.len() + 2 * limits::record_chunks(size);
        let full = items + cost > MAX_TRANSACTION_ITEMS || bytes + 2 * size > BATCH_RECORD_BYTES;
        if full && !batch.done.is_empty() {
            break;
        }
        bytes += 2 * size;
        items += cost;
        batch.done.extend(queue.iter().cloned());
        let sha256 = record.as_ref().map(Record::sha256).unwrap_or_default();
        let before = current.get(&org);
        let same = match before {
            Some(c) => c.sha256 == sha256,
            // Never published and absent now: nothing to say.
            None => record.is_none(),
        };
        if same {
            continue;
        }
        let revision = batch.head.revision + 1;
        batch.head.revision = revision;
        if let Some(c) = before {
            replaced.push(c.clone());
        }
        let events = directory_domain::events::derive(
            before.and_then(|c| c.record.as_ref()).map(|r| r.0.as_str()),
            record.as_ref().map(|r| r.0.as_str()),
        );
        batch.entries.push(Entry {
            revision,
            organisation_id: org.clone(),
            record: record.clone(),
            at,
            events,
        });
        batch.records.push(Current {
            organisation_id: org,
            revision,
            sha256,
            record,
        });
    }
    Ok(Round { batch, replaced })
}
