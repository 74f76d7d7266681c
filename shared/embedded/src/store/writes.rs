//! The write primitives of the embedded store: a claim commit and an organisation
//! replace, each one exclusive redb transaction conditioned on the claim guard.

use super::{EmbeddedStore, ITEMS, ORGS, backend};
use directory_domain::ids::OrganisationId;
use directory_domain::items::{assemble_reference, parse};
use directory_domain::keys::{self, OrgItem};
use directory_domain::model::AuthorityClaim;
use directory_usecases::ports::*;
use redb::{ReadableDatabase, ReadableTable};
use std::collections::HashSet;

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
        let org = org_id.as_str().to_owned();
        let pk = keys::org_pk(&org);
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
                Self::insert_outbox(&mut table, &org, version + 1)?;
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
                Self::insert_outbox(&mut table, &org, read + 1)?;
                let mut orgs = txn.open_table(ORGS).map_err(backend)?;
                if items.is_empty() {
                    // Removed: no longer listed (its guard stays, so versions only grow).
                    orgs.remove(org.as_str()).map_err(backend)?;
                } else {
                    orgs.insert(org.as_str(), ()).map_err(backend)?;
                }
            }
            txn.commit().map_err(backend)?;
            Ok(Commit::Done)
        })
        .await
    }
}
