//! The write use cases, each written once over the adapters' primitives: a claim
//! update (read, decide, audit, commit on the version read, retry on a conflict) and
//! an organisation replace ("unchanged → no write, no audit record"). Every accepted
//! write leaves its audit record in the same transaction as the change.

use crate::ports::{
    AuditLog, ClaimContext, ClaimWrites, Commit, MAX_WRITE_ATTEMPTS, OrganisationWrites, StoreError, WriteEffects,
};
use directory_domain::audit::{self, Actor, AuditRecord};
use directory_domain::ids::{ClaimId, OrganisationId};
use directory_domain::items::organisation_items;
use directory_domain::model::{AuthorityClaim, OrganisationSnapshot, ReferenceData};
use std::future::Future;
use std::time::Duration;

/// What became of a claim update.
#[derive(Debug, PartialEq)]
pub enum ClaimWrite<E> {
    /// The claim was stored as returned.
    Updated(Box<AuthorityClaim>),
    /// The organisation or the claim does not exist.
    NotFound,
    /// The decision refused the change; nothing was written.
    Rejected(E),
    /// The organisation is being imported in several transactions (or such an
    /// import stopped half-way and must be re-run): claim writes wait until it ends.
    Importing,
}

/// Decides the new value of a claim from the reference data, the organisation's
/// current claims (all of them, including the one being changed) and the current
/// claim. Called again if a concurrent write invalidated its input, so it must have
/// no side effects.
pub trait ClaimDecision<E>:
    Fn(&ReferenceData, &[AuthorityClaim], &AuthorityClaim) -> Result<AuthorityClaim, E> + Send + Sync
{
}
impl<E, F> ClaimDecision<E> for F where
    F: Fn(&ReferenceData, &[AuthorityClaim], &AuthorityClaim) -> Result<AuthorityClaim, E> + Send + Sync
{
}

/// What became of an organisation replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replaced {
    /// Written, with its audit record.
    Written,
    /// Nothing would change: nothing was written, no record left.
    Unchanged,
}

/// The one retry policy of optimistic writes: up to [`MAX_WRITE_ATTEMPTS`] attempts
/// with jittered exponential backoff between them, then [`StoreError::Contention`].
#[derive(Debug, Default)]
pub struct Retry {
    attempt: usize,
}

impl Retry {
    /// Waits before the next attempt, or gives up when none is left.
    pub async fn again(&mut self) -> Result<(), StoreError> {
        self.attempt += 1;
        if self.attempt >= MAX_WRITE_ATTEMPTS {
            return Err(StoreError::Contention(self.attempt));
        }
        let cap_ms = 2u64.saturating_pow(self.attempt.min(6) as u32).min(50);
        tokio::time::sleep(Duration::from_millis(fastrand::u64(0..=cap_ms))).await;
        Ok(())
    }
}

/// The write use cases, on any store that offers their primitives.
pub trait DirectoryWrites: ClaimWrites + OrganisationWrites + AuditLog {
    /// Updates one claim under the organisation's claim guard: `decide` sees a
    /// consistent view of all claims and the write only lands if no other claim write
    /// happened since (retried otherwise), so rules spanning claims hold under
    /// concurrency. The audit record of `actor` (the changed fields, before and
    /// after) is written in the same transaction as the claim.
    fn update_authority_claim_as<E: Send + 'static, D: ClaimDecision<E> + 'static>(
        &self,
        org_id: &OrganisationId,
        claim_id: &ClaimId,
        actor: &Actor,
        decide: D,
    ) -> impl Future<Output = Result<ClaimWrite<E>, StoreError>> + Send {
        async move {
            let target = directory_domain::keys::claim_sk(claim_id.as_str());
            let mut retry = Retry::default();
            loop {
                let (reference, claims, version) = match self.claim_context(org_id).await? {
                    ClaimContext::NoOrganisation => return Ok(ClaimWrite::NotFound),
                    ClaimContext::Importing => return Ok(ClaimWrite::Importing),
                    ClaimContext::Ready {
                        reference,
                        claims,
                        version,
                    } => (reference, claims, version),
                };
                let Some(current) = claims
                    .iter()
                    .find(|c| directory_domain::keys::claim_sk(&c.organisation_authority_claim_id) == target)
                else {
                    return Ok(ClaimWrite::NotFound);
                };
                let updated = match decide(&reference, &claims, current) {
                    Ok(u) => u,
                    Err(e) => return Ok(ClaimWrite::Rejected(e)),
                };
                let audit = audit::claim_update(
                    actor,
                    org_id.as_str(),
                    claim_id.as_str(),
                    current,
                    &updated,
                    self.audit_retention_days(),
                );
                let effects = WriteEffects { audit };
                match self.commit_claim(org_id, &updated, version, &effects).await? {
                    Commit::Done => {
                        effects.audit.log();
                        return Ok(ClaimWrite::Updated(Box::new(updated)));
                    }
                    Commit::Conflict => retry.again().await?,
                }
            }
        }
    }

    /// [`DirectoryWrites::update_authority_claim_as`] by an internal actor (tests, tools).
    fn update_authority_claim<E: Send + 'static, D: ClaimDecision<E> + 'static>(
        &self,
        org_id: &OrganisationId,
        claim_id: &ClaimId,
        decide: D,
    ) -> impl Future<Output = Result<ClaimWrite<E>, StoreError>> + Send {
        let actor = Actor::system("store", "update-authority-claim");
        async move { self.update_authority_claim_as(org_id, claim_id, &actor, decide).await }
    }

    /// Replaces everything stored for the organisation with `snapshot` (validated by
    /// the caller). Items no longer present are removed; re-running is idempotent.
    /// When anything changes, one audit record of `actor` is written with the change;
    /// an organisation that would not change is not written at all.
    fn replace_organisation_as(
        &self,
        snapshot: &OrganisationSnapshot,
        actor: &Actor,
    ) -> impl Future<Output = Result<Replaced, StoreError>> + Send {
        async move {
            let org_id = OrganisationId::stored(snapshot.id());
            let items = organisation_items(snapshot);
            let after: Vec<(String, String)> = items.iter().map(|(kind, body)| (kind.sk(), body.clone())).collect();
            let mut retry = Retry::default();
            loop {
                let stored = self.read_for_replace(&org_id).await?;
                let retention = self.audit_retention_days();
                let audit = match audit::organisation_replace(actor, org_id.as_str(), &stored.items, &after, retention)
                {
                    Some(record) => record,
                    None if !stored.pending => return Ok(Replaced::Unchanged),
                    // The same content, but the adapter must still finish what it holds
                    // (an import that stopped half-way, an older layout): recorded.
                    None => AuditRecord::new(
                        actor,
                        audit::target(&[("OrganisationId", org_id.as_str())]),
                        Vec::new(),
                        retention,
                    ),
                };
                let effects = WriteEffects { audit };
                match self
                    .replace_items(&org_id, stored.state, items.clone(), &effects)
                    .await?
                {
                    Commit::Done => {
                        effects.audit.log();
                        return Ok(Replaced::Written);
                    }
                    Commit::Conflict => retry.again().await?,
                }
            }
        }
    }

    /// Removes the organisation from the directory: every item of it, with one audit
    /// record of `actor` (the items before, nothing after) in the same transaction;
    /// the change feed then carries its removal. [`Replaced::Unchanged`] when there is
    /// no such organisation (nothing is written).
    fn remove_organisation_as(
        &self,
        org_id: &OrganisationId,
        actor: &Actor,
    ) -> impl Future<Output = Result<Replaced, StoreError>> + Send {
        async move {
            let mut retry = Retry::default();
            loop {
                let stored = self.read_for_replace(org_id).await?;
                if stored.items.is_empty() && !stored.pending {
                    return Ok(Replaced::Unchanged);
                }
                let retention = self.audit_retention_days();
                let audit = audit::organisation_replace(actor, org_id.as_str(), &stored.items, &[], retention)
                    .unwrap_or_else(|| {
                        AuditRecord::new(
                            actor,
                            audit::target(&[("OrganisationId", org_id.as_str())]),
                            Vec::new(),
                            retention,
                        )
                    });
                let effects = WriteEffects { audit };
                match self.replace_items(org_id, stored.state, Vec::new(), &effects).await? {
                    Commit::Done => {
                        effects.audit.log();
                        return Ok(Replaced::Written);
                    }
                    Commit::Conflict => retry.again().await?,
                }
            }
        }
    }

    /// [`DirectoryWrites::replace_organisation_as`] by an internal actor (tests, tools).
    fn replace_organisation(
        &self,
        snapshot: &OrganisationSnapshot,
    ) -> impl Future<Output = Result<Replaced, StoreError>> + Send {
        async move {
            self.replace_organisation_as(snapshot, &Actor::system("store", "replace-organisation"))
                .await
        }
    }
}

impl<T: ClaimWrites + OrganisationWrites + AuditLog> DirectoryWrites for T {}
