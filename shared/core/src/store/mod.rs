//! The storage port. Adapters: `embedded` (redb, the local default) here, DynamoDB
//! in `directory-aws`. Both pass the same contract suite (`tests/`).

#[cfg(feature = "embedded")]
pub mod embedded;
pub use directory_domain::{items, lease, limits};
#[cfg(feature = "embedded")]
pub mod snapshot_cache;

use crate::audit::{Actor, AuditRecord};
use crate::ids::{ClaimId, OrganisationId, ResourceId, ServerId};
use crate::model::{ApiResource, AuthorityClaim, OrganisationSnapshot, ReferenceData};
use std::future::Future;

/// A storage failure: never the caller's fault, mapped to 500 by the error module.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the embedded database.
    #[error("{0}")]
    Busy(String),
    /// A stored item could not be read back.
    #[error("corrupt item {key}: {reason}")]
    Corrupt { key: String, reason: String },
    /// The backend failed (I/O, network, service error).
    #[error("storage backend error: {0}")]
    Backend(String),
    /// Too many concurrent writers kept invalidating an optimistic write.
    #[error("write conflict persisted after {0} attempts")]
    Contention(usize),
}

impl From<directory_domain::items::CorruptItem> for StoreError {
    fn from(e: directory_domain::items::CorruptItem) -> Self {
        Self::Corrupt {
            key: e.key,
            reason: e.reason,
        }
    }
}

/// What became of a conditional claim update.
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
/// claim. The store reads the reference data together with the claims (one round
/// trip). Called again if a concurrent write invalidated its input, so it must have
/// no side effects.
pub trait ClaimDecision<E>:
    Fn(&ReferenceData, &[AuthorityClaim], &AuthorityClaim) -> Result<AuthorityClaim, E> + Send + Sync
{
}
impl<E, F> ClaimDecision<E> for F where
    F: Fn(&ReferenceData, &[AuthorityClaim], &AuthorityClaim) -> Result<AuthorityClaim, E> + Send + Sync
{
}

/// A small directory-wide document the store keeps with a version, written only if
/// its version is still the one read (docs/design.md, "Single-table keys").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// The history of the directory's own public signing keys for one purpose
    /// (`participants`: the file and the feed).
    KeyHistory(&'static str),
}

impl Document {
    /// Its partition and sort key.
    pub fn key(self) -> (&'static str, String) {
        match self {
            Self::KeyHistory(purpose) => (crate::keys::DOCUMENTS_PK, purpose.to_owned()),
        }
    }
}

/// A document's body and the version it was read at.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Versioned {
    pub version: u64,
    pub body: String,
}

/// How many times an optimistic write is retried before giving up.
pub const MAX_WRITE_ATTEMPTS: usize = 25;

/// The operations the endpoints, the import and the export need.
pub trait Store: Send + Sync + 'static {
    /// Adds or replaces reference data items (authorities, domains, roles).
    fn put_reference(&self, reference: &ReferenceData) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// All reference data.
    fn reference(&self) -> impl Future<Output = Result<ReferenceData, StoreError>> + Send;

    /// Replaces everything stored for the organisation with `snapshot` (validated by
    /// the caller). Items no longer present are removed; re-running is idempotent.
    /// When anything changes, one audit record of `actor` is written with the change
    /// (atomically with it where the organisation fits one transaction); an
    /// organisation that would not change is not written at all.
    fn replace_organisation_as(
        &self,
        snapshot: &OrganisationSnapshot,
        actor: &Actor,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// [`Store::replace_organisation_as`] by an internal actor (tests, tools).
    fn replace_organisation(
        &self,
        snapshot: &OrganisationSnapshot,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move {
            self.replace_organisation_as(snapshot, &Actor::system("store", "replace-organisation"))
                .await
        }
    }

    /// The organisation's items assembled into a snapshot, `None` when it does not
    /// exist; with `public_only`, private items (contacts, software statements,
    /// certificates) are not read into it.
    fn read_organisation(
        &self,
        org_id: &OrganisationId,
        public_only: bool,
    ) -> impl Future<Output = Result<Option<OrganisationSnapshot>, StoreError>> + Send;

    /// The whole snapshot, or `None` when the organisation does not exist.
    fn snapshot(
        &self,
        org_id: &OrganisationId,
    ) -> impl Future<Output = Result<Option<OrganisationSnapshot>, StoreError>> + Send {
        self.read_organisation(org_id, false)
    }

    /// The public part of the snapshot, for the export.
    fn public_snapshot(
        &self,
        org_id: &OrganisationId,
    ) -> impl Future<Output = Result<Option<OrganisationSnapshot>, StoreError>> + Send {
        self.read_organisation(org_id, true)
    }

    /// One API resource of one authorisation server of one organisation.
    fn api_resource(
        &self,
        org_id: &OrganisationId,
        server_id: &ServerId,
        resource_id: &ResourceId,
    ) -> impl Future<Output = Result<Option<ApiResource>, StoreError>> + Send;

    /// The organisation's role claims in claim-id order, `None` when the organisation
    /// does not exist.
    fn authority_claims(
        &self,
        org_id: &OrganisationId,
    ) -> impl Future<Output = Result<Option<Vec<AuthorityClaim>>, StoreError>> + Send;

    /// Updates one claim under an organisation-level guard: `decide` sees a
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
    ) -> impl Future<Output = Result<ClaimWrite<E>, StoreError>> + Send;

    /// [`Store::update_authority_claim_as`] by an internal actor (tests, tools).
    fn update_authority_claim<E: Send + 'static, D: ClaimDecision<E> + 'static>(
        &self,
        org_id: &OrganisationId,
        claim_id: &ClaimId,
        decide: D,
    ) -> impl Future<Output = Result<ClaimWrite<E>, StoreError>> + Send {
        let actor = Actor::system("store", "update-authority-claim");
        async move { self.update_authority_claim_as(org_id, claim_id, &actor, decide).await }
    }

    /// Stores one audit record on its own (a write outside the table: the export
    /// publish). Its partition follows its target's `OrganisationId`, if any.
    fn put_audit(&self, record: &AuditRecord) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Audit records of one organisation (`None`: the directory-wide ones), newest
    /// first, from `since` (a fixed-width time, see [`crate::audit::parse_time`]) on;
    /// expired records are left out.
    fn audit_records(
        &self,
        org_id: Option<&OrganisationId>,
        since: Option<&str>,
    ) -> impl Future<Output = Result<Vec<AuditRecord>, StoreError>> + Send;

    /// Takes the export lease as `holder` for `ttl` when it is free or expired, and
    /// returns its fencing number (greater than every earlier holder's); `None` while
    /// another holder has it. Publishes of the open-data export from every trigger
    /// are serialised by it, so a run that read older data cannot publish last.
    fn acquire_export_lease(
        &self,
        holder: &str,
        ttl: std::time::Duration,
    ) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send;

    /// Whether the lease is still held under `fence` and not expired (checked right
    /// before publishing: a holder that outlived its lease must not publish).
    fn holds_export_lease(&self, fence: u64) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Gives the lease back; nothing happens when another holder has it since.
    fn release_export_lease(&self, fence: u64) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The document, `None` when it was never written.
    fn document(&self, document: Document) -> impl Future<Output = Result<Option<Versioned>, StoreError>> + Send;

    /// Writes the document as version `expected + 1` (version 1 when `expected` is
    /// `None`, which requires that it does not exist) if it is still at `expected`;
    /// `false` when another write came first (nothing is written then).
    fn put_document(
        &self,
        document: Document,
        body: &str,
        expected: Option<u64>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Up to `limit` organisation ids after `after`, in ascending byte order.
    fn organisation_ids(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
}
