//! The embedded on-disk store (redb): the local default. One file, one process at a
//! time; every write is a single serialisable redb transaction.

mod federation;
mod feed;
mod reads;
mod records;
mod subscriptions;
mod writes;

use crate::snapshot_cache::SnapshotCache;
use directory_domain::audit::{self, AuditRecord};
use directory_domain::items::parse;
use directory_domain::keys::{self};
use directory_domain::lease;
use directory_usecases::ports::StoreError;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::path::Path;
use std::sync::Arc;

/// (PK, SK) → JSON body: the same keys as the DynamoDB table.
pub(crate) const ITEMS: TableDefinition<(&str, &str), &str> = TableDefinition::new("items");
/// OrganisationId → unit: the organisations in id order (the GSI1 of DynamoDB).
pub(crate) const ORGS: TableDefinition<&str, ()> = TableDefinition::new("organisations");

/// redb's page cache. Its default (1 GiB) let a 10,000-organisation import grow the
/// process past 500 MiB; the operating system's file cache serves re-reads anyway.
const CACHE_BYTES: usize = 32 * 1024 * 1024;

/// The body of an organisation's claim guard (`CLAIM`): the version every write moves on.
#[derive(serde::Serialize, serde::Deserialize)]
struct Guard {
    version: u64,
}

/// A redb-backed store (every capability of [`directory_usecases::ports::Store`]).
#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    retention_days: u32,
    feed_retention_days: u32,
    /// Whole snapshots already assembled; emptied after every organisation write.
    snapshots: Arc<SnapshotCache>,
}

pub(crate) fn backend(e: impl Into<redb::Error>) -> StoreError {
    match e.into() {
        redb::Error::DatabaseAlreadyOpen => StoreError::Busy(
            "the embedded database is in use by another process (is `serve` running?); stop it or use another --data-dir"
                .to_owned(),
        ),
        other => StoreError::Backend(other.to_string()),
    }
}

impl EmbeddedStore {
    /// Opens (creating if needed) the database file. Fails with [`StoreError::Busy`]
    /// when another process holds it.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .map_err(backend)?;
        let txn = db.begin_write().map_err(backend)?;
        txn.open_table(ITEMS).map_err(backend)?;
        txn.open_table(ORGS).map_err(backend)?;
        txn.commit().map_err(backend)?;
        Ok(Self {
            db: Arc::new(db),
            retention_days: audit::DEFAULT_RETENTION_DAYS,
            feed_retention_days: directory_domain::feed::DEFAULT_RETENTION_DAYS,
            snapshots: Arc::default(),
        })
    }

    /// Keeps audit records for `days` (reads hide older ones).
    pub fn with_audit_retention(mut self, days: u32) -> Self {
        self.retention_days = days;
        self
    }

    /// Keeps revisions for `days` (reads hide older ones; commits remove them).
    pub fn with_feed_retention(mut self, days: u32) -> Self {
        self.feed_retention_days = days;
        self
    }

    /// Queues the organisation for the change feed at `version`, in the write's own
    /// transaction (see [`directory_usecases::ports::WriteEffects`]).
    fn insert_outbox(
        table: &mut redb::Table<(&str, &str), &str>,
        org_id: &str,
        version: u64,
    ) -> Result<(), StoreError> {
        let sk = keys::outbox_sk(org_id, version);
        table.insert((keys::OUTBOX_PK, sk.as_str()), "{}").map_err(backend)?;
        Ok(())
    }

    pub(crate) fn insert_audit(
        table: &mut redb::Table<(&str, &str), &str>,
        record: &AuditRecord,
    ) -> Result<(), StoreError> {
        let pk = record.partition_key();
        table
            .insert((pk.as_str(), record.sort_key().as_str()), record.to_json().as_str())
            .map_err(backend)?;
        Ok(())
    }

    /// The export lease as stored, if it was ever taken.
    fn lease(
        table: &impl ReadableTable<(&'static str, &'static str), &'static str>,
    ) -> Result<Option<lease::LeaseState>, StoreError> {
        let key = (keys::EXPORT_PK, keys::LEASE_SK);
        match table.get(key).map_err(backend)? {
            Some(body) => Ok(Some(parse(keys::LEASE_SK, body.value())?)),
            None => Ok(None),
        }
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?
    }

    /// [`Self::blocking`] for a write that may change organisations: the snapshot
    /// memory is emptied after it, committed or not, so a read that raced it is not
    /// kept (every such write goes through here).
    async fn organisation_write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let outcome = self.blocking(f).await;
        self.snapshots.written();
        outcome
    }

    /// The organisation's claim-guard version (0 before its first write).
    fn version(
        table: &impl ReadableTable<(&'static str, &'static str), &'static str>,
        pk: &str,
    ) -> Result<u64, StoreError> {
        match table.get((pk, keys::VERSION_SK)).map_err(backend)? {
            Some(body) => Ok(parse::<Guard>(keys::VERSION_SK, body.value())?.version),
            None => Ok(0),
        }
    }

    fn set_version(table: &mut redb::Table<(&str, &str), &str>, pk: &str, version: u64) -> Result<(), StoreError> {
        let body = serde_json::to_string(&Guard { version }).map_err(|e| StoreError::Backend(e.to_string()))?;
        table.insert((pk, keys::VERSION_SK), body.as_str()).map_err(backend)?;
        Ok(())
    }

    fn read_partition(db: &Database, pk: &str, prefix: &str) -> Result<Vec<(String, String)>, StoreError> {
        let txn = db.begin_read().map_err(backend)?;
        let table = txn.open_table(ITEMS).map_err(backend)?;
        Self::range_of(&table, pk, prefix)
    }

    /// The `(sort key, body)` pairs of `pk` whose sort key starts with `prefix`, in
    /// whichever transaction `table` belongs to.
    fn range_of(
        table: &impl ReadableTable<(&'static str, &'static str), &'static str>,
        pk: &str,
        prefix: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let end = keys::range_end(prefix);
        let mut out = Vec::new();
        for entry in table.range((pk, prefix)..(pk, end.as_str())).map_err(backend)? {
            let (k, v) = entry.map_err(backend)?;
            out.push((k.value().1.to_owned(), v.value().to_owned()));
        }
        Ok(out)
    }
}
