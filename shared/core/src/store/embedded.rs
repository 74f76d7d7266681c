//! The embedded on-disk store (redb): the local default. One file, one process at a
//! time; every write is a single serialisable redb transaction.

use super::items::{assemble, assemble_reference, organisation_items, parse, reference_items};
use super::{ClaimDecision, ClaimWrite, Store, StoreError};
use crate::keys;
use crate::model::{ApiResource, AuthorityClaim, OrganisationSnapshot, ReferenceData};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

/// (PK, SK) → JSON body: the same keys as the DynamoDB table.
const ITEMS: TableDefinition<(&str, &str), &str> = TableDefinition::new("items");
/// OrganisationId → unit: the organisations in id order (the GSI1 of DynamoDB).
const ORGS: TableDefinition<&str, ()> = TableDefinition::new("organisations");

/// A redb-backed [`Store`].
#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
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

/// The (PK, SK) range of one organisation partition with a sort-key prefix.
fn prefix_end(prefix: &str) -> String {
    // Sort keys are ASCII-prefixed; the prefix followed by U+10FFFF bounds every key under it.
    format!("{prefix}\u{10FFFF}")
}

impl EmbeddedStore {
    /// Opens (creating if needed) the database file. Fails with [`StoreError::Busy`]
    /// when another process holds it.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Database::create(path).map_err(backend)?;
        let txn = db.begin_write().map_err(backend)?;
        txn.open_table(ITEMS).map_err(backend)?;
        txn.open_table(ORGS).map_err(backend)?;
        txn.commit().map_err(backend)?;
        Ok(Self { db: Arc::new(db) })
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

    fn read_partition(db: &Database, pk: &str, prefix: &str) -> Result<Vec<(String, String)>, StoreError> {
        let txn = db.begin_read().map_err(backend)?;
        let table = txn.open_table(ITEMS).map_err(backend)?;
        let end = prefix_end(prefix);
        let mut out = Vec::new();
        for entry in table.range((pk, prefix)..(pk, end.as_str())).map_err(backend)? {
            let (k, v) = entry.map_err(backend)?;
            out.push((k.value().1.to_owned(), v.value().to_owned()));
        }
        Ok(out)
    }
}

impl Store for EmbeddedStore {
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
        assemble_reference(items.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    async fn replace_organisation(&self, snapshot: &OrganisationSnapshot) -> Result<(), StoreError> {
        let org_id = snapshot.id().to_owned();
        let pk = keys::org_pk(&org_id);
        let items: Vec<(String, String)> = organisation_items(snapshot)
            .into_iter()
            .map(|(kind, body)| (kind.sk(), body))
            .collect();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            {
                let mut table = txn.open_table(ITEMS).map_err(backend)?;
                let keep: HashSet<&str> = items.iter().map(|(sk, _)| sk.as_str()).collect();
                let end = prefix_end("");
                let stale: Vec<String> = table
                    .range((pk.as_str(), "")..(pk.as_str(), end.as_str()))
                    .map_err(backend)?
                    .filter_map(|e| e.ok().map(|(k, _)| k.value().1.to_owned()))
                    .filter(|sk| !keep.contains(sk.as_str()))
                    .collect();
                for sk in &stale {
                    table.remove((pk.as_str(), sk.as_str())).map_err(backend)?;
                }
                for (sk, body) in &items {
                    table
                        .insert((pk.as_str(), sk.as_str()), body.as_str())
                        .map_err(backend)?;
                }
                txn.open_table(ORGS)
                    .map_err(backend)?
                    .insert(org_id.as_str(), ())
                    .map_err(backend)?;
            }
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn read_organisation(
        &self,
        org_id: &str,
        public_only: bool,
    ) -> Result<Option<OrganisationSnapshot>, StoreError> {
        let pk = keys::org_pk(org_id);
        let items = self.blocking(move |db| Self::read_partition(db, &pk, "")).await?;
        assemble(items.iter().map(|(k, v)| (k.as_str(), v.as_str())), public_only)
    }

    async fn api_resource(
        &self,
        org_id: &str,
        server_id: &str,
        resource_id: &str,
    ) -> Result<Option<ApiResource>, StoreError> {
        let pk = keys::org_pk(org_id);
        let sk = keys::resource_sk(server_id, resource_id);
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(ITEMS).map_err(backend)?;
            match table.get((pk.as_str(), sk.as_str())).map_err(backend)? {
                Some(v) => parse(&sk, v.value()).map(Some),
                None => Ok(None),
            }
        })
        .await
    }

    async fn authority_claims(&self, org_id: &str) -> Result<Option<Vec<AuthorityClaim>>, StoreError> {
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
            let end = prefix_end(keys::CLAIM_PREFIX);
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

    async fn update_authority_claim<E: Send + 'static, D: ClaimDecision<E> + 'static>(
        &self,
        org_id: &str,
        claim_id: &str,
        decide: D,
    ) -> Result<ClaimWrite<E>, StoreError> {
        let pk = keys::org_pk(org_id);
        let target = keys::claim_sk(claim_id);
        self.blocking(move |db| {
            // redb write transactions are exclusive: read, decide and write are one
            // serialisable step, so no other claim write can interleave.
            let txn = db.begin_write().map_err(backend)?;
            let outcome = {
                let mut table = txn.open_table(ITEMS).map_err(backend)?;
                let end = prefix_end(keys::CLAIM_PREFIX);
                let mut claims: Vec<AuthorityClaim> = Vec::new();
                let mut current = None;
                for entry in table
                    .range((pk.as_str(), keys::CLAIM_PREFIX)..(pk.as_str(), end.as_str()))
                    .map_err(backend)?
                {
                    let (k, v) = entry.map_err(backend)?;
                    let claim: AuthorityClaim = parse(k.value().1, v.value())?;
                    if k.value().1 == target {
                        current = Some(claim.clone());
                    }
                    claims.push(claim);
                }
                match current {
                    None => ClaimWrite::NotFound,
                    Some(current) => match decide(&claims, &current) {
                        Err(e) => ClaimWrite::Rejected(e),
                        Ok(updated) => {
                            let body =
                                serde_json::to_string(&updated).map_err(|e| StoreError::Backend(e.to_string()))?;
                            table
                                .insert((pk.as_str(), target.as_str()), body.as_str())
                                .map_err(backend)?;
                            ClaimWrite::Updated(Box::new(updated))
                        }
                    },
                }
            };
            match outcome {
                ClaimWrite::Updated(_) => txn.commit().map_err(backend)?,
                _ => txn.abort().map_err(backend)?,
            }
            Ok(outcome)
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
