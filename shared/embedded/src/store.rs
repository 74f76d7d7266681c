//! The embedded on-disk store (redb): the local default. One file, one process at a
//! time; every write is a single serialisable redb transaction.

use crate::snapshot_cache::SnapshotCache;
use directory_domain::audit::{self, AuditRecord};
use directory_domain::ids::{OrganisationId, ResourceId, ServerId};
use directory_domain::items::{assemble, assemble_reference, parse, reference_items};
use directory_domain::keys::{self, OrgItem};
use directory_domain::lease;
use directory_domain::model::{ApiResource, AuthorityClaim, OrganisationSnapshot, ReferenceData};
use directory_usecases::ports::{
    AuditLog, ClaimContext, ClaimWrites, Commit, Document, Documents, ExportLease, OrganisationReads,
    OrganisationWrites, ReferenceStore, StoreError, StoredOrganisation, Versioned, WriteEffects,
};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

/// (PK, SK) → JSON body: the same keys as the DynamoDB table.
const ITEMS: TableDefinition<(&str, &str), &str> = TableDefinition::new("items");
/// OrganisationId → unit: the organisations in id order (the GSI1 of DynamoDB).
const ORGS: TableDefinition<&str, ()> = TableDefinition::new("organisations");

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
    /// Whole snapshots already assembled; emptied after every organisation write.
    snapshots: Arc<SnapshotCache>,
}

fn backend(e: impl Into<redb::Error>) -> StoreError {
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
            snapshots: Arc::default(),
        })
    }

    /// Keeps audit records for `days` (reads hide older ones).
    pub fn with_audit_retention(mut self, days: u32) -> Self {
        self.retention_days = days;
        self
    }

    fn insert_audit(table: &mut redb::Table<(&str, &str), &str>, record: &AuditRecord) -> Result<(), StoreError> {
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

impl ReferenceStore for EmbeddedStore {
    async fn put_reference(&self, reference: &ReferenceData) -> Result<(), StoreError> {
        let items = reference_items(reference);
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            {
                let mut table = txn.open_table(ITEMS).map_err(backend)?;
                for (sk, body) in &items {
                    table
                        .insert((keys::REF_PK, sk.as_str()), body.as_str())
                        .map_err(backend)?;
                }
            }
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn reference(&self) -> Result<ReferenceData, StoreError> {
        let items = self.blocking(|db| Self::read_partition(db, keys::REF_PK, "")).await?;
        Ok(assemble_reference(items.iter().map(|(k, v)| (k.as_str(), v.as_str())))?)
    }
}

impl OrganisationReads for EmbeddedStore {
    async fn read_organisation(
        &self,
        org_id: &OrganisationId,
        public_only: bool,
    ) -> Result<Option<OrganisationSnapshot>, StoreError> {
        let org_id = org_id.as_str();
        // Only whole snapshots are remembered: the export reads every organisation's
        // public part once, which a bounded memory could not help.
        if !public_only && let Some(snapshot) = self.snapshots.get(org_id) {
            return Ok(Some(OrganisationSnapshot::clone(&snapshot)));
        }
        let generation = self.snapshots.generation();
        let pk = keys::org_pk(org_id);
        let items = self.blocking(move |db| Self::read_partition(db, &pk, "")).await?;
        let snapshot = assemble(items.iter().map(|(k, v)| (k.as_str(), v.as_str())), public_only)?;
        if !public_only && let Some(s) = &snapshot {
            let bytes = items.iter().map(|(k, v)| k.len() + v.len()).sum();
            self.snapshots.remember(generation, org_id, Arc::new(s.clone()), bytes);
        }
        Ok(snapshot)
    }

    async fn api_resource(
        &self,
        org_id: &OrganisationId,
        server_id: &ServerId,
        resource_id: &ResourceId,
    ) -> Result<Option<ApiResource>, StoreError> {
        let org_id = org_id.as_str();
        let server_id = server_id.as_str();
        let resource_id = resource_id.as_str();
        let pk = keys::org_pk(org_id);
        let sk = keys::resource_sk(server_id, resource_id);
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(ITEMS).map_err(backend)?;
            match table.get((pk.as_str(), sk.as_str())).map_err(backend)? {
                Some(v) => Ok(Some(parse(&sk, v.value())?)),
                None => Ok(None),
            }
        })
        .await
    }

    async fn authority_claims(&self, org_id: &OrganisationId) -> Result<Option<Vec<AuthorityClaim>>, StoreError> {
        let org_id = org_id.as_str();
        let pk = keys::org_pk(org_id);
        let id = org_id.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            if txn
                .open_table(ORGS)
                .map_err(backend)?
                .get(id.as_str())
                .map_err(backend)?
                .is_none()
            {
                return Ok(None);
            }
            let table = txn.open_table(ITEMS).map_err(backend)?;
            let end = keys::range_end(keys::CLAIM_PREFIX);
            let mut claims = Vec::new();
            for entry in table
                .range((pk.as_str(), keys::CLAIM_PREFIX)..(pk.as_str(), end.as_str()))
                .map_err(backend)?
            {
                let (k, v) = entry.map_err(backend)?;
                claims.push(parse(k.value().1, v.value())?);
            }
            Ok(Some(claims))
        })
        .await
    }

    async fn organisation_ids(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>, StoreError> {
        let after = after.map(str::to_owned);
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(ORGS).map_err(backend)?;
            let range = match &after {
                Some(a) => table.range::<&str>((std::ops::Bound::Excluded(a.as_str()), std::ops::Bound::Unbounded)),
                None => table.range::<&str>(..),
            }
            .map_err(backend)?;
            let mut ids = Vec::with_capacity(limit.min(1024));
            for entry in range.take(limit) {
                ids.push(entry.map_err(backend)?.0.value().to_owned());
            }
            Ok(ids)
        })
        .await
    }
}

impl ClaimWrites for EmbeddedStore {
    async fn claim_context(&self, org_id: &OrganisationId) -> Result<ClaimContext, StoreError> {
        let org = org_id.as_str().to_owned();
        self.blocking(move |db| {
            // One read transaction: the reference data, the guard and the claims as
            // of one moment.
            let txn = db.begin_read().map_err(backend)?;
            if txn
                .open_table(ORGS)
                .map_err(backend)?
                .get(org.as_str())
                .map_err(backend)?
                .is_none()
            {
                return Ok(ClaimContext::NoOrganisation);
            }
            let table = txn.open_table(ITEMS).map_err(backend)?;
            let pk = keys::org_pk(&org);
            let reference = Self::range_of(&table, keys::REF_PK, "")?;
            let reference = assemble_reference(reference.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
            let claims = Self::range_of(&table, &pk, keys::CLAIM_PREFIX)?
                .iter()
                .map(|(sk, body)| parse(sk, body))
                .collect::<Result<_, _>>()?;
            let version = Self::version(&table, &pk)?;
            Ok(ClaimContext::Ready {
                reference,
                claims,
                version,
            })
        })
        .await
    }

    async fn commit_claim(
        &self,
        org_id: &OrganisationId,
        claim: &AuthorityClaim,
        version: u64,
        effects: &WriteEffects,
    ) -> Result<Commit, StoreError> {
        let pk = keys::org_pk(org_id.as_str());
        let sk = keys::claim_sk(&claim.organisation_authority_claim_id);
        let body = serde_json::to_string(claim).map_err(|e| StoreError::Backend(e.to_string()))?;
        let record = effects.audit.clone();
        self.organisation_write(move |db| {
            // redb write transactions are exclusive: the check and the write are one step.
            let txn = db.begin_write().map_err(backend)?;
            {
                let mut table = txn.open_table(ITEMS).map_err(backend)?;
                if Self::version(&table, &pk)? != version
                    || table.get((pk.as_str(), sk.as_str())).map_err(backend)?.is_none()
                {
                    drop(table);
                    txn.abort().map_err(backend)?;
                    return Ok(Commit::Conflict);
                }
                table
                    .insert((pk.as_str(), sk.as_str()), body.as_str())
                    .map_err(backend)?;
                Self::insert_audit(&mut table, &record)?;
                Self::set_version(&mut table, &pk, version + 1)?;
            }
            txn.commit().map_err(backend)?;
            Ok(Commit::Done)
        })
        .await
    }
}

impl OrganisationWrites for EmbeddedStore {
    /// The guard's version: a replace lands only if no write came in since its read.
    type Read = u64;

    async fn read_for_replace(&self, org_id: &OrganisationId) -> Result<StoredOrganisation<u64>, StoreError> {
        let pk = keys::org_pk(org_id.as_str());
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(ITEMS).map_err(backend)?;
            let items = Self::range_of(&table, &pk, "")?
                .into_iter()
                .filter(|(sk, _)| !keys::is_version_sk(sk))
                .collect();
            Ok(StoredOrganisation {
                items,
                pending: false,
                state: Self::version(&table, &pk)?,
            })
        })
        .await
    }

    async fn replace_items(
        &self,
        org_id: &OrganisationId,
        read: u64,
        items: Vec<(OrgItem, String)>,
        effects: &WriteEffects,
    ) -> Result<Commit, StoreError> {
        let org = org_id.as_str().to_owned();
        let pk = keys::org_pk(&org);
        let items: Vec<(String, String)> = items.into_iter().map(|(kind, body)| (kind.sk(), body)).collect();
        let record = effects.audit.clone();
        self.organisation_write(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            {
                let mut table = txn.open_table(ITEMS).map_err(backend)?;
                if Self::version(&table, &pk)? != read {
                    drop(table);
                    txn.abort().map_err(backend)?;
                    return Ok(Commit::Conflict);
                }
                let keep: HashSet<&str> = items.iter().map(|(sk, _)| sk.as_str()).collect();
                let stale: Vec<String> = Self::range_of(&table, &pk, "")?
                    .into_iter()
                    .map(|(sk, _)| sk)
                    .filter(|sk| !keep.contains(sk.as_str()) && !keys::is_version_sk(sk))
                    .collect();
                for sk in &stale {
                    table.remove((pk.as_str(), sk.as_str())).map_err(backend)?;
                }
                for (sk, body) in &items {
                    table
                        .insert((pk.as_str(), sk.as_str()), body.as_str())
                        .map_err(backend)?;
                }
                Self::insert_audit(&mut table, &record)?;
                Self::set_version(&mut table, &pk, read + 1)?;
                txn.open_table(ORGS)
                    .map_err(backend)?
                    .insert(org.as_str(), ())
                    .map_err(backend)?;
            }
            txn.commit().map_err(backend)?;
            Ok(Commit::Done)
        })
        .await
    }
}

impl AuditLog for EmbeddedStore {
    fn audit_retention_days(&self) -> u32 {
        self.retention_days
    }

    async fn put_audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let record = record.clone();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            Self::insert_audit(&mut txn.open_table(ITEMS).map_err(backend)?, &record)?;
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn audit_records(
        &self,
        org_id: Option<&OrganisationId>,
        since: Option<&str>,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let org_id = org_id.map(OrganisationId::as_str);
        let pk = keys::audit_partition(org_id);
        let items = self.blocking(move |db| Self::read_partition(db, &pk, "")).await?;
        Ok(directory_domain::items::audit_records(
            items.iter().rev().map(|(k, v)| (k.as_str(), v.as_str())),
            since,
        )?)
    }
}

impl ExportLease for EmbeddedStore {
    async fn acquire_export_lease(&self, holder: &str, ttl: std::time::Duration) -> Result<Option<u64>, StoreError> {
        let holder = holder.to_owned();
        self.blocking(move |db| {
            // One write transaction: redb serialises them, so the check and the
            // grant cannot interleave with another process's.
            let txn = db.begin_write().map_err(backend)?;
            let granted = {
                let mut table = txn.open_table(ITEMS).map_err(backend)?;
                let current = Self::lease(&table)?;
                let granted = lease::take(current.as_ref(), &holder, lease::now_ms(), ttl);
                if let Some(next) = &granted {
                    let body = serde_json::to_string(next).map_err(|e| StoreError::Backend(e.to_string()))?;
                    table
                        .insert((keys::EXPORT_PK, keys::LEASE_SK), body.as_str())
                        .map_err(backend)?;
                }
                granted
            };
            txn.commit().map_err(backend)?;
            Ok(granted.map(|l| l.fence))
        })
        .await
    }

    async fn holds_export_lease(&self, fence: u64) -> Result<bool, StoreError> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(ITEMS).map_err(backend)?;
            Ok(lease::holds(Self::lease(&table)?.as_ref(), fence, lease::now_ms()))
        })
        .await
    }

    async fn release_export_lease(&self, fence: u64) -> Result<(), StoreError> {
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            {
                let mut table = txn.open_table(ITEMS).map_err(backend)?;
                if let Some(current) = Self::lease(&table)? {
                    let body = serde_json::to_string(&lease::released(current, fence))
                        .map_err(|e| StoreError::Backend(e.to_string()))?;
                    table
                        .insert((keys::EXPORT_PK, keys::LEASE_SK), body.as_str())
                        .map_err(backend)?;
                }
            }
            txn.commit().map_err(backend)
        })
        .await
    }
}

impl Documents for EmbeddedStore {
    async fn document(&self, document: Document) -> Result<Option<Versioned>, StoreError> {
        let (pk, sk) = document.key();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(ITEMS).map_err(backend)?;
            match table.get((pk, sk.as_str())).map_err(backend)? {
                Some(body) => Ok(Some(parse(&sk, body.value())?)),
                None => Ok(None),
            }
        })
        .await
    }

    async fn put_document(&self, document: Document, body: &str, expected: Option<u64>) -> Result<bool, StoreError> {
        let (pk, sk) = document.key();
        let body = body.to_owned();
        self.blocking(move |db| {
            // One write transaction: the version check and the write cannot interleave.
            let txn = db.begin_write().map_err(backend)?;
            let written = {
                let mut table = txn.open_table(ITEMS).map_err(backend)?;
                let current = match table.get((pk, sk.as_str())).map_err(backend)? {
                    Some(stored) => Some(parse::<Versioned>(&sk, stored.value())?.version),
                    None => None,
                };
                if current != expected {
                    false
                } else {
                    let next = Versioned {
                        version: expected.unwrap_or(0) + 1,
                        body,
                    };
                    let json = serde_json::to_string(&next).map_err(|e| StoreError::Backend(e.to_string()))?;
                    table.insert((pk, sk.as_str()), json.as_str()).map_err(backend)?;
                    true
                }
            };
            txn.commit().map_err(backend)?;
            Ok(written)
        })
        .await
    }
}
