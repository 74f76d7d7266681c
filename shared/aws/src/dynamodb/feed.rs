//! The change feed's items: the outbox (`OUTBOX`), the revisions and the head
//! (`FEED`), the current and superseded public records (`PUBLIC`, `SUPERSEDED`).
//! Records are compressed; one larger than an item takes several, the first with
//! `Chunks`, the rest under its sort key + `\u{1}` + a number (sorting right after it,
//! before any other key: ids hold no control characters). Queries are not isolated
//! from transactions, so the readers of these items (the use cases) check what they
//! read: revisions contiguous, outbox versions seen.

use super::schema::{DATA, EXPIRES_AT, Item, SK, get_n, get_s, key, n, s};
use super::{DynamoStore, backend, built, lost_race};
use crate::body;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, TransactWriteItem, WriteRequest};
use directory_domain::feed::{Current, Entry, Head, Record, Revision, SUPERSEDED_KEEP_SECS};
use directory_domain::ids::OrganisationId;
use directory_domain::items::assemble;
use directory_domain::keys;
use directory_domain::limits::RECORD_CHUNK_BYTES;
use directory_usecases::ports::{ChangeFeed, Commit, Pending, Sequenced, StoreError};
use std::time::Duration;

/// The head's and records' revision.
const REV: &str = "Rev";
/// A record's SHA-256.
const SHA: &str = "Sha";
/// The organisation of a revision or record.
const ORG: &str = "Org";
/// When a revision was committed.
const AT: &str = "At";
/// How many items a record takes (absent: one).
const CHUNKS: &str = "Chunks";
/// Present on a removal (no record).
const REMOVED: &str = "Removed";
/// A revision's change events (JSON; absent when it has none).
const EVENTS: &str = "Events";
/// The head's seeded flag and commit count.
const SEEDED: &str = "Seeded";
const COMMITS: &str = "Commits";
/// How long after a commit every item of it is readable by every query (generous:
/// the window is milliseconds).
const SETTLE: Duration = Duration::from_secs(1);

/// The sort key of a record's `k`-th extra item.
fn chunk_sk(sk: &str, k: usize) -> String {
    format!("{sk}\u{1}{k:03}")
}

/// Whether a sort key is a record's extra item.
fn is_chunk(sk: &str) -> bool {
    sk.contains('\u{1}')
}

/// The items of one record stored under `pk`/`sk` with `attributes` (copied onto
/// every item that carries a TTL), the record compressed and cut into chunks.
pub fn record_items(
    pk: &str,
    sk: &str,
    record: Option<&Record>,
    attributes: Vec<(&'static str, AttributeValue)>,
) -> Vec<Item> {
    let mut main = key(pk, sk);
    let expires = attributes
        .iter()
        .find(|(k, _)| *k == EXPIRES_AT)
        .map(|(_, v)| v.clone());
    for (name, value) in attributes {
        main.insert(name.to_owned(), value);
    }
    let Some(record) = record else {
        main.insert(REMOVED.to_owned(), AttributeValue::Bool(true));
        return vec![main];
    };
    let bytes = body::compress(&record.0);
    let chunks: Vec<&[u8]> = bytes.chunks(RECORD_CHUNK_BYTES).collect();
    let mut items = Vec::with_capacity(chunks.len());
    if chunks.len() > 1 {
        main.insert(CHUNKS.to_owned(), n(chunks.len() as u64));
    }
    main.insert(
        DATA.to_owned(),
        AttributeValue::B(Blob::new(chunks.first().copied().unwrap_or_default())),
    );
    items.push(main);
    for (k, chunk) in chunks.iter().enumerate().skip(1) {
        let mut item = key(pk, &chunk_sk(sk, k));
        item.insert(DATA.to_owned(), AttributeValue::B(Blob::new(*chunk)));
        if let Some(e) = &expires {
            item.insert(EXPIRES_AT.to_owned(), e.clone());
        }
        items.push(item);
    }
    items
}

/// One stored record read back: its main item and its record (assembled from the
/// chunks that followed it).
pub struct Stored {
    pub item: Item,
    pub record: Option<Record>,
}

fn corrupt(sk: &str, reason: &str) -> StoreError {
    StoreError::Corrupt {
        key: sk.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Groups items read in sort-key order into records; an item that is not whole (its
/// chunks cut off by the end of a read) is left out when `partial_last` is allowed.
pub fn records_of(items: Vec<Item>) -> Result<Vec<Stored>, StoreError> {
    let mut out: Vec<(Item, Vec<Vec<u8>>)> = Vec::new();
    for item in items {
        let sk = get_s(&item, SK).unwrap_or_default().to_owned();
        let data = item.get(DATA).and_then(|d| d.as_b().ok()).map(|b| b.as_ref().to_vec());
        if is_chunk(&sk) {
            // A chunk left from a longer record before (the main item says how many
            // belong to it) is ignored.
            if let Some((main, chunks)) = out.last_mut()
                && get_s(main, SK).is_some_and(|m| sk.starts_with(m))
                && chunks.len() < get_n(main, CHUNKS).unwrap_or(1) as usize
            {
                chunks.push(data.ok_or_else(|| corrupt(&sk, "a chunk without data"))?);
            }
            continue;
        }
        let first = data.map(|d| vec![d]).unwrap_or_default();
        out.push((item, first));
    }
    out.into_iter()
        .map(|(item, chunks)| {
            let sk = get_s(&item, SK).unwrap_or_default().to_owned();
            // A removal, or an item that holds no record (the head).
            let record = if item.contains_key(REMOVED) || !item.contains_key(DATA) {
                None
            } else {
                if chunks.len() != get_n(&item, CHUNKS).unwrap_or(1) as usize {
                    return Err(corrupt(&sk, "a record missing some of its chunks"));
                }
                let json = body::inflate_bytes(&chunks.concat())
                    .ok_or_else(|| corrupt(&sk, "a record that does not inflate"))?;
                Some(Record(json))
            };
            Ok(Stored { item, record })
        })
        .collect()
}

fn current_of(stored: Stored) -> Result<Current, StoreError> {
    let sk = get_s(&stored.item, SK).unwrap_or_default().to_owned();
    Ok(Current {
        organisation_id: get_s(&stored.item, ORG)
            .ok_or_else(|| corrupt(&sk, "no organisation"))?
            .to_owned(),
        revision: get_n(&stored.item, REV).ok_or_else(|| corrupt(&sk, "no revision"))?,
        sha256: get_s(&stored.item, SHA).unwrap_or_default().to_owned(),
        record: stored.record,
    })
}

fn live(item: &Item, now: i64) -> bool {
    get_n(item, EXPIRES_AT).is_none_or(|at| at as i64 > now)
}

fn head_of(item: &Item) -> Option<Head> {
    Some(Head {
        revision: get_n(item, REV)?,
        at: get_n(item, AT)? as i64,
        seeded: item
            .get(SEEDED)
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
        commits: get_n(item, COMMITS).unwrap_or(0),
    })
}

/// A current (or superseded) record's items.
fn current_items(pk: &str, sk: &str, c: &Current, expires: Option<i64>) -> Vec<Item> {
    let mut attributes = vec![(ORG, s(&c.organisation_id)), (REV, n(c.revision)), (SHA, s(&c.sha256))];
    if let Some(at) = expires {
        attributes.push((EXPIRES_AT, n(at.max(0) as u64)));
    }
    record_items(pk, sk, c.record.as_ref(), attributes)
}

impl DynamoStore {
    /// Every item of `pk` with a sort key in `[from, to]` (or after `after`), up to
    /// about `limit` records (the read stops at a record boundary past it).
    async fn record_query(
        &self,
        pk: &str,
        from: Option<&str>,
        after: Option<&str>,
        to: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let mut out: Vec<Item> = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .expression_attribute_values(":pk", s(pk))
                .limit(i32::try_from(limit.saturating_add(8)).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take());
            let lower = after.or(from);
            let op = if after.is_some() { ">" } else { ">=" };
            q = match (lower, to) {
                (Some(l), Some(t)) => q
                    .key_condition_expression("PK = :pk AND SK BETWEEN :l AND :t")
                    .expression_attribute_values(":l", s(l))
                    .expression_attribute_values(":t", s(t)),
                (Some(l), None) => q
                    .key_condition_expression(format!("PK = :pk AND SK {op} :l"))
                    .expression_attribute_values(":l", s(l)),
                (None, Some(t)) => q
                    .key_condition_expression("PK = :pk AND SK <= :t")
                    .expression_attribute_values(":t", s(t)),
                (None, None) => q.key_condition_expression("PK = :pk"),
            };
            let page = q.send().await.map_err(backend)?;
            out.extend(page.items.unwrap_or_default());
            let records = out
                .iter()
                .filter(|i| get_s(i, SK).is_some_and(|sk| !is_chunk(sk)))
                .count();
            match page.last_evaluated_key {
                // One record past the limit: every record before it is whole.
                Some(k) if !k.is_empty() && records <= limit => start = Some(k),
                _ => return Ok(out),
            }
        }
    }

    /// Removes outbox items outside a transaction (tests and tools).
    pub async fn delete_outbox(&self, pending: &[Pending]) -> Result<(), StoreError> {
        let requests = pending
            .iter()
            .map(|p| {
                DeleteRequest::builder()
                    .set_key(Some(key(
                        keys::OUTBOX_PK,
                        &keys::outbox_sk(&p.organisation_id, p.version),
                    )))
                    .build()
                    .map(|d| WriteRequest::builder().delete_request(d).build())
                    .map_err(backend)
            })
            .collect::<Result<_, _>>()?;
        self.batch_write(requests).await
    }

    /// The transaction of a sequencer batch.
    fn sequence_writes(
        &self,
        expected: Option<&Head>,
        batch: &Sequenced,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let w = self.writes();
        let retention = i64::from(self.feed_retention_days) * 86_400;
        let mut writes = Vec::new();
        for e in &batch.entries {
            let mut attributes = vec![
                (ORG, s(&e.organisation_id)),
                (AT, n(e.at as u64)),
                (EXPIRES_AT, n((e.at + retention) as u64)),
            ];
            if !e.events.is_empty() {
                let events = serde_json::to_string(&e.events).map_err(|err| StoreError::Backend(err.to_string()))?;
                attributes.push((EVENTS, s(events)));
            }
            for item in record_items(keys::FEED_PK, &keys::feed_sk(e.revision), e.record.as_ref(), attributes) {
                writes.push(w.put(item).map_err(built)?);
            }
        }
        for c in &batch.records {
            // A removal is remembered while an export under way may need it.
            let expires = c.record.is_none().then_some(batch.head.at + SUPERSEDED_KEEP_SECS);
            for item in current_items(keys::PUBLIC_PK, &c.organisation_id, c, expires) {
                writes.push(w.put(item).map_err(built)?);
            }
        }
        for p in &batch.done {
            writes.push(
                w.delete(keys::OUTBOX_PK, &keys::outbox_sk(&p.organisation_id, p.version))
                    .map_err(built)?,
            );
        }
        let mut head = key(keys::FEED_PK, keys::FEED_HEAD_SK);
        head.insert(REV.to_owned(), n(batch.head.revision));
        head.insert(AT.to_owned(), n(batch.head.at.max(0) as u64));
        head.insert(SEEDED.to_owned(), AttributeValue::Bool(batch.head.seeded));
        head.insert(COMMITS.to_owned(), n(batch.head.commits));
        let condition = match expected {
            None => ("attribute_not_exists(PK)".to_owned(), None),
            Some(h) => (format!("{COMMITS} = :c"), Some(n(h.commits))),
        };
        writes.push(
            w.put_conditioned(head, &condition.0, condition.1.map(|v| (":c", v)))
                .map_err(built)?,
        );
        Ok(writes)
    }
}

impl ChangeFeed for DynamoStore {
    async fn feed_head(&self) -> Result<Option<Head>, StoreError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .consistent_read(true)
            .set_key(Some(key(keys::FEED_PK, keys::FEED_HEAD_SK)))
            .send()
            .await
            .map_err(backend)?;
        Ok(got.item.as_ref().and_then(head_of))
    }

    async fn pending(&self, limit: usize) -> Result<Vec<Pending>, StoreError> {
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(keys::OUTBOX_PK))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(backend)?;
        Ok(page
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|i| keys::parse_outbox_sk(get_s(i, SK)?))
            .map(|(organisation_id, version)| Pending {
                organisation_id,
                version,
            })
            .collect())
    }

    async fn enqueue(&self, pending: &[Pending]) -> Result<(), StoreError> {
        self.batch_put(
            pending
                .iter()
                .map(|p| key(keys::OUTBOX_PK, &keys::outbox_sk(&p.organisation_id, p.version)))
                .collect(),
        )
        .await
    }

    async fn public_record(&self, org_id: &OrganisationId) -> Result<(Option<Record>, u64), StoreError> {
        let pk = keys::org_pk(org_id.as_str());
        let (items, versions) = self.organisation_partition(&pk, true).await?;
        let version = items
            .iter()
            .find(|i| get_s(i, SK) == Some(keys::VERSION_SK))
            .and_then(super::reads::Version::of)
            .map_or(0, |v| v.number);
        let bodies = super::reads::visible_bodies(&items, versions.importing.as_deref());
        let snapshot = assemble(bodies.iter().map(|(sk, body)| (*sk, body.as_ref())), true)?;
        Ok((snapshot.map(Record::of), version))
    }

    async fn current_records(&self, org_ids: &[String]) -> Result<Vec<Current>, StoreError> {
        let reads = org_ids.iter().map(|org| async move {
            let to = format!("{org}\u{2}");
            let items = self
                .record_query(keys::PUBLIC_PK, Some(org), None, Some(&to), 1)
                .await?;
            let stored = records_of(items)?;
            stored
                .into_iter()
                .filter(|s| get_s(&s.item, SK) == Some(org.as_str()))
                .map(current_of)
                .next()
                .transpose()
        });
        Ok(futures_util::future::try_join_all(reads)
            .await?
            .into_iter()
            .flatten()
            .collect())
    }

    async fn keep_superseded(&self, records: &[Current], now: i64) -> Result<(), StoreError> {
        let until = now + SUPERSEDED_KEEP_SECS;
        let items = records
            .iter()
            .flat_map(|c| {
                current_items(
                    keys::SUPERSEDED_PK,
                    &keys::superseded_sk(&c.organisation_id, c.revision),
                    c,
                    Some(until),
                )
            })
            .collect();
        self.batch_put(items).await
    }

    async fn commit_sequence(&self, expected: Option<&Head>, batch: &Sequenced) -> Result<Commit, StoreError> {
        let writes = self.sequence_writes(expected, batch)?;
        match self.transact(writes).await {
            Ok(()) => Ok(Commit::Done),
            Err(e) if lost_race(&e) => Ok(Commit::Conflict),
            Err(e) => Err(backend(e)),
        }
    }

    async fn entries_after(
        &self,
        since: Revision,
        limit: usize,
        now: i64,
    ) -> Result<(Vec<Entry>, Option<Head>), StoreError> {
        let from = keys::feed_sk(since.saturating_add(1));
        let items = self.record_query(keys::FEED_PK, Some(&from), None, None, limit).await?;
        let mut head = None;
        let mut entries = Vec::new();
        for stored in records_of(items)? {
            let sk = get_s(&stored.item, SK).unwrap_or_default().to_owned();
            if sk == keys::FEED_HEAD_SK {
                head = head_of(&stored.item);
                continue;
            }
            if entries.len() == limit {
                break;
            }
            if !live(&stored.item, now) {
                continue;
            }
            let revision = keys::parse_feed_sk(&sk).ok_or_else(|| corrupt(&sk, "not a revision"))?;
            entries.push(Entry {
                revision,
                organisation_id: get_s(&stored.item, ORG)
                    .ok_or_else(|| corrupt(&sk, "no organisation"))?
                    .to_owned(),
                at: get_n(&stored.item, AT).unwrap_or(0) as i64,
                events: match get_s(&stored.item, EVENTS) {
                    Some(json) => serde_json::from_str(json).map_err(|e| corrupt(&sk, &format!("events: {e}")))?,
                    None => Vec::new(),
                },
                record: stored.record,
            });
        }
        if entries.len() == limit {
            head = None;
        }
        Ok((entries, head))
    }

    async fn current_page(&self, after: Option<&str>, limit: usize) -> Result<Vec<Current>, StoreError> {
        let now = directory_usecases::clock::now();
        let items = self.record_query(keys::PUBLIC_PK, None, after, None, limit).await?;
        let mut out = Vec::with_capacity(limit.min(1024));
        for stored in records_of(items)? {
            if out.len() == limit {
                break;
            }
            if live(&stored.item, now) {
                out.push(current_of(stored)?);
            }
        }
        Ok(out)
    }

    async fn superseded(&self, org_id: &str, at: Revision, now: i64) -> Result<Option<Current>, StoreError> {
        let from = keys::superseded_prefix(org_id);
        let to = format!("{}\u{2}", keys::superseded_sk(org_id, at));
        let items = self
            .record_query(keys::SUPERSEDED_PK, Some(&from), None, Some(&to), usize::MAX / 2)
            .await?;
        let mut found = None;
        for stored in records_of(items)? {
            if live(&stored.item, now) {
                let c = current_of(stored)?;
                if c.revision <= at {
                    found = Some(c);
                }
            }
        }
        Ok(found)
    }

    fn settle_time(&self) -> Duration {
        SETTLE
    }

    fn feed_retention_days(&self) -> u32 {
        self.feed_retention_days
    }
}

#[cfg(test)]
mod tests {
    use super::super::schema::PK;
    use super::*;

    fn sk_of(item: &Item) -> &str {
        get_s(item, SK).unwrap()
    }

    #[test]
    fn a_small_record_is_one_compressed_item() {
        let record = Record(r#"{"OrganisationId":"o","OrganisationName":"Banco"}"#.into());
        let items = record_items(
            "FEED",
            &keys::feed_sk(7),
            Some(&record),
            vec![(ORG, s("o")), (EXPIRES_AT, n(99))],
        );
        assert_eq!(items.len(), 1);
        assert_eq!(get_s(&items[0], PK), Some("FEED"));
        assert_eq!(sk_of(&items[0]), keys::feed_sk(7));
        assert!(items[0][DATA].is_b() && !items[0].contains_key(CHUNKS));
        let back = records_of(items).unwrap();
        assert_eq!(back[0].record.as_ref(), Some(&record));
    }

    #[test]
    fn a_large_record_is_cut_into_chunks_that_sort_right_after_it() {
        // Incompressible text: a base64-like run well over one item.
        let mut rng = fastrand::Rng::with_seed(7);
        let noise: String = (0..900_000).map(|_| rng.alphanumeric()).collect();
        let record = Record(format!(r#"{{"OrganisationId":"o","Logo":"{noise}"}}"#));
        let items = record_items("PUBLIC", "o", Some(&record), vec![(EXPIRES_AT, n(5))]);
        assert!(items.len() > 1, "{} items", items.len());
        assert_eq!(get_n(&items[0], CHUNKS), Some(items.len() as u64));
        for item in &items {
            assert!(item[DATA].as_b().unwrap().as_ref().len() <= RECORD_CHUNK_BYTES);
            assert_eq!(get_n(item, EXPIRES_AT), Some(5), "every item expires together");
        }
        let mut keys: Vec<&str> = items.iter().map(sk_of).collect();
        keys.push("o0");
        keys.push("oa");
        keys.sort_unstable();
        assert_eq!(keys.first(), Some(&"o"));
        assert!(
            keys.iter().skip(1).take(items.len() - 1).all(|k| is_chunk(k)),
            "{keys:?}"
        );
        // Read back, with a stale chunk of a longer record before it ignored.
        let mut read = items.clone();
        read.push(key("PUBLIC", &chunk_sk("o", items.len())));
        let back = records_of(read).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].record.as_ref(), Some(&record));
        // A read cut before the last chunk is refused, not misread.
        assert!(records_of(items[..items.len() - 1].to_vec()).is_err());
    }

    #[test]
    fn a_removal_has_no_data() {
        let c = Current {
            organisation_id: "o".into(),
            revision: 3,
            sha256: String::new(),
            record: None,
        };
        let items = current_items("PUBLIC", "o", &c, Some(10));
        assert_eq!(items.len(), 1);
        assert!(items[0].contains_key(REMOVED) && !items[0].contains_key(DATA));
        let back = current_of(records_of(items).unwrap().remove(0)).unwrap();
        assert_eq!(back, c);
        assert!(!live(&key_with_expiry(10), 10) && live(&key_with_expiry(11), 10));
    }

    fn key_with_expiry(at: u64) -> Item {
        let mut item = key("P", "S");
        item.insert(EXPIRES_AT.to_owned(), n(at));
        item
    }

    #[test]
    fn the_head_is_conditioned_on_the_commits_it_read() {
        let store = DynamoStore::new(
            aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::Config::builder()
                    .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
                    .build(),
            ),
            "t",
        );
        let batch = Sequenced {
            head: Head {
                revision: 1,
                at: 5,
                seeded: true,
                commits: 4,
            },
            entries: vec![Entry {
                events: Vec::new(),
                revision: 1,
                organisation_id: "o".into(),
                record: None,
                at: 5,
            }],
            records: Vec::new(),
            done: vec![Pending {
                organisation_id: "o".into(),
                version: 2,
            }],
        };
        let expected = Head {
            commits: 3,
            ..batch.head
        };
        let writes = store.sequence_writes(Some(&expected), &batch).unwrap();
        assert_eq!(writes.len(), 3);
        let head = writes.last().unwrap().put().unwrap();
        assert_eq!(head.condition_expression(), Some("Commits = :c"));
        assert_eq!(head.expression_attribute_values().unwrap()[":c"], n(3));
        assert_eq!(get_n(head.item(), REV), Some(1));
        let delete = writes[1].delete().unwrap();
        assert_eq!(delete.key()[PK], s(keys::OUTBOX_PK));
        let first = store.sequence_writes(None, &batch).unwrap();
        assert_eq!(
            first.last().unwrap().put().unwrap().condition_expression(),
            Some("attribute_not_exists(PK)")
        );
        let entry = writes[0].put().unwrap().item();
        assert_eq!(get_n(entry, EXPIRES_AT), Some(5 + 35 * 86_400));
    }
}
