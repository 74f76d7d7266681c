//! Reads of the embedded store: reference data, organisations (with the snapshot
//! memory), resources, claims, the organisation list.

use super::{EmbeddedStore, ITEMS, ORGS, backend};
use directory_domain::ids::{OrganisationId, ResourceId, ServerId};
use directory_domain::items::{assemble, assemble_reference, parse, reference_items};
use directory_domain::keys::{self};
use directory_domain::model::{ApiResource, AuthorityClaim, OrganisationSnapshot, ReferenceData};
use directory_usecases::ports::*;
use redb::ReadableDatabase;
use std::sync::Arc;

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
