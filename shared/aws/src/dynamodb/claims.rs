//! The claim write primitives: the context in one round trip (the reference data and,
//! in one Query, the version then the claims), and the commit in one transaction
//! conditioned on the version read.

use super::schema::{DATA, audit_item as schema_audit, key};
use super::transact::{Expect, ImportMark, VersionBump};
use super::{DynamoStore, backend, built, lost_race};
use crate::body;
use directory_domain::ids::OrganisationId;
use directory_domain::keys;
use directory_domain::model::AuthorityClaim;
use directory_usecases::ports::{ClaimContext, ClaimWrites, Commit, ReferenceStore, StoreError, WriteEffects};

impl ClaimWrites for DynamoStore {
    async fn claim_context(&self, org_id: &OrganisationId) -> Result<ClaimContext, StoreError> {
        let pk = keys::org_pk(org_id.as_str());
        // Any claim write committed after the version was read bumps it, so the
        // commit's condition fails and the decision is retaken.
        let (reference, (version, claims)) = tokio::try_join!(self.reference(), self.claims_of(&pk, false))?;
        Ok(match version {
            None => ClaimContext::NoOrganisation,
            Some(v) if v.importing.is_some() => ClaimContext::Importing,
            Some(v) => ClaimContext::Ready {
                reference,
                claims,
                version: v.number,
            },
        })
    }

    async fn commit_claim(
        &self,
        org_id: &OrganisationId,
        claim: &AuthorityClaim,
        version: u64,
        effects: &WriteEffects,
    ) -> Result<Commit, StoreError> {
        let pk = keys::org_pk(org_id.as_str());
        let body = serde_json::to_string(claim).map_err(|e| StoreError::Backend(e.to_string()))?;
        let mut item = key(&pk, &keys::claim_sk(&claim.organisation_authority_claim_id));
        item.insert(DATA.to_owned(), body::encode(&body));
        let w = self.writes();
        let bump = VersionBump {
            token: effects.audit.id.clone(),
            mark: ImportMark::Keep,
            expect: Expect::Version(version),
        };
        let mut writes = vec![
            w.put_existing(item).map_err(built)?,
            w.put_new(schema_audit(&effects.audit)).map_err(built)?,
            w.outbox(org_id.as_str(), version + 1).map_err(built)?,
        ];
        writes.extend(w.version_twins(&pk, &bump).map_err(built)?);
        match self.transact(writes).await {
            Ok(()) => Ok(Commit::Done),
            Err(e) if lost_race(&e) => Ok(Commit::Conflict),
            Err(e) => Err(backend(e)),
        }
    }
}
