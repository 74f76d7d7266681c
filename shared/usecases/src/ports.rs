//! The storage ports, sized to the capability: a handler or use case names the ones it
//! uses (`S: OrganisationReads`, `S: ClaimWrites + AuditLog`). Adapters (`directory-
//! embedded`'s redb store, `directory-aws`'s DynamoDB store) offer storage primitives
//! and keep their own mechanics; the write policy (decide, audit, "unchanged → no
//! write") is written once, in `crate::writes`. Both adapters pass one contract suite
//! (`tests/`).

use directory_domain::audit::AuditRecord;
use directory_domain::events::subscription::Subscription;
use directory_domain::federation::Pin;
use directory_domain::feed::{Current, Entry, Head, Record, Revision};
use directory_domain::ids::{OrganisationId, ResourceId, ServerId};
use directory_domain::keys::OrgItem;
use directory_domain::model::{ApiResource, AuthorityClaim, OrganisationSnapshot, ReferenceData};
use std::future::Future;

/// A storage failure: never the caller's fault (a 500 at the HTTP edge).
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

/// How many times an optimistic write is tried before giving up.
pub const MAX_WRITE_ATTEMPTS: usize = 25;

/// Whether a conditional write landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// Written, with its effects.
    Done,
    /// Another write came first: nothing was written; read again and retry.
    Conflict,
}

/// What every accepted write stores with its change, in the same transaction: the
/// one place a write concern is added for every write. Beside the audit record, every
/// organisation write (claim commit, replace, removal) puts the organisation's outbox
/// item at the guard version it writes ([`directory_domain::keys::outbox_sk`]), so the
/// change feed learns of it from the same transaction ([`ChangeFeed`]).
#[derive(Debug, Clone, PartialEq)]
pub struct WriteEffects {
    /// The audit record of the change.
    pub audit: AuditRecord,
}

/// Reference data (authorities, domains, roles).
pub trait ReferenceStore: Send + Sync {
    /// Adds or replaces reference data items.
    fn put_reference(&self, reference: &ReferenceData) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// All reference data.
    fn reference(&self) -> impl Future<Output = Result<ReferenceData, StoreError>> + Send;
}

/// Reading organisations.
pub trait OrganisationReads: Send + Sync {
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

    /// Up to `limit` organisation ids after `after`, in ascending byte order.
    fn organisation_ids(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
}

/// What a claim update reads: everything its decision needs, in one round trip where
/// the store can (DynamoDB: two Queries sent together).
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimContext {
    /// The organisation does not exist.
    NoOrganisation,
    /// The organisation is being imported in several transactions (or such an import
    /// stopped half-way and must be re-run): claim writes wait until it ends.
    Importing,
    /// The organisation's claims (all of them) and the reference data, read at
    /// `version` of its claim guard.
    Ready {
        reference: ReferenceData,
        claims: Vec<AuthorityClaim>,
        version: u64,
    },
}

/// Writing one claim under the organisation's claim guard.
pub trait ClaimWrites: Send + Sync {
    /// What an update of a claim of `org_id` needs to decide.
    fn claim_context(&self, org_id: &OrganisationId) -> impl Future<Output = Result<ClaimContext, StoreError>> + Send;

    /// Stores `claim` with `effects` in one transaction if the organisation's claim
    /// guard is still at `version` (and moves it on); [`Commit::Conflict`] otherwise.
    fn commit_claim(
        &self,
        org_id: &OrganisationId,
        claim: &AuthorityClaim,
        version: u64,
        effects: &WriteEffects,
    ) -> impl Future<Output = Result<Commit, StoreError>> + Send;
}

/// What an organisation replace reads: the organisation as readers see it now, and
/// what the adapter needs to write over it.
#[derive(Debug)]
pub struct StoredOrganisation<T> {
    /// Its items as (sort key, JSON body), in sort-key order (empty: no organisation).
    pub items: Vec<(String, String)>,
    /// A write is due even if nothing changes: the adapter must finish or migrate
    /// what it holds (an import that stopped half-way, an older layout).
    pub pending: bool,
    /// The adapter's own view of what it read (versions, staged items).
    pub state: T,
}

/// Replacing an organisation whole (the import).
pub trait OrganisationWrites: Send + Sync {
    /// What the adapter remembers between the read and the write.
    type Read: Send;

    /// The organisation as it is stored now.
    fn read_for_replace(
        &self,
        org_id: &OrganisationId,
    ) -> impl Future<Output = Result<StoredOrganisation<Self::Read>, StoreError>> + Send;

    /// Replaces the organisation's items with `items` (items no longer present are
    /// removed; no items: the organisation leaves the directory), with `effects`, atomically where it fits one transaction and in the
    /// adapter's staged form otherwise (readers see the old organisation or the new
    /// one, never a mix); [`Commit::Conflict`] when a write came in since the read.
    fn replace_items(
        &self,
        org_id: &OrganisationId,
        read: Self::Read,
        items: Vec<(OrgItem, String)>,
        effects: &WriteEffects,
    ) -> impl Future<Output = Result<Commit, StoreError>> + Send;
}

/// The audit trail.
pub trait AuditLog: Send + Sync {
    /// How long audit records are kept (days).
    fn audit_retention_days(&self) -> u32;

    /// Stores one audit record on its own (a write outside the table: the export
    /// publish). Its partition follows its target's `OrganisationId`, if any.
    fn put_audit(&self, record: &AuditRecord) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Audit records of one organisation (`None`: the directory-wide ones), newest
    /// first, from `since` (a fixed-width time, see
    /// [`directory_domain::audit::parse_time`]) on; expired records are left out.
    fn audit_records(
        &self,
        org_id: Option<&OrganisationId>,
        since: Option<&str>,
    ) -> impl Future<Output = Result<Vec<AuditRecord>, StoreError>> + Send;
}

/// The export lease, which serialises publishes.
pub trait ExportLease: Send + Sync {
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

    /// Asks for an export run (AWS: the table's stream starts the export function on
    /// it; the local server's worker polls it), `at` Unix seconds.
    fn request_export(&self, at: i64) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// When the last export request was made, if one was.
    fn export_requested(&self) -> impl Future<Output = Result<Option<i64>, StoreError>> + Send;
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
            Self::KeyHistory(purpose) => (directory_domain::keys::DOCUMENTS_PK, purpose.to_owned()),
        }
    }
}

/// A document's body and the version it was read at.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Versioned {
    pub version: u64,
    pub body: String,
}

/// Versioned documents.
pub trait Documents: Send + Sync {
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
}

/// An organisation a write queued for the feed: its outbox item.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pending {
    pub organisation_id: String,
    /// The guard version the write left (0: queued by seeding, below every write).
    pub version: u64,
}

/// What one sequencer transaction writes, if the head is still the one it read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sequenced {
    /// The head after it.
    pub head: Head,
    /// The new revisions, in order, following the head read.
    pub entries: Vec<Entry>,
    /// The organisations' current records after it (one per entry).
    pub records: Vec<Current>,
    /// The outbox items it settles (written at or below the version read).
    pub done: Vec<Pending>,
}

/// The change feed's storage: the outbox every write fills, the revisions, the
/// organisations' current public records and the head. Written by one use case, the
/// sequencer (`crate::feed`), in transactions conditioned on the head it read.
pub trait ChangeFeed: Send + Sync {
    /// The head, read consistently; `None` before the first sequencer commit.
    fn feed_head(&self) -> impl Future<Output = Result<Option<Head>, StoreError>> + Send;

    /// Up to `limit` outbox items, in key order (by organisation, then version).
    fn pending(&self, limit: usize) -> impl Future<Output = Result<Vec<Pending>, StoreError>> + Send;

    /// Queues organisations for the feed (seeding a directory stored before it).
    fn enqueue(&self, pending: &[Pending]) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The organisation's public record as stored now (`None`: it does not exist) and
    /// its guard's version, read together.
    fn public_record(
        &self,
        org_id: &OrganisationId,
    ) -> impl Future<Output = Result<(Option<Record>, u64), StoreError>> + Send;

    /// The current records of these organisations (those that have one).
    fn current_records(&self, org_ids: &[String]) -> impl Future<Output = Result<Vec<Current>, StoreError>> + Send;

    /// Keeps records being replaced readable for
    /// [`directory_domain::feed::SUPERSEDED_KEEP_SECS`] (written before the commit
    /// that replaces them; harmless if that commit never lands).
    fn keep_superseded(&self, records: &[Current], now: i64) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Writes `batch` in one transaction if the head is still `expected` (`None`: it
    /// does not exist); [`Commit::Conflict`] otherwise, with nothing written.
    fn commit_sequence(
        &self,
        expected: Option<&Head>,
        batch: &Sequenced,
    ) -> impl Future<Output = Result<Commit, StoreError>> + Send;

    /// Revisions after `since` in order, at most `limit`, leaving out expired ones, and
    /// the head when the read reached it (fewer than `limit` found).
    fn entries_after(
        &self,
        since: Revision,
        limit: usize,
        now: i64,
    ) -> impl Future<Output = Result<(Vec<Entry>, Option<Head>), StoreError>> + Send;

    /// Up to `limit` current records after the organisation id `after`, in id order
    /// (the file's order); removals included.
    fn current_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Current>, StoreError>> + Send;

    /// The record the organisation had at revision `at` among those kept after being
    /// replaced (the latest one at or before `at`, unexpired).
    fn superseded(
        &self,
        org_id: &str,
        at: Revision,
        now: i64,
    ) -> impl Future<Output = Result<Option<Current>, StoreError>> + Send;

    /// How long after a commit every item it wrote is readable by every read
    /// (DynamoDB: queries are not isolated from transactions; the embedded store's
    /// reads are snapshots). An export states a revision committed at least this long
    /// before it started reading.
    fn settle_time(&self) -> std::time::Duration;

    /// How long revisions are kept (days).
    fn feed_retention_days(&self) -> u32;
}

/// A subscription and the version it was read at (every change is conditioned on it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSubscription {
    pub subscription: Subscription,
    pub version: u64,
}

/// The subscriptions of change events (docs/design.md, "Change events"): written by
/// the subscription use cases and the delivery, each change conditioned on the version
/// read, so two deliveries or a delivery and a delete never lose one another's write.
pub trait Subscriptions: Send + Sync {
    /// Stores a new subscription (version 1) if its owner holds fewer than `cap`, in
    /// one transaction with the owner's count and `audit`; `false` at the cap (nothing
    /// written).
    fn create_subscription(
        &self,
        s: &Subscription,
        cap: usize,
        audit: &AuditRecord,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The subscription, `None` when there is none.
    fn subscription(
        &self,
        stream_id: &str,
    ) -> impl Future<Output = Result<Option<StoredSubscription>, StoreError>> + Send;

    /// Every subscription (`owner`: that organisation's only), in stream-id order.
    fn subscriptions(
        &self,
        owner: Option<&str>,
    ) -> impl Future<Output = Result<Vec<StoredSubscription>, StoreError>> + Send;

    /// Writes `s` as version `expected + 1` if it is still at `expected`;
    /// [`Commit::Conflict`] otherwise (or when it was deleted), nothing written.
    fn update_subscription(
        &self,
        s: &Subscription,
        expected: u64,
    ) -> impl Future<Output = Result<Commit, StoreError>> + Send;

    /// Deletes the subscription and counts it out of its owner's, in one transaction
    /// with `audit`; `false` when it was not there (nothing written).
    fn delete_subscription(
        &self,
        s: &Subscription,
        audit: &AuditRecord,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// A signed federation statement kept for reuse (docs/design.md, "OpenID Federation"):
/// served again while what it says (`digest`) is unchanged and enough of its
/// lifetime is left, so signatures grow with changes, not with requests.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CachedStatement {
    /// SHA-256 of its claims without `iat`/`exp` (lowercase hex).
    pub digest: String,
    /// The compact JWS.
    pub jwt: String,
    /// When it was signed.
    pub iat: i64,
    /// Until when it is served again (while its content is unchanged).
    pub reuse_until: i64,
}

/// The Trust Anchor's storage: pinned keys of self-managed entities and the signed
/// statements kept for reuse.
pub trait FederationStore: Send + Sync {
    /// The pin of one entity, read consistently.
    fn pin(&self, entity_id: &str) -> impl Future<Output = Result<Option<Pin>, StoreError>> + Send;

    /// Every pin, in entity identifier order.
    fn pins(&self) -> impl Future<Output = Result<Vec<Pin>, StoreError>> + Send;

    /// Writes `pin` as version `expected + 1` (`None`: it must not exist yet) with its
    /// audit record in the same transaction; `false` when another write came first.
    fn put_pin(
        &self,
        pin: &Pin,
        expected: Option<u64>,
        audit: &AuditRecord,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The statement kept under `key`.
    fn cached_statement(&self, key: &str) -> impl Future<Output = Result<Option<CachedStatement>, StoreError>> + Send;

    /// Keeps `statement` under `key` (the last writer wins: every writer checked the
    /// content it signed against the store first, and readers check it again).
    fn cache_statement(
        &self,
        key: &str,
        statement: &CachedStatement,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Every capability: what a whole store (an adapter) offers. Functions and use cases
/// name the parts they use; the local server and the tests hold the whole.
pub trait Store:
    ReferenceStore
    + OrganisationReads
    + ClaimWrites
    + OrganisationWrites
    + AuditLog
    + ExportLease
    + Documents
    + ChangeFeed
    + Subscriptions
    + FederationStore
    + 'static
{
}

impl<T> Store for T where
    T: ReferenceStore
        + OrganisationReads
        + ClaimWrites
        + OrganisationWrites
        + AuditLog
        + ExportLease
        + Documents
        + ChangeFeed
        + Subscriptions
        + FederationStore
        + 'static
{
}
