//! The participant directory's use cases: what the directory does, written once over
//! capability ports (`ports`), whatever the store and the object target. The write
//! path (`writes`), the import and the export live here; the HTTP edge calls them.

pub mod clock;
pub mod events;
pub mod explorer;
pub mod export;
pub mod federation;
pub mod feed;
pub mod import;
pub mod ports;
pub mod signing_keys;
pub mod writes;

/// Every port trait and the write use cases, for callers that hold a whole store.
pub mod prelude {
    pub use crate::ports::{
        AuditLog, ChangeFeed, ClaimWrites, Documents, ExportLease, OrganisationReads, OrganisationWrites,
        ReferenceStore, Store, Subscriptions,
    };
    pub use crate::writes::DirectoryWrites;
}
