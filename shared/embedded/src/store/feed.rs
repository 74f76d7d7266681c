//! The change feed's items in the embedded store: the outbox, the revisions, the
//! current and superseded public records and the head, each a JSON body under the
//! same keys as the DynamoDB table. A redb read is a snapshot, so nothing here ever
//! sees half of a commit.

use super::{EmbeddedStore, ITEMS, backend};
use directory_domain::feed::{Current, Entry, Head, Record, Revision};
use directory_domain::ids::OrganisationId;
use directory_domain::items::{assemble, parse};
use directory_domain::keys;
use directory_usecases::ports::{ChangeFeed, Commit, Pending, Sequenced, StoreError};
use redb::{ReadableDatabase, ReadableTable};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Expired revisions removed by one sequencer commit at most (the rest by later ones).
const PRUNE_PER_COMMIT: usize = 256;

/// A revision as stored.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StoredEntry {
    organisation_id: String,
    at: i64,
    expires_at: i64,
    record: Option<Box<RawValue>>,
    /// What the revision did (revisions stored before change events have none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    events: Vec<directory_domain::events::ChangeEvent>,
}

/// A current or superseded record as stored.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StoredRecord {
    organisation_id: String,
    revision: Revision,
    sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
    record: Option<Box<RawValue>>,
}

fn raw(record: &Option<Record>) -> Result<Option<Box<RawValue>>, StoreError> {
    record
        .as_ref()
        .map(|r| RawValue::from_string(r.0.clone()).map_err(|e| StoreError::Backend(e.to_string())))
        .transpose()
}

fn json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(e.to_string()))
}

impl StoredRecord {
    fn of(c: &Current, expires_at: Option<i64>) -> Result<Self, StoreError> {
        Ok(Self {
            organisation_id: c.organisation_id.clone(),
            revision: c.revision,
            sha256: c.sha256.clone(),
            expires_at,
            record: raw(&c.record)?,
        })
    }

    fn current(self) -> Current {
        Current {
            organisation_id: self.organisation_id,
            revision: self.revision,
            sha256: self.sha256,
            record: self.record.map(|r| Record(r.get().to_owned())),
        }
    }

    fn live(&self, now: i64) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

type Items<'t> = redb::Table<'t, (&'static str, &'static str), &'static str>;

impl EmbeddedStore {
    fn head_in(
        table: &impl ReadableTable<(&'static str, &'static str), &'static str>,
    ) -> Result<Option<Head>, StoreError> {
        match table.get((keys::FEED_PK, keys::FEED_HEAD_SK)).map_err(backend)? {
            Some(body) => Ok(Some(parse(keys::FEED_HEAD_SK, body.value())?)),
            None => Ok(None),
        }
    }

    /// Removes expired revisions from the front of the feed.
    fn prune(table: &mut Items<'_>, now: i64) -> Result<(), StoreError> {
        let mut expired = Vec::new();
        for entry in table
            .range((keys::FEED_PK, "")..(keys::FEED_PK, keys::FEED_HEAD_SK))
            .map_err(backend)?
            .take(PRUNE_PER_COMMIT)
        {
            let (k, v) = entry.map_err(backend)?;
            let stored: StoredEntry = parse(k.value().1, v.value())?;
            if stored.expires_at > now {
                break;
            }
            expired.push(k.value().1.to_owned());
        }
        for sk in expired {
            table.remove((keys::FEED_PK, sk.as_str())).map_err(backend)?;
        }
        Ok(())
    }
}

impl ChangeFeed for EmbeddedStore {
    async fn feed_head(&self) -> Result<Option<Head>, StoreError> {
        self.blocking(|db| {
            let txn = db.begin_read().map_err(backend)?;
            Self::head_in(&txn.open_table(ITEMS).map_err(backend)?)
        })
        .await
    }

    async fn pending(&self, limit: usize) -> Result<Vec<Pending>, StoreError> {
        self.blocking(move |db| {
            let items = Self::read_partition(db, keys::OUTBOX_PK, "")?;
            Ok(items
                .into_iter()
                .take(limit)
                .filter_map(|(sk, _)| keys::parse_outbox_sk(&sk))
                .map(|(organisation_id, version)| Pending {
                    organisation_id,
                    version,
                })
                .collect())
        })
        .await
    }

    async fn enqueue(&self, pending: &[Pending]) -> Result<(), StoreError> {
        let keys: Vec<String> = pending
            .iter()
            .map(|p| keys::outbox_sk(&p.organisation_id, p.version))
            .collect();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            {
                let mut table = txn.open_table(ITEMS).map_err(backend)?;
                for sk in &keys {
                    table.insert((keys::OUTBOX_PK, sk.as_str()), "{}").map_err(backend)?;
                }
            }
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn public_record(&self, org_id: &OrganisationId) -> Result<(Option<Record>, u64), StoreError> {
        let pk = keys::org_pk(org_id.as_str());
        self.blocking(move |db| {
            // One read transaction: the items and the version of one moment.
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(ITEMS).map_err(backend)?;
            let version = Self::version(&table, &pk)?;
            let items = Self::range_of(&table, &pk, "")?;
            let snapshot = assemble(items.iter().map(|(k, v)| (k.as_str(), v.as_str())), true)?;
            Ok((snapshot.map(Record::of), version))
        })
        .await
    }

    async fn current_records(&self, org_ids: &[String]) -> Result<Vec<Current>, StoreError> {
        let ids = org_ids.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(ITEMS).map_err(backend)?;
            let mut out = Vec::new();
            for id in &ids {
                if let Some(body) = table.get((keys::PUBLIC_PK, id.as_str())).map_err(backend)? {
                    out.push(parse::<StoredRecord>(id, body.value())?.current());
                }
            }
            Ok(out)
        })
        .await
    }

    async fn keep_superseded(&self, records: &[Current], now: i64) -> Result<(), StoreError> {
        let until = now + directory_domain::feed::SUPERSEDED_KEEP_SECS;
        let rows: Vec<(String, String)> = records
            .iter()
            .map(|c| {
                Ok((
                    keys::superseded_sk(&c.organisation_id, c.revision),
                    json(&StoredRecord::of(c, Some(until))?)?,
                ))
            })
            .collect::<Result<_, StoreError>>()?;
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            {
                let mut table = txn.open_table(ITEMS).map_err(backend)?;
                for (sk, body) in &rows {
                    table
                        .insert((keys::SUPERSEDED_PK, sk.as_str()), body.as_str())
                        .map_err(backend)?;
                }
            }
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn commit_sequence(&self, expected: Option<&Head>, batch: &Sequenced) -> Result<Commit, StoreError> {
        let expected = expected.copied();
        let retention = i64::from(self.feed_retention_days) * 86_400;
        let head = json(&batch.head)?;
        let entries: Vec<(String, String)> = batch
            .entries
            .iter()
            .map(|e| {
                let stored = StoredEntry {
                    organisation_id: e.organisation_id.clone(),
                    at: e.at,
                    expires_at: e.at + retention,
                    record: raw(&e.record)?,
                    events: e.events.clone(),
                };
                Ok((keys::feed_sk(e.revision), json(&stored)?))
            })
            .collect::<Result<_, StoreError>>()?;
        let keep = directory_domain::feed::SUPERSEDED_KEEP_SECS;
        let records: Vec<(String, String)> = batch
            .records
            .iter()
            .map(|c| {
                // A removal is remembered while an export under way may need it.
                let expires = c.record.is_none().then_some(batch.head.at + keep);
                Ok((c.organisation_id.clone(), json(&StoredRecord::of(c, expires)?)?))
            })
            .collect::<Result<_, StoreError>>()?;
        let done: Vec<String> = batch
            .done
            .iter()
            .map(|p| keys::outbox_sk(&p.organisation_id, p.version))
            .collect();
        let now = batch.head.at;
        self.blocking(move |db| {
            // redb write transactions are exclusive: the check and the write are one step.
            let txn = db.begin_write().map_err(backend)?;
            let current = {
                let table = txn.open_table(ITEMS).map_err(backend)?;
                Self::head_in(&table)?
            };
            if current != expected {
                txn.abort().map_err(backend)?;
                return Ok(Commit::Conflict);
            }
            {
                let mut table = txn.open_table(ITEMS).map_err(backend)?;
                for (sk, body) in &entries {
                    table
                        .insert((keys::FEED_PK, sk.as_str()), body.as_str())
                        .map_err(backend)?;
                }
                for (org, body) in &records {
                    table
                        .insert((keys::PUBLIC_PK, org.as_str()), body.as_str())
                        .map_err(backend)?;
                }
                for sk in &done {
                    table.remove((keys::OUTBOX_PK, sk.as_str())).map_err(backend)?;
                }
                table
                    .insert((keys::FEED_PK, keys::FEED_HEAD_SK), head.as_str())
                    .map_err(backend)?;
                Self::prune(&mut table, now)?;
            }
            txn.commit().map_err(backend)?;
            Ok(Commit::Done)
        })
        .await
    }

    async fn entries_after(
        &self,
        since: Revision,
        limit: usize,
        now: i64,
    ) -> Result<(Vec<Entry>, Option<Head>), StoreError> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(ITEMS).map_err(backend)?;
            let from = keys::feed_sk(since.saturating_add(1));
            let mut entries = Vec::new();
            for item in table
                .range((keys::FEED_PK, from.as_str())..(keys::FEED_PK, keys::FEED_HEAD_SK))
                .map_err(backend)?
                .take(limit)
            {
                let (k, v) = item.map_err(backend)?;
                let sk = k.value().1;
                let stored: StoredEntry = parse(sk, v.value())?;
                if stored.expires_at <= now {
                    continue;
                }
                entries.push(Entry {
                    revision: keys::parse_feed_sk(sk).ok_or_else(|| StoreError::Corrupt {
                        key: sk.to_owned(),
                        reason: "not a revision".into(),
                    })?,
                    organisation_id: stored.organisation_id,
                    record: stored.record.map(|r| Record(r.get().to_owned())),
                    at: stored.at,
                    events: stored.events,
                });
            }
            let head = if entries.len() < limit {
                Self::head_in(&table)?
            } else {
                None
            };
            Ok((entries, head))
        })
        .await
    }

    async fn current_page(&self, after: Option<&str>, limit: usize) -> Result<Vec<Current>, StoreError> {
        let after = after.map(str::to_owned);
        let now = directory_usecases::clock::now();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(ITEMS).map_err(backend)?;
            let end = keys::range_end("");
            let start = match &after {
                Some(a) => std::ops::Bound::Excluded((keys::PUBLIC_PK, a.as_str())),
                None => std::ops::Bound::Included((keys::PUBLIC_PK, "")),
            };
            let mut out = Vec::with_capacity(limit.min(1024));
            for item in table
                .range::<(&str, &str)>((start, std::ops::Bound::Excluded((keys::PUBLIC_PK, end.as_str()))))
                .map_err(backend)?
            {
                if out.len() == limit {
                    break;
                }
                let (k, v) = item.map_err(backend)?;
                let stored: StoredRecord = parse(k.value().1, v.value())?;
                if stored.live(now) {
                    out.push(stored.current());
                }
            }
            Ok(out)
        })
        .await
    }

    async fn superseded(&self, org_id: &str, at: Revision, now: i64) -> Result<Option<Current>, StoreError> {
        let prefix = keys::superseded_prefix(org_id);
        let last = keys::superseded_sk(org_id, at);
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(ITEMS).map_err(backend)?;
            let mut found = None;
            for item in table
                .range((keys::SUPERSEDED_PK, prefix.as_str())..=(keys::SUPERSEDED_PK, last.as_str()))
                .map_err(backend)?
            {
                let (k, v) = item.map_err(backend)?;
                let stored: StoredRecord = parse(k.value().1, v.value())?;
                if stored.live(now) {
                    found = Some(stored.current());
                }
            }
            Ok(found)
        })
        .await
    }

    fn settle_time(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }

    fn feed_retention_days(&self) -> u32 {
        self.feed_retention_days
    }
}
