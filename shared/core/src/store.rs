//! The storage ports (`directory-usecases`) and the embedded store (redb).

pub use directory_domain::{items, lease, limits};
pub use directory_usecases::ports::*;
pub use directory_usecases::writes::{ClaimDecision, ClaimWrite, DirectoryWrites, Replaced};

#[cfg(feature = "embedded")]
pub mod embedded;
#[cfg(feature = "embedded")]
pub mod snapshot_cache;
